package store

import (
	"context"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	bolt "go.etcd.io/bbolt"
)

// footprint is what a file spends on what it holds: used is the pages the
// data needs (the high-water mark less the free pages), records the bytes
// of every key and value outside bucket headers.
type footprint struct{ size, used, records, pages, free int64 }

func measure(t testing.TB, db *bolt.DB) footprint {
	t.Helper()
	var f footprint
	err := db.View(func(tx *bolt.Tx) error {
		f.size = tx.Size()
		ps := int64(db.Info().PageSize)
		f.pages = f.size / ps
		f.free = int64(db.Stats().FreePageN + db.Stats().PendingPageN)
		f.used = (f.pages - f.free) * ps
		var walk func(b *bolt.Bucket) error
		walk = func(b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				f.records += int64(len(k))
				if v == nil {
					return walk(b.Bucket(k))
				}
				f.records += int64(len(v))
				return nil
			})
		}
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			f.records += int64(len(name))
			return walk(b)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// appendMessages appends n benchmark messages to a new thread, per commits of
// batch, and returns the thread's id.
func appendMessages(t testing.TB, s *Store, n, batch int) string {
	t.Helper()
	gen := NewIDGenerator(nil, nil)
	th, run := gen.New(PrefixThread), gen.New(PrefixRun)
	ctx := context.Background()
	if err := s.Update(ctx, func(tx Tx) error { return tx.PutThread(&apitype.Thread{ID: th}) }); err != nil {
		t.Fatal(err)
	}
	for lo := 0; lo < n; lo += batch {
		msgs := make([]*apitype.Message, 0, batch)
		for i := lo; i < min(n, lo+batch); i++ {
			msgs = append(msgs, benchMessage(gen, th, run, i))
		}
		if err := s.Update(ctx, func(tx Tx) error {
			for _, m := range msgs {
				if err := tx.PutMessage(m, 40); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return th
}

// Messages only ever get larger ids, so their pages must split full: the
// file holds a thread's messages in at most 1.3× their keys and values when
// they come many a commit, 1.4× one a commit (bbolt leaves at least two keys
// on the right of a split, so a page filled one key at a time keeps about
// 11 of the 13 it could hold). bbolt's default FillPercent made both 2.4×.
func TestAppendedMessagesFillTheirPages(t *testing.T) {
	for _, c := range []struct {
		batch int
		want  float64
	}{{1, 1.4}, {100, 1.3}} {
		batch := c.batch
		s, err := Open(t.TempDir()+"/fill.db", Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		appendMessages(t, s, 4000, batch)
		f := measure(t, s.DB())
		s.Close()
		ratio := float64(f.used) / float64(f.records)
		t.Logf("batch %d: %d pages (%d free), used %d B for %d B of records: %.2f×", batch, f.pages, f.free, f.used, f.records, ratio)
		if ratio > c.want {
			t.Errorf("batch %d: the file uses %.2f× the record bytes, want ≤ %.1f×", batch, ratio, c.want)
		}
	}
}

// After 90% of a file is deleted a commit writes about what it writes in
// the compacted file: the free-page list (thousands of pages here) is not
// written with every commit. (Synced, each commit wrote 3× as much.) Files
// written with the list synced and not open either way.
func TestCommitsStaySmallAfterDeletes(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/d.db"
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	th, _ := fillAndDelete(t, s, 30_000, 10)
	s.Close()
	if _, err := CompactFile(context.Background(), path, dir+"/c.db", 0); err != nil {
		t.Fatal(err)
	}
	perCommit := func(p string) float64 {
		s, err := Open(p, Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		gen := NewIDGenerator(nil, nil)
		create := func(i int) {
			m := benchMessage(gen, th, "run_x", i)
			if err := s.Update(context.Background(), func(tx Tx) error { return tx.PutMessage(m, 1) }); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 10 { // past the first commits after open
			create(i)
		}
		st0 := s.DB().Stats()
		const n = 50
		for i := range n {
			create(i)
		}
		st := s.DB().Stats()
		d := st.Sub(&st0)
		return float64(d.TxStats.GetPageAlloc()) / n
	}
	del, comp := perCommit(path), perCommit(dir+"/c.db")
	t.Logf("bytes allocated per commit: %.0f after deletes, %.0f compacted", del, comp)
	if del > 1.2*comp {
		t.Errorf("a commit after 90%% deletes allocates %.0f bytes, %.1f× the compacted file's %.0f", del, del/comp, comp)
	}
	// Both ways round: a file left by one setting opens, checks clean and
	// takes writes under the other.
	for _, sync := range []bool{true, false, true} {
		s, err := Open(path, Options{NoSync: true, SyncFreelist: sync})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Update(context.Background(), func(tx Tx) error {
			return tx.PutMessage(benchMessage(NewIDGenerator(nil, nil), th, "run_y", 3), 1)
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.Check(); err != nil {
			t.Fatalf("SyncFreelist %v: %v", sync, err)
		}
		s.Close()
	}
}
