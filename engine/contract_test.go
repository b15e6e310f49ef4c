package engine_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/codeinterp"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/filesearch"
	"github.com/hearth-go/hearth/llm/scripted"
)

// Open refuses a Config it would otherwise have to guess at, naming the
// field; zero still means the default.
func TestConfigValidated(t *testing.T) {
	for _, c := range []struct {
		field string
		set   func(*engine.Config)
	}{
		{"Path", func(c *engine.Config) { c.Path = "" }},
		{"MaxConcurrentRuns", func(c *engine.Config) { c.MaxConcurrentRuns = -1 }},
		{"MaxConcurrentIngest", func(c *engine.Config) { c.MaxConcurrentIngest = -2 }},
		{"RunTimeout", func(c *engine.Config) { c.RunTimeout = -time.Second }},
		{"ExpiryInterval", func(c *engine.Config) { c.ExpiryInterval = -time.Second }},
		{"ContextWindow", func(c *engine.Config) { c.ContextWindow = -1 }},
		{"MaxFileBytes", func(c *engine.Config) { c.MaxFileBytes = -1 }},
		{"MaxCodeOutputFiles", func(c *engine.Config) { c.MaxCodeOutputFiles = -1 }},
		{"MaxCodeOutputBytes", func(c *engine.Config) { c.MaxCodeOutputBytes = -1 }},
		{"LockTimeout", func(c *engine.Config) { c.LockTimeout = -1 }},
		{"Tools and CodeInterpreter", func(c *engine.Config) { c.Tools, c.CodeInterpreter = logsTool{}, noSandbox{} }},
		{"FileIndex and Embedder", func(c *engine.Config) { c.FileIndex, c.Embedder = &wordIndex{}, filesearch.NewLexicalEmbedder(64) }},
	} {
		cfg := engine.Config{Path: filepath.Join(t.TempDir(), "h.db"), NoSync: true}
		c.set(&cfg)
		e, err := engine.Open(context.Background(), cfg)
		if err == nil {
			e.Close()
			t.Errorf("%s: opened", c.field)
			continue
		}
		if !errors.Is(err, engine.ErrInvalidConfig) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v", c.field, err)
		}
	}
	// Zero values are the defaults, and the negative model timeouts are
	// documented as "no bound".
	e := openEngine(t, scripted.Echo(), func(c *engine.Config) { c.ModelFirstByteTimeout, c.ModelIdleTimeout = -1, -1 })
	r, err := e.Runs.CreateThreadAndRunAndWait(context.Background(), apitype.ThreadAndRunCreateParams{AssistantID: mustAssistant(t, e).ID})
	if err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("%v %+v", err, r)
	}
}

// Calls on a closed engine, and waits it cuts short, fail with ErrClosed.
func TestErrClosed(t *testing.T) {
	ctx := context.Background()
	hold := scripted.NewHold()
	e, err := engine.Open(ctx, engine.Config{Path: filepath.Join(t.TempDir(), "h.db"), NoSync: true, Model: scripted.New(scripted.Turn{Hold: hold})})
	if err != nil {
		t.Fatal(err)
	}
	a := mustAssistant(t, e)
	th := mustThread(t, e, "hi")
	r, err := e.Runs.Create(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := hold.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() {
		_, err := e.Runs.Wait(ctx, th.ID, r.ID)
		waited <- err
	}()
	e.Close()
	if err := <-waited; !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("a wait cut short by Close: %v", err)
	}
	if _, err := e.Threads.Retrieve(ctx, th.ID); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("Retrieve after Close: %v", err)
	}
	if _, err := e.Runs.Create(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID}); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("Create after Close: %v", err)
	}
}

// noSandbox is a code interpreter that never starts a session: enough for
// a Config that must be refused before anything runs.
type noSandbox struct{}

func (noSandbox) Session(context.Context, string) (codeinterp.Session, error) {
	return nil, codeinterp.ErrClosed
}
func (noSandbox) CloseSession(string) error { return nil }
func (noSandbox) Close() error              { return nil }

// A stream does nothing until ranged over, and only once: a stream never
// ranged over creates no run, a second range yields ErrStreamUsed.
func TestStreamLazyAndSingleUse(t *testing.T) {
	ctx := context.Background()
	m := scripted.Echo()
	e := openEngine(t, m)
	a, th := mustAssistant(t, e), mustThread(t, e, "hi")
	stream := e.Runs.CreateStream(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if page, err := e.Runs.List(ctx, th.ID, apitype.ListParams{}); err != nil || len(page.Data) != 0 {
		t.Fatalf("a stream not ranged over made runs: %v %+v", err, page)
	}
	if names := eventNames(t, stream); names[len(names)-1] != string(apitype.EventRunCompleted) {
		t.Fatalf("events %v", names)
	}
	for _, err := range stream {
		if !errors.Is(err, engine.ErrStreamUsed) {
			t.Fatalf("second range: %v", err)
		}
	}
	if page, _ := e.Runs.List(ctx, th.ID, apitype.ListParams{}); len(page.Data) != 1 || m.Received() != 1 {
		t.Fatalf("%d runs, %d model calls after two ranges", len(page.Data), m.Received())
	}
}

// Every list service has All, which follows the pages to the end.
func TestAllFollowsPages(t *testing.T) {
	ctx := context.Background()
	m := scripted.New(scripted.Turn{Text: "a"}, scripted.Turn{Text: "b"}, scripted.Turn{Text: "c"})
	e := openEngine(t, m)
	a, th := mustAssistant(t, e), mustThread(t, e, "hi")
	var last *apitype.Run
	for range 3 {
		r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil || r.Status != apitype.RunCompleted {
			t.Fatalf("%v %+v", err, r)
		}
		last = r
	}
	count := func(seq func(func(struct{}, error) bool)) int {
		n := 0
		for _, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	runs := count(drop(e.Runs.All(ctx, th.ID, apitype.ListParams{Limit: 1})))
	steps := count(drop(e.Steps.All(ctx, th.ID, last.ID, apitype.StepListParams{ListParams: apitype.ListParams{Limit: 1}})))
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{})
	if err != nil {
		t.Fatal(err)
	}
	files := count(drop(e.VectorStores.AllFiles(ctx, vs.ID, apitype.VectorStoreFileListParams{ListParams: apitype.ListParams{Limit: 1}})))
	if runs != 3 || steps != 1 || files != 0 {
		t.Fatalf("All: %d runs (want 3), %d steps (want 1), %d vector store files (want 0)", runs, steps, files)
	}
}

// drop forgets the items of a sequence, keeping its errors.
func drop[T any](seq func(func(T, error) bool)) func(func(struct{}, error) bool) {
	return func(yield func(struct{}, error) bool) {
		for _, err := range seq {
			if !yield(struct{}{}, err) {
				return
			}
		}
	}
}

// A server_error keeps its cause: errors.As finds the API envelope, and
// errors.Is the cause under it.
func TestServerErrorWrapsCause(t *testing.T) {
	bboltOnly(t)
	ctx := context.Background()
	dir := t.TempDir()
	e := openEngine(t, scripted.Echo(), func(c *engine.Config) { c.FilesDir = dir })
	f, err := e.Files.Create(ctx, strings.NewReader("hello"), apitype.FileCreateParams{Filename: "a.txt", Purpose: "assistants"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, f.ID)); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.Files.Content(ctx, f.ID)
	var api *apitype.Error
	if !errors.As(err, &api) || api.Status != 500 || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("content of a file whose bytes are gone: %v", err)
	}
}
