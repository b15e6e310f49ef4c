package pgfiles_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/internal/pgtest"
	"github.com/hearth-go/hearth/store/pgfiles"
	"github.com/hearth-go/hearth/store/pgstore"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ engine.FileBytes = (*pgfiles.Bytes)(nil)

// migrated is a pool on a fresh database at schema version 1.
func migrated(t testing.TB) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if _, err := pgstore.Migrate(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

func rows(t *testing.T, p *pgxpool.Pool, tab, id string) int {
	t.Helper()
	var n int
	if err := p.QueryRow(context.Background(), `SELECT count(*) FROM `+tab+` WHERE file_id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func readBack(t *testing.T, b *pgfiles.Bytes, space, id string) []byte {
	t.Helper()
	rc, err := b.Open(context.Background(), space, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestBytesRoundTrip(t *testing.T) {
	p := migrated(t)
	b := pgfiles.NewBytes(p, pgfiles.BytesOptions{})
	ctx := context.Background()
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for i, size := range []int{0, 1, 1000, pgfiles.ChunkBytes, pgfiles.ChunkBytes + 1, 3*pgfiles.ChunkBytes + 12345} {
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		id := "file-" + string(rune('a'+i))
		n, err := b.Write(ctx, engine.SpaceFiles, id, bytes.NewReader(data))
		if err != nil || n != int64(size) {
			t.Fatalf("size %d: wrote %d, %v", size, n, err)
		}
		if want := max(1, (size+pgfiles.ChunkBytes-1)/pgfiles.ChunkBytes); rows(t, p, "file_chunks", id) != want {
			t.Fatalf("size %d: %d rows, want %d", size, rows(t, p, "file_chunks", id), want)
		}
		if got := readBack(t, b, engine.SpaceFiles, id); !bytes.Equal(got, data) {
			t.Fatalf("size %d: read %d bytes back, not what was written", size, len(got))
		}
		// Copied into a container inside the database, and read from there.
		if err := b.Copy(ctx, engine.SpaceContainers, "cfile_"+id, engine.SpaceFiles, id); err != nil {
			t.Fatal(err)
		}
		if got := readBack(t, b, engine.SpaceContainers, "cfile_"+id); !bytes.Equal(got, data) {
			t.Fatalf("size %d: the container's copy differs", size)
		}
	}
	if _, err := b.Open(ctx, engine.SpaceFiles, "file-missing"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("open of a missing id: %v, want os.ErrNotExist", err)
	}
	if err := b.Copy(ctx, engine.SpaceContainers, "cfile_x", engine.SpaceFiles, "file-missing"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("copy of a missing id: %v, want os.ErrNotExist", err)
	}
	if err := b.Remove(ctx, engine.SpaceFiles, "file-f"); err != nil || rows(t, p, "file_chunks", "file-f") != 0 {
		t.Fatalf("remove: %v, %d rows left", err, rows(t, p, "file_chunks", "file-f"))
	}
	if err := b.Remove(ctx, engine.SpaceFiles, "file-missing"); err != nil {
		t.Fatalf("remove of a missing id: %v", err)
	}
}

// failingReader gives n bytes, then fails.
type failingReader struct {
	n   int
	err error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	k := min(len(p), r.n)
	r.n -= k
	return k, nil
}

// TestBytesFailedWriteLeavesNothing: an upload whose reader fails, whose
// context ends, or whose connection dies after several rows leaves none.
func TestBytesFailedWriteLeavesNothing(t *testing.T) {
	p := migrated(t)
	b := pgfiles.NewBytes(p, pgfiles.BytesOptions{})
	ctx := context.Background()
	boom := errors.New("client went away")
	if _, err := b.Write(ctx, engine.SpaceFiles, "file-fail", &failingReader{n: 2*pgfiles.ChunkBytes + 7, err: boom}); !errors.Is(err, boom) {
		t.Fatalf("write: %v, want the reader's error", err)
	}
	if n := rows(t, p, "file_chunks", "file-fail"); n != 0 {
		t.Fatalf("a failed write left %d rows", n)
	}

	cctx, cancel := context.WithCancel(ctx)
	r := &blockingReader{n: 2*pgfiles.ChunkBytes + 7, at: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() { _, err := b.Write(cctx, engine.SpaceFiles, "file-cancel", r); done <- err }()
	<-r.at
	cancel()
	close(r.release)
	if err := <-done; err == nil {
		t.Fatal("a cancelled write succeeded")
	}
	if n := rows(t, p, "file_chunks", "file-cancel"); n != 0 {
		t.Fatalf("a cancelled write left %d rows", n)
	}

	// The writer's connection killed mid-COPY (a replica killed -9 looks
	// the same to the server).
	r = &blockingReader{n: 2*pgfiles.ChunkBytes + 7, at: make(chan struct{}), release: make(chan struct{})}
	go func() { _, err := b.Write(ctx, engine.SpaceFiles, "file-killed", r); done <- err }()
	<-r.at
	var killed bool
	err := p.QueryRow(ctx, `SELECT coalesce(bool_or(pg_terminate_backend(pid)), false) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'copy %'`).Scan(&killed)
	// Released before any check: a COPY left waiting on its client would
	// hold up every DROP DATABASE on the cluster.
	close(r.release)
	if err != nil || !killed {
		<-done
		t.Fatalf("terminate the COPY: %v, %v", killed, err)
	}
	if err := <-done; err == nil {
		t.Fatal("a write whose connection was killed succeeded")
	}
	if n := rows(t, p, "file_chunks", "file-killed"); n != 0 {
		t.Fatalf("a killed write left %d rows", n)
	}
}

// blockingReader gives n bytes then, once, signals at and waits for
// release, then gives one more MiB and ends.
type blockingReader struct {
	n, after    int
	at, release chan struct{}
}

func (r *blockingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		close(r.at)
		<-r.release
		r.n, r.after = -1, pgfiles.ChunkBytes
	}
	if r.n < 0 {
		if r.after == 0 {
			return 0, io.EOF
		}
		k := min(len(p), r.after)
		r.after -= k
		return k, nil
	}
	k := min(len(p), r.n)
	r.n -= k
	return k, nil
}

// TestBytesGoWithTheirRecord: deleting a file's record, a container file's,
// or a container (cascading to its files) deletes their rows in the same
// transaction; a rolled-back delete keeps them.
func TestBytesGoWithTheirRecord(t *testing.T) {
	p := migrated(t)
	b := pgfiles.NewBytes(p, pgfiles.BytesOptions{})
	ctx := context.Background()
	data := bytes.Repeat([]byte("x"), pgfiles.ChunkBytes+10)
	for _, w := range []struct{ space, id string }{{engine.SpaceFiles, "file-1"}, {engine.SpaceContainers, "cfile_1"}, {engine.SpaceContainers, "cfile_2"}} {
		if _, err := b.Write(ctx, w.space, w.id, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(t, p, `INSERT INTO files (id, purpose, bytes, record) VALUES ('file-1', 'assistants', 1, '{}')`)
	mustExec(t, p, `INSERT INTO containers (id, status, last_active_at, expires_minutes, record) VALUES ('cntr_1', 'active', 0, 20, '{}')`)
	mustExec(t, p, `INSERT INTO container_files (container_id, id, path, bytes, record) VALUES ('cntr_1', 'cfile_1', '/mnt/data/a', 1, '{}'), ('cntr_1', 'cfile_2', '/mnt/data/b', 1, '{}')`)

	tx, err := p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM files WHERE id = 'file-1'`); err != nil {
		t.Fatal(err)
	}
	tx.Rollback(ctx)
	if n := rows(t, p, "file_chunks", "file-1"); n != 2 {
		t.Fatalf("a rolled-back delete took the bytes: %d rows", n)
	}
	mustExec(t, p, `DELETE FROM files WHERE id = 'file-1'`)
	mustExec(t, p, `DELETE FROM container_files WHERE id = 'cfile_1'`)
	if a, c := rows(t, p, "file_chunks", "file-1"), rows(t, p, "container_file_chunks", "cfile_1"); a+c != 0 {
		t.Fatalf("deleted records left %d and %d rows", a, c)
	}
	if n := rows(t, p, "container_file_chunks", "cfile_2"); n != 2 {
		t.Fatalf("another container file lost its bytes: %d rows", n)
	}
	mustExec(t, p, `DELETE FROM containers WHERE id = 'cntr_1'`)
	if n := rows(t, p, "container_file_chunks", "cfile_2"); n != 0 {
		t.Fatalf("a deleted container's file left %d rows", n)
	}
}

func mustExec(t *testing.T, p *pgxpool.Pool, sql string) {
	t.Helper()
	if _, err := p.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestBytesSweep: bytes without a record go once older than the grace,
// unless the engine's store knows them; younger ones stay (a record on
// another replica may be about to commit).
func TestBytesSweep(t *testing.T) {
	p := migrated(t)
	b := pgfiles.NewBytes(p, pgfiles.BytesOptions{SweepGrace: time.Minute})
	ctx := context.Background()
	for _, w := range []struct{ space, id string }{
		{engine.SpaceFiles, "file-old"}, {engine.SpaceFiles, "file-young"}, {engine.SpaceFiles, "file-rec"},
		{engine.SpaceFiles, "file-known"}, {engine.SpaceContainers, "cfile_old"},
	} {
		if _, err := b.Write(ctx, w.space, w.id, bytes.NewReader(make([]byte, pgfiles.ChunkBytes+1))); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(t, p, `UPDATE file_chunks SET written_at = now() - interval '2 minutes' WHERE file_id <> 'file-young'`)
	mustExec(t, p, `UPDATE container_file_chunks SET written_at = now() - interval '2 minutes'`)
	mustExec(t, p, `INSERT INTO files (id, purpose, bytes, record) VALUES ('file-rec', 'assistants', 1, '{}')`)
	var asked []string
	err := b.Sweep(ctx, func(space, id string) (bool, error) {
		asked = append(asked, space+"/"+id)
		return id == "file-known", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]int{"file-old": 0, "file-young": 2, "file-rec": 2, "file-known": 2} {
		if n := rows(t, p, "file_chunks", id); n != want {
			t.Errorf("%s: %d rows after the sweep, want %d (asked %v)", id, n, want, asked)
		}
	}
	if n := rows(t, p, "container_file_chunks", "cfile_old"); n != 0 {
		t.Errorf("an old container orphan kept %d rows", n)
	}
}
