package hearthtest

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/scripted"
)

// recorder is a testing.TB that records failures instead of failing, so
// these tests can check that the helpers fail when they must. Fatal ends
// the calling goroutine, as testing's does.
type recorder struct {
	testing.TB
	t        *testing.T
	mu       sync.Mutex
	failures []string
	cleanups []func()
}

func (r *recorder) Helper()                   {}
func (r *recorder) Name() string              { return r.t.Name() }
func (r *recorder) Log(...any)                {}
func (r *recorder) TempDir() string           { return r.t.TempDir() }
func (r *recorder) Cleanup(f func())          { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(f string, a ...any) { r.fail(fmt.Sprintf(f, a...)) }
func (r *recorder) Fatalf(f string, a ...any) {
	r.fail(fmt.Sprintf(f, a...))
	runtime.Goexit()
}

func (r *recorder) fail(s string) {
	r.mu.Lock()
	r.failures = append(r.failures, s)
	r.mu.Unlock()
}

// do runs f as a test body on its own goroutine (Fatal ends it), then the
// cleanups, and returns the failures.
func (r *recorder) do(f func()) []string {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	return r.failures
}

func mustRun(t testing.TB, e *engine.Engine, assistantID string) *apitype.Run {
	run, err := e.Runs.CreateThreadAndRun(context.Background(), apitype.ThreadAndRunCreateParams{AssistantID: assistantID})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return run
}

func record(msg string) slog.Record { return slog.NewRecord(time.Now(), slog.LevelInfo, msg, 0) }

// A goroutine started by Hearth's code that outlives the engine fails the
// test; none does with the engine alone.
func TestLeakCheck(t *testing.T) {
	defer func(g time.Duration) { leakGrace = g }(leakGrace)
	leakGrace = 50 * time.Millisecond
	if f := (&recorder{t: t}).do(func() {}); len(f) != 0 {
		t.Fatalf("an empty test failed: %v", f)
	}
	clean := &recorder{t: t}
	if f := clean.do(func() {
		e := Open(clean, scripted.Echo())
		a, _ := e.Assistants.Create(context.Background(), apitype.AssistantCreateParams{Model: "m"})
		run := mustRun(clean, e, a.ID)
		RequireRunStatus(clean, e, run.ThreadID, run.ID, apitype.RunCompleted)
	}); len(f) != 0 {
		t.Fatalf("a clean test failed: %v", f)
	}
	stop := make(chan struct{})
	defer close(stop)
	leaky := &recorder{t: t}
	f := leaky.do(func() {
		Open(leaky, scripted.Echo())
		go func() { <-stop }() // started by this test's code, a Hearth package
	})
	if len(f) != 1 || !strings.Contains(f[0], "1 goroutines Hearth started outlived the engine") {
		t.Fatalf("a leaked goroutine: failures %v", f)
	}
}

// RequireRunStatus fails on another status and says why the run ended.
func TestRequireRunStatus(t *testing.T) {
	r := &recorder{t: t}
	f := r.do(func() {
		e := Open(r, scripted.New(scripted.Turn{Err: fmt.Errorf("backend on fire")}), NoLeakCheck())
		a, _ := e.Assistants.Create(context.Background(), apitype.AssistantCreateParams{Model: "m"})
		run := mustRun(r, e, a.ID)
		RequireRunStatus(r, e, run.ThreadID, run.ID, apitype.RunCompleted)
		r.fail("RequireRunStatus returned")
	})
	if len(f) != 1 || !strings.Contains(f[0], "is failed") || !strings.Contains(f[0], "backend on fire") || !strings.Contains(f[0], "want completed") {
		t.Fatalf("failures %v", f)
	}
}

// CollectEvents fails on a stream's error, naming the events before it.
func TestCollectEventsError(t *testing.T) {
	r := &recorder{t: t}
	f := r.do(func() {
		e := Open(r, scripted.Echo(), NoLeakCheck())
		CollectEvents(r, e.Runs.CreateStream(context.Background(), "thread_missing", apitype.RunCreateParams{AssistantID: "asst_missing"}))
		r.fail("CollectEvents returned")
	})
	if len(f) != 1 || !strings.Contains(f[0], "stream failed") {
		t.Fatalf("failures %v", f)
	}
}

// Open's database is a file in the test's temporary directory, and the
// engine is closed (the file released) when the test ends.
func TestOpenTempDir(t *testing.T) {
	r := &recorder{t: t}
	var path string
	if f := r.do(func() {
		Open(r, scripted.Echo(), Config(func(c *engine.Config) { path = c.Path }))
	}); len(f) != 0 {
		t.Fatal(f)
	}
	if filepath.Dir(filepath.Dir(path)) != filepath.Dir(t.TempDir()) {
		t.Fatalf("database at %s, not in the test's temporary directory", path)
	}
	// Closed: another engine opens the file at once (bbolt locks it).
	e, err := engine.Open(context.Background(), engine.Config{Path: path, LockTimeout: time.Millisecond})
	if err != nil {
		t.Fatalf("the file is still held after the test: %v", err)
	}
	e.Close()
}

// Logs.Wait returns a record logged after the call, and ctx's error when
// none comes.
func TestLogsWait(t *testing.T) {
	l := &Logs{}
	done := make(chan []Record, 1)
	go func() {
		recs, _ := l.Wait(context.Background(), "two")
		done <- recs
	}()
	l.Handle(context.Background(), record("one"))
	l.Handle(context.Background(), record("two"))
	if recs := <-done; len(recs) != 1 || recs[0]["msg"] != "two" {
		t.Fatalf("Wait = %v", recs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Wait(ctx, "three"); err == nil {
		t.Fatal("Wait for a line never logged returned nil")
	}
}
