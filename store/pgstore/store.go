package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hearth-go/hearth/store"
)

// Options configures Open. The zero value is usable.
type Options struct {
	// Logger receives open and commit notes. Default slog.Default().
	Logger *slog.Logger
	// MaxConns caps the pool (pgxpool's default when 0: max(4, NumCPU)).
	// The committer holds one connection while it commits; Views take the
	// others.
	MaxConns int32
	// OnCommit, when set, is told each group commit's duration and how many
	// writes shared it (as store.Options.OnCommit); it runs on the committer.
	OnCommit func(d time.Duration, writes int)
	// MaxBatch caps how many writes share one transaction. Default 64:
	// each write is a savepoint, a subtransaction, and a backend caches 64
	// subtransaction ids before every other backend's snapshot has to look
	// them up in pg_subtrans.
	MaxBatch int
	// ConnectTimeout bounds each connection attempt when the DSN sets no
	// connect_timeout. Default 5s.
	ConnectTimeout time.Duration
	// CommitTimeout bounds one attempt at a group commit (a server that
	// stops answering must not hold every writer forever). Default 1 min.
	CommitTimeout time.Duration
}

// Store is the Postgres driver of the store seam (store.Driver): every
// `hearth serve` replica opens one on the same database. Its methods are
// safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	log    *slog.Logger
	opts   Options
	closed atomic.Bool

	qmu    sync.Mutex
	queue  []*write
	ending bool
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

var _ store.Driver = (*Store)(nil)

// PgxTx is a Tx of the Postgres driver whose transaction other Postgres
// code may join: River's InsertTx enqueues a run's job in the same
// transaction that creates the run. Pgx's statements are part of the
// write (rolled back with it when fn fails); Context is the context the
// transaction's statements run under.
type PgxTx interface {
	store.Tx
	Pgx() pgx.Tx
	Context() context.Context
}

var _ PgxTx = (*Tx)(nil)

type write struct {
	fn     func(store.Tx) error
	decide func(error) // store.NewPending's
	done   chan struct{}
	err    error
}

func (w *write) finish(err error) {
	w.err = err
	w.decide(err) // Submit's then, in commit order, on the committer
	close(w.done)
}

// Errors of Open.
var (
	// ErrBadDSN: the DSN cannot be parsed (the error never repeats it).
	ErrBadDSN = errors.New("pgstore: the Postgres DSN is not valid")
	// ErrUnreachable: no connection could be made to the server.
	ErrUnreachable = errors.New("pgstore: cannot connect to Postgres")
)

// ErrCommitUnknown: the connection was lost while COMMIT was in flight and
// the server could not be asked, within CommitTimeout, whether it
// committed. The write may or may not be durable.
var ErrCommitUnknown = errors.New("pgstore: connection lost during COMMIT; whether the write committed is unknown")

// Open connects to the database dsn names, applies the schema migrations
// (Migrate) and starts the committer. Its errors never carry the DSN's
// password.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 64
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 5 * time.Second
	}
	if opts.CommitTimeout <= 0 {
		opts.CommitTimeout = time.Minute
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrBadDSN, scrub(parseReason(err), dsnPassword(dsn)))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pw := cfg.ConnConfig.Password
	where := fmt.Sprintf("%s:%d (database %q, user %q)", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, cfg.ConnConfig.User)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %s", ErrUnreachable, where, scrub(err.Error(), pw))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("%w at %s: %s", ErrUnreachable, where, scrub(err.Error(), pw))
	}
	applied, err := Migrate(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: migrate %s: %s", where, scrub(err.Error(), pw))
	}
	if len(applied) > 0 {
		opts.Logger.Info("pgstore migrated", "database", cfg.ConnConfig.Database, "versions", applied)
	}
	s := &Store{pool: pool, log: opts.Logger, opts: opts,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go s.commitLoop()
	return s, nil
}

// parseReason is pgx's parse error without the connection string it quotes
// (pgx redacts passwords there only on a best-effort basis).
func parseReason(err error) string {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		if inner := errors.Unwrap(pe); inner != nil {
			return inner.Error()
		}
		return "cannot parse it"
	}
	return "cannot parse it"
}

// dsnPassword finds the password in a DSN that may not parse, to scrub it.
func dsnPassword(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			return p
		}
	}
	for _, f := range strings.Fields(dsn) {
		if v, ok := strings.CutPrefix(f, "password="); ok {
			return strings.Trim(v, "'")
		}
	}
	return ""
}

func scrub(msg, password string) string {
	if password == "" {
		return msg
	}
	return strings.ReplaceAll(msg, password, "xxxxx")
}

// Pool is the connection pool, for the Postgres code beside the store
// (River's client, LISTEN/NOTIFY).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// View runs fn in a REPEATABLE READ READ ONLY transaction on a pooled
// connection: one snapshot for everything fn reads; Views run concurrently.
// The transaction begins with fn's first statement (one round trip for
// both) and a View that reads nothing costs none.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return store.ErrClosed
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		if s.closed.Load() {
			return store.ErrClosed
		}
		return fmt.Errorf("pgstore: view: %w", err)
	}
	t := &Tx{ctx: ctx, conn: conn.Conn(), opts: pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}}
	err = runSafe(fn, t)
	if t.tx != nil {
		// Read-only: nothing to keep, so the end is a rollback whatever fn
		// returned (the same round trip as a commit).
		if rerr := t.tx.Rollback(context.WithoutCancel(ctx)); rerr != nil && err == nil && !errors.Is(rerr, pgx.ErrTxClosed) {
			err = fmt.Errorf("pgstore: view: end: %w", rerr)
		}
	}
	conn.Release()
	return err
}

// Update runs fn in a write transaction and returns once it is committed
// (or failed: then nothing fn wrote is kept). Writes go through the
// committer, which group-commits what is queued.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	w := s.submit(ctx, fn, nil)
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		if s.unqueue(w) {
			w.finish(ctx.Err()) // not taken up: certainly not written
			return ctx.Err()
		}
		<-w.done // taken up: wait for the truth
		return w.err
	}
}

// Submit queues fn as Update does and returns at once; then runs on the
// committer, in commit order, once fn's outcome is known.
func (s *Store) Submit(ctx context.Context, fn func(store.Tx) error, then func(error)) store.Pending {
	p, _ := s.submitPending(ctx, fn, then)
	return p
}

func (s *Store) submit(ctx context.Context, fn func(store.Tx) error, then func(error)) *write {
	_, w := s.submitPending(ctx, fn, then)
	return w
}

func (s *Store) submitPending(ctx context.Context, fn func(store.Tx) error, then func(error)) (store.Pending, *write) {
	p, decide := store.NewPending(then)
	w := &write{fn: fn, decide: decide, done: make(chan struct{})}
	if err := ctx.Err(); err != nil {
		w.finish(err)
		return p, w
	}
	s.qmu.Lock()
	if s.ending {
		s.qmu.Unlock()
		w.finish(store.ErrClosed)
		return p, w
	}
	s.queue = append(s.queue, w)
	s.qmu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return p, w
}

func (s *Store) unqueue(w *write) bool {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	for i, q := range s.queue {
		if q == w {
			s.queue = append(s.queue[:i:i], s.queue[i+1:]...)
			return true
		}
	}
	return false
}

// Close commits what was queued before it, stops the committer and closes
// the pool.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.qmu.Lock()
		s.ending = true
		s.qmu.Unlock()
		close(s.stop)
		<-s.done
		s.closed.Store(true)
		s.pool.Close()
	})
	return nil
}

// commitLoop is the one committer of this process: it takes what is queued
// (up to MaxBatch) and commits it as one transaction.
func (s *Store) commitLoop() {
	defer close(s.done)
	yield := false
	for {
		stopping := false
		select {
		case <-s.wake:
		case <-s.stop:
			stopping = true
		}
		for {
			if yield {
				// Let the writers the last commit released queue their next
				// write, so they share this commit (as bbolt's committer).
				runtime.Gosched()
			}
			s.qmu.Lock()
			batch := s.queue
			if len(batch) > s.opts.MaxBatch {
				batch, s.queue = batch[:s.opts.MaxBatch:s.opts.MaxBatch], batch[s.opts.MaxBatch:]
			} else {
				s.queue = nil
			}
			s.qmu.Unlock()
			if len(batch) == 0 {
				break
			}
			start := time.Now()
			s.commit(batch)
			if s.opts.OnCommit != nil {
				s.opts.OnCommit(time.Since(start), len(batch))
			}
			yield = len(batch) > 1
		}
		if stopping {
			return
		}
	}
}

// errConnLost: the connection ended (the server restarted, failed over,
// or terminated the session) before the group committed, and nothing of it
// was written. The committer runs the group again on another connection,
// up to maxLostAttempts times: a replica rides out a failover instead of
// failing the runs whose writes were in flight.
var errConnLost = errors.New("pgstore: connection lost, nothing was written")

const maxLostAttempts = 3

// maxAttempts bounds the retries of a group that keeps failing to
// serialise (another replica writing the same rows).
const maxAttempts = 32

// commit runs the batch in one SERIALIZABLE transaction, each write inside
// a savepoint of its own: a write whose fn fails is rolled back to its
// savepoint and decided with its error, the others commit together. On a
// serialisation failure or deadlock the whole group runs again.
func (s *Store) commit(batch []*write) {
	var errs []error
	var err error
	for attempt := 1; ; attempt++ {
		errs, err = s.try(batch)
		if err == nil || attempt == maxAttempts {
			break
		}
		if !retryable(err) && !(errors.Is(err, errConnLost) && attempt <= maxLostAttempts) {
			break
		}
		s.log.Debug("pgstore: group commit retried", "attempt", attempt, "writes", len(batch), "err", err)
		time.Sleep(time.Duration(attempt) * time.Millisecond) // let the other writer finish
	}
	for i, w := range batch {
		if err != nil {
			w.finish(err)
		} else {
			w.finish(errs[i])
		}
	}
}

// try is one attempt at a group: the writes' own outcomes, or the error
// that fails them all (nothing written).
func (s *Store) try(batch []*write) ([]error, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.CommitTimeout)
	defer cancel()
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: write: nothing was written: %w", err)
	}
	conn := pc.Conn()
	release := func() {
		if conn.PgConn().TxStatus() != 'I' || conn.IsClosed() {
			// A transaction left open: close the connection rather than
			// hand it to the pool inside it.
			_ = conn.Close(context.Background())
		}
		pc.Release()
	}
	defer release()
	var xid int64
	t := &Tx{ctx: ctx, conn: conn, write: true, opts: pgx.TxOptions{IsoLevel: pgx.Serializable},
		pre: []preStmt{{sql: "SELECT pg_current_xact_id()::text::bigint", scan: func(r pgx.Row) error { return r.Scan(&xid) }}}}
	errs := make([]error, len(batch))
	for i, w := range batch {
		t.beginWrite()
		ferr := runSafe(w.fn, t)
		if t.fatal != nil {
			return nil, t.fatal
		}
		if ferr != nil && retryable(ferr) {
			return nil, ferr // a statement fn ran itself (Pgx) failed to serialise
		}
		if ferr == nil && t.failed != nil {
			ferr = t.failed // fn went on past a failed statement
		}
		if err := t.endWrite(ferr != nil); err != nil {
			if t.fatal != nil {
				return nil, t.fatal
			}
			if ferr == nil {
				ferr = err
			}
		}
		errs[i] = ferr
	}
	if t.tx == nil {
		return errs, nil // no write touched the database
	}
	b := &pgx.Batch{}
	for _, p := range t.pre {
		b.Queue(p.sql, p.args...)
	}
	b.Queue("COMMIT")
	br := conn.SendBatch(ctx, b)
	var cerr error
	for range b.QueuedQueries {
		if _, err := br.Exec(); err != nil && cerr == nil {
			cerr = err
		}
	}
	if err := br.Close(); err != nil && cerr == nil {
		cerr = err
	}
	if cerr == nil {
		return errs, nil
	}
	if isServerError(cerr) && !connectionEnded(cerr) {
		if retryable(cerr) {
			return nil, cerr
		}
		return nil, fmt.Errorf("pgstore: commit: nothing was written: %w", cerr)
	}
	if pgconn.SafeToRetry(cerr) || !conn.IsClosed() {
		// COMMIT never reached the server (or the connection is still in
		// step with it, so the server refused it): release closes the
		// connection, which rolls the transaction back.
		return nil, fmt.Errorf("pgstore: commit: nothing was written: %w", cerr)
	}
	// The connection went while COMMIT was in flight: ask the server.
	committed, err := s.xactStatus(xid)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrCommitUnknown, cerr)
	case committed:
		return errs, nil
	}
	return nil, fmt.Errorf("%w (at commit): %w", errConnLost, cerr)
}

// xactStatus asks, on another connection, whether transaction xid
// committed, until CommitTimeout.
func (s *Store) xactStatus(xid int64) (bool, error) {
	if xid == 0 {
		return false, errors.New("no transaction id")
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.CommitTimeout)
	defer cancel()
	for {
		var status *string
		err := s.pool.QueryRow(ctx, "SELECT pg_xact_status($1::text::xid8)", fmt.Sprint(xid)).Scan(&status)
		if err == nil && status != nil && *status != "in progress" {
			return *status == "committed", nil
		}
		if err == nil && status == nil {
			return false, errors.New("transaction too old to know")
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			return false, err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// runSafe turns a panic in fn into an error so one bad write cannot kill
// the committer.
func runSafe(fn func(store.Tx) error, tx store.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pgstore: write panicked: %v", r)
		}
	}()
	return fn(tx)
}

// SQLSTATEs the committer acts on.
const (
	sqlSerialization = "40001"
	sqlDeadlock      = "40P01"
	sqlUnique        = "23505"
)

// retryable reports whether err means the group should run again: a
// serialisation failure or deadlock, or a unique violation of
// one_active_run_per_thread (a run another replica made active since fn
// read ActiveRun, which SERIALIZABLE usually reports as 40001 but may
// report as the violation): run again, fn sees the run and decides as the
// engine does when a thread has one.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case sqlSerialization, sqlDeadlock:
		return true
	case sqlUnique:
		return pe.ConstraintName == "one_active_run_per_thread"
	}
	return false
}

// connectionEnded reports whether err is the server ending the session
// (class 57P: an administrator's termination, a shutdown or crash; class
// 08: a connection exception): the transaction is gone, not refused.
func connectionEnded(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "57P") || strings.HasPrefix(pe.Code, "08"))
}

// isServerError reports whether err is the server's answer to a statement
// (the connection is fine), not a lost connection or a cancelled context.
func isServerError(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe)
}
