package openaihttp_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/openaihttp"
)

// recorder is a slog.Handler keeping each record's message and attributes,
// and telling finished when a "run finished" record arrives.
type recorder struct {
	mu       sync.Mutex
	recs     []map[string]string
	finished chan struct{}
}

func (h *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *recorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recorder) WithGroup(string) slog.Handler            { return h }
func (h *recorder) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	h.mu.Lock()
	h.recs = append(h.recs, m)
	h.mu.Unlock()
	if r.Message == "run finished" {
		h.finished <- struct{}{}
	}
	return nil
}

func (h *recorder) find(msg string) []map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]string
	for _, r := range h.recs {
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// The run a request creates logs that request's X-Request-Id (the id its
// http line carries), so the two can be joined.
func TestRunLogsCarryRequestID(t *testing.T) {
	logs := &recorder{finished: make(chan struct{}, 1)}
	e := newEnvWith(t, engine.Config{Model: scripted.Echo(), FileIndex: &wordIndex{}, Logger: slog.New(logs)},
		func(o *openaihttp.Options) { o.Logger = slog.New(logs) })
	a := e.assistant(t)
	th := e.threadWith(t, "hi")
	var resp *http.Response
	run, err := e.client.Beta.Threads.Runs.New(context.Background(), th.ID, openai.BetaThreadRunNewParams{AssistantID: a.ID}, option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	<-logs.finished
	id := resp.Header.Get("X-Request-Id")
	if id == "" {
		t.Fatal("no X-Request-Id")
	}
	for _, msg := range []string{"run started", "run finished"} {
		if recs := logs.find(msg); len(recs) != 1 || recs[0]["run"] != run.ID || recs[0]["request_id"] != id {
			t.Errorf("%s: %v, want run %s request_id %s", msg, recs, run.ID, id)
		}
	}
}
