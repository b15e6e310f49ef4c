package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/hearth-go/hearth/apitype"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout version this package writes.
//
// Version 2 stores exact token counts: its migration recounts every message
// with Options.CountTokens (keeping the stored counts when that is nil).
// Version 3 stores messages as v2 records (see codec.go): its migration
// rewrites older records, so a build that cannot read them refuses the file
// instead of failing on its messages.
// Version 4 makes each thread's bucket flat (see tx.go): its migration
// rewrites every thread, 10,000 records a transaction.
const SchemaVersion = 4

// Errors returned by Open.
var (
	// ErrLocked: another process holds the database file.
	ErrLocked = errors.New("store: database is in use by another process")
	// ErrNewerSchema: the file was written by a newer Hearth.
	ErrNewerSchema = errors.New("store: database schema is newer than this version of Hearth")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
)

// Migration upgrades the layout from Version-1 to Version: with Up in one
// transaction, or with Step in as many as it takes.
type Migration struct {
	Version int
	// Up makes the whole change; the version is recorded in the same
	// transaction.
	Up func(tx *bolt.Tx) error
	// Step, used when Up is nil, makes a bounded part of the change in a
	// transaction of its own and reports whether nothing is left; the
	// version is recorded after the last step. It must be idempotent: a
	// process stopped between steps reopens at the old version and steps
	// again from the start. (A change as large as the file would otherwise
	// be one transaction holding all of it in memory.)
	Step func(tx *bolt.Tx) (done bool, err error)
}

// Options configures Open. The zero value is usable.
type Options struct {
	// LockTimeout bounds the wait for the file lock another process holds;
	// past it Open fails with ErrLocked. Default 1s.
	LockTimeout time.Duration
	// NoSync skips fsync on commit: faster, not durable. Default false.
	NoSync bool
	// MaxBatch caps how many concurrent writes share one commit. Default 256.
	MaxBatch int
	// Migrations run, in Version order, for each version above the file's.
	Migrations []Migration
	// CountTokens counts a message's tokens for the schema 2 migration.
	CountTokens func(*apitype.Message) int
	// Logger receives open/migration notes. Default slog.Default().
	Logger *slog.Logger
	// OnCommit, when set, is told each batched commit's duration and how
	// many writes shared it (metrics); it runs on the committer.
	OnCommit func(d time.Duration, writes int)
	// SyncFreelist writes bbolt's list of free pages with every commit
	// (bbolt's default) instead of rebuilding it at Open. Default false, as
	// etcd runs bbolt: after many deletes the list is large, and writing it
	// tripled what each commit writes (see BENCHMARKS.md), while Open pays
	// a walk of the file's page headers (a few ms per 50 MB cached). Files
	// written either way open either way.
	SyncFreelist bool
	// arrayFreelist (benchmarks) uses bbolt's array freelist, not the hashmap.
	arrayFreelist bool
}

// Store is Hearth's bbolt database. Its methods are safe for concurrent use.
type Store struct {
	// h is the open file; Compact swaps it. Readers hold a reference to
	// the handle they began on, so the old file closes only after them.
	h    atomic.Pointer[handle]
	path string
	// wmu is held by every write to the file (the committer's commits,
	// Bolt().Update) and by Compact for as long as it copies, so nothing
	// written meanwhile can be lost in the swap.
	wmu sync.Mutex
	// cmu serialises Compact with itself and with Close.
	cmu            sync.Mutex
	noSync         bool
	noFreelistSync bool
	log            *slog.Logger
	max            int
	// onCommit is Options.OnCommit.
	onCommit func(time.Duration, int)
	qmu      sync.Mutex
	queue    []*write      // writes not yet taken by the committer, in order
	ending   bool          // Close has begun: no more writes are queued
	wake     chan struct{} // a write was queued (capacity 1)
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
	closed   atomic.Bool

	lenders sync.Pool // *msgArena lenders for Tx.ScanMessages
	fill    float64   // Tx.fill of writes (tests compare bbolt's default)
	// afterCopy, in tests, runs when Compact has copied the data, before
	// the copy takes the old file's place.
	afterCopy func()
	compactTx int64 // compactInto's txBytes (tests: many commits to kill between)
}

type write struct {
	fn   func(Tx) error
	then func(error) // Submit's callback, run by the committer; may be nil
	err  chan error
}

// decide reports the write's outcome: its callback first (in commit order,
// on the committer), then to whoever waits.
func (w *write) decide(err error) {
	if w.then != nil {
		func() {
			defer func() { recover() }() // a bad callback must not kill the committer
			w.then(err)
		}()
	}
	w.err <- err
}

// Open opens (creating if needed) the database at path.
func Open(path string, opts Options) (*Store, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	start := time.Now()
	bo := boltOptions(opts.LockTimeout, opts.NoSync, !opts.SyncFreelist)
	if opts.arrayFreelist {
		bo.FreelistType = bolt.FreelistArrayType
	}
	db, err := bolt.Open(path, 0o600, bo)
	if errors.Is(err, berrors.ErrTimeout) {
		// The lock is flock(2) on the open file, so another Open of the same
		// path in this process is refused the same way.
		return nil, fmt.Errorf("%w: %s (gave up waiting for its lock after %s; LockTimeout %s; a second Open in the same process is refused too)",
			ErrLocked, path, time.Since(start).Round(time.Millisecond), opts.LockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// A compaction the last process was killed in left its unfinished copy;
	// the lock we hold says no other process is making one.
	_ = os.Remove(path + compactingSuffix)
	s := &Store{path: path, log: opts.Logger, max: opts.MaxBatch, onCommit: opts.OnCommit, noSync: opts.NoSync, noFreelistSync: !opts.SyncFreelist,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	s.h.Store(&handle{db: db, drained: make(chan struct{})})
	if err := s.init(append([]Migration{recountMigration(opts.CountTokens), recodeMigration(rewriteBatch), flattenMigration(rewriteBatch)}, opts.Migrations...)); err != nil {
		db.Close()
		return nil, err
	}
	go s.commitLoop()
	return s, nil
}

func (s *Store) init(migrations []Migration) error {
	latest := SchemaVersion
	for _, m := range migrations {
		latest = max(latest, m.Version)
	}
	var version int
	errNewer := errors.New("newer")
	err := s.h.Load().db.Update(func(tx *bolt.Tx) error {
		// Read the version before creating anything: a file from a newer
		// Hearth is refused untouched (the rollback discards this tx).
		if meta := tx.Bucket(bMeta); meta != nil {
			if v := meta.Get(kSchema); len(v) == 8 {
				version = int(binary.BigEndian.Uint64(v))
				if version > latest {
					return errNewer
				}
			}
		}
		for _, name := range rootBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if version == 0 {
			// A new file holds nothing to migrate: it starts at the latest.
			version = latest
			return tx.Bucket(bMeta).Put(kSchema, u64(uint64(latest)))
		}
		return nil
	})
	if errors.Is(err, errNewer) {
		return fmt.Errorf("%w: %s has schema %d, this build knows %d", ErrNewerSchema, s.path, version, latest)
	}
	if err != nil {
		return fmt.Errorf("store: init %s: %w", s.path, err)
	}
	for v := version + 1; v <= latest; v++ {
		for _, m := range migrations {
			if m.Version != v {
				continue
			}
			err := s.migrate(m)
			if err != nil {
				return fmt.Errorf("store: migrate %s to schema %d: %w", s.path, v, err)
			}
			s.log.Info("store migrated", "path", s.path, "schema", v)
		}
	}
	return nil
}

// migrate runs one migration and records its version.
func (s *Store) migrate(m Migration) error {
	record := func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(kSchema, u64(uint64(m.Version))) }
	if m.Up == nil && m.Step == nil {
		return fmt.Errorf("migration %d has neither Up nor Step", m.Version)
	}
	if m.Up != nil {
		return s.h.Load().db.Update(func(tx *bolt.Tx) error {
			if err := m.Up(tx); err != nil {
				return err
			}
			return record(tx)
		})
	}
	for steps := 1; ; steps++ {
		var done bool
		err := s.h.Load().db.Update(func(tx *bolt.Tx) (err error) {
			done, err = m.Step(tx)
			return err
		})
		if err != nil {
			return err
		}
		s.log.Debug("store migration step", "path", s.path, "schema", m.Version, "step", steps)
		if done {
			s.log.Info("store migration steps", "path", s.path, "schema", m.Version, "steps", steps)
			return s.h.Load().db.Update(record)
		}
	}
}

// Close waits for pending writes and closes the file.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		s.cmu.Lock() // a compaction in progress finishes first
		defer s.cmu.Unlock()
		s.closed.Store(true)
		s.qmu.Lock()
		s.ending = true // writes queued before this are still committed
		s.qmu.Unlock()
		close(s.stop)
		<-s.done
		err = s.h.Load().db.Close()
	})
	return err
}

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// FreeBytes is how much of the file is free pages (deleted data, and pages
// of commits no read holds any more), which Compact would give back.
func (s *Store) FreeBytes() int64 {
	h := s.acquire()
	defer s.release(h)
	st := h.db.Stats()
	var page int64
	// Info reads the mapping, which a growing write remaps: inside a read
	// transaction it stays put.
	_ = h.db.View(func(tx *bolt.Tx) error { page = int64(tx.DB().Info().PageSize); return nil })
	return int64(st.FreePageN+st.PendingPageN) * page
}

// Size is the database file's size in bytes.
func (s *Store) Size() int64 {
	var n int64
	h := s.acquire()
	defer s.release(h)
	_ = h.db.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	return n
}

// DB exposes the bbolt handle of the file open now, for statistics and
// tests. Compact replaces it (and closes this one once its reads end):
// capability packages that keep their own buckets use Bolt instead.
// Unstable: see the package doc.
func (s *Store) DB() *bolt.DB { return s.h.Load().db }

// Bolt is the database as capability packages that keep their own buckets
// (file search vectors) use it: View and Update on whichever file the store
// has open, so they go on working across Compact. They must not touch
// Hearth's buckets, and a View must not call Update. Unstable: see the
// package doc.
type Bolt struct{ s *Store }

// Bolt returns the store's Bolt.
func (s *Store) Bolt() Bolt { return Bolt{s} }

// View runs fn in a read-only bbolt transaction.
func (b Bolt) View(fn func(*bolt.Tx) error) error {
	h := b.s.acquire()
	defer b.s.release(h)
	return h.db.View(fn)
}

// Update runs fn in a read-write bbolt transaction and commits it.
func (b Bolt) Update(fn func(*bolt.Tx) error) error {
	b.s.wmu.Lock()
	defer b.s.wmu.Unlock()
	return b.s.h.Load().db.Update(fn)
}

// SchemaVersion returns the schema version recorded in the file.
func (s *Store) SchemaVersion() (int, error) {
	var v int
	err := s.View(context.Background(), func(tx Tx) error {
		v = int(binary.BigEndian.Uint64(tx.(*boltTx).tx.Bucket(bMeta).Get(kSchema)))
		return nil
	})
	return v, err
}

// View runs fn in a read-only transaction. Views run concurrently with each
// other and with writes. fn must not call Update: a commit that grows the
// file waits for open reads to end, so it could wait for fn forever.
func (s *Store) View(ctx context.Context, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return ErrClosed
	}
	h := s.acquire()
	err := h.db.View(func(btx *bolt.Tx) error { return fn(&boltTx{tx: btx, lenders: &s.lenders}) })
	s.release(h)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// Update runs fn in a read-write transaction and commits it. Concurrent
// calls share commits (group commit): while one commit syncs, the next writes
// queue up and go out together in the next transaction, so throughput grows
// with writers and every call returns only after its commit is durable.
//
// fn may run more than once (when a write sharing its transaction fails, the
// others are retried), so it must have no effect outside tx other than
// assigning captured variables; it must not call Update or View itself. When fn returns an error nothing it wrote is
// kept and Update returns that error.
func (s *Store) Update(ctx context.Context, fn func(Tx) error) error {
	p := s.Submit(ctx, fn, nil)
	select {
	case err := <-p.w.err:
		return err
	case <-ctx.Done():
		if s.unqueue(p.w) {
			return ctx.Err() // not taken yet, so certainly not written
		}
		// Taken: it will be decided; wait for the truth rather than
		// returning early and leaving the caller unsure.
		return p.Wait()
	}
}

// Pending is a write queued by Submit.
type Pending struct{ w *write }

// Wait returns the write's outcome once it is decided: nil when it is
// committed and durable, as Update would return.
func (p Pending) Wait() error {
	err := <-p.w.err
	p.w.err <- err // keep the answer for another Wait
	return err
}

// Submit queues fn as Update does but returns at once, so a caller can go
// on (say, start a model call) while the commit syncs. Writes are committed
// in the order Submit and Update queued them. then, if not nil, runs on the
// store's committer goroutine once fn's outcome is known, before Wait
// returns; callbacks run in commit order, so what they do (publish the
// write's events) is ordered exactly as the commits are. then must be quick
// and must not use the store. ctx only matters if it has already ended:
// a queued write is always decided.
func (s *Store) Submit(ctx context.Context, fn func(Tx) error, then func(error)) Pending {
	w := &write{fn: fn, then: then, err: make(chan error, 1)}
	if err := ctx.Err(); err != nil {
		w.decide(err)
		return Pending{w}
	}
	s.qmu.Lock()
	if s.ending {
		s.qmu.Unlock()
		w.decide(ErrClosed)
		return Pending{w}
	}
	s.queue = append(s.queue, w)
	s.qmu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default: // the committer is already due to look
	}
	return Pending{w}
}

// unqueue takes w out of the queue if the committer has not taken it.
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

// commitLoop is the single committer: it takes what is queued (up to
// MaxBatch) and commits it as one transaction, until Close, committing what
// was queued before Close.
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
				// Writers the last commit released are runnable but may not
				// have queued their next write yet; let them, so they join
				// this commit instead of waiting a whole one more.
				runtime.Gosched()
			}
			s.qmu.Lock()
			batch := s.queue
			if len(batch) > s.max {
				batch, s.queue = batch[:s.max:s.max], batch[s.max:]
			} else {
				s.queue = nil
			}
			s.qmu.Unlock()
			if len(batch) == 0 {
				break
			}
			s.wmu.Lock()
			if s.onCommit != nil {
				start := time.Now()
				s.commit(batch)
				s.onCommit(time.Since(start), len(batch))
			} else {
				s.commit(batch)
			}
			s.wmu.Unlock()
			yield = len(batch) > 1
		}
		if stopping {
			return
		}
	}
}

// commit runs the batch in one transaction; a failing write is taken out
// and decided alone, and the others are retried. The caller holds wmu.
func (s *Store) commit(batch []*write) {
	db := s.h.Load().db
	for len(batch) > 0 {
		failed := -1
		err := db.Update(func(btx *bolt.Tx) error {
			tx := &boltTx{tx: btx, lenders: &s.lenders, fill: s.fill}
			for i, w := range batch {
				if err := runSafe(w.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			for _, w := range batch {
				w.decide(err)
			}
			return
		}
		// Decide in queue order, so callbacks run in commit order: those
		// before the failing write commit first, then it is decided against
		// their effects, then the rest go on together.
		w := batch[failed]
		if failed == 0 {
			w.decide(err) // it ran first in a fresh transaction: that is its outcome
		} else {
			s.commit(batch[:failed:failed])
			w.decide(db.Update(func(btx *bolt.Tx) error { return runSafe(w.fn, &boltTx{tx: btx, lenders: &s.lenders, fill: s.fill}) }))
		}
		batch = batch[failed+1:]
	}
}

// runSafe turns a panic in fn into an error so one bad write cannot kill the
// commit loop that every writer depends on.
func runSafe(fn func(Tx) error, tx Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: write panicked: %v", r)
		}
	}()
	return fn(tx)
}

// Backup writes a consistent copy of the database to w while it stays in use.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := s.View(ctx, func(tx Tx) error {
		var err error
		n, err = tx.(*boltTx).tx.WriteTo(w)
		return err
	})
	return n, err
}

// BackupFile writes a consistent copy to path (created with mode 0600, synced).
func (s *Store) BackupFile(ctx context.Context, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := s.Backup(ctx, f); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Check verifies the file's consistency (bbolt's tx.Check).
func (s *Store) Check() error {
	return s.View(context.Background(), func(tx Tx) error {
		var errs []error
		for err := range tx.(*boltTx).tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}
