package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	bolt "go.etcd.io/bbolt"
)

func update(t testing.TB, s *Store, fn func(Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func view(t testing.TB, s *Store, fn func(Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func TestMigrationRunsOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.SchemaVersion(); err != nil || v != SchemaVersion {
		t.Fatalf("new file schema %d %v", v, err)
	}
	s.Close()

	var runs atomic.Int32
	v2 := Migration{Version: SchemaVersion + 1, Up: func(tx *bolt.Tx) error {
		runs.Add(1)
		_, err := tx.CreateBucket([]byte("added_in_v2"))
		return err
	}}
	for range 2 {
		s, err := Open(path, Options{Migrations: []Migration{v2}})
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := s.SchemaVersion(); v != SchemaVersion+1 {
			t.Fatalf("schema after migration %d", v)
		}
		s.Close()
	}
	if runs.Load() != 1 {
		t.Fatalf("v2 migration ran %d times, want once", runs.Load())
	}

	// A build that only knows SchemaVersion refuses the migrated file and
	// leaves it as it was.
	before := fileBytes(t, path)
	_, err = Open(path, Options{})
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open of a newer file: %v, want ErrNewerSchema", err)
	}
	if !bytes.Equal(before, fileBytes(t, path)) {
		t.Fatal("refused open modified the newer file")
	}

	// A failing migration leaves the file at its version and says which step failed.
	v3 := Migration{Version: SchemaVersion + 2, Up: func(tx *bolt.Tx) error { return errors.New("boom") }}
	_, err = Open(path, Options{Migrations: []Migration{v2, v3}})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("boom")) {
		t.Fatalf("failing migration: %v", err)
	}
	s, err = Open(path, Options{Migrations: []Migration{v2}})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s.SchemaVersion(); v != SchemaVersion+1 {
		t.Fatalf("schema after failed migration %d", v)
	}
	s.Close()
}

func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	s, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var buf bytes.Buffer
	if err := s.View(func(tx *bolt.Tx) error { _, err := tx.WriteTo(&buf); return err }); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	th := gen.New(PrefixThread)
	update(t, s, func(tx Tx) error { return tx.PutThread(&apitype.Thread{ID: th}) })
	var mu sync.Mutex
	var written []string
	appendOne := func() error {
		m := &apitype.Message{ID: gen.New(PrefixMessage), ThreadID: th}
		if err := s.Update(ctx, func(tx Tx) error { return tx.PutMessage(m, 1) }); err != nil {
			return err
		}
		mu.Lock()
		written = append(written, m.ID)
		mu.Unlock()
		return nil
	}
	for range 50 {
		if err := appendOne(); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var werr error
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := appendOne(); err != nil {
				werr = err
				return
			}
		}
	})
	var backups []string
	var counts []int
	for i := range 3 {
		mu.Lock()
		n := len(written) // every one of these committed before the backup began
		mu.Unlock()
		p := filepath.Join(t.TempDir(), fmt.Sprintf("backup%d.db", i))
		if err := s.BackupFile(ctx, p); err != nil {
			t.Fatal(err)
		}
		backups = append(backups, p)
		counts = append(counts, n)
	}
	close(stop)
	wg.Wait()
	if werr != nil {
		t.Fatal(werr)
	}
	if err := s.BackupFile(ctx, backups[0]); err == nil {
		t.Fatal("BackupFile overwrote an existing file")
	}
	for i, p := range backups {
		b, err := Open(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Check(); err != nil {
			t.Fatal(err)
		}
		view(t, b, func(tx Tx) error {
			for _, id := range written[:counts[i]] {
				if _, err := tx.GetMessage(th, id); err != nil {
					return err
				}
			}
			return nil
		})
		b.Close()
	}
}

func TestDeleteThreadRemovesEverything(t *testing.T) {
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	keep, doomed := gen.New(PrefixThread), gen.New(PrefixThread)
	live := map[string]string{}
	for _, th := range []string{keep, doomed} {
		update(t, s, func(tx Tx) error {
			if err := tx.PutThread(&apitype.Thread{ID: th}); err != nil {
				return err
			}
			done := &apitype.Run{ID: gen.New(PrefixRun), ThreadID: th, Status: apitype.RunCompleted}
			active := &apitype.Run{ID: gen.New(PrefixRun), ThreadID: th, Status: apitype.RunInProgress}
			live[active.ID] = th
			for _, r := range []*apitype.Run{done, active} {
				if err := tx.PutRun(r); err != nil {
					return err
				}
				if err := tx.PutStep(&apitype.RunStep{ID: gen.New(PrefixStep), ThreadID: th, RunID: r.ID}); err != nil {
					return err
				}
				if err := tx.PutMessage(&apitype.Message{ID: gen.New(PrefixMessage), ThreadID: th, RunID: &r.ID}, 5); err != nil {
					return err
				}
			}
			return nil
		})
	}
	update(t, s, func(tx Tx) error { return tx.DeleteThread(doomed) })
	view(t, s, func(tx Tx) error {
		if _, err := tx.GetThread(doomed); !errors.Is(err, apitype.ErrNotFound) {
			return fmt.Errorf("thread still there: %v", err)
		}
		if tx.(*boltTx).tx.Bucket(bThreadData).Bucket([]byte(doomed)) != nil {
			return errors.New("thread data bucket left behind")
		}
		if id := activeRun(t, tx, doomed); id != "" {
			return fmt.Errorf("active run lock left: %s", id)
		}
		if id := activeRun(t, tx, keep); id == "" {
			return errors.New("other thread lost its active run")
		}
		var liveNow []string
		if err := tx.LiveRuns(func(th, run string) error {
			liveNow = append(liveNow, th)
			return nil
		}); err != nil {
			return err
		}
		if !slices.Equal(liveNow, []string{keep}) {
			return fmt.Errorf("live runs after delete: %v", liveNow)
		}
		if _, err := tx.ListMessages(doomed, apitype.MessageListParams{}); !errors.Is(err, apitype.ErrNotFound) {
			return fmt.Errorf("ListMessages of deleted thread: %v", err)
		}
		if _, err := tx.ListRuns(doomed, apitype.ListParams{}); !errors.Is(err, apitype.ErrNotFound) {
			return fmt.Errorf("ListRuns of deleted thread: %v", err)
		}
		if p, err := tx.ListMessages(keep, apitype.MessageListParams{}); err != nil || len(p.Data) != 2 {
			return fmt.Errorf("other thread's messages: %v %v", p.Data, err)
		}
		// Runs and steps live in top-level buckets (schema 4): only the
		// kept thread's two runs and their steps are left.
		if n, m := tx.(*boltTx).tx.Bucket(bRuns).Stats().KeyN, tx.(*boltTx).tx.Bucket(bSteps).Stats().KeyN; n != 2 || m != 2 {
			return fmt.Errorf("%d runs and %d steps left, want the other thread's 2 and 2", n, m)
		}
		if p, err := tx.ListRuns(keep, apitype.ListParams{}); err != nil || len(p.Data) != 2 {
			return fmt.Errorf("other thread's runs: %v %v", p.Data, err)
		}
		return nil
	})
	// Writes into the deleted thread fail as 404s, and a second delete too.
	err := s.Update(context.Background(), func(tx Tx) error {
		return tx.PutMessage(&apitype.Message{ID: gen.New(PrefixMessage), ThreadID: doomed}, 0)
	})
	if !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("PutMessage into deleted thread: %v", err)
	}
	err = s.Update(context.Background(), func(tx Tx) error { return tx.DeleteThread(doomed) })
	if !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("second DeleteThread: %v", err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestRunIndexes(t *testing.T) {
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	th := gen.New(PrefixThread)
	update(t, s, func(tx Tx) error { return tx.PutThread(&apitype.Thread{ID: th}) })
	liveRuns := func(tx Tx) []string {
		var ids []string
		tx.LiveRuns(func(thread, run string) error {
			if thread != th {
				t.Errorf("live run %s on %s", run, thread)
			}
			ids = append(ids, run)
			return nil
		})
		return ids
	}
	r1 := &apitype.Run{ID: gen.New(PrefixRun), ThreadID: th}
	for _, st := range []apitype.RunStatus{apitype.RunQueued, apitype.RunInProgress, apitype.RunRequiresAction, apitype.RunCancelling} {
		r1.Status = st
		update(t, s, func(tx Tx) error { return tx.PutRun(r1) })
		view(t, s, func(tx Tx) error {
			if activeRun(t, tx, th) != r1.ID || !slices.Equal(liveRuns(tx), []string{r1.ID}) {
				return fmt.Errorf("%s: active %q live %v", st, activeRun(t, tx, th), liveRuns(tx))
			}
			return nil
		})
	}
	for _, st := range []apitype.RunStatus{apitype.RunCancelled, apitype.RunFailed, apitype.RunCompleted, apitype.RunIncomplete, apitype.RunExpired} {
		r := &apitype.Run{ID: gen.New(PrefixRun), ThreadID: th, Status: apitype.RunQueued}
		update(t, s, func(tx Tx) error { return tx.PutRun(r) })
		r.Status = st
		update(t, s, func(tx Tx) error { return tx.PutRun(r) })
		view(t, s, func(tx Tx) error {
			if slices.Contains(liveRuns(tx), r.ID) {
				return fmt.Errorf("%s run still live", st)
			}
			if activeRun(t, tx, th) == r.ID {
				return fmt.Errorf("%s run still holds the thread", st)
			}
			return nil
		})
	}
	// r1 was overwritten as the active run by the later queued runs; ending
	// one of those must not clear another run's lock. Put r1 back as active,
	// then end a different run: the lock stays with r1.
	update(t, s, func(tx Tx) error { return tx.PutRun(r1) })
	other := &apitype.Run{ID: gen.New(PrefixRun), ThreadID: th, Status: apitype.RunFailed}
	update(t, s, func(tx Tx) error { return tx.PutRun(other) })
	view(t, s, func(tx Tx) error {
		if activeRun(t, tx, th) != r1.ID {
			return fmt.Errorf("ending another run cleared the lock: %q", activeRun(t, tx, th))
		}
		return nil
	})
	r1.Status = apitype.RunCancelled
	update(t, s, func(tx Tx) error { return tx.PutRun(r1) })
	view(t, s, func(tx Tx) error {
		if activeRun(t, tx, th) != "" || len(liveRuns(tx)) != 0 {
			return fmt.Errorf("after all ended: active %q live %v", activeRun(t, tx, th), liveRuns(tx))
		}
		return nil
	})
	err := s.Update(context.Background(), func(tx Tx) error {
		return tx.PutRun(&apitype.Run{ID: gen.New(PrefixRun), ThreadID: "thread_nope", Status: apitype.RunQueued})
	})
	if !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("PutRun on unknown thread: %v", err)
	}
}

func TestMaxMessagesPerThread(t *testing.T) {
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	th := gen.New(PrefixThread)
	update(t, s, func(tx Tx) error {
		if err := tx.PutThread(&apitype.Thread{ID: th}); err != nil {
			return err
		}
		// Stand in for 99,998 earlier messages by setting the count record.
		tb, _ := tx.(*boltTx).threadBucket(th)
		return tb.Put(tCount, u64(MaxMessagesPerThread-2))
	})
	last := &apitype.Message{ID: gen.New(PrefixMessage), ThreadID: th}
	update(t, s, func(tx Tx) error {
		if err := tx.PutMessage(&apitype.Message{ID: gen.New(PrefixMessage), ThreadID: th}, 1); err != nil {
			return err
		}
		return tx.PutMessage(last, 1)
	})
	over := &apitype.Message{ID: gen.New(PrefixMessage), ThreadID: th}
	err := s.Update(context.Background(), func(tx Tx) error { return tx.PutMessage(over, 1) })
	var ae *apitype.Error
	if !errors.Is(err, apitype.ErrInvalidRequest) || !errors.As(err, &ae) || ae.Param == "" {
		t.Fatalf("message over the cap: %v", err)
	}
	// Replacing an existing message is not an addition.
	last.Status = apitype.MessageCompleted
	update(t, s, func(tx Tx) error { return tx.PutMessage(last, -1) })
	// Deleting one makes room again.
	update(t, s, func(tx Tx) error { return tx.DeleteMessage(th, last.ID) })
	update(t, s, func(tx Tx) error { return tx.PutMessage(over, 1) })
	view(t, s, func(tx Tx) error {
		if n, _ := tx.CountMessages(th); n != MaxMessagesPerThread {
			return fmt.Errorf("count %d", n)
		}
		return nil
	})
}

func TestMessageTokens(t *testing.T) {
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	th := gen.New(PrefixThread)
	var ids []string
	update(t, s, func(tx Tx) error {
		if err := tx.PutThread(&apitype.Thread{ID: th}); err != nil {
			return err
		}
		for i := range 5 {
			m := &apitype.Message{ID: gen.New(PrefixMessage), ThreadID: th}
			ids = append(ids, m.ID)
			if err := tx.PutMessage(m, 10*(i+1)); err != nil {
				return err
			}
		}
		// tokens < 0 on a replace keeps the cached count.
		return tx.PutMessage(&apitype.Message{ID: ids[0], ThreadID: th, Status: apitype.MessageCompleted}, -1)
	})
	view(t, s, func(tx Tx) error {
		var got []int
		tx.(*boltTx).MessageTokens(th, true, func(id string, n int) bool {
			got = append(got, n)
			return len(got) < 3
		})
		if !slices.Equal(got, []int{50, 40, 30}) {
			return fmt.Errorf("desc tokens %v", got)
		}
		got = nil
		tx.(*boltTx).MessageTokens(th, false, func(id string, n int) bool { got = append(got, n); return true })
		if !slices.Equal(got, []int{10, 20, 30, 40, 50}) {
			return fmt.Errorf("asc tokens %v", got)
		}
		return nil
	})
}

func TestVectorStoreFiles(t *testing.T) {
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	vs := gen.New(PrefixVectorStore)
	batch := gen.New(PrefixFileBatch)
	var files []string
	status := map[string]string{}
	update(t, s, func(tx Tx) error {
		if err := tx.PutVectorStore(&apitype.VectorStore{ID: vs}); err != nil {
			return err
		}
		if err := tx.PutFileBatch(&apitype.VectorStoreFileBatch{ID: batch, VectorStoreID: vs}); err != nil {
			return err
		}
		for i := range 6 {
			f := &apitype.VectorStoreFile{ID: gen.New(PrefixFile), VectorStoreID: vs, Status: apitype.StatusInProgress}
			if i%2 == 0 {
				f.Status = apitype.StatusCompleted
			}
			files = append(files, f.ID)
			status[f.ID] = f.Status
			inBatch := ""
			if i >= 2 {
				inBatch = batch
			}
			if err := tx.PutVectorStoreFile(f, inBatch); err != nil {
				return err
			}
		}
		return nil
	})
	list := func(tx Tx, batchID, filter string, p apitype.ListParams) []string {
		page, err := tx.ListVectorStoreFiles(vs, batchID, apitype.VectorStoreFileListParams{ListParams: p, Filter: filter})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, f := range page.Data {
			ids = append(ids, f.ID)
		}
		return ids
	}
	view(t, s, func(tx Tx) error {
		if got := list(tx, "", "", apitype.ListParams{Order: "asc"}); !slices.Equal(got, files) {
			return fmt.Errorf("all files %v", got)
		}
		if got := list(tx, "", apitype.StatusCompleted, apitype.ListParams{Order: "asc"}); !slices.Equal(got, []string{files[0], files[2], files[4]}) {
			return fmt.Errorf("completed files %v", got)
		}
		if got := list(tx, batch, "", apitype.ListParams{Order: "asc"}); !slices.Equal(got, files[2:]) {
			return fmt.Errorf("batch files %v", got)
		}
		if got := list(tx, batch, apitype.StatusInProgress, apitype.ListParams{Order: "asc", Limit: 1}); !slices.Equal(got, []string{files[3]}) {
			return fmt.Errorf("batch in-progress files %v", got)
		}
		if got := list(tx, batch, apitype.StatusInProgress, apitype.ListParams{Order: "asc", After: files[3]}); !slices.Equal(got, []string{files[5]}) {
			return fmt.Errorf("batch in-progress after cursor %v", got)
		}
		ids, err := tx.BatchFileIDs(vs, batch)
		if err != nil || !slices.Equal(ids, files[2:]) {
			return fmt.Errorf("BatchFileIDs %v %v", ids, err)
		}
		var each []string
		if err := tx.EachVectorStoreFile(vs, func(f *apitype.VectorStoreFile) error { each = append(each, f.ID); return nil }); err != nil || len(each) != 6 {
			return fmt.Errorf("EachVectorStoreFile %v %v", each, err)
		}
		return nil
	})
	// A filtered page has has_more only when another matching file follows.
	view(t, s, func(tx Tx) error {
		page, err := tx.ListVectorStoreFiles(vs, "", apitype.VectorStoreFileListParams{ListParams: apitype.ListParams{Order: "asc", Limit: 2}, Filter: apitype.StatusCompleted})
		if err != nil || len(page.Data) != 2 || !page.HasMore {
			return fmt.Errorf("completed page 1: %v more=%v", err, page.HasMore)
		}
		page, err = tx.ListVectorStoreFiles(vs, "", apitype.VectorStoreFileListParams{ListParams: apitype.ListParams{Order: "asc", Limit: 2, After: files[2]}, Filter: apitype.StatusCompleted})
		if err != nil || len(page.Data) != 1 || page.HasMore {
			return fmt.Errorf("completed page 2: %v more=%v", err, page.HasMore)
		}
		return nil
	})
	// Detaching a file drops it from the store's and the batch's lists.
	update(t, s, func(tx Tx) error { return tx.DeleteVectorStoreFile(vs, files[3]) })
	view(t, s, func(tx Tx) error {
		if got := list(tx, batch, "", apitype.ListParams{Order: "asc"}); !slices.Equal(got, []string{files[2], files[4], files[5]}) {
			return fmt.Errorf("batch after detach %v", got)
		}
		if _, err := tx.GetVectorStoreFile(vs, files[3]); !errors.Is(err, apitype.ErrNotFound) {
			return fmt.Errorf("detached file: %v", err)
		}
		return nil
	})
	update(t, s, func(tx Tx) error { return tx.DeleteVectorStore(vs) })
	view(t, s, func(tx Tx) error {
		if _, err := tx.ListVectorStoreFiles(vs, "", apitype.VectorStoreFileListParams{}); !errors.Is(err, apitype.ErrNotFound) {
			return fmt.Errorf("files of deleted store: %v", err)
		}
		if _, err := tx.GetFileBatch(vs, batch); !errors.Is(err, apitype.ErrNotFound) {
			return fmt.Errorf("batch of deleted store: %v", err)
		}
		return nil
	})
}

func TestFilesByPurpose(t *testing.T) {
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	var asst []string
	update(t, s, func(tx Tx) error {
		for i := range 6 {
			f := &apitype.File{ID: gen.New(PrefixFile), Purpose: apitype.PurposeVision}
			if i%3 != 0 {
				f.Purpose = apitype.PurposeAssistants
				asst = append(asst, f.ID)
			}
			if err := tx.PutFile(f); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx Tx) error {
		p, err := tx.ListFiles(apitype.ListParams{Order: "asc", Limit: 3}, apitype.PurposeAssistants)
		if err != nil || len(p.Data) != 3 || !p.HasMore || p.Data[0].ID != asst[0] || p.Data[2].ID != asst[2] {
			return fmt.Errorf("files page %+v %v", p, err)
		}
		return nil
	})
	update(t, s, func(tx Tx) error { return tx.DeleteFile(asst[0]) })
	err := s.Update(context.Background(), func(tx Tx) error { return tx.DeleteFile(asst[0]) })
	if !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("second DeleteFile: %v", err)
	}
}

// TestUpdateFailureIsolated: in a shared commit, a failing or panicking
// write leaves nothing behind and the others still commit.
func TestUpdateFailureIsolated(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	th := gen.New(PrefixThread)
	update(t, s, func(tx Tx) error { return tx.PutThread(&apitype.Thread{ID: th}) })
	errBoom := errors.New("boom")
	var wg sync.WaitGroup
	results := make([]error, 64)
	ids := make([]string, 64)
	for i := range 64 {
		ids[i] = gen.New(PrefixMessage)
		wg.Go(func() {
			results[i] = s.Update(ctx, func(tx Tx) error {
				if err := tx.PutMessage(&apitype.Message{ID: ids[i], ThreadID: th}, 1); err != nil {
					return err
				}
				switch i % 8 {
				case 3:
					return errBoom
				case 5:
					panic("write panicked on purpose")
				}
				return nil
			})
		})
	}
	wg.Wait()
	view(t, s, func(tx Tx) error {
		n := 0
		for i, err := range results {
			_, gerr := tx.GetMessage(th, ids[i])
			switch i % 8 {
			case 3:
				if !errors.Is(err, errBoom) || gerr == nil {
					return fmt.Errorf("failing write %d: %v, stored=%v", i, err, gerr == nil)
				}
			case 5:
				if err == nil || gerr == nil {
					return fmt.Errorf("panicking write %d: %v, stored=%v", i, err, gerr == nil)
				}
			default:
				if err != nil || gerr != nil {
					return fmt.Errorf("good write %d: %v / %v", i, err, gerr)
				}
				n++
			}
		}
		if c, _ := tx.CountMessages(th); c != n {
			return fmt.Errorf("count %d, want %d", c, n)
		}
		return nil
	})
}

func TestClosed(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "c.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Update(context.Background(), func(Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Update after Close: %v", err)
	}
	if err := s.View(context.Background(), func(Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("View after Close: %v", err)
	}
	if _, err := s.SchemaVersion(); !errors.Is(err, ErrClosed) {
		t.Fatalf("SchemaVersion after Close: %v", err)
	}
	if err := s.Check(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Check after Close: %v", err)
	}
	if _, err := s.Backup(context.Background(), io.Discard); !errors.Is(err, ErrClosed) {
		t.Fatalf("Backup after Close: %v", err)
	}
}

// TestUpdateCancelledWhileQueued: a caller whose context ends before its
// write is taken does not wait for the commit loop.
func TestUpdateCancelledWhileQueued(t *testing.T) {
	s := openTest(t)
	release := make(chan struct{})
	started := make(chan struct{})
	go s.Update(context.Background(), func(Tx) error {
		select {
		case <-started:
		default:
			close(started)
		}
		<-release
		return nil
	})
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	ran := false
	err := s.Update(ctx, func(Tx) error { ran = true; return nil })
	close(release)
	if !errors.Is(err, context.DeadlineExceeded) || ran {
		t.Fatalf("queued Update with an ended context: %v ran=%v", err, ran)
	}
}

// TestConcurrentReadersSeeSnapshots: while writers append and delete in
// shared commits, every View sees a consistent thread: its count record
// matches its messages, and paging through it in one View sees each once,
// in order.
func TestConcurrentReadersSeeSnapshots(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	threads := []string{gen.New(PrefixThread), gen.New(PrefixThread)}
	for _, th := range threads {
		update(t, s, func(tx Tx) error {
			if err := tx.PutThread(&apitype.Thread{ID: th}); err != nil {
				return err
			}
			for i := range 60 { // several pages before the writers start
				if err := tx.PutMessage(&apitype.Message{ID: gen.New(PrefixMessage), ThreadID: th}, i); err != nil {
					return err
				}
			}
			return nil
		})
	}
	stop := make(chan struct{})
	var writers, readers sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 4 {
		writers.Go(func() {
			th := threads[w%2]
			var mine []string
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				del := i%3 == 2 && len(mine) > 0
				m := &apitype.Message{ID: gen.New(PrefixMessage), ThreadID: th, Metadata: apitype.Metadata{}}
				err := s.Update(ctx, func(tx Tx) error {
					if del {
						return tx.DeleteMessage(th, mine[0])
					}
					return tx.PutMessage(m, i)
				})
				if err != nil {
					errs <- err
					return
				}
				if del {
					mine = mine[1:]
				} else {
					mine = append(mine, m.ID)
				}
			}
		})
	}
	for r := range 2 {
		readers.Go(func() {
			th, asc := threads[r], r == 1
			for range 100 {
				err := s.View(ctx, func(tx Tx) error {
					n, err := tx.CountMessages(th)
					if err != nil {
						return err
					}
					seen, prev := 0, ""
					p := apitype.MessageListParams{ListParams: apitype.ListParams{Limit: 7, Order: []string{"desc", "asc"}[r]}}
					for {
						page, err := tx.ListMessages(th, p)
						if err != nil {
							return err
						}
						for _, m := range page.Data {
							if prev != "" && asc != (m.ID > prev) {
								return fmt.Errorf("out of order: %s after %s", m.ID, prev)
							}
							prev = m.ID
						}
						seen += len(page.Data)
						if !page.HasMore {
							break
						}
						p.After = *page.LastID
					}
					if seen != n {
						return fmt.Errorf("count record says %d, paging saw %d", n, seen)
					}
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	readers.Wait()
	close(stop)
	writers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	view(t, s, func(tx Tx) error {
		n, _ := tx.CountMessages(threads[0])
		if n == 0 {
			return errors.New("writers wrote nothing while readers ran")
		}
		return nil
	})
}

// TestSubmitCallbacksInCommitOrder: writes queued with Submit are committed
// in queue order and their callbacks run in that order, once each, with
// each write's own outcome — also when failing writes split a shared
// commit — and before Wait returns.
func TestSubmitCallbacksInCommitOrder(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	th := gen.New(PrefixThread)
	update(t, s, func(tx Tx) error { return tx.PutThread(&apitype.Thread{ID: th}) })
	errBoom := errors.New("boom")

	// Hold the committer so the writes below pile up into one batch.
	release, started := make(chan struct{}), make(chan struct{})
	go s.Update(ctx, func(Tx) error { close(started); <-release; return nil })
	<-started

	const n = 40
	var mu sync.Mutex
	var order []int
	outcome := make([]error, n)
	pending := make([]Pending, n)
	ids := make([]string, n)
	for i := range n {
		ids[i] = gen.New(PrefixMessage)
		pending[i] = s.Submit(ctx, func(tx Tx) error {
			if i%7 == 3 {
				return errBoom
			}
			if i%7 == 5 {
				// Fails unless the write before it (i-1) is in the file:
				// only right when failures are decided in queue order.
				if _, err := tx.GetMessage(th, ids[i-1]); err != nil {
					return err
				}
			}
			return tx.PutMessage(&apitype.Message{ID: ids[i], ThreadID: th}, 1)
		}, func(err error) {
			mu.Lock()
			order = append(order, i)
			outcome[i] = err
			mu.Unlock()
		})
	}
	close(release)
	for i, p := range pending {
		err := p.Wait()
		if err2 := p.Wait(); err2 != err {
			t.Fatalf("write %d: second Wait %v, first %v", i, err2, err)
		}
		mu.Lock()
		got := outcome[i]
		mu.Unlock()
		if got != err {
			t.Fatalf("write %d: callback saw %v, Wait %v", i, got, err)
		}
		if want := i%7 == 3; errors.Is(err, errBoom) != want || (!want && err != nil) {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if len(order) != n {
		t.Fatalf("%d callbacks, want %d", len(order), n)
	}
	for i, v := range order {
		if v != i {
			t.Fatalf("callbacks ran in order %v", order)
		}
	}

	// After Close, Submit decides at once with ErrClosed (callback too).
	s.Close()
	var closedErr error
	p := s.Submit(ctx, func(Tx) error { return nil }, func(err error) { closedErr = err })
	if err := p.Wait(); !errors.Is(err, ErrClosed) || !errors.Is(closedErr, ErrClosed) {
		t.Fatalf("Submit after Close: %v / callback %v", err, closedErr)
	}
}

func TestHasAssistantAndThread(t *testing.T) {
	s := openTest(t)
	update(t, s, func(tx Tx) error {
		if err := tx.PutAssistant(&apitype.Assistant{ID: "asst_1"}); err != nil {
			return err
		}
		return tx.PutThread(&apitype.Thread{ID: "thread_1"})
	})
	view(t, s, func(tx Tx) error {
		for _, c := range []struct {
			has  func(string) (bool, error)
			id   string
			want bool
		}{{tx.HasAssistant, "asst_1", true}, {tx.HasAssistant, "asst_2", false},
			{tx.HasThread, "thread_1", true}, {tx.HasThread, "thread_2", false}, {tx.HasThread, "", false}} {
			if got, err := c.has(c.id); err != nil || got != c.want {
				return fmt.Errorf("Has(%q) = %v, %v; stored: %v", c.id, got, err, c.want)
			}
		}
		return nil
	})
}

// A run and its steps are found only under their own thread: with runs in
// one top-level bucket (schema 4), another thread's id must not reach them.
func TestRunsBelongToTheirThread(t *testing.T) {
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	a, b := gen.New(PrefixThread), gen.New(PrefixThread)
	r := &apitype.Run{ID: gen.New(PrefixRun), ThreadID: a, Status: apitype.RunCompleted}
	st := &apitype.RunStep{ID: gen.New(PrefixStep), ThreadID: a, RunID: r.ID}
	update(t, s, func(tx Tx) error {
		for _, th := range []string{a, b} {
			if err := tx.PutThread(&apitype.Thread{ID: th}); err != nil {
				return err
			}
		}
		if err := tx.PutRun(r); err != nil {
			return err
		}
		return tx.PutStep(st)
	})
	err := s.Update(context.Background(), func(tx Tx) error {
		return tx.PutStep(&apitype.RunStep{ID: gen.New(PrefixStep), ThreadID: b, RunID: r.ID})
	})
	if !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("a step of thread b for a's run: %v, want not found", err)
	}
	view(t, s, func(tx Tx) error {
		if got, err := tx.GetRun(a, r.ID); err != nil || got.ID != r.ID {
			t.Fatalf("GetRun(a) = %v, %v", got, err)
		}
		if _, err := tx.GetRun(b, r.ID); !errors.Is(err, apitype.ErrNotFound) {
			t.Fatalf("GetRun(b) of a's run: %v", err)
		}
		if _, err := tx.GetRun("thread_none", r.ID); !errors.Is(err, apitype.ErrNotFound) {
			t.Fatalf("GetRun of an unknown thread: %v", err)
		}
		if _, err := tx.GetStep(b, r.ID, st.ID); !errors.Is(err, apitype.ErrNotFound) {
			t.Fatalf("GetStep(b) of a's step: %v", err)
		}
		if p, err := tx.ListSteps(b, r.ID, apitype.ListParams{}); err != nil || len(p.Data) != 0 {
			t.Fatalf("ListSteps(b) of a's run: %v %v", p.Data, err)
		}
		if p, err := tx.ListSteps(a, r.ID, apitype.ListParams{}); err != nil || len(p.Data) != 1 {
			t.Fatalf("ListSteps(a): %v %v", p.Data, err)
		}
		if p, err := tx.ListRuns(b, apitype.ListParams{}); err != nil || len(p.Data) != 0 {
			t.Fatalf("ListRuns(b): %v %v", p.Data, err)
		}
		return nil
	})
}

// activeRun is tx.ActiveRun failing t on an error.
func activeRun(t testing.TB, tx Tx, threadID string) string {
	t.Helper()
	id, err := tx.ActiveRun(threadID)
	if err != nil {
		t.Errorf("ActiveRun(%s): %v", threadID, err)
	}
	return id
}
