// Package ollama is the llm.Model backend for a local Ollama server: it
// streams chat replies (text, thinking, tool calls), reports models' context
// windows and embeds texts, over Ollama's own wire types.
//
// It never lets Ollama truncate silently: every chat sets num_ctx and
// truncate=false, so an over-long prompt fails with llm.ErrContextOverflow and
// the engine's own truncation decides what fits. Tool schemas are folded (see
// package schema) so constraints Ollama drops still reach the model as text;
// the backend reports tool calls as the model wrote them, and validating their
// arguments against the caller's full schema is the engine's job
// (schema.Compile + (*schema.Schema).Validate).
package ollama
