package pgevents

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/store"
)

// BenchmarkFirstDelta is the latency the Postgres bus adds to a run's
// stream: from the call that starts a run to its first
// thread.message.delta and to its first event, for
//
//   - inproc: an engine on its own in-process bus, streamed there (the floor);
//   - local: an engine on the Postgres bus, streamed on the same replica
//     (its events come back from memory once their NOTIFY is heard);
//   - remote: the run started and executed on replica A, followed on
//     replica B (its events read from stream_events on each NOTIFY).
//
// The three run in turn each iteration (paired), on bbolt without fsync so
// the bus's cost is what differs; ratios are against inproc.
func BenchmarkFirstDelta(b *testing.B) {
	bs := replicas(b, 2, Options{})
	story := strings.Repeat("word ", 40)
	// The remote follower subscribes before the run exists: its id is
	// made first and handed to the engine's next run.
	gen := store.NewIDGenerator(time.Now, nil)
	var nextRun atomic.Pointer[string]
	ids := func(prefix string) string {
		if prefix == store.PrefixRun {
			if id := nextRun.Swap(nil); id != nil {
				return *id
			}
		}
		return gen.New(prefix)
	}
	open := func(events engine.EventBus) *engine.Engine {
		m := &scripted.Model{Fallback: func(*llm.Request) scripted.Turn { return scripted.Turn{Text: story} }}
		e, err := engine.Open(context.Background(), engine.Config{Path: filepath.Join(b.TempDir(), "hearth.db"), NoSync: true,
			Model: m, Events: events, IDs: ids})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { e.Close() })
		return e
	}
	inproc, pg := open(nil), open(bs[0].Runs())
	ctx := b.Context()
	type variant struct {
		name         string
		e            *engine.Engine
		first, delta time.Duration
		asst, thread string
		runsOnThread int
		follow       bool
	}
	vs := []*variant{{name: "inproc", e: inproc}, {name: "local", e: pg}, {name: "remote", e: pg, follow: true}}
	fresh := func(v *variant) {
		v.asst, v.thread = thread(b, v.e)
		v.runsOnThread = 0
	}
	for _, v := range vs {
		fresh(v)
	}
	one := func(v *variant) {
		if v.runsOnThread == 16 {
			fresh(v) // a thread's prompt grows with each run
		}
		v.runsOnThread++
		p := apitype.RunCreateParams{AssistantID: v.asst}
		var start time.Time
		if !v.follow {
			gotFirst, gotDelta := false, false
			start = time.Now()
			for ev, err := range v.e.Runs.CreateStream(ctx, v.thread, p) {
				if err != nil {
					b.Fatal(err)
				}
				if !gotFirst {
					v.first += time.Since(start)
					gotFirst = true
				}
				if ev.Event == apitype.EventMessageDelta && !gotDelta {
					v.delta += time.Since(start)
					gotDelta = true
				}
			} // to the end: the run is over when the stream is
			return
		}
		runID := gen.New(store.PrefixRun)
		nextRun.Store(&runID)
		sub := bs[1].Runs().Subscribe(runID)
		defer sub.Close()
		start = time.Now()
		r, err := v.e.Runs.Create(ctx, v.thread, p)
		if err != nil {
			b.Fatal(err)
		}
		if r.ID != runID {
			b.Fatalf("run id %s; predicted %s", r.ID, runID)
		}
		gotFirst := false
		for {
			ev, err := sub.Next(ctx)
			if errors.Is(err, engine.ErrEventsLagging) {
				continue
			}
			if err != nil {
				b.Fatal(err)
			}
			if !gotFirst {
				v.first += time.Since(start)
				gotFirst = true
			}
			if ev.Event == apitype.EventMessageDelta {
				v.delta += time.Since(start)
				break
			}
		}
		if _, err := v.e.Runs.Wait(ctx, v.thread, runID); err != nil {
			b.Fatal(err)
		}
	}
	for _, v := range vs {
		one(v) // warm up
		v.first, v.delta = 0, 0
	}
	w0, e0 := bs[0].writes.Load(), bs[0].events.Load()
	for b.Loop() {
		for _, v := range vs {
			one(v)
		}
	}
	n := float64(b.N)
	for _, v := range vs {
		b.ReportMetric(float64(v.delta.Microseconds())/n, v.name+"-delta-µs")
	}
	b.ReportMetric(float64(vs[1].first)/float64(vs[0].first), "local/inproc-first")
	b.ReportMetric(float64(vs[2].first)/float64(vs[0].first), "remote/inproc-first")
	b.ReportMetric(float64(vs[1].delta)/float64(vs[0].delta), "local/inproc-delta")
	b.ReportMetric(float64(vs[2].delta)/float64(vs[0].delta), "remote/inproc-delta")
	if w := bs[0].writes.Load() - w0; w > 0 {
		b.ReportMetric(float64(bs[0].events.Load()-e0)/float64(w), "events/write")
	}
	b.ReportMetric(0, "ns/op")
}
