package engine

import (
	"context"
	"iter"
	"path/filepath"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/store"
)

// gatedModel answers "done" once release is closed; entered gets a value
// each time a call starts.
type gatedModel struct{ entered, release chan struct{} }

func (m gatedModel) Chat(ctx context.Context, _ *llm.Request) iter.Seq2[llm.Chunk, error] {
	return func(yield func(llm.Chunk, error) bool) {
		m.entered <- struct{}{}
		select {
		case <-m.release:
		case <-ctx.Done():
			yield(llm.Chunk{}, ctx.Err())
			return
		}
		yield(llm.Chunk{Text: "done", FinishReason: llm.FinishStop}, nil)
	}
}

// shutdownSetup opens an engine with one worker and two runs: the first
// executing (its model call held), the second queued behind it.
func shutdownSetup(t *testing.T) (e *Engine, m gatedModel, path string, running, queued *apitype.Run) {
	t.Helper()
	ctx := context.Background()
	path = filepath.Join(t.TempDir(), "hearth.db")
	m = gatedModel{entered: make(chan struct{}, 4), release: make(chan struct{})}
	e, err := Open(ctx, Config{Path: path, Model: m, NoSync: true, MaxConcurrentRuns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	var runs []*apitype.Run
	for range 2 {
		th, err := e.Threads.Create(ctx, apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: apitype.RoleUser, Content: apitype.TextInput("hi")}}})
		if err != nil {
			t.Fatal(err)
		}
		r, err := e.Runs.Create(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	<-m.entered
	return e, m, path, runs[0], runs[1]
}

func storedStatus(t *testing.T, path string, r *apitype.Run) apitype.RunStatus {
	t.Helper()
	st, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var got *apitype.Run
	if err := st.View(context.Background(), func(tx store.Tx) error { got, err = tx.GetRun(r.ThreadID, r.ID); return err }); err != nil {
		t.Fatal(err)
	}
	return got.Status
}

// Shutdown lets the run executing finish, starts no other, then closes:
// the queued run is still queued in the file, for the next Open.
func TestShutdownLetsRunsFinish(t *testing.T) {
	e, m, path, running, queued := shutdownSetup(t)
	draining := make(chan struct{})
	e.testDraining = func() { close(draining) }
	done := make(chan error, 1)
	go func() { done <- e.Shutdown(context.Background()) }()
	<-draining
	if e.Ready(context.Background()) == nil {
		t.Error("Ready while shutting down")
	}
	close(m.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := storedStatus(t, path, running); got != apitype.RunCompleted {
		t.Fatalf("the run in flight ended %s, want completed", got)
	}
	if got := storedStatus(t, path, queued); got != apitype.RunQueued {
		t.Fatalf("the queued run is %s, want still queued", got)
	}
}

// When ctx ends first, Shutdown closes anyway; the run stopped mid-call
// resumes on the next Open and completes.
func TestShutdownDeadlineThenResume(t *testing.T) {
	e, _, path, running, _ := shutdownSetup(t)
	ctx, cancel := context.WithCancel(context.Background())
	e.testDraining = func() { cancel() }
	if err := e.Shutdown(ctx); err == nil {
		t.Fatal("Shutdown with an ended ctx and a run in flight returned nil")
	}
	if got := storedStatus(t, path, running); got != apitype.RunInProgress {
		t.Fatalf("the run stopped by Close is %s, want in_progress (resumed on the next Open)", got)
	}
	m := gatedModel{entered: make(chan struct{}, 4), release: make(chan struct{})}
	close(m.release)
	e2, err := Open(context.Background(), Config{Path: path, Model: m, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	r, err := e2.Runs.Wait(context.Background(), running.ThreadID, running.ID)
	if err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("resumed run: %v %+v", err, r)
	}
}
