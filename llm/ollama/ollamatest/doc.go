// Package ollamatest is a fake Ollama server for tests: an httptest server
// that speaks Ollama's real wire format (its own api types) and replays
// scripted replies, including the faults real Ollama produces.
//
// Tests of the backend, the engine and the HTTP server point an
// ollama.Client at (*Server).URL and assert on (*Server).Requests:
//
//	srv := ollamatest.NewServer(t, ollamatest.WithReplies(
//		ollamatest.Reply{ToolCalls: []ollamatest.ToolCall{{Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
//		ollamatest.Reply{Text: "It is sunny in Paris."},
//		ollamatest.Reply{Fault: ollamatest.ContextOverflow},
//	))
//	model, _ := ollama.New(ollama.Config{URL: srv.URL()})
//	// … run the code under test with model …
//	last := srv.Requests()[len(srv.Requests())-1] // an api.ChatRequest
//
// Replies are taken in order; once the queue is empty a handler set with
// WithHandler (or SetHandler) answers, else a fixed greeting. The registry
// (DefaultModels, WithModel) drives /api/show, /api/tags, 404s for unknown
// models, vision and tool capability errors, and /api/embed.
package ollamatest
