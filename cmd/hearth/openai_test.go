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

// TestServeOpenAIEnv: every --openai-* flag (and the key file) can come from
// the environment, flags win over it, a value that does not parse is
// refused by name, and --model-first-byte-timeout also bounds the wait for
// the server's response headers.
func TestServeOpenAIEnv(t *testing.T) {
	// A server that reports no context size: the window comes from the env.
	fake := openaichattest.NewServer(t, openaichattest.WithAPIKey("sk-env-file"), openaichattest.WithModel(openaichattest.Model{Name: "local-model"}),
		openaichattest.WithReplies(openaichattest.Reply{Text: "Half of a long answer", Fault: openaichattest.HangMidStream}))
	kf := filepath.Join(t.TempDir(), "key")
	os.WriteFile(kf, []byte("sk-env-file\n"), 0o600)
	env := map[string]string{
		"HEARTH_MODEL_BACKEND":            "openai",
		"HEARTH_OPENAI_URL":               fake.URL(),
		"HEARTH_OPENAI_API_KEY_FILE":      kf,
		"HEARTH_OPENAI_CONTEXT_WINDOW":    "3000",
		"HEARTH_OPENAI_IDLE_TIMEOUT":      "150ms",
		"HEARTH_MODEL_FIRST_BYTE_TIMEOUT": "7m",
		"HEARTH_DEFAULT_MODEL":            "local-model",
	}
	s := startServe(t, env, "--db", filepath.Join(t.TempDir(), "h.db"))
	logs := s.logs.String()
	for _, w := range []string{"model server answers", "server=" + fake.URL(), "api_key=true", "default_model=local-model",
		"context_window=3000", "idle_timeout=150ms", "header_timeout=7m0s"} {
		if !strings.Contains(logs, w) {
			t.Errorf("startup log lacks %q:\n%s", w, logs)
		}
	}
	// The idle timeout from the env is the client's: a stream that goes
	// silent fails its run naming it.
	// The streamed run's body ends when the run does.
	code, body := do(t, "POST", s.url+"/v1/threads/runs", "", `{"assistant_id":"`+assistantFor(t, s, "local-model")+`","stream":true,"thread":{"messages":[{"role":"user","content":"hi"}]}}`)
	if code != 200 || !strings.Contains(body, "event: thread.run.failed") || !strings.Contains(body, "idle timeout (150ms)") || !strings.Contains(body, "--openai-idle-timeout") {
		t.Fatalf("%d %s", code, body)
	}
	s.stop()

	// Flags win over the env.
	s = startServe(t, env, "--db", filepath.Join(t.TempDir(), "h2.db"), "--openai-context-window", "1000", "--openai-idle-timeout", "3m")
	if logs := s.logs.String(); !strings.Contains(logs, "context_window=1000") || !strings.Contains(logs, "idle_timeout=3m0s") {
		t.Errorf("flags did not win over the env:\n%s", logs)
	}
	s.stop()

	for name, bad := range map[string]string{"HEARTH_OPENAI_CONTEXT_WINDOW": "lots", "HEARTH_OPENAI_IDLE_TIMEOUT": "soon"} {
		benv := map[string]string{name: bad}
		for k, v := range env {
			if k != name {
				benv[k] = v
			}
		}
		a := &app{stdout: &syncBuffer{}, stderr: &syncBuffer{}, getenv: func(k string) string { return benv[k] }}
		err := a.run(t.Context(), []string{"serve", "--code-interpreter", "off", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "x.db")})
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), bad) {
			t.Errorf("%s=%s: %v, want a refusal naming it", name, bad, err)
		}
	}
}

func assistantFor(t *testing.T, s *server, model string) string {
	t.Helper()
	code, body := do(t, "POST", s.url+"/v1/assistants", "", `{"model":"`+model+`"}`)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	var a struct{ ID string }
	json.Unmarshal([]byte(body), &a)
	return a.ID
}
