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
// without observer or logs beside the same run with the Prometheus
// observer and info-level JSON logs, paired: one of each in turn per
// iteration. It reports the ratio observed/plain.
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
	var tp, to time.Duration
	for b.Loop() {
		tp += one(plain, pa)
		to += one(observed, oa)
	}
	b.ReportMetric(float64(tp.Nanoseconds())/float64(b.N), "plain-ns/run")
	b.ReportMetric(float64(to.Nanoseconds())/float64(b.N), "observed-ns/run")
	b.ReportMetric(float64(to)/float64(tp), "observed/plain")
}
