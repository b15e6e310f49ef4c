// Package ollamatest is a fake Ollama server for tests: an httptest server
// that speaks Ollama's real wire format (its own api types) and replays
// scripted replies, including the faults real Ollama produces.
//
// Tests of the backend, the engine and the HTTP server point an
// ollama.Client at (*Server).URL and assert on (*Server).Requests.
package ollamatest
