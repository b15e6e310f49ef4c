// Package integration holds Hearth's opt-in integration tier: tests (build tag
// "integration") that run Hearth's Ollama backend, and its OpenAI-compatible
// one on Ollama's /v1 endpoints, against a real Ollama server serving a tiny
// generated model, started by run.sh.
//
// Without the tag the package is empty; with the tag but without run.sh's
// environment (HEARTH_OLLAMA_URL …) every test skips. See README.md.
package integration
