package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/hearthtest"
	"github.com/hearth-go/hearth/llm/ollama"
	"github.com/hearth-go/hearth/llm/ollama/ollamatest"
)

// The startup check lists the backend's models and warns, with the pull
// command, of a default model or alias target the backend lacks; models it
// has (":latest" implied) raise no warning.
func TestStartupCheckModels(t *testing.T) {
	srv := ollamatest.NewServer(t, ollamatest.WithoutDefaultModels(), ollamatest.WithModel(ollamatest.Model{Name: "llama3.2:latest"}),
		ollamatest.WithModel(ollamatest.Model{Name: "qwen3:4b"}))
	c, err := ollama.New(ollama.Config{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		def     string
		aliases map[string]string
		missing []string // models warned of, in order
	}{
		{"llama3.2", map[string]string{"gpt-4o": "qwen3:4b"}, nil},
		{"gpt-4o", map[string]string{"gpt-4o": "llama3.2"}, nil}, // the default is an alias: its target counts
		{"mistral", map[string]string{"gpt-4o": "phi4"}, []string{"default model:mistral", "model alias target:phi4"}},
	} {
		logs := &hearthtest.Logs{}
		startupCheck(context.Background(), slog.New(logs), c, "ollama", tc.def, tc.aliases)
		var answered bool
		var missing []string
		for _, r := range logs.Records() {
			switch {
			case r["msg"] == "model backend answered":
				answered = r["models"] == "llama3.2:latest,qwen3:4b"
			case r["level"] == "WARN":
				what, _ := strings.CutSuffix(r["msg"], " is not on the backend")
				if r["fix"] != "ollama pull "+r["model"] {
					t.Errorf("%s: warning without the pull command: %v", tc.def, r)
				}
				missing = append(missing, what+":"+r["model"])
			}
		}
		if !answered || len(missing) != len(tc.missing) {
			t.Fatalf("%s: answered %v, missing %v, want %v: %v", tc.def, answered, missing, tc.missing, logs.Records())
		}
		for i := range missing {
			if missing[i] != tc.missing[i] {
				t.Errorf("%s: missing %v, want %v", tc.def, missing, tc.missing)
			}
		}
	}
}
