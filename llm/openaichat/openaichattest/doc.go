// Package openaichattest is a fake OpenAI-compatible model server for tests:
// an httptest server that streams /v1/chat/completions byte for byte as vLLM
// or llama.cpp's llama-server does, with their quirks and faults.
//
// It also answers /v1/models (vLLM's max_model_len), /props (llama.cpp's
// n_ctx) and /v1/embeddings, and records every chat request it received.
package openaichattest
