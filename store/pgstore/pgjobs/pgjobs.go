// Package pgjobs executes Hearth's runs and background responses as River
// jobs on Postgres (issue 23): an engine.Jobs for engine.Config.Jobs, so
// that every `hearth serve` replica on one database shares one queue.
//
// # What a job is
//
// A job is one execution: of a run from queued to requires_action or an
// end, or of a background response. It is inserted (InsertTx) in the store
// transaction that makes the run ready — its creation, or
// submit_tool_outputs, which inserts the next job — so a rolled-back
// creation leaves no job and a committed run always has one. A run
// waiting for tool outputs has no job running: waiting costs nothing, and
// a job never lasts longer than one execution, which RunTimeout bounds.
//
// # Who executes it: the lease
//
// River gives a job to one worker and, when a worker's replica dies,
// rescues it: after RescueAfter running it is attempted again on any
// replica. River cannot tell a dead replica from a slow run, though — it
// rescues a job running longer than RescueAfter even when its replica is
// alive. So the job is not the lease. The lease is a session advisory lock
// on the job's id, taken by the worker before it executes and held, on one
// connection per replica, until the execution has ended: Postgres releases
// it the moment that connection closes, which a killed replica's does at
// once (its socket closes) and a vanished one's when TCP keepalive gives
// up. A rescued attempt that finds the lock held (the first attempt is
// alive, only long) snoozes for RescueAfter and looks again; one that takes
// it executes, and the engine, finding the run in_progress, resumes it from
// its last committed step with the same resume count and last_error as
// after a restart. Worker.Timeout is RescueAfter only so that River's
// rescuer considers such jobs; the execution does not hear River's
// deadline (the engine's RunTimeout expires runs).
//
// # Signals
//
// Cancel, expiry and deletion happen on whichever replica was asked;
// the execution may be on another. Signal sends a NOTIFY that every
// replica LISTENs for (the executing one stops its execution with that
// cause), then waits, bounded by SignalWait, for the lease: once free, the
// caller ends the run itself if the execution did not (a compare-and-set,
// so never twice). A signal lost while a replica's listener reconnects is
// caught by the executions' own compare-and-set writes, which fail on a
// run no longer in_progress.
//
// # Sweeps
//
// Expiry sweeps are a River periodic job every sweep interval: River's
// leader (one replica at a time, elected in Postgres) inserts it, and one
// worker works it — one sweep per interval across the deployment.
package pgjobs

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/store"
)

// PgxTx is a store transaction of the Postgres driver: Enqueue inserts
// the job on its pgx transaction (pgstore.PgxTx has this method set).
type PgxTx interface {
	store.Tx
	Pgx() pgx.Tx
	Context() context.Context
}

// Options configure Jobs; zero values select the defaults.
type Options struct {
	// RescueAfter is how long a job may run before River's rescuer looks at
	// it: the longest a run whose replica died waits (plus River's rescuer
	// interval, 30 s) before another replica resumes it, and how often a
	// rescued job whose replica is alive checks again. Default 1 minute.
	RescueAfter time.Duration
	// SignalWait bounds Signal's wait for a signalled execution to stop.
	// Default 5 s.
	SignalWait time.Duration
	// FetchCooldown is the least time between two fetches of a replica's
	// workers (River's FetchCooldown): a run queued just after a fetch waits
	// this long to be taken. Default 5 ms (River's is 100 ms, a job pickup
	// latency a run's first token would carry).
	FetchCooldown time.Duration
	// Queue is River's queue name. Default "hearth".
	Queue string
	// Logger receives River's and this package's logs. Default
	// slog.Default().
	Logger *slog.Logger
}

// Jobs is an engine.Jobs on River. Make it with New, give it to one engine
// (Config.Jobs), which starts and stops it.
type Jobs struct {
	pool   *pgxpool.Pool
	opts   Options
	insert *river.Client[pgx.Tx] // inserts only; the worker client is made by Start

	mu     sync.Mutex
	client *river.Client[pgx.Tx]
	x      engine.JobExecutor
	stop   context.CancelFunc
	wg     sync.WaitGroup
	locks  *locker
	// onSnooze, set by tests, hears each snooze.
	onSnooze func(id string)
}

var _ engine.Jobs = (*Jobs)(nil)

// Kinds of job.
const (
	kindExec  = "hearth_exec"
	kindSweep = "hearth_sweep"
	// channel is the NOTIFY channel of signals: "reason:id".
	channel = "hearth_jobs"
	// maxAttempts is high: the engine's resume cap (a run resumed more than
	// three times after dying is failed) decides, not River's.
	maxAttempts = 1000
)

type execArgs struct {
	engine.Job
}

func (execArgs) Kind() string { return kindExec }

type sweepArgs struct{}

// minSweep floors the sweep's period: an engine configured to sweep every
// millisecond (tests do, on the in-process queue) would have River's leader
// insert a job a millisecond — 85,000 of them were seen queued ahead of
// the runs' own jobs.
const minSweep = 100 * time.Millisecond

func (sweepArgs) Kind() string { return kindSweep }

// Migrate applies River's migrations, once however many replicas start
// together (under an advisory lock).
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgjobs: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey("hearth-river-migrate")); err != nil {
		return fmt.Errorf("pgjobs: migrate: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockKey("hearth-river-migrate")) //nolint:errcheck // the session ends with the conn anyway
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("pgjobs: migrate: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("pgjobs: migrate: %w", err)
	}
	return nil
}

// New returns Jobs on pool, whose database Migrate has prepared.
func New(pool *pgxpool.Pool, opts Options) (*Jobs, error) {
	if opts.RescueAfter == 0 {
		opts.RescueAfter = time.Minute
	}
	if opts.SignalWait == 0 {
		opts.SignalWait = 5 * time.Second
	}
	if opts.FetchCooldown == 0 {
		opts.FetchCooldown = 5 * time.Millisecond
	}
	if opts.Queue == "" {
		opts.Queue = "hearth"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RescueAfter < 0 || opts.SignalWait < 0 {
		return nil, errors.New("pgjobs: RescueAfter and SignalWait must be positive")
	}
	// Its FetchCooldown paces its insert notifications too (once per queue
	// per cooldown): the default would delay the workers by up to 100 ms.
	insert, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: opts.Logger, FetchCooldown: opts.FetchCooldown})
	if err != nil {
		return nil, fmt.Errorf("pgjobs: %w", err)
	}
	return &Jobs{pool: pool, opts: opts, insert: insert}, nil
}

// Enqueue inserts j on tx's pgx transaction.
func (q *Jobs) Enqueue(tx store.Tx, j engine.Job) error {
	ptx, ok := tx.(interface {
		Pgx() pgx.Tx
		Context() context.Context
	})
	if !ok {
		return fmt.Errorf("pgjobs: Enqueue needs a transaction of the Postgres store, not %T", tx)
	}
	_, err := q.insert.InsertTx(ptx.Context(), ptx.Pgx(), execArgs{j}, &river.InsertOpts{Queue: q.opts.Queue, MaxAttempts: maxAttempts})
	if err != nil {
		return fmt.Errorf("pgjobs: insert job: %w", err)
	}
	return nil
}

// Start starts River's workers (workers of them) and the signal listener.
func (q *Jobs) Start(ctx context.Context, x engine.JobExecutor, workers int, sweep time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.client != nil {
		return errors.New("pgjobs: started twice")
	}
	locks, err := newLocker(ctx, q.pool)
	if err != nil {
		return err
	}
	ws := river.NewWorkers()
	river.AddWorker(ws, &execWorker{q: q})
	river.AddWorker(ws, &sweepWorker{q: q})
	client, err := river.NewClient(riverpgxv5.New(q.pool), &river.Config{
		Logger:               q.opts.Logger,
		Queues:               map[string]river.QueueConfig{q.opts.Queue: {MaxWorkers: workers}},
		Workers:              ws,
		FetchCooldown:        q.opts.FetchCooldown,
		RescueStuckJobsAfter: q.opts.RescueAfter,
		JobTimeout:           q.opts.RescueAfter,
		// Sweep jobs come every second: keep a day of them? An hour is
		// plenty to look back at.
		CompletedJobRetentionPeriod: time.Hour,
		PeriodicJobs: []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(max(sweep, minSweep)),
			func() (river.JobArgs, *river.InsertOpts) {
				// Unique while one waits or runs: a sweep slower than its
				// interval (or workers all busy) must not pile sweeps up.
				return sweepArgs{}, &river.InsertOpts{Queue: q.opts.Queue, MaxAttempts: 1,
					UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{rivertype.JobStateAvailable,
						rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStateRetryable}}}
			}, &river.PeriodicJobOpts{ID: kindSweep, RunOnStart: true})},
	})
	if err != nil {
		locks.close()
		return fmt.Errorf("pgjobs: %w", err)
	}
	q.x, q.locks, q.client = x, locks, client
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	q.stop = cancel
	q.wg.Add(1)
	go q.listen(lctx)
	// River's own lifetime is Stop's, not the caller's ctx (Open's).
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		cancel()
		q.wg.Wait()
		locks.close()
		q.client = nil
		return fmt.Errorf("pgjobs: start River: %w", err)
	}
	return nil
}

// Stop stops River (it waits for the jobs working, or ctx), then the
// listener and the lease connection. It may be called more than once.
func (q *Jobs) Stop(ctx context.Context) error {
	q.mu.Lock()
	client := q.client
	q.mu.Unlock()
	if client == nil {
		return nil
	}
	err := client.Stop(ctx)
	if err != nil {
		return err // still working: Stop again (Close) finishes it
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.client == nil {
		return nil
	}
	q.client = nil
	q.stop()
	q.wg.Wait()
	q.locks.close()
	return nil
}

// Signal notifies every replica and waits for id's lease to be free.
func (q *Jobs) Signal(ctx context.Context, id string, reason engine.SignalReason) (bool, error) {
	if _, err := q.pool.Exec(ctx, "SELECT pg_notify($1, $2)", channel, string(reason)+":"+id); err != nil {
		return false, fmt.Errorf("pgjobs: signal: %w", err)
	}
	tx, err := q.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("pgjobs: signal: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only
	if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", q.opts.SignalWait.Milliseconds())); err != nil {
		return false, fmt.Errorf("pgjobs: signal: %w", err)
	}
	_, err = tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey(id))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "55P03" { // lock_not_available
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("pgjobs: signal: %w", err)
	}
	return false, nil
}

// listen hands signals to the executor until ctx ends, reconnecting when
// its connection is lost.
func (q *Jobs) listen(ctx context.Context) {
	defer q.wg.Done()
	for backoff := 10 * time.Millisecond; ctx.Err() == nil; backoff = min(2*backoff, 5*time.Second) {
		err := q.listenOnce(ctx, func() { backoff = 10 * time.Millisecond })
		if ctx.Err() != nil {
			return
		}
		q.opts.Logger.Warn("pgjobs: signal listener lost its connection; reconnecting", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
}

func (q *Jobs) listenOnce(ctx context.Context, connected func()) error {
	// A connection of its own, not the pool's: it is held for good, and the
	// pool is the store's, sized for its queries.
	conn, err := pgx.ConnectConfig(ctx, q.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return err
	}
	connected()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		reason, id, ok := strings.Cut(n.Payload, ":")
		if ok {
			q.x.Signalled(id, engine.SignalReason(reason))
		}
	}
}

// lockKey is id's advisory lock key.
func lockKey(id string) int64 {
	h := fnv.New64a()
	h.Write([]byte("hearth-job:"))
	h.Write([]byte(id))
	return int64(h.Sum64())
}

// execWorker executes one run or background response.
type execWorker struct {
	river.WorkerDefaults[execArgs]
	q *Jobs
}

// Timeout makes the job one River's rescuer looks at after RescueAfter;
// Work does not hear the deadline (see the package doc).
func (w *execWorker) Timeout(*river.Job[execArgs]) time.Duration { return w.q.opts.RescueAfter }

// NextRetry attempts an interrupted or failed execution again at once:
// the engine's resume cap, not a backoff, limits a run that keeps failing.
func (w *execWorker) NextRetry(*river.Job[execArgs]) time.Time { return time.Now() }

func (w *execWorker) Work(ctx context.Context, job *river.Job[execArgs]) error {
	q := w.q
	release, ok, err := q.locks.acquire(ctx, job.Args.ID)
	if err != nil {
		return err
	}
	if !ok {
		// Another replica's execution holds it: alive, only long. Look
		// again after RescueAfter (a snooze does not count an attempt).
		q.mu.Lock()
		hook := q.onSnooze
		q.mu.Unlock()
		if hook != nil {
			hook(job.Args.ID)
		}
		return river.JobSnooze(q.opts.RescueAfter)
	}
	defer release()
	a := engine.Attempt{Number: job.Attempt}
	if n := len(job.Errors); n > 0 {
		a.CleanClose = job.Errors[n-1].Error == engine.ErrJobInterrupted.Error()
	}
	return q.x.Execute(context.WithoutCancel(ctx), job.Args.Job, a)
}

type sweepWorker struct {
	river.WorkerDefaults[sweepArgs]
	q *Jobs
}

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[sweepArgs]) error {
	w.q.x.Sweep(ctx)
	return nil
}
