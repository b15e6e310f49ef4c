package pgevents

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/internal/pgtest"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/store/pgstore"
)

// noIndex is a file index for engines that search no files.
type noIndex struct{}

func (noIndex) Add(context.Context, string, *apitype.File, []byte, apitype.ChunkingStrategy) (int64, error) {
	return 0, engine.ErrUnsupportedFile
}
func (noIndex) Remove(context.Context, string, string) error { return nil }
func (noIndex) Drop(context.Context, string) error           { return nil }
func (noIndex) Search(context.Context, []string, string, int, apitype.RankingOptions) ([]engine.SearchHit, error) {
	return nil, nil
}

type replica struct {
	bus *Bus
	e   *engine.Engine
}

// pgReplicas opens n engines on one Postgres database, each with its own
// store (pool) and bus, as n `hearth serve` processes.
func pgReplicas(t *testing.T, opts []Options, models []llm.Model) []replica {
	t.Helper()
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	var out []replica
	for i := range opts {
		st, err := pgstore.Open(ctx, dsn, pgstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		b, err := Open(ctx, st.Pool(), opts[i])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		e, err := engine.Open(ctx, engine.Config{Store: st, FilesDir: t.TempDir(), FileIndex: noIndex{}, Model: models[i], Events: b.Runs()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		out = append(out, replica{b, e})
	}
	return out
}

// A run executed by engine A, waited for on engine B: B hears its end
// through the bus (B's idle check is an hour: no store poll answers it).
func TestWaitOnAnotherReplica(t *testing.T) {
	hold := scripted.NewHold()
	rs := pgReplicas(t, []Options{{}, {IdleCheck: time.Hour}},
		[]llm.Model{scripted.New(scripted.Turn{Text: "from replica A", Hold: hold}), scripted.New()})
	a, b := rs[0], rs[1]
	asst, th := thread(t, a.e)
	r, err := a.e.Runs.Create(t.Context(), th, apitype.RunCreateParams{AssistantID: asst})
	if err != nil {
		t.Fatal(err)
	}
	if err := hold.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	followed := make(chan struct{})
	b.bus.testOnFollow = func(owner string) {
		if owner == r.ID {
			close(followed)
		}
	}
	type result struct {
		r   *apitype.Run
		err error
	}
	done := make(chan result, 1)
	go func() {
		got, err := b.e.Runs.Wait(t.Context(), th, r.ID)
		done <- result{got, err}
	}()
	<-followed
	hold.Release()
	res := <-done
	if res.err != nil || res.r.Status != apitype.RunCompleted {
		t.Fatalf("B's Wait = %+v, %v", res.r, res.err)
	}
	msgs, err := b.e.Messages.List(t.Context(), th, apitype.MessageListParams{})
	if err != nil || len(msgs.Data) != 2 || !strings.Contains(msgs.Data[0].Content[0].Text.Value, "from replica A") {
		t.Fatalf("B reads %+v, %v", msgs, err)
	}
}

// Replica A dies between the run's last commit and its events' insert
// (they are never written): B's wait is told it may lag, reads the run
// from the shared store, and returns it completed.
func TestWaitEndsWhenPublisherDied(t *testing.T) {
	hold := scripted.NewHold()
	rs := pgReplicas(t, []Options{{}, {IdleCheck: 10 * time.Millisecond}},
		[]llm.Model{scripted.New(scripted.Turn{Text: "lost", Hold: hold}), scripted.New()})
	a, b := rs[0], rs[1]
	a.bus.testKeep = func(_ string, ev Event) bool { return !ev.Final }
	asst, th := thread(t, a.e)
	r, err := a.e.Runs.Create(t.Context(), th, apitype.RunCreateParams{AssistantID: asst})
	if err != nil {
		t.Fatal(err)
	}
	if err := hold.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	hold.Release()
	got, err := b.e.Runs.Wait(t.Context(), th, r.ID)
	if err != nil || got.Status != apitype.RunCompleted {
		t.Fatalf("B's Wait = %+v, %v", got, err)
	}
}
