package pgjobs_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/internal/pgtest"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/store/pgstore/pgjobs"
)

// These tests run the River side on raw pgx transactions, with an executor
// that reports each call and holds it until the test lets it go: the
// engine's integration runs on the Postgres driver.

// pgxTx is a store transaction as Enqueue sees one of the Postgres driver:
// only Pgx and Context are used.
type pgxTx struct {
	store.Tx
	tx  pgx.Tx
	ctx context.Context
}

func (t pgxTx) Pgx() pgx.Tx              { return t.tx }
func (t pgxTx) Context() context.Context { return t.ctx }

type call struct {
	replica string
	job     engine.Job
	attempt engine.Attempt
}

// executor records calls; each Execute blocks until release has a value
// for it (or the job's context or Signalled ends it).
type executor struct {
	name    string
	calls   chan call
	release chan error
	mu      sync.Mutex
	running map[string]chan engine.SignalReason
	sweeps  chan string
	signals chan string
}

func newExecutor(name string) *executor {
	return &executor{name: name, calls: make(chan call, 64), release: make(chan error, 64),
		running: map[string]chan engine.SignalReason{}, sweeps: make(chan string, 1024), signals: make(chan string, 64)}
}

func (x *executor) Execute(ctx context.Context, j engine.Job, a engine.Attempt) error {
	sig := make(chan engine.SignalReason, 1)
	x.mu.Lock()
	x.running[j.ID] = sig
	x.mu.Unlock()
	defer func() {
		x.mu.Lock()
		delete(x.running, j.ID)
		x.mu.Unlock()
	}()
	x.calls <- call{x.name, j, a}
	select {
	case err := <-x.release:
		return err
	case r := <-sig:
		x.signals <- string(r) + ":" + j.ID
		return nil
	}
}

func (x *executor) Sweep(context.Context) { x.sweeps <- x.name }

func (x *executor) Signalled(id string, r engine.SignalReason) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if sig, ok := x.running[id]; ok {
		select {
		case sig <- r:
		default:
		}
	}
}

type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func newPool(t testing.TB, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// database migrates a fresh database for River and returns its DSN.
func database(t *testing.T) string {
	dsn := pgtest.DSN(t)
	if err := pgjobs.Migrate(t.Context(), newPool(t, dsn)); err != nil {
		t.Fatal(err)
	}
	return dsn
}

// replica starts Jobs on dsn with x; stopped when the test ends.
func replica(t *testing.T, dsn string, x engine.JobExecutor, opts pgjobs.Options, sweep time.Duration) *pgjobs.Jobs {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	q, err := pgjobs.New(newPool(t, dsn), opts)
	if err != nil {
		t.Fatal(err)
	}
	if sweep == 0 {
		sweep = time.Hour
	}
	if err := q.Start(t.Context(), x, 2, sweep); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // jobs still held by the test are left, as by a close
		q.Stop(ctx)
		q.Stop(context.Background())
	})
	return q
}

// enqueue inserts j in a transaction of pool, committed or not.
func enqueue(t *testing.T, q *pgjobs.Jobs, pool *pgxpool.Pool, j engine.Job, commit bool) {
	t.Helper()
	ctx := t.Context()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit, a no-op
	if err := q.Enqueue(pgxTx{tx: tx, ctx: ctx}, j); err != nil {
		t.Fatal(err)
	}
	if commit {
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func jobsFor(t *testing.T, pool *pgxpool.Pool, id string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM river_job WHERE args->>'id' = $1", id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func next(t *testing.T, calls <-chan call) call {
	t.Helper()
	select {
	case c := <-calls:
		return c
	case <-t.Context().Done():
		t.Fatal("test ended before the job was executed")
		return call{}
	}
}

func TestEnqueueCommitsWithItsTransaction(t *testing.T) {
	dsn := database(t)
	pool := newPool(t, dsn)
	x := newExecutor("a")
	q := replica(t, dsn, x, pgjobs.Options{}, 0)
	enqueue(t, q, pool, engine.Job{ThreadID: "thread_1", ID: "run_rolledback"}, false)
	enqueue(t, q, pool, engine.Job{ThreadID: "thread_1", ID: "run_committed"}, true)
	if n := jobsFor(t, pool, "run_rolledback"); n != 0 {
		t.Errorf("a rolled-back creation left %d jobs", n)
	}
	if n := jobsFor(t, pool, "run_committed"); n != 1 {
		t.Errorf("a committed creation has %d jobs, want 1", n)
	}
	c := next(t, x.calls)
	if c.job != (engine.Job{ThreadID: "thread_1", ID: "run_committed"}) || c.attempt.Number != 1 || c.attempt.CleanClose {
		t.Errorf("executed %+v, want run_committed on its first attempt", c)
	}
	x.release <- nil
	if err := q.Enqueue(struct{ store.Tx }{}, engine.Job{ID: "run_x"}); err == nil {
		t.Error("Enqueue took a transaction that is not Postgres's")
	}
}

// TestTwoReplicasExecuteConcurrently: two replicas on one database each
// take jobs; both hold one at once, so neither only watches.
func TestTwoReplicasExecuteConcurrently(t *testing.T) {
	dsn := database(t)
	pool := newPool(t, dsn)
	calls := make(chan call, 64)
	a, b := newExecutor("a"), newExecutor("b")
	a.calls, b.calls = calls, calls
	qa := replica(t, dsn, a, pgjobs.Options{}, 0)
	replica(t, dsn, b, pgjobs.Options{}, 0)
	for i := range 4 {
		enqueue(t, qa, pool, engine.Job{ThreadID: "thread_1", ID: fmt.Sprintf("run_%d", i)}, true)
	}
	// Each replica has 2 workers: 4 jobs held at once need both.
	seen := map[string]int{}
	ids := map[string]bool{}
	for range 4 {
		c := next(t, calls)
		seen[c.replica]++
		if ids[c.job.ID] {
			t.Errorf("%s executed twice", c.job.ID)
		}
		ids[c.job.ID] = true
	}
	if seen["a"] != 2 || seen["b"] != 2 {
		t.Errorf("executions per replica %v, want 2 each", seen)
	}
	for range 4 {
		a.release <- nil
		b.release <- nil
	}
}

// TestInterruptedJobResumesElsewhereAtOnce: an engine closing returns
// ErrJobInterrupted; the job is attempted again at once, by the other
// replica here, as a clean close.
func TestInterruptedJobResumesElsewhereAtOnce(t *testing.T) {
	dsn := database(t)
	pool := newPool(t, dsn)
	a := newExecutor("a")
	qa := replica(t, dsn, a, pgjobs.Options{}, 0)
	enqueue(t, qa, pool, engine.Job{ThreadID: "thread_1", ID: "run_1"}, true)
	next(t, a.calls)
	b := newExecutor("b")
	replica(t, dsn, b, pgjobs.Options{}, 0)
	a.release <- engine.ErrJobInterrupted
	// Either replica may take the retry; hold a's so that b does.
	var c call
	select {
	case c = <-a.calls:
		a.release <- engine.ErrJobInterrupted
		c = next(t, b.calls)
		if c.attempt.Number != 3 {
			t.Errorf("attempt %d, want 3", c.attempt.Number)
		}
	case c = <-b.calls:
		if c.attempt.Number != 2 {
			t.Errorf("attempt %d, want 2", c.attempt.Number)
		}
	case <-t.Context().Done():
		t.Fatal("not attempted again")
	}
	if !c.attempt.CleanClose {
		t.Error("the attempt after an interruption is not a clean close")
	}
	b.release <- nil
}

// TestSignalReachesTheExecutingReplica: a Signal sent from b stops a's
// execution and returns once a's lease is free (false: b may end the run);
// an id nobody executes is free at once; an execution that does not stop
// within SignalWait is reported held.
func TestSignalReachesTheExecutingReplica(t *testing.T) {
	dsn := database(t)
	pool := newPool(t, dsn)
	a, b := newExecutor("a"), newExecutor("b")
	qa := replica(t, dsn, a, pgjobs.Options{}, 0)
	qb := replica(t, dsn, b, pgjobs.Options{SignalWait: 200 * time.Millisecond}, 0)
	ctx := t.Context()
	if held, err := qb.Signal(ctx, "run_none", engine.SignalCancel); err != nil || held {
		t.Fatalf("Signal of an id nobody executes: held %v, %v", held, err)
	}
	enqueue(t, qa, pool, engine.Job{ThreadID: "thread_1", ID: "run_1"}, true)
	var ex *executor
	select {
	case <-a.calls:
		ex = a
	case <-b.calls:
		ex = b
	case <-ctx.Done():
		t.Fatal("not executed")
	}
	held, err := qb.Signal(ctx, "run_1", engine.SignalCancel)
	if err != nil || held {
		t.Fatalf("Signal: held %v, %v; want the lease free once the execution stopped", held, err)
	}
	if got := <-ex.signals; got != "cancel:run_1" {
		t.Errorf("the executor heard %q", got)
	}

	// An execution that ignores the signal keeps its lease.
	enqueue(t, qa, pool, engine.Job{ThreadID: "thread_1", ID: "run_2"}, true)
	select {
	case <-a.calls:
		ex = a
	case <-b.calls:
		ex = b
	case <-ctx.Done():
		t.Fatal("not executed")
	}
	ex.mu.Lock()
	delete(ex.running, "run_2") // deaf
	ex.mu.Unlock()
	if held, err := qb.Signal(ctx, "run_2", engine.SignalExpire); err != nil || !held {
		t.Errorf("Signal of a deaf execution: held %v, %v; want held", held, err)
	}
	ex.release <- nil
}

// TestOneSweepPerPeriod: with two replicas, each periodic sweep job is
// inserted once (by River's leader) and worked once.
func TestOneSweepPerPeriod(t *testing.T) {
	dsn := database(t)
	pool := newPool(t, dsn)
	sweeps := make(chan string, 1024)
	a, b := newExecutor("a"), newExecutor("b")
	a.sweeps, b.sweeps = sweeps, sweeps
	replica(t, dsn, a, pgjobs.Options{}, 100*time.Millisecond)
	replica(t, dsn, b, pgjobs.Options{}, 100*time.Millisecond)
	const n = 10
	for range n {
		select {
		case <-sweeps:
		case <-t.Context().Done():
			t.Fatal("no sweep")
		}
	}
	var attempted, again int
	if err := pool.QueryRow(t.Context(), `SELECT count(*), count(*) FILTER (WHERE attempt > 1)
		FROM river_job WHERE kind = 'hearth_sweep' AND attempted_at IS NOT NULL`).Scan(&attempted, &again); err != nil {
		t.Fatal(err)
	}
	// Each sweep heard is a job attempted (its row says so before Sweep is
	// called), and no job was attempted twice.
	if again != 0 || attempted < n {
		t.Errorf("%d sweep jobs attempted (%d more than once) for %d sweeps heard", attempted, again, n)
	}
	var periods int
	if err := pool.QueryRow(t.Context(), `SELECT count(DISTINCT date_trunc('milliseconds', scheduled_at)) - count(*)
		FROM river_job WHERE kind = 'hearth_sweep'`).Scan(&periods); err != nil {
		t.Fatal(err)
	}
	if periods != 0 {
		t.Errorf("a period's sweep was inserted %d times more than once", -periods)
	}
}

// The child replica of TestKilledReplicaIsRescued: it executes the job and
// holds it until it is killed.
const childEnv = "HEARTH_PGJOBS_CHILD_DSN"

func TestChildReplica(t *testing.T) {
	dsn := os.Getenv(childEnv)
	if dsn == "" {
		t.Skip("the child of TestKilledReplicaIsRescued")
	}
	x := newExecutor("child")
	q, err := pgjobs.New(newPool(t, dsn), pgjobs.Options{RescueAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background(), x, 1, time.Hour); err != nil {
		t.Fatal(err)
	}
	fmt.Println("HEARTH READY")
	c := <-x.calls
	fmt.Printf("HEARTH EXECUTING %s %d\n", c.job.ID, c.attempt.Number)
	select {} // until killed
}

// TestKilledReplicaIsRescued: a replica killed (-9) mid-execution leaves
// its job running in River; the rescuer gives it back and the other replica
// executes it as a later attempt, not a clean close. A rescued job whose
// first execution is alive is not executed twice: it snoozes.
func TestKilledReplicaIsRescued(t *testing.T) {
	dsn := database(t)
	pool := newPool(t, dsn)
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildReplica$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+dsn)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck // killed below already, unless the test failed first
	lines := make(chan string, 8)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l, ok := strings.CutPrefix(sc.Text(), "HEARTH "); ok {
				lines <- l
			}
		}
		close(lines)
	}()
	expect := func(prefix string) {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok || !strings.HasPrefix(l, prefix) {
				t.Fatalf("child said %q (open %v), want %s…", l, ok, prefix)
			}
		case <-t.Context().Done():
			t.Fatal("child silent")
		}
	}
	expect("READY")
	// Enqueued through an insert-only Jobs, so that only the child works it.
	ins, err := pgjobs.New(pool, pgjobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	enqueue(t, ins, pool, engine.Job{ThreadID: "thread_1", ID: "run_1"}, true)
	expect("EXECUTING run_1 1")
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait() //nolint:errcheck // killed

	b := newExecutor("b")
	replica(t, dsn, b, pgjobs.Options{RescueAfter: time.Second}, 0)
	c := next(t, b.calls)
	if c.job.ID != "run_1" || c.attempt.Number != 2 || c.attempt.CleanClose {
		t.Errorf("rescued as %+v, want run_1's attempt 2, not a clean close", c)
	}

	// Now the live case: b holds run_1 past RescueAfter; c, another replica,
	// is given it by the rescuer, finds the lease held and snoozes.
	cx := newExecutor("c")
	snoozed := make(chan string, 8)
	qc := replica(t, dsn, cx, pgjobs.Options{RescueAfter: time.Second}, 0)
	pgjobs.OnSnooze(qc, func(id string) { snoozed <- id })
	select {
	case id := <-snoozed:
		if id != "run_1" {
			t.Errorf("snoozed %s", id)
		}
	case c := <-cx.calls:
		t.Fatalf("%+v executed while b's execution was alive", c)
	case <-t.Context().Done():
		t.Fatal("never snoozed")
	}
	select {
	case c := <-cx.calls:
		t.Fatalf("%+v executed while b's execution was alive", c)
	default:
	}
	b.release <- nil
}
