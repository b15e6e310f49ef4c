package pgjobs_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/internal/pgtest"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/store/pgstore"
	"github.com/hearth-go/hearth/store/pgstore/pgjobs"
)

// The engine on Postgres with its runs as River jobs: replicas are engines
// on one database, each with its own store, queue and (bbolt) file index.

// ended is what an engine's observer hears of a run's execution.
type ended struct {
	replica string
	engine.RunEvent
}

type observer struct {
	engine.NopObserver
	name    string
	started chan<- ended
	ended   chan<- ended
}

func (o observer) RunStarted(_ context.Context, r engine.RunEvent) {
	if o.started != nil {
		o.started <- ended{o.name, r}
	}
}
func (o observer) RunEnded(_ context.Context, r engine.RunEvent) { o.ended <- ended{o.name, r} }

type replicaOpts struct {
	name    string
	model   *scripted.Model
	ended   chan ended
	started chan ended
	clock   func() time.Time
	rescue  time.Duration
	workers int
}

// pgEngine opens a replica: an engine on dsn with pgjobs. Closed when the
// test ends unless the test closed it.
func pgEngine(t testing.TB, dsn string, o replicaOpts) (*engine.Engine, *pgstore.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := pgstore.Open(ctx, dsn, pgstore.Options{Logger: quietLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := pgjobs.Migrate(ctx, st.Pool()); err != nil {
		t.Fatal(err)
	}
	q, err := pgjobs.New(st.Pool(), pgjobs.Options{RescueAfter: o.rescue, Logger: quietLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ix, err := store.Open(filepath.Join(dir, "index.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	fi, err := engine.NewFileIndex(ix.Bolt(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fi.(io.Closer).Close() })
	e, err := engine.Open(ctx, engine.Config{Store: st, Jobs: q, FilesDir: filepath.Join(dir, "files"), FileIndex: fi,
		Model: o.model, Logger: quietLog(t), Clock: o.clock, MaxConcurrentRuns: o.workers, ExpiryInterval: 100 * time.Millisecond,
		Observer: observer{name: o.name, ended: o.ended, started: o.started}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, st
}

// quietLog routes warnings and errors to t's log.
func quietLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func thread(t testing.TB, e *engine.Engine) (string, string) {
	t.Helper()
	ctx := context.Background()
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "scripted",
		Tools: []apitype.Tool{{Type: apitype.ToolTypeFunction, Function: &apitype.FunctionDef{Name: "lookup"}}}})
	if err != nil {
		t.Fatal(err)
	}
	th, err := e.Threads.Create(ctx, apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: apitype.RoleUser, Content: apitype.TextInput("hi")}}})
	if err != nil {
		t.Fatal(err)
	}
	return a.ID, th.ID
}

func await(t testing.TB, ch <-chan ended) ended {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-t.Context().Done():
		t.Fatal("test ended before the run's execution did")
		return ended{}
	}
}

func runJobs(t testing.TB, st *pgstore.Store, runID string) int {
	t.Helper()
	var n int
	if err := st.Pool().QueryRow(t.Context(), "SELECT count(*) FROM river_job WHERE kind = 'hearth_exec' AND args->>'id' = $1", runID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEngineRunsOnEitherReplica: runs created on either of two engines on
// one database are jobs (one per execution, in the creating transaction;
// none for a creation refused), and both engines execute them at once.
func TestEngineRunsOnEitherReplica(t *testing.T) {
	dsn := pgtest.DSN(t)
	endedCh := make(chan ended, 16)
	ha, hb := scripted.NewHold(), scripted.NewHold()
	ea, st := pgEngine(t, dsn, replicaOpts{name: "a", model: scripted.New(scripted.Turn{Text: "from a", Hold: ha}), ended: endedCh, workers: 1})
	eb, _ := pgEngine(t, dsn, replicaOpts{name: "b", model: scripted.New(scripted.Turn{Text: "from b", Hold: hb}), ended: endedCh, workers: 1})
	ctx := t.Context()
	asst, th1 := thread(t, ea)
	_, th2 := thread(t, eb)
	r1, err := ea.Runs.Create(ctx, th1, apitype.RunCreateParams{AssistantID: asst})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eb.Runs.Create(ctx, th1, apitype.RunCreateParams{AssistantID: asst}); err == nil {
		t.Fatal("a second active run on the thread was created")
	}
	r2, err := eb.Runs.Create(ctx, th2, apitype.RunCreateParams{AssistantID: asst})
	if err != nil {
		t.Fatal(err)
	}
	var all int
	if err := st.Pool().QueryRow(ctx, "SELECT count(*) FROM river_job WHERE kind = 'hearth_exec'").Scan(&all); err != nil {
		t.Fatal(err)
	}
	if all != 2 || runJobs(t, st, r1.ID) != 1 || runJobs(t, st, r2.ID) != 1 {
		t.Fatalf("%d run jobs (want 2, one for each run created, none for the refused one)", all)
	}
	// One worker each and each model's turn held: both held at once means
	// each replica executes one.
	if err := ha.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := hb.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	ha.Release()
	hb.Release()
	seen := map[string]string{}
	for range 2 {
		ev := await(t, endedCh)
		if ev.Status != string(apitype.RunCompleted) {
			t.Errorf("run %s ended %s on %s: %s", ev.RunID, ev.Status, ev.replica, ev.LastError)
		}
		seen[ev.replica] = ev.RunID
	}
	if len(seen) != 2 {
		t.Errorf("executions by replica %v, want one on each", seen)
	}
	for _, id := range []string{r1.ID, r2.ID} {
		r, err := eb.Runs.Retrieve(ctx, map[string]string{r1.ID: th1, r2.ID: th2}[id], id)
		if err != nil || r.Status != apitype.RunCompleted {
			t.Errorf("run %s: %v %v", id, r, err)
		}
	}
}

// TestEngineToolOutputsOnAnotherReplica: a run pausing for tool outputs
// ends its job; outputs submitted on the other replica insert the next one,
// which any replica executes.
func TestEngineToolOutputsOnAnotherReplica(t *testing.T) {
	dsn := pgtest.DSN(t)
	endedCh := make(chan ended, 16)
	// Either replica may execute either step: each model calls the tool
	// until the prompt carries its output.
	model := func() *scripted.Model {
		m := scripted.New()
		m.Fallback = func(req *llm.Request) scripted.Turn {
			if last := req.Messages[len(req.Messages)-1]; last.ToolCallID != "" {
				return scripted.Turn{Text: "done"}
			}
			return scripted.Turn{Calls: []scripted.Call{{Name: "lookup", Arguments: `{}`}}}
		}
		return m
	}
	ea, st := pgEngine(t, dsn, replicaOpts{name: "a", model: model(), ended: endedCh})
	eb, _ := pgEngine(t, dsn, replicaOpts{name: "b", model: model(), ended: endedCh})
	ctx := t.Context()
	asst, th := thread(t, ea)
	r, err := ea.Runs.Create(ctx, th, apitype.RunCreateParams{AssistantID: asst})
	if err != nil {
		t.Fatal(err)
	}
	ev := await(t, endedCh)
	if ev.Status != string(apitype.RunRequiresAction) {
		t.Fatalf("ended %s, want requires_action", ev.Status)
	}
	got, err := eb.Runs.Retrieve(ctx, th, r.ID)
	if err != nil || got.RequiredAction == nil {
		t.Fatalf("retrieve: %+v %v", got, err)
	}
	call := got.RequiredAction.SubmitToolOutputs.ToolCalls[0].ID
	if _, err := eb.Runs.SubmitToolOutputs(ctx, th, r.ID, apitype.SubmitToolOutputsParams{ToolOutputs: []apitype.ToolOutput{{ToolCallID: call, Output: "42"}}}); err != nil {
		t.Fatal(err)
	}
	if ev := await(t, endedCh); ev.Status != string(apitype.RunCompleted) {
		t.Fatalf("ended %s (%s), want completed", ev.Status, ev.LastError)
	}
	if n := runJobs(t, st, r.ID); n != 2 {
		t.Errorf("%d jobs for the run, want 2 (its creation's and its submit's)", n)
	}
}

// TestEngineCancelAcrossReplicas: a run executing on a is cancelled through
// b; a's execution stops (its model call is cancelled) and the run ends
// cancelled.
func TestEngineCancelAcrossReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	endedCh := make(chan ended, 16)
	hold := scripted.NewHold()
	ea, _ := pgEngine(t, dsn, replicaOpts{name: "a", model: scripted.New(scripted.Turn{Text: "partial", Hold: hold}), ended: endedCh})
	ctx := t.Context()
	asst, th := thread(t, ea)
	r, err := ea.Runs.Create(ctx, th, apitype.RunCreateParams{AssistantID: asst})
	if err != nil {
		t.Fatal(err)
	}
	if err := hold.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// b starts after a holds the run, so a executes it.
	eb, _ := pgEngine(t, dsn, replicaOpts{name: "b", model: scripted.New(), ended: endedCh})
	c, err := eb.Runs.Cancel(ctx, th, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != apitype.RunCancelling && c.Status != apitype.RunCancelled {
		t.Fatalf("Cancel returned %s", c.Status)
	}
	ev := await(t, endedCh)
	if ev.replica != "a" || ev.Status != string(apitype.RunCancelled) {
		t.Fatalf("ended %s on %s, want cancelled on a", ev.Status, ev.replica)
	}
	got, err := eb.Runs.Retrieve(ctx, th, r.ID)
	if err != nil || got.Status != apitype.RunCancelled {
		t.Fatalf("retrieve on b: %+v %v", got, err)
	}
}

// TestEngineClosedMidRunResumesElsewhere: a replica closed while its run's
// model call is held leaves the job for the other replica, which resumes
// the run from its last committed step at once (a clean close: not counted
// against the resume cap).
func TestEngineClosedMidRunResumesElsewhere(t *testing.T) {
	dsn := pgtest.DSN(t)
	endedCh := make(chan ended, 16)
	startedCh := make(chan ended, 16)
	hold := scripted.NewHold()
	ea, _ := pgEngine(t, dsn, replicaOpts{name: "a", model: scripted.New(scripted.Turn{Text: "partial", Hold: hold}), ended: endedCh, started: startedCh})
	ctx := t.Context()
	asst, th := thread(t, ea)
	r, err := ea.Runs.Create(ctx, th, apitype.RunCreateParams{AssistantID: asst})
	if err != nil {
		t.Fatal(err)
	}
	if err := hold.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	await(t, startedCh)
	eb, _ := pgEngine(t, dsn, replicaOpts{name: "b", model: scripted.New(scripted.Turn{Text: "resumed"}), ended: endedCh, started: startedCh})
	if err := ea.Close(); err != nil {
		t.Fatal(err)
	}
	if s := await(t, startedCh); s.replica != "b" {
		t.Fatalf("resumed on %s", s.replica)
	}
	ev := await(t, endedCh)
	if ev.replica != "b" || ev.Status != string(apitype.RunCompleted) {
		t.Fatalf("ended %s on %s (%s), want completed on b", ev.Status, ev.replica, ev.LastError)
	}
	checkResumed(t, eb, th, r.ID, "resumed")
}

// checkResumed: the run completed with the resumed execution's answer,
// the step the first execution had open failed with the restart's
// last_error, as after a restart on one machine.
func checkResumed(t *testing.T, e *engine.Engine, th, runID, answer string) {
	t.Helper()
	ctx := t.Context()
	got, err := e.Runs.Retrieve(ctx, th, runID)
	if err != nil || got.Status != apitype.RunCompleted {
		t.Fatalf("run: %+v %v", got, err)
	}
	steps, err := e.Steps.List(ctx, th, runID, apitype.StepListParams{ListParams: apitype.ListParams{Order: apitype.OrderAsc}})
	if err != nil {
		t.Fatal(err)
	}
	var failed, completed int
	for _, s := range steps.Data {
		switch s.Status {
		case apitype.StepFailed:
			failed++
			if s.LastError == nil || !strings.Contains(s.LastError.Message, "restarted") {
				t.Errorf("failed step's last_error %+v", s.LastError)
			}
		case apitype.StepCompleted:
			completed++
		}
	}
	if failed != 1 || completed != 1 {
		t.Errorf("%d failed and %d completed steps, want the interrupted one failed and the resumed one completed", failed, completed)
	}
	msgs, err := e.Messages.List(ctx, th, apitype.MessageListParams{RunID: runID})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range msgs.Data {
		for _, c := range m.Content {
			if c.Text != nil && c.Text.Value == answer && m.Status == apitype.MessageCompleted {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no completed message %q of the run", answer)
	}
}

const engineChildEnv = "HEARTH_PGJOBS_ENGINE_CHILD_DSN"

// TestEngineChildReplica is the replica TestEngineKilledMidRunResumes
// kills: it creates a run and executes it, held in its model call.
func TestEngineChildReplica(t *testing.T) {
	dsn := os.Getenv(engineChildEnv)
	if dsn == "" {
		t.Skip("the child of TestEngineKilledMidRunResumes")
	}
	hold := scripted.NewHold()
	e, _ := pgEngine(t, dsn, replicaOpts{name: "child", model: scripted.New(scripted.Turn{Text: "partial", Hold: hold}),
		ended: make(chan ended, 16), rescue: time.Second})
	asst, th := thread(t, e)
	// The stream's events go out after their writes commit: once the
	// message's delta is out, its step is in the database.
	var runID string
	for ev, err := range e.Runs.CreateStream(context.Background(), th, apitype.RunCreateParams{AssistantID: asst}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Run != nil {
			runID = ev.Run.ID
		}
		if ev.Event == apitype.EventMessageDelta {
			break
		}
	}
	if err := hold.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("HEARTH HELD %s %s\n", th, runID)
	select {} // until killed
}

// TestEngineKilledMidRunResumes: a replica killed (-9) in a run's model
// call leaves its job running in River; the rescuer gives it back and
// another replica resumes the run from its last committed step, with the
// restart's last_error on the step that was open.
func TestEngineKilledMidRunResumes(t *testing.T) {
	dsn := pgtest.DSN(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestEngineChildReplica$", "-test.count=1")
	cmd.Env = append(os.Environ(), engineChildEnv+"="+dsn)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck // killed below, unless the test failed first
	var th, runID string
	sc := bufio.NewScanner(out)
	for th == "" && sc.Scan() {
		if l, ok := strings.CutPrefix(sc.Text(), "HEARTH HELD "); ok {
			th, runID, _ = strings.Cut(l, " ")
		}
	}
	if th == "" {
		t.Fatal("the child ended before holding its run")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait() //nolint:errcheck // killed
	endedCh := make(chan ended, 16)
	eb, _ := pgEngine(t, dsn, replicaOpts{name: "b", model: scripted.New(scripted.Turn{Text: "resumed"}), ended: endedCh, rescue: time.Second})
	ev := await(t, endedCh)
	if ev.replica != "b" || ev.RunID != runID || ev.Status != string(apitype.RunCompleted) {
		t.Fatalf("ended %+v, want %s completed on b", ev, runID)
	}
	checkResumed(t, eb, th, runID, "resumed")
}
