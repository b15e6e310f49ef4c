package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// compactingSuffix names the copy a compaction writes beside its file
// before renaming it into place.
const compactingSuffix = ".compacting"

// compactTxBytes bounds the keys and values one transaction of a
// compaction copies, and so the memory it dirties.
const compactTxBytes = 64 << 20

// boltOptions are the options every file of the store is opened with.
func boltOptions(lock time.Duration, noSync, noFreelistSync bool) *bolt.Options {
	return &bolt.Options{
		Timeout:        lock,
		NoSync:         noSync,
		NoFreelistSync: noFreelistSync,
		FreelistType:   bolt.FreelistMapType,
	}
}

// handle is one open file and the reads still using it.
type handle struct {
	db      *bolt.DB
	refs    atomic.Int64
	retired atomic.Bool
	once    sync.Once
	drained chan struct{} // closed once retired and no read holds it
}

// acquire returns the open file with a reference the caller must release.
func (s *Store) acquire() *handle {
	for {
		h := s.h.Load()
		h.refs.Add(1)
		if s.h.Load() == h {
			return h
		}
		s.release(h) // swapped meanwhile: take the new one
	}
}

func (s *Store) release(h *handle) {
	if h.refs.Add(-1) == 0 && h.retired.Load() {
		h.once.Do(func() { close(h.drained) })
	}
}

// retire waits, once h is no longer s.h, for the reads holding h to end.
func (h *handle) retire() {
	h.retired.Store(true)
	if h.refs.Load() == 0 {
		h.once.Do(func() { close(h.drained) })
	}
	<-h.drained
}

// CompactStats says what a compaction did.
type CompactStats struct {
	// Before and After are the file's size in bytes.
	Before, After int64
	// Took is the whole compaction; Paused the part writers waited for.
	Took, Paused time.Duration
}

// Compact rewrites the database into a new file holding only what is live,
// with every page full, and puts it in place of the old one while the
// store stays open: deleted space goes back to the file system.
//
// Reads go on throughout. Writes wait while the data is copied (they queue
// and are committed together after, so none is lost); reads that began on
// the old file finish on it, and it is closed after them, before Compact
// returns. A process killed at any point leaves the old file or the
// compacted one, each whole: the copy is synced before it is renamed over
// the old file, and a copy left unfinished is removed by the next Open.
// ctx is looked at before the copy and before the swap (the copy itself
// runs to its end).
func (s *Store) Compact(ctx context.Context) (CompactStats, error) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	if s.closed.Load() {
		return CompactStats{}, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return CompactStats{}, err
	}
	start := time.Now()
	s.wmu.Lock()
	locked := true
	defer func() {
		if locked {
			s.wmu.Unlock()
		}
	}()
	old := s.h.Load()
	st := CompactStats{Before: fileSize(s.path)}
	// The copy holds the lock on its own file from the start, so no other
	// process can open it once it is renamed into place.
	db, err := compactInto(old.db, s.path+compactingSuffix, s.noSync, s.noFreelistSync, s.compactTx)
	if err != nil {
		return st, err
	}
	if s.afterCopy != nil {
		s.afterCopy()
	}
	if err := ctx.Err(); err != nil {
		db.Close()
		os.Remove(db.Path())
		return st, err
	}
	if err := replace(db.Path(), s.path); err != nil {
		db.Close()
		os.Remove(db.Path())
		return st, err
	}
	s.h.Store(&handle{db: db, drained: make(chan struct{})})
	st.Paused = time.Since(start)
	s.wmu.Unlock() // writes go to the new file from here
	locked = false
	old.retire()
	if err := old.db.Close(); err != nil {
		s.log.Warn("store: closing the file compaction replaced", "path", s.path, "err", err)
	}
	st.After, st.Took = fileSize(s.path), time.Since(start)
	s.log.Info("store compacted", "path", s.path, "before", st.Before, "after", st.After, "took", st.Took, "writes_paused", st.Paused)
	return st, nil
}

// compactInto copies src's live data into a new file at path (removing
// what a killed compaction left there), txBytes of keys and values a
// commit (0: compactTxBytes), synced, and returns it open, with commits
// synced unless noSync.
func compactInto(src *bolt.DB, path string, noSync, noFreelistSync bool, txBytes int64) (*bolt.DB, error) {
	if txBytes <= 0 {
		txBytes = compactTxBytes
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("store: compact: %w", err)
	}
	// Not synced commit by commit: the file is synced once, whole, before
	// anything depends on it.
	db, err := bolt.Open(path, 0o600, boltOptions(time.Second, true, noFreelistSync))
	if err != nil {
		return nil, fmt.Errorf("store: compact into %s: %w", path, err)
	}
	if err := bolt.Compact(db, src, txBytes); err != nil {
		db.Close()
		os.Remove(path)
		return nil, fmt.Errorf("store: compact into %s: %w", path, err)
	}
	if err := db.Sync(); err != nil {
		db.Close()
		os.Remove(path)
		return nil, fmt.Errorf("store: compact: sync %s: %w", path, err)
	}
	db.NoSync = noSync
	return db, nil
}

// replace renames from over to and syncs the directory, so the rename
// outlives a crash.
func replace(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("store: compact: %w", err)
	}
	if d, err := os.Open(filepath.Dir(to)); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("store: compact: sync %s: %w", filepath.Dir(to), err)
		}
	}
	return nil
}

// truncateSynced cuts the file at path to size bytes, if it is longer, and
// syncs it.
func truncateSynced(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("store: compact: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && size > 0 && fi.Size() > size {
		if err := f.Truncate(size); err != nil {
			return fmt.Errorf("store: compact: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("store: compact: sync %s: %w", path, err)
	}
	return nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// CompactFile writes a compacted copy of the database file src, which no
// process may have open, to dst; with dst "" or src it replaces src. dst
// other than src must not exist. The copy is written beside dst, synced,
// and renamed into place, so dst is whole or absent whatever happens. A
// file another process holds is refused with ErrLocked after lockTimeout
// (default 1s).
func CompactFile(ctx context.Context, src, dst string, lockTimeout time.Duration) (CompactStats, error) {
	if lockTimeout <= 0 {
		lockTimeout = time.Second
	}
	if dst == "" {
		dst = src
	}
	start := time.Now()
	if _, err := os.Stat(src); err != nil {
		return CompactStats{}, fmt.Errorf("store: compact: %w", err)
	}
	inPlace := filepath.Clean(dst) == filepath.Clean(src)
	if !inPlace {
		if _, err := os.Stat(dst); err == nil {
			return CompactStats{}, fmt.Errorf("store: compact: %s exists; give a new path or none to replace %s", dst, src)
		}
	}
	// An exclusive lock, held until the copy is in place: no server can
	// open src and write what the copy would miss.
	db, err := bolt.Open(src, 0o600, boltOptions(lockTimeout, true, true))
	if errors.Is(err, berrors.ErrTimeout) {
		return CompactStats{}, fmt.Errorf("%w: %s (gave up waiting for its lock after %s): stop the server, or compact it online (POST /admin/compact, hearth compact --server)",
			ErrLocked, src, time.Since(start).Round(time.Millisecond))
	}
	if err != nil {
		return CompactStats{}, fmt.Errorf("store: compact: open %s: %w", src, err)
	}
	defer db.Close()
	if err := ctx.Err(); err != nil {
		return CompactStats{}, err
	}
	st := CompactStats{Before: fileSize(src)}
	out, err := compactInto(db, dst+compactingSuffix, true, true, 0)
	if err != nil {
		return st, err
	}
	var used int64
	_ = out.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil })
	if err := out.Close(); err != nil {
		os.Remove(dst + compactingSuffix)
		return st, fmt.Errorf("store: compact: %w", err)
	}
	// bbolt grows a file ahead of its data (to the next power of two, or
	// 16 MiB past it); closed, the copy can be cut to what it holds.
	if err := truncateSynced(dst+compactingSuffix, used); err != nil {
		os.Remove(dst + compactingSuffix)
		return st, err
	}
	if err := ctx.Err(); err != nil {
		os.Remove(dst + compactingSuffix)
		return st, err
	}
	if err := replace(dst+compactingSuffix, dst); err != nil {
		os.Remove(dst + compactingSuffix)
		return st, err
	}
	st.After, st.Took = fileSize(dst), time.Since(start)
	st.Paused = st.Took
	return st, nil
}
