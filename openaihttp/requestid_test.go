package openaihttp_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/hearthtest"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/openaihttp"
)

// The run a request creates logs that request's X-Request-Id (the id its
// http line carries), so the two can be joined.
func TestRunLogsCarryRequestID(t *testing.T) {
	logs := &hearthtest.Logs{}
	e := newEnvWith(t, engine.Config{Model: scripted.Echo(), FileIndex: &wordIndex{}, Logger: slog.New(logs)},
		func(o *openaihttp.Options) { o.Logger = slog.New(logs) })
	a := e.assistant(t)
	th := e.threadWith(t, "hi")
	var resp *http.Response
	run, err := e.client.Beta.Threads.Runs.New(context.Background(), th.ID, openai.BetaThreadRunNewParams{AssistantID: a.ID}, option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := logs.Wait(t.Context(), "run finished"); err != nil {
		t.Fatal(err)
	}
	id := resp.Header.Get("X-Request-Id")
	if id == "" {
		t.Fatal("no X-Request-Id")
	}
	for _, msg := range []string{"run started", "run finished"} {
		if recs := logs.Find(msg); len(recs) != 1 || recs[0]["run"] != run.ID || recs[0]["request_id"] != id {
			t.Errorf("%s: %v, want run %s request_id %s", msg, recs, run.ID, id)
		}
	}
}
