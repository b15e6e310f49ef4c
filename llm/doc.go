// Package llm is the seam between Hearth's engine and a chat model backend:
// a Model streams a reply to a whole prompt, and optional interfaces expose a
// model's context window and text embeddings.
//
// Backends live in sub-packages: llm/ollama talks to a local Ollama server and
// llm/scripted replays a deterministic script for tests and examples.
package llm
