// Package scripted is a deterministic llm.Model that replays a script of
// turns: streamed text, tool calls, errors, delays and token usage.
//
// It is what Hearth's own tests and examples run on, and what users put in
// their unit tests to exercise code built on Hearth without a model or a
// network. Every request it receives is recorded for assertions.
package scripted
