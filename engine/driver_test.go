package engine_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/store"
)

// plainDriver is a store.Driver and nothing more: the bbolt store with its
// optional interfaces (Compacter, BoltStore…) hidden, as a driver of
// another database would lack them. It counts the writes it is given.
type plainDriver struct {
	d      store.Driver
	writes atomic.Int64
}

func (p *plainDriver) View(ctx context.Context, fn func(store.Tx) error) error {
	return p.d.View(ctx, fn)
}

func (p *plainDriver) Update(ctx context.Context, fn func(store.Tx) error) error {
	p.writes.Add(1)
	return p.d.Update(ctx, fn)
}

func (p *plainDriver) Submit(ctx context.Context, fn func(store.Tx) error, then func(error)) store.Pending {
	p.writes.Add(1)
	return p.d.Submit(ctx, fn, then)
}

func (p *plainDriver) Close() error { return p.d.Close() }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "given.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// runOne answers one run and returns its thread.
func runOne(t *testing.T, e *engine.Engine) *apitype.Thread {
	t.Helper()
	ctx := context.Background()
	a := mustAssistant(t, e)
	th := mustThread(t, e, "hello")
	r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != apitype.RunCompleted {
		t.Fatalf("run %s: %+v", r.Status, r.LastError)
	}
	return th
}

// TestConfigStoreDriver runs the engine on a driver that is only a
// store.Driver: every write goes through it, the engine does without what
// the driver lacks (Store is nil, no size), and Close leaves it open.
func TestConfigStoreDriver(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	defer st.Close()
	ix, err := engine.NewFileIndex(st.Bolt(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.(io.Closer).Close()
	d := &plainDriver{d: st}
	e, err := engine.Open(ctx, engine.Config{Store: d, FilesDir: t.TempDir(), FileIndex: ix, NoSync: true, Logger: quiet,
		Model: scripted.New(scripted.Turn{Text: "hi there"})})
	if err != nil {
		t.Fatal(err)
	}
	th := runOne(t, e)
	if d.writes.Load() == 0 {
		t.Fatal("the engine wrote nothing through Config.Store")
	}
	if e.Store() != nil {
		t.Fatalf("Store() = %p with a driver that is not bbolt's", e.Store())
	}
	if e.Driver() != d {
		t.Fatal("Driver() is not Config.Store")
	}
	if n := e.Stats().DatabaseBytes; n != 0 {
		t.Fatalf("DatabaseBytes %d from a driver without Size", n)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	// The caller's store is still open, and holds what the engine wrote.
	var n int
	if err := st.View(ctx, func(tx store.Tx) (err error) { n, err = tx.CountMessages(th.ID); return err }); err != nil {
		t.Fatalf("store after the engine closed: %v", err)
	}
	if n != 2 {
		t.Fatalf("%d messages in the thread, want 2", n)
	}
}

// TestConfigStoreBolt gives the engine a bbolt store the caller opened:
// Store returns it, and the engine closes without closing it.
func TestConfigStoreBolt(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	defer st.Close()
	e, err := engine.Open(ctx, engine.Config{Store: st, Path: st.Path(), NoSync: true, Logger: quiet,
		Model: scripted.New(scripted.Turn{Text: "hi there"})})
	if err != nil {
		t.Fatal(err)
	}
	th := runOne(t, e)
	if e.Store() != st {
		t.Fatal("Store() is not the bbolt store given")
	}
	if e.Stats().DatabaseBytes != st.Size() {
		t.Fatalf("DatabaseBytes %d, the file has %d", e.Stats().DatabaseBytes, st.Size())
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.View(ctx, func(tx store.Tx) error { _, err := tx.GetThread(th.ID); return err }); err != nil {
		t.Fatalf("store after the engine closed: %v", err)
	}
	// A second engine on the same store sees the first's clean close.
	e2, err := engine.Open(ctx, engine.Config{Store: st, Path: st.Path(), NoSync: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e2.Threads.Retrieve(ctx, th.ID); err != nil {
		t.Fatal(err)
	}
	if err := e2.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigStoreInvalid(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	defer st.Close()
	for name, cfg := range map[string]engine.Config{
		"no Path, no Store":           {},
		"Store without a FilesDir":    {Store: st},
		"a non-bbolt Store, no index": {Store: &plainDriver{d: st}, FilesDir: t.TempDir()},
	} {
		if _, err := engine.Open(ctx, cfg); !errors.Is(err, engine.ErrInvalidConfig) {
			t.Errorf("%s: err %v, want ErrInvalidConfig", name, err)
		}
	}
	// Refusing a config leaves the caller's store as it was.
	if err := st.View(ctx, func(tx store.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
}
