package pgjobs_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/internal/pgtest"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

// replicaSet is n engines on one database of their own, with one channel
// hearing every run's end and start.
type replicaSet struct {
	engines []*engine.Engine
	asst    string
	ended   chan ended
	started chan ended
}

func newReplicaSet(b *testing.B, n int) *replicaSet {
	dsn := pgtest.DSN(b)
	s := &replicaSet{ended: make(chan ended, 1024), started: make(chan ended, 1024)}
	for range n {
		m := scripted.New()
		m.KeepRequests = -1
		m.Fallback = func(*llm.Request) scripted.Turn { return scripted.Turn{Text: "ok"} }
		e, _ := pgEngine(b, dsn, replicaOpts{name: "r", model: m, ended: s.ended, started: s.started})
		s.engines = append(s.engines, e)
	}
	a, err := s.engines[0].Assistants.Create(context.Background(), apitype.AssistantCreateParams{Model: "scripted"})
	if err != nil {
		b.Fatal(err)
	}
	s.asst = a.ID
	return s
}

// block creates k runs (each on a new thread, from 8 clients spread over
// the replicas) and waits for all of them to end.
func (s *replicaSet) block(b *testing.B, k int) {
	var wg sync.WaitGroup
	errs := make(chan error, k)
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < k; i += 8 {
				e := s.engines[i%len(s.engines)]
				if _, err := e.Runs.CreateThreadAndRun(context.Background(), apitype.ThreadAndRunCreateParams{AssistantID: s.asst,
					Thread: &apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: apitype.RoleUser, Content: apitype.TextInput("hi")}}}}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	for range k {
		select {
		case ev := <-s.ended:
			if ev.Status != string(apitype.RunCompleted) {
				b.Fatalf("run ended %s: %s", ev.Status, ev.LastError)
			}
		case <-b.Context().Done():
			b.Fatal("runs did not end")
		}
		<-s.started
	}
}

// BenchmarkRunsPerSecond: completed one-step runs per second with the
// scripted model, one replica beside three on a database each, in
// alternating blocks of 48 runs (paired: the ratio is steadier than two
// runs' on a shared machine).
func BenchmarkRunsPerSecond(b *testing.B) {
	one, three := newReplicaSet(b, 1), newReplicaSet(b, 3)
	const k = 48
	one.block(b, k) // warm: connections, River's leader
	three.block(b, k)
	var t1, t3 time.Duration
	for b.Loop() {
		start := time.Now()
		one.block(b, k)
		t1 += time.Since(start)
		start = time.Now()
		three.block(b, k)
		t3 += time.Since(start)
	}
	n := float64(b.N * k)
	b.ReportMetric(n/t1.Seconds(), "runs/s-1")
	b.ReportMetric(n/t3.Seconds(), "runs/s-3")
	b.ReportMetric(t1.Seconds()/t3.Seconds(), "3/1")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkPickup: from Runs.Create's return to the execution's claim
// (RunStarted), one run at a time: River's fetch after the insert's
// commit, beside the in-process queue on bbolt.
func BenchmarkPickup(b *testing.B) {
	s := newReplicaSet(b, 1)
	e := s.engines[0]
	var lat []time.Duration
	th := func() string {
		t, err := e.Threads.Create(context.Background(), apitype.ThreadCreateParams{})
		if err != nil {
			b.Fatal(err)
		}
		return t.ID
	}
	for b.Loop() {
		id := th()
		start := time.Now()
		if _, err := e.Runs.Create(context.Background(), id, apitype.RunCreateParams{AssistantID: s.asst}); err != nil {
			b.Fatal(err)
		}
		<-s.started
		lat = append(lat, time.Since(start))
		<-s.ended
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds()), "p90-µs")
	b.ReportMetric(0, "ns/op")
}
