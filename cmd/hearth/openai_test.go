package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/llm/openaichat/openaichattest"
)

// TestServeOpenAIBackend: hearth serve on an OpenAI-compatible server, the
// key from the environment; the startup log names the server and models,
// and a run is answered by that server.
func TestServeOpenAIBackend(t *testing.T) {
	fake := openaichattest.NewServer(t, openaichattest.WithAPIKey("sk-env"), openaichattest.WithReplies(openaichattest.Reply{Text: "From the GPU box."}))
	s := startServe(t, map[string]string{"HEARTH_OPENAI_API_KEY": "sk-env"}, "--db", filepath.Join(t.TempDir(), "h.db"),
		"--model-backend", "openai", "--openai-url", fake.URL(), "--default-model", "llama3.2", "--embed-model", "nomic-embed-text")
	logs := s.logs.String()
	for _, w := range []string{"model server answers", "server=" + fake.URL(), "models=llama3.2,nomic-embed-text", "default_model=llama3.2", "context_window=8192", "embed_model=nomic-embed-text"} {
		if !strings.Contains(logs, w) {
			t.Errorf("startup log lacks %q:\n%s", w, logs)
		}
	}
	code, body := do(t, "POST", s.url+"/v1/threads/runs", "", `{"assistant_id":"`+assistant(t, s)+`","thread":{"messages":[{"role":"user","content":"hi"}]}}`)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	var run struct {
		ID       string `json:"id"`
		ThreadID string `json:"thread_id"`
	}
	json.Unmarshal([]byte(body), &run)
	for {
		_, body = do(t, "GET", s.url+"/v1/threads/"+run.ThreadID+"/runs/"+run.ID, "", "")
		if strings.Contains(body, `"status":"completed"`) {
			break
		}
		if strings.Contains(body, `"status":"failed"`) {
			t.Fatalf("run failed: %s", body)
		}
		waitRun(t, s, run.ThreadID, run.ID)
	}
	_, body = do(t, "GET", s.url+"/v1/threads/"+run.ThreadID+"/messages", "", "")
	if !strings.Contains(body, "From the GPU box.") {
		t.Fatalf("messages %s", body)
	}
}

func assistant(t *testing.T, s *server) string {
	t.Helper()
	code, body := do(t, "POST", s.url+"/v1/assistants", "", `{"model":"llama3.2"}`)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	var a struct{ ID string }
	json.Unmarshal([]byte(body), &a)
	return a.ID
}

// waitRun blocks on the run's stream until it ends (no sleeps).
func waitRun(t *testing.T, s *server, threadID, runID string) {
	t.Helper()
	do(t, "GET", s.url+"/v1/threads/"+threadID+"/runs/"+runID+"?wait=1", "", "")
}

func TestServeOpenAIKeyFile(t *testing.T) {
	fake := openaichattest.NewServer(t, openaichattest.WithAPIKey("sk-file"))
	kf := filepath.Join(t.TempDir(), "key")
	os.WriteFile(kf, []byte("# the GPU cluster's key\nsk-file\n"), 0o600)
	s := startServe(t, nil, "--db", filepath.Join(t.TempDir(), "h.db"), "--model-backend", "openai", "--openai-url", fake.URL(), "--openai-key-file", kf)
	if logs := s.logs.String(); !strings.Contains(logs, "model server answers") || !strings.Contains(logs, "api_key=true") || strings.Contains(logs, "sk-file") {
		t.Fatalf("startup log:\n%s", logs)
	}
	// No key flag exists: a key never goes on the command line.
	a := &app{stdout: &syncBuffer{}, stderr: &syncBuffer{}, getenv: func(string) string { return "" }}
	if err := a.run(t.Context(), []string{"serve", "--model-backend", "openai", "--openai-url", fake.URL(), "--openai-api-key", "sk-file"}); err == nil {
		t.Fatal("--openai-api-key accepted")
	}
	if err := a.run(t.Context(), []string{"serve", "--model-backend", "openai", "--code-interpreter", "off", "--db", filepath.Join(t.TempDir(), "x.db")}); err == nil || !strings.Contains(err.Error(), "--openai-url") {
		t.Fatalf("without a URL: %v", err)
	}
}
