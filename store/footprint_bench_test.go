package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Run with:
//
//	go test ./store -run '^$' -bench 'Footprint|AfterDeletes|OpenFreelist|Compact100k' -benchtime 1x
//
// (AfterDeletes and OpenFreelist want more: -benchtime 200x and 10x.)
// HEARTH_BENCH_DELETED sets the messages of the deleted file (default
// 100,000, 90% of them deleted).

// BenchmarkFootprint appends 20,000 messages to a thread, one a commit and
// 100 a commit, with bbolt's default FillPercent (0.5, before) and the
// store's, and reports the file's bytes per message beside the record
// bytes (every key and value) per message.
func BenchmarkFootprint(b *testing.B) {
	const n = 20_000
	for _, fill := range []float64{0.5, appendFill} {
		for _, batch := range []int{1, 100} {
			b.Run(fmt.Sprintf("fill=%.2f/batch=%d", fill, batch), func(b *testing.B) {
				for b.Loop() {
					path := filepath.Join(b.TempDir(), "f.db")
					s, err := Open(path, Options{NoSync: true})
					if err != nil {
						b.Fatal(err)
					}
					s.fill = fill
					appendMessages(b, s, n, batch)
					f := measure(b, s.DB())
					s.Close()
					b.ReportMetric(float64(f.size)/n, "file-B/msg")
					b.ReportMetric(float64(f.used)/n, "used-B/msg")
					b.ReportMetric(float64(f.records)/n, "record-B/msg")
					b.ReportMetric(float64(f.used)/float64(f.records), "used/record")
					b.ReportMetric(float64(fileSize(path))/n, "os-file-B/msg")
				}
			})
		}
	}
}

// deletedFile is a file that held HEARTH_BENCH_DELETED messages (in
// threads of up to 100,000) and had 90% of them deleted (every one but each tenth), built once
// per process with NoSync.
type deletedFile struct {
	once     sync.Once
	dir      string
	path     string
	th       string
	messages int
	err      error
}

var benchDeleted deletedFile

func deleted(b *testing.B) *deletedFile {
	f := &benchDeleted
	f.once.Do(func() {
		f.messages = 100_000
		if v, err := strconv.Atoi(os.Getenv("HEARTH_BENCH_DELETED")); err == nil && v > 0 {
			f.messages = v
		}
		f.dir, f.err = os.MkdirTemp("", "hearth-deleted-bench")
		if f.err != nil {
			return
		}
		f.path = filepath.Join(f.dir, "deleted.db")
		start := time.Now()
		s, err := Open(f.path, Options{NoSync: true})
		if err != nil {
			f.err = err
			return
		}
		f.err = errors.New("deleted fixture: not built") // until it is
		defer s.Close()
		for left := f.messages; left > 0; left -= MaxMessagesPerThread {
			th, _ := fillAndDelete(b, s, min(left, MaxMessagesPerThread), 10)
			if f.th == "" {
				f.th = th
			}
		}
		f.err = nil
		fmt.Fprintf(os.Stderr, "deleted fixture: %d messages, 90%% deleted, %d bytes, in %v\n", f.messages, fileSize(f.path), time.Since(start).Round(time.Millisecond))
	})
	if f.err != nil {
		b.Fatal(f.err)
	}
	return f
}

func copyFile(b *testing.B, from, to string) {
	b.Helper()
	in, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	// Synced, so no writeback of the copy is under way while it is
	// measured (a page being written back delays a write to it).
	if err := out.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAfterDeletes creates messages (fsync on, one a commit) in the
// file after 90% deletes and in its compacted copy, alternating blocks of 8
// in one loop (paired, each first in turn), with the freelist synced on every commit (bbolt's
// default) and not (NoFreelistSync), and reports deleted/compacted and the
// bytes each commit writes.
func BenchmarkAfterDeletes(b *testing.B) {
	f := deleted(b)
	for _, mode := range []struct {
		name   string
		noSync bool
		array  bool
	}{{"freelist=sync", false, false}, {"freelist=nosync", true, false}, {"freelist=nosync-array", true, true}} {
		b.Run(mode.name+"/paired", func(b *testing.B) {
			dir := b.TempDir()
			del, comp := filepath.Join(dir, "deleted.db"), filepath.Join(dir, "compacted.db")
			copyFile(b, f.path, del)
			if _, err := CompactFile(context.Background(), f.path, comp, 0); err != nil {
				b.Fatal(err)
			}
			open := func(p string) *Store {
				s, err := Open(p, Options{SyncFreelist: !mode.noSync, arrayFreelist: mode.array})
				if err != nil {
					b.Fatal(err)
				}
				return s
			}
			sd, sc := open(del), open(comp)
			defer sd.Close()
			defer sc.Close()
			gen := NewIDGenerator(nil, nil)
			ctx := context.Background()
			create := func(s *Store, i int) {
				m := benchMessage(gen, f.th, "run_bench", i)
				if err := s.Update(ctx, func(tx Tx) error { return tx.PutMessage(m, 40) }); err != nil {
					b.Fatal(err)
				}
			}
			// Warm both: the first commits after open differ.
			for i := range 16 {
				create(sd, i)
				create(sc, i)
			}
			const block = 8
			var td, tc time.Duration
			st0d, st0c := sd.DB().Stats(), sc.DB().Stats()
			i := 0
			timed := func(s *Store) time.Duration {
				start := time.Now()
				for range block {
					create(s, i)
					i++
				}
				return time.Since(start)
			}
			for r := 0; b.Loop(); r++ {
				// Which goes first alternates: the first block after a
				// switch pays for the other file's cache misses.
				if r%2 == 0 {
					td += timed(sd)
					tc += timed(sc)
				} else {
					tc += timed(sc)
					td += timed(sd)
				}
			}
			n := float64(b.N * block)
			std, stc := sd.DB().Stats(), sc.DB().Stats()
			dd, dc := std.Sub(&st0d), stc.Sub(&st0c)
			b.ReportMetric(float64(td)/n, "deleted-ns/create")
			b.ReportMetric(float64(tc)/n, "compacted-ns/create")
			b.ReportMetric(float64(td)/float64(tc), "deleted/compacted")
			b.ReportMetric(float64(dd.TxStats.GetPageAlloc())/n, "deleted-alloc-B/commit")
			b.ReportMetric(float64(dc.TxStats.GetPageAlloc())/n, "compacted-alloc-B/commit")
			b.ReportMetric(float64(dd.TxStats.GetWrite())/n, "deleted-pages/commit")
			b.ReportMetric(float64(dc.TxStats.GetWrite())/n, "compacted-pages/commit")
		})
	}
}

// BenchmarkOpenFreelist opens and closes the store on the file after 90%
// deletes (before compaction: the most free pages) with the freelist synced
// (read from its page) and not (rebuilt by walking every page), each on its
// own copy, alternating in one loop.
func BenchmarkOpenFreelist(b *testing.B) {
	f := deleted(b)
	dir := b.TempDir()
	paths := []string{filepath.Join(dir, "sync.db"), filepath.Join(dir, "nosync.db")}
	modes := []bool{false, true}
	for i, p := range paths {
		copyFile(b, f.path, p)
		s, err := Open(p, Options{SyncFreelist: !modes[i]}) // the file as each mode leaves it
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	var took [2]time.Duration
	for b.Loop() {
		for i, p := range paths {
			start := time.Now()
			s, err := Open(p, Options{SyncFreelist: !modes[i]})
			if err != nil {
				b.Fatal(err)
			}
			took[i] += time.Since(start)
			s.Close()
		}
	}
	b.ReportMetric(float64(fileSize(paths[0]))/(1<<20), "file-MiB")
	b.ReportMetric(float64(took[0].Microseconds())/float64(b.N), "sync-µs/open")
	b.ReportMetric(float64(took[1].Microseconds())/float64(b.N), "nosync-µs/open")
	b.ReportMetric(float64(took[1])/float64(took[0]), "nosync/sync")
}

// BenchmarkCompact100k compacts the file after 90% deletes three ways:
// CompactFile straight into a new file (hearth compact, hearth backup
// --db); tx.WriteTo a file then CompactFile it (hearth backup --server);
// and the open store's online Compact (on a fresh copy each time). writeto
// alone is the floor: the copy a backup made before. live100k compacts
// the listing benchmarks' 100,000 live messages.
func BenchmarkCompact100k(b *testing.B) {
	f := deleted(b)
	ctx := context.Background()
	src := f.path
	b.Run("writeto", func(b *testing.B) {
		for b.Loop() {
			out := filepath.Join(b.TempDir(), "w.db")
			writeTo(b, src, out)
			b.ReportMetric(float64(fileSize(out)), "out-B")
		}
	})
	b.Run("compactfile", func(b *testing.B) {
		for b.Loop() {
			out := filepath.Join(b.TempDir(), "c.db")
			st, err := CompactFile(ctx, src, out, 0)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(st.Before), "in-B")
			b.ReportMetric(float64(st.After), "out-B")
		}
	})
	b.Run("live100k/compactfile", func(b *testing.B) {
		// The 100,000 messages of the listing benchmarks, none deleted.
		live := fixture(b).path
		for b.Loop() {
			st, err := CompactFile(ctx, live, filepath.Join(b.TempDir(), "c.db"), 0)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(st.Before), "in-B")
			b.ReportMetric(float64(st.After), "out-B")
		}
	})
	b.Run("writeto+compactfile", func(b *testing.B) {
		for b.Loop() {
			dir := b.TempDir()
			raw, out := filepath.Join(dir, "w.db"), filepath.Join(dir, "c.db")
			writeTo(b, src, raw)
			st, err := CompactFile(ctx, raw, out, 0)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(st.After), "out-B")
		}
	})
	b.Run("online", func(b *testing.B) {
		var paused time.Duration
		for b.Loop() {
			b.StopTimer()
			p := filepath.Join(b.TempDir(), "o.db")
			copyFile(b, src, p)
			s, err := Open(p, Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			st, err := s.Compact(ctx)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			paused += st.Paused
			b.ReportMetric(float64(s.Size()), "data-B")
			s.Close()
			b.ReportMetric(float64(st.After), "out-B")
			b.StartTimer()
		}
		b.ReportMetric(float64(paused.Microseconds())/float64(b.N), "writes-paused-µs")
	})
}

// writeTo copies the database at src to out in one read transaction, synced.
func writeTo(b *testing.B, src, out string) {
	b.Helper()
	db, err := bolt.Open(src, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	w, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	if err := db.View(func(tx *bolt.Tx) error { _, err := tx.WriteTo(w); return err }); err != nil {
		b.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		b.Fatal(err)
	}
}
