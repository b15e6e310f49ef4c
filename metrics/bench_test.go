package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/metrics"
)

// BenchmarkOneStepRunObserved is the one-step run (NoSync, scripted model)
// without observer or logs (plain: a nil Observer, a discarding handler),
// beside the same run with info-level JSON logs only (logged), and with the
// Prometheus observer and those logs (observed), paired: one of each per
// iteration, their order rotating so none is always first. It reports
// observed/plain and logged/plain.
func BenchmarkOneStepRunObserved(b *testing.B) {
	ctx := context.Background()
	model := func() llm.Model {
		return &scripted.Model{Fallback: func(*llm.Request) scripted.Turn { return scripted.Turn{Text: "x = 1", Pieces: 1} }}
	}
	open := func(obs engine.Observer, log *slog.Logger) (*engine.Engine, string) {
		e, err := engine.Open(ctx, engine.Config{Path: filepath.Join(b.TempDir(), "h.db"), NoSync: true, Model: model(), Observer: obs, Logger: log})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { e.Close() })
		a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "m"})
		if err != nil {
			b.Fatal(err)
		}
		return e, a.ID
	}
	plain, pa := open(nil, slog.New(slog.DiscardHandler))
	logged, la := open(nil, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	o := metrics.New()
	observed, oa := open(o, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	o.WatchEngine(observed)
	one := func(e *engine.Engine, a string) time.Duration {
		th, err := e.Threads.Create(ctx, apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: apitype.RoleUser, Content: apitype.TextInput("Solve 3x + 11 = 14")}}})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a})
		if err != nil || r.Status != apitype.RunCompleted {
			b.Fatalf("%v %+v", err, r)
		}
		return time.Since(start)
	}
	var tp, tl, to time.Duration
	for i := 0; b.Loop(); i++ {
		for k := range 3 {
			switch (i + k) % 3 {
			case 0:
				tp += one(plain, pa)
			case 1:
				tl += one(logged, la)
			case 2:
				to += one(observed, oa)
			}
		}
	}
	b.ReportMetric(float64(tp.Nanoseconds())/float64(b.N), "plain-ns/run")
	b.ReportMetric(float64(to.Nanoseconds())/float64(b.N), "observed-ns/run")
	b.ReportMetric(float64(to)/float64(tp), "observed/plain")
	b.ReportMetric(float64(tl)/float64(tp), "logged/plain")
}

// BenchmarkOneRunEvents is the observer's and the logs' own work for one
// one-step run: its events (a start, an end, a model call, six commits) and
// its two info lines (run started, run finished) as JSON, with nothing else around them, so their
// cost can be set against the run's (BenchmarkOneStepRunObserved).
func BenchmarkOneRunEvents(b *testing.B) {
	ctx := context.Background()
	o := metrics.New()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ev := engine.RunEvent{RunID: "run_01", ThreadID: "thread_01", AssistantID: "asst_01", Model: "m", Status: "completed",
		Duration: 400 * time.Microsecond, PromptTokens: 20, CompletionTokens: 3}
	for b.Loop() {
		o.RunStarted(ctx, ev)
		log.Info("run started", "run", ev.RunID, "thread", ev.ThreadID, "assistant", ev.AssistantID, "model", ev.Model)
		o.ModelCall(ctx, engine.ModelCallEvent{RunID: ev.RunID, Model: "m", Duration: 100 * time.Microsecond, FirstToken: 20 * time.Microsecond, PromptTokens: 20, CompletionTokens: 3})
		for range 6 {
			o.StoreCommit(50*time.Microsecond, 1)
		}
		o.RunEnded(ctx, ev)
		log.Info("run finished", "run", ev.RunID, "thread", ev.ThreadID, "assistant", ev.AssistantID, "status", ev.Status,
			"duration", ev.Duration, "prompt_tokens", ev.PromptTokens, "completion_tokens", ev.CompletionTokens)
	}
}
