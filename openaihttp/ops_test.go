package openaihttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/ollama"
	"github.com/hearth-go/hearth/llm/ollama/ollamatest"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/openaihttp"
)

// switchable lists the models of a real (httptest) Ollama, or fails as an
// unreachable backend once down is set.
type switchable struct {
	mu   sync.Mutex
	down bool
	c    *ollama.Client
}

func (s *switchable) ListModels(ctx context.Context) ([]llm.ModelInfo, error) {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		return nil, errors.New("llm: backend unreachable: connection refused")
	}
	return s.c.ListModels(ctx)
}

func getJSON(t *testing.T, e *env, path, key string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil && resp.Header.Get("Content-Type") == "application/json" {
		t.Fatalf("%s: %v %s", path, err, b)
	}
	return resp.StatusCode, v
}

func opsEnv(t *testing.T) (*env, *switchable) {
	t.Helper()
	o := ollamatest.NewServer(t)
	c, err := ollama.New(ollama.Config{URL: o.URL()})
	if err != nil {
		t.Fatal(err)
	}
	sw := &switchable{c: c}
	e := newEnv(t, scripted.Echo(), func(opts *openaihttp.Options) {
		opts.Ops = openaihttp.OpsOptions{Models: sw, Aliases: map[string]string{"gpt-4o": "llama3.2"}, BackendFresh: -1,
			Version: "v-test", Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hearth_up 1\n") })}
	})
	return e, sw
}

func TestOpsRootHealthMetrics(t *testing.T) {
	e, _ := opsEnv(t)
	if code, v := getJSON(t, e, "/", ""); code != 200 || v["status"] != "Hearth is running" || v["version"] != "v-test" {
		t.Fatalf("/: %d %v", code, v)
	}
	if code, v := getJSON(t, e, "/healthz", ""); code != 200 || v["status"] != "ok" {
		t.Fatalf("/healthz: %d %v", code, v)
	}
	resp, err := e.srv.Client().Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "hearth_up 1\n" {
		t.Fatalf("/metrics: %d %q", resp.StatusCode, b)
	}
	if code, _ := getJSON(t, e, "/nowhere", testKey); code != 404 {
		t.Fatalf("unknown path: %d", code)
	}
}

// /readyz is ready with a writable store and an answering backend, and
// names the part that is not.
func TestOpsReadyz(t *testing.T) {
	e, sw := opsEnv(t)
	if code, v := getJSON(t, e, "/readyz", ""); code != 200 || v["status"] != "ready" || v["store"] != "ok" || v["backend"] != "ok" {
		t.Fatalf("ready: %d %v", code, v)
	}
	sw.mu.Lock()
	sw.down = true
	sw.mu.Unlock()
	code, v := getJSON(t, e, "/readyz", "")
	if code != 503 || v["status"] != "not_ready" || v["store"] != "ok" || !strings.Contains(v["backend"].(string), "unreachable") {
		t.Fatalf("backend down: %d %v", code, v)
	}
	sw.mu.Lock()
	sw.down = false
	sw.mu.Unlock()
	e.eng.Close() // the store no longer takes writes
	code, v = getJSON(t, e, "/readyz", "")
	if code != 503 || v["status"] != "not_ready" || v["store"] == "ok" || v["backend"] != "ok" {
		t.Fatalf("store closed: %d %v", code, v)
	}
}

// /v1/models lists the backend's models and the aliases in the API's shape
// (through the SDK), needs the key, and answers 404 for an unknown id.
func TestOpsModelsSDK(t *testing.T) {
	e, sw := opsEnv(t)
	ctx := context.Background()
	page, err := e.client.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]openai.Model{}
	for _, m := range page.Data {
		ids[m.ID] = m
	}
	if l := ids["llama3.2:latest"]; l.OwnedBy != "ollama" || ids["gpt-4o"].OwnedBy != "hearth (alias of llama3.2)" || ids["gpt-4o"].Created != l.Created {
		t.Fatalf("models %+v", page.Data)
	}
	if m, err := e.client.Models.Get(ctx, "gpt-4o"); err != nil || m.ID != "gpt-4o" || m.Object != "model" {
		t.Fatalf("get: %v %+v", err, m)
	}
	_, err = e.client.Models.Get(ctx, "nope")
	apiErr(t, err, 404, "invalid_request_error")
	if code, _ := getJSON(t, e, "/v1/models", ""); code != 401 {
		t.Fatalf("without key: %d", code)
	}
	sw.mu.Lock()
	sw.down = true
	sw.mu.Unlock()
	if code, _ := getJSON(t, e, "/v1/models", testKey); code != 502 {
		t.Fatalf("backend down: %d", code)
	}
}

// ActiveStreams counts a stream while it is open.
func TestOpsActiveStreams(t *testing.T) {
	calling := make(chan struct{})
	m := scripted.New(scripted.Turn{Match: func(*llm.Request) bool { close(calling); return true }, Block: true})
	e := newEnv(t, m)
	a := e.assistant(t)
	th := e.threadWith(t, "hi")
	ctx := context.Background()
	st := e.client.Beta.Threads.Runs.NewStreaming(ctx, th.ID, openai.BetaThreadRunNewParams{AssistantID: a.ID})
	var runID string
	for runID == "" && st.Next() {
		runID = st.Current().AsThreadRunCreated().Data.ID
	}
	<-calling
	if n := e.h.ActiveStreams(); n != 1 {
		t.Fatalf("streams during the run: %d", n)
	}
	if _, err := e.client.Beta.Threads.Runs.Cancel(ctx, th.ID, runID); err != nil {
		t.Fatal(err)
	}
	for st.Next() {
	}
	st.Close()
	if n := e.h.ActiveStreams(); n != 0 {
		t.Fatalf("streams after: %d", n)
	}
}
