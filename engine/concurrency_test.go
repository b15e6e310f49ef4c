package engine_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/scripted"
)

// TestConcurrentRuns drives 1,000 runs over 100 threads at once. Every run
// ends completed; a watcher reading the store never sees two active runs on
// one thread; second runs and messages during a run are refused with
// ErrActiveRun; and Close leaves no goroutine behind.
func TestConcurrentRuns(t *testing.T) {
	const threads, runsPerThread = 100, 10
	if testing.Short() {
		t.Skip("1,000 runs")
	}
	ctx := context.Background()
	// hearthtest's check at the end fails the test on a goroutine Close left.
	e := openEngine(t, scripted.Echo(), func(c *engine.Config) { c.MaxConcurrentRuns = 8 })
	a := mustAssistant(t, e)
	ths := make([]string, threads)
	for i := range ths {
		ths[i] = mustThread(t, e, "hello").ID
	}

	// The watcher lists each thread's runs in one read transaction and
	// checks that at most one is active.
	stop := make(chan struct{})
	var watched, snapshots atomic.Int64
	var watcher sync.WaitGroup
	watcher.Add(1)
	go func() {
		defer watcher.Done()
		for {
			for _, th := range ths {
				select {
				case <-stop:
					return
				default:
				}
				page, err := e.Runs.List(ctx, th, apitype.ListParams{Limit: 100})
				if err != nil {
					t.Error(err)
					return
				}
				active := 0
				for _, r := range page.Data {
					if r.Status.Active() {
						active++
					}
				}
				if active > 1 {
					t.Errorf("thread %s has %d active runs at once", th, active)
				}
				watched.Add(int64(active))
				snapshots.Add(1)
			}
			time.Sleep(time.Millisecond) // leave the CPU to the runs between sweeps
		}
	}()

	var refusedRuns, refusedMsgs, created atomic.Int64
	var wg sync.WaitGroup
	for _, th := range ths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range runsPerThread {
				r, err := e.Runs.Create(ctx, th, apitype.RunCreateParams{AssistantID: a.ID})
				if err != nil {
					t.Errorf("create: %v", err)
					return
				}
				created.Add(1)
				// While it is active, a second run and a new message are
				// refused. (A run may legitimately finish first; then both
				// succeed and the second run is waited for too.)
				second, err := e.Runs.Create(ctx, th, apitype.RunCreateParams{AssistantID: a.ID})
				switch {
				case errors.Is(err, apitype.ErrActiveRun):
					refusedRuns.Add(1)
				case err != nil:
					t.Errorf("second run: %v", err)
				default:
					created.Add(1)
					if first, err := e.Runs.Retrieve(ctx, th, r.ID); err != nil || !first.Status.Terminal() {
						t.Errorf("second run %s accepted while %s was %v (%v)", second.ID, r.ID, first.Status, err)
					}
					r = second
				}
				if _, err := e.Messages.Create(ctx, th, userMsg("more")); errors.Is(err, apitype.ErrActiveRun) {
					refusedMsgs.Add(1)
				} else if err != nil {
					t.Errorf("message: %v", err)
				}
				done, err := e.Runs.Wait(ctx, th, r.ID)
				if err != nil || done.Status != apitype.RunCompleted {
					t.Errorf("run %s: %v %+v", r.ID, err, done)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	watcher.Wait()
	t.Logf("%d runs, %d second runs and %d messages refused, %d watcher snapshots saw %d active runs",
		created.Load(), refusedRuns.Load(), refusedMsgs.Load(), snapshots.Load(), watched.Load())
	if created.Load() < threads*runsPerThread {
		t.Fatalf("created %d runs", created.Load())
	}
	if refusedRuns.Load() == 0 || watched.Load() == 0 {
		t.Fatal("the test saw no run while it was active")
	}
	// Every run is terminal and no thread is left locked.
	for _, th := range ths {
		page, err := e.Runs.List(ctx, th, apitype.ListParams{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Data {
			if r.Status != apitype.RunCompleted {
				t.Fatalf("run %s is %s", r.ID, r.Status)
			}
		}
	}
}
