package hearthtest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
)

// Option changes how Open opens the engine.
type Option func(*options)

type options struct {
	config []func(*engine.Config)
	leaks  bool
}

// Config lets fn change the engine's Config before it opens: add tools, a
// clock, limits. Path, Model and NoSync are already set; Logger defaults to
// one that writes to the test's log.
func Config(fn func(*engine.Config)) Option {
	return func(o *options) { o.config = append(o.config, fn) }
}

// NoLeakCheck leaves out the goroutine check at the test's end, for tests
// that run in parallel with others.
func NoLeakCheck() Option { return func(o *options) { o.leaks = false } }

// Open opens an engine for the test t: its database is a real bbolt file
// in t.TempDir(), written without fsync; model answers its runs (a
// *scripted.Model, most often); its logs go to t's log. The engine is
// closed when the test ends, and the test fails if that Close fails or if
// goroutines Hearth started are still running after it.
func Open(t testing.TB, model llm.Model, opts ...Option) *engine.Engine {
	t.Helper()
	o := options{leaks: true}
	for _, opt := range opts {
		opt(&o)
	}
	if o.leaks {
		before := hearthGoroutines()
		// Registered first, so it runs last: after Close.
		t.Cleanup(func() { checkLeaks(t, before) })
	}
	tl := &testLog{t: t}
	t.Cleanup(tl.stop) // runs after Close: nothing may log to a finished test
	cfg := engine.Config{Path: filepath.Join(t.TempDir(), "hearth.db"), Model: model, NoSync: true,
		Logger: slog.New(slog.NewTextHandler(tl, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	for _, fn := range o.config {
		fn(&cfg)
	}
	e, err := engine.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("hearthtest: open engine: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("hearthtest: close engine: %v", err)
		}
	})
	return e
}

// testLog writes log lines to the test's log until the test is over.
type testLog struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (l *testLog) stop() {
	l.mu.Lock()
	l.done = true
	l.mu.Unlock()
}

// RequireRunStatus waits until the run needs action or is over — on the
// engine's notification, not by polling — and fails the test unless its
// status is then want. It returns the run.
func RequireRunStatus(t testing.TB, e *engine.Engine, threadID, runID string, want apitype.RunStatus) *apitype.Run {
	t.Helper()
	r, err := e.Runs.Wait(context.Background(), threadID, runID)
	if err != nil {
		t.Fatalf("hearthtest: wait for run %s: %v", runID, err)
	}
	if r.Status != want {
		why := ""
		if r.LastError != nil {
			why = fmt.Sprintf(" (last_error %s: %s)", r.LastError.Code, r.LastError.Message)
		}
		if r.IncompleteDetails != nil {
			why = fmt.Sprintf(" (incomplete: %s)", r.IncompleteDetails.Reason)
		}
		t.Fatalf("hearthtest: run %s is %s%s, want %s", runID, r.Status, why, want)
	}
	return r
}

// Events is a stream's events in the order they came.
type Events []apitype.Event

// CollectEvents reads a stream (Runs.CreateStream and the other *Stream
// calls) to its end and returns its events; an error in the stream fails
// the test.
func CollectEvents(t testing.TB, stream iter.Seq2[apitype.Event, error]) Events {
	t.Helper()
	var evs Events
	for ev, err := range stream {
		if err != nil {
			t.Fatalf("hearthtest: stream failed after %v: %v", evs.Names(), err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// Names are the events' names (thread.run.created, thread.message.delta …).
func (evs Events) Names() []string {
	names := make([]string, len(evs))
	for i, ev := range evs {
		names[i] = string(ev.Event)
	}
	return names
}

// Text is the text the message deltas streamed, joined.
func (evs Events) Text() string {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(ev.TextDelta())
	}
	return b.String()
}

// Last is the last event (the one that ended the stream), or the zero
// Event when there were none.
func (evs Events) Last() apitype.Event {
	if len(evs) == 0 {
		return apitype.Event{}
	}
	return evs[len(evs)-1]
}

// Run is the run as the last event that carried one left it, or nil.
func (evs Events) Run() *apitype.Run {
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Run != nil {
			return evs[i].Run
		}
	}
	return nil
}

// errNotLogged: Logs.Wait's ctx ended first.
var errNotLogged = errors.New("hearthtest: no such log record")
