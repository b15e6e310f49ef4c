// Package openaichat is a model backend for any server that speaks OpenAI's
// /v1/chat/completions and /v1/embeddings: vLLM, SGLang, llama.cpp's
// llama-server, LM Studio, LocalAI and Ollama's /v1.
//
// It reads the server-sent event stream itself (see stream.go for why),
// assembles tool calls from their deltas while tolerating the servers' known
// quirks, and turns every failure into an error that says what to do.
package openaichat
