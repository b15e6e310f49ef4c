package pgtest_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/hearth-go/hearth/internal/pgtest"
)

// These tests de-risk River for issue 23 (runs as River jobs): its migrations
// run on a fresh database, a client works a job end to end, and a job inserted
// in a transaction that rolls back does not exist to be worked.

type signalArgs struct {
	Name string `json:"name"`
}

func (signalArgs) Kind() string { return "pgtest_signal" }

// signalWorker sends each job's name on worked, buffered so Work never waits.
type signalWorker struct {
	river.WorkerDefaults[signalArgs]
	worked chan<- string
}

func (w *signalWorker) Work(_ context.Context, job *river.Job[signalArgs]) error {
	w.worked <- job.Args.Name
	return nil
}

// logWriter routes River's warnings and errors to the test's log.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// newRiver migrates a fresh database and returns a client (not started: a test
// may insert first) with one worker, its pool, and the names it works.
func newRiver(t *testing.T) (*river.Client[pgx.Tx], *pgxpool.Pool, <-chan string) {
	t.Helper()
	ctx := t.Context()
	pool, err := pgxpool.New(ctx, pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	migrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		t.Fatalf("river migrations: %v", err)
	}
	if len(res.Versions) == 0 {
		t.Fatal("river migrations: none applied to a fresh database")
	}

	worked := make(chan string, 16)
	workers := river.NewWorkers()
	river.AddWorker(workers, &signalWorker{worked: worked})
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Logger: slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		// One worker: jobs are fetched one at a time, oldest first.
		Queues:   map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}},
		TestOnly: true,
		Workers:  workers,
	})
	if err != nil {
		t.Fatal(err)
	}
	return client, pool, worked
}

// start starts client until the test ends (Stop waits for its jobs and
// services, so nothing of it outlives the test or its pool).
func start(t *testing.T, client *river.Client[pgx.Tx]) {
	t.Helper()
	if err := client.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := client.Stop(context.Background()); err != nil {
			t.Errorf("river client stop: %v", err)
		}
	})
}

// awaitCompleted waits for the completed event of job id.
func awaitCompleted(t *testing.T, events <-chan *river.Event, id int64) {
	t.Helper()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("river event subscription closed")
			}
			if ev.Job.ID == id {
				if ev.Job.State != rivertype.JobStateCompleted {
					t.Fatalf("job %d: state %s, want completed", id, ev.Job.State)
				}
				return
			}
		case <-t.Context().Done():
			t.Fatal("test ended before the job completed")
		}
	}
}

func TestRiverWorksAJob(t *testing.T) {
	ctx := t.Context()
	client, _, worked := newRiver(t)
	events, cancel := client.Subscribe(river.EventKindJobCompleted)
	defer cancel()
	start(t, client)

	res, err := client.Insert(ctx, signalArgs{Name: "hello"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case name := <-worked:
		if name != "hello" {
			t.Fatalf("worked %q, want hello", name)
		}
	case <-ctx.Done():
		t.Fatal("test ended before the job was worked")
	}
	awaitCompleted(t, events, res.Job.ID)
	row, err := client.JobGet(ctx, res.Job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if row.State != rivertype.JobStateCompleted || row.Attempt != 1 {
		t.Errorf("job row: state %s, attempt %d; want completed on attempt 1", row.State, row.Attempt)
	}
}

// TestRiverRolledBackInsertIsNeverWorked: the transactional enqueue issue 23
// relies on (no run without its job, no job without its run). The rolled-back
// job is inserted first, so with one worker taking the oldest job first it
// would be worked before the committed one if the rollback had not removed it.
func TestRiverRolledBackInsertIsNeverWorked(t *testing.T) {
	ctx := t.Context()
	client, pool, worked := newRiver(t)

	insertTx := func(name string, commit bool) int64 {
		t.Helper()
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
		res, err := client.InsertTx(ctx, tx, signalArgs{Name: name}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if commit {
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
		return res.Job.ID
	}
	rolledBack := insertTx("rolled back", false)
	committed := insertTx("committed", true)

	events, cancel := client.Subscribe(river.EventKindJobCompleted)
	defer cancel()
	start(t, client)
	awaitCompleted(t, events, committed)
	if name := <-worked; name != "committed" {
		t.Fatalf("worked %q first, want only the committed job", name)
	}
	select {
	case name := <-worked:
		t.Fatalf("worked %q too, want only the committed job", name)
	default:
	}
	if _, err := client.JobGet(ctx, rolledBack); !errors.Is(err, river.ErrNotFound) {
		t.Errorf("rolled-back job %d: JobGet error %v, want river.ErrNotFound", rolledBack, err)
	}
	var jobs int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM river_job").Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if jobs != 1 {
		t.Errorf("%d rows in river_job, want the committed job's alone", jobs)
	}
}
