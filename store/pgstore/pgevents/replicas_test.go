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
	"github.com/hearth-go/hearth/store/pgstore/pgjobs"
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

type runsOn struct {
	engine.NopObserver
	name    string
	started chan<- string
}

func (o runsOn) RunStarted(_ context.Context, r engine.RunEvent) { o.started <- o.name + " " + r.RunID }

// jobReplica opens a replica as `hearth serve --store postgres` would: an
// engine on its own store, its runs River jobs (pgjobs), its events on its
// own bus.
func jobReplica(t *testing.T, dsn, name string, model llm.Model, workers int, started chan<- string) *engine.Engine {
	t.Helper()
	ctx := context.Background()
	st, err := pgstore.Open(ctx, dsn, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := pgjobs.Migrate(ctx, st.Pool()); err != nil {
		t.Fatal(err)
	}
	q, err := pgjobs.New(st.Pool(), pgjobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, st.Pool(), Options{IdleCheck: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	e, err := engine.Open(ctx, engine.Config{Store: st, Jobs: q, FilesDir: t.TempDir(), FileIndex: noIndex{}, Model: model,
		MaxConcurrentRuns: workers, Events: b.Runs(), Observer: runsOn{name: name, started: started}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// The whole path: tool outputs submitted on replica B with a stream, the
// continuation executed by replica A (B's one worker is busy), and B's
// stream carrying every event of it — A's deltas included — to the end.
func TestStreamOnAnotherReplicasRun(t *testing.T) {
	dsn := pgtest.DSN(t)
	started := make(chan string, 16)
	busy := scripted.NewHold()
	eb := jobReplica(t, dsn, "b", scripted.New(scripted.Turn{Text: "busy", Hold: busy}), 1, started)
	defer busy.Release()
	asstB, thB := thread(t, eb)
	if _, err := eb.Runs.Create(t.Context(), thB, apitype.RunCreateParams{AssistantID: asstB}); err != nil {
		t.Fatal(err)
	}
	if err := busy.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-started // b's worker holds its run
	answer := "The answer, streamed from replica A in many small pieces."
	ma := scripted.New()
	ma.Fallback = func(req *llm.Request) scripted.Turn {
		if req.Messages[len(req.Messages)-1].ToolCallID != "" {
			return scripted.Turn{Text: answer}
		}
		return scripted.Turn{Calls: []scripted.Call{{Name: "lookup", Arguments: `{}`}}}
	}
	ea := jobReplica(t, dsn, "a", ma, 4, started)
	a, err := ea.Assistants.Create(t.Context(), apitype.AssistantCreateParams{Model: "scripted",
		Tools: []apitype.Tool{{Type: apitype.ToolTypeFunction, Function: &apitype.FunctionDef{Name: "lookup"}}}})
	if err != nil {
		t.Fatal(err)
	}
	_, th := thread(t, ea)
	r, err := ea.Runs.CreateAndWait(t.Context(), th, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil || r.Status != apitype.RunRequiresAction {
		t.Fatalf("first step: %+v, %v", r, err)
	}
	if got := <-started; got != "a "+r.ID {
		t.Fatalf("started %q; want on a", got)
	}
	call := r.RequiredAction.SubmitToolOutputs.ToolCalls[0].ID
	var names []string
	var text strings.Builder
	for ev, err := range eb.Runs.SubmitToolOutputsStream(t.Context(), th, r.ID,
		apitype.SubmitToolOutputsParams{ToolOutputs: []apitype.ToolOutput{{ToolCallID: call, Output: "42"}}}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, string(ev.Event))
		text.WriteString(ev.TextDelta())
	}
	if got := <-started; got != "a "+r.ID {
		t.Fatalf("the continuation started %q; want on a", got)
	}
	want := []string{"thread.run.step.completed", "thread.run.queued", "thread.run.in_progress", "thread.run.step.created",
		"thread.run.step.in_progress", "thread.message.created", "thread.message.in_progress"}
	if len(names) < len(want)+3 || strings.Join(names[:len(want)], " ") != strings.Join(want, " ") ||
		strings.Join(names[len(names)-3:], " ") != "thread.message.completed thread.run.step.completed thread.run.completed" {
		t.Fatalf("B's stream: %v", names)
	}
	if text.String() != answer {
		t.Fatalf("B's deltas make %q; want %q", text.String(), answer)
	}
}

// A background response executed by replica A (B's one worker is busy),
// streamed on replica B from its first event while A's model is held
// mid-answer: B's stream carries every event, numbered from 0, deltas
// included, to response.completed; a replay after sequence number 3 on B
// starts at 4.
func TestStreamResponseOnAnotherReplica(t *testing.T) {
	dsn := pgtest.DSN(t)
	started := make(chan string, 16)
	busy := scripted.NewHold()
	eb := jobReplica(t, dsn, "b", scripted.New(scripted.Turn{Text: "busy", Hold: busy}), 1, started)
	defer busy.Release()
	asstB, thB := thread(t, eb)
	if _, err := eb.Runs.Create(t.Context(), thB, apitype.RunCreateParams{AssistantID: asstB}); err != nil {
		t.Fatal(err)
	}
	if err := busy.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	answer := "Background answer from replica A, in pieces."
	hold := scripted.NewHold()
	ea := jobReplica(t, dsn, "a", scripted.New(scripted.Turn{Text: answer, Hold: hold}), 4, started)
	r, err := ea.Responses.Create(t.Context(), &apitype.ResponseCreateParams{Model: "scripted",
		Input: apitype.TextResponseInput("go"), Background: apitype.Ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if err := hold.Wait(t.Context()); err != nil { // A's model has it: A executes
		t.Fatal(err)
	}
	type seen struct {
		names []string
		text  string
		seqs  []int
	}
	read := func(after int, release bool) seen {
		var s seen
		var text strings.Builder
		for ev, err := range eb.Responses.Stream(t.Context(), r.ID, after) {
			if err != nil {
				t.Fatal(err)
			}
			if release && len(s.names) == 0 {
				hold.Release() // B is reading: let A finish
			}
			s.names = append(s.names, string(ev.Type))
			s.seqs = append(s.seqs, ev.SequenceNumber)
			if ev.Type == apitype.EventOutputTextDelta {
				text.WriteString(ev.Delta)
			}
		}
		s.text = text.String()
		return s
	}
	live := read(-1, true)
	if live.text != answer || live.names[0] != "response.created" || live.names[len(live.names)-1] != "response.completed" {
		t.Fatalf("B's stream: %v, text %q", live.names, live.text)
	}
	for i, n := range live.seqs {
		if n != i {
			t.Fatalf("sequence numbers %v", live.seqs)
		}
	}
	// Ended: a replay is rebuilt from the store, as for any ended response.
	again := read(3, false)
	if again.seqs[0] != 4 || again.names[len(again.names)-1] != "response.completed" {
		t.Fatalf("replay after 3: %v %v", again.seqs, again.names)
	}
}
