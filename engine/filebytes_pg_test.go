package engine_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/internal/pgtest"
	"github.com/hearth-go/hearth/store/pgfiles"
	"github.com/hearth-go/hearth/store/pgstore"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgBytes is a pool on a migrated database of its own and Bytes on it.
func pgBytes(t *testing.T) (*pgxpool.Pool, *pgfiles.Bytes) {
	t.Helper()
	p, err := pgxpool.New(context.Background(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if _, err := pgstore.Migrate(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p, pgfiles.NewBytes(p, pgfiles.BytesOptions{})
}

func chunkRows(t *testing.T, p *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := p.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM file_chunks) + (SELECT count(*) FROM container_file_chunks)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFileBytesOnPostgres: the engine on bbolt with its bytes in Postgres.
// An upload over the limit is the API's 400 and leaves no row; files,
// container copies and code-written container files are served from the
// rows; deleting them (a file, a container) leaves none.
func TestFileBytesOnPostgres(t *testing.T) {
	p, fb := pgBytes(t)
	e := openEngine(t, nil, func(c *engine.Config) { c.FileBytes, c.MaxFileBytes = fb, 3<<20 })
	ctx := context.Background()

	_, err := e.Files.Create(ctx, bytes.NewReader(make([]byte, 3<<20+1)), apitype.FileCreateParams{Filename: "big.bin", Purpose: "assistants"})
	var ae *apitype.Error
	if !errors.Is(err, engine.ErrFileTooLarge) || !errors.As(err, &ae) || ae.Status != 400 || ae.Param != "file" {
		t.Fatalf("an upload over the limit: %v", err)
	}
	if n := chunkRows(t, p); n != 0 {
		t.Fatalf("a refused upload left %d rows", n)
	}

	body := strings.Repeat("0123456789", 250_000) // 2.5 MB: three rows
	f, err := e.Files.Create(ctx, strings.NewReader(body), apitype.FileCreateParams{Filename: "data.txt", Purpose: "assistants"})
	if err != nil || f.Bytes != int64(len(body)) {
		t.Fatalf("%v %+v", err, f)
	}
	if got := content(t, e, f.ID); got != body {
		t.Fatalf("read back %d bytes, not the upload", len(got))
	}
	c, err := e.Containers.Create(ctx, apitype.ContainerCreateParams{Name: "c", FileIDs: []string{f.ID}})
	if err != nil {
		t.Fatal(err)
	}
	up, err := e.Containers.Files.Upload(ctx, c.ID, strings.NewReader("notes"), "notes.txt")
	if err != nil {
		t.Fatal(err)
	}
	files, err := e.Containers.Files.List(ctx, c.ID, apitype.ListParams{})
	if err != nil || len(files.Data) != 2 {
		t.Fatalf("%v %+v", err, files)
	}
	if n := chunkRows(t, p); n != 3+3+1 {
		t.Fatalf("%d rows for a file, its copy and a container upload", n)
	}
	if _, err := e.Containers.Files.Delete(ctx, c.ID, up.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Files.Delete(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if n := chunkRows(t, p); n != 3 {
		t.Fatalf("%d rows after deleting the file and the upload: want the container's copy's 3", n)
	}
	if _, err := e.Containers.Delete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if n := chunkRows(t, p); n != 0 {
		t.Fatalf("a deleted container left %d rows", n)
	}
}

func content(t *testing.T, e *engine.Engine, id string) string {
	t.Helper()
	_, rc, err := e.Files.Content(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFileBytesSweptOnPostgres: bytes a crash left without a record (the
// bytes commit first) are removed by the next Open once older than the
// grace; the bytes of a recorded file, and young ones (another replica's
// record may be about to commit), stay.
func TestFileBytesSweptOnPostgres(t *testing.T) {
	p, fb := pgBytes(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hearth.db")
	e := openEngine(t, nil, func(c *engine.Config) { c.Path, c.FileBytes = path, fb })
	kept, err := e.Files.Create(ctx, strings.NewReader("kept"), apitype.FileCreateParams{Filename: "k.txt", Purpose: "assistants"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"file-orphan", "file-young"} {
		if _, err := fb.Write(ctx, engine.SpaceFiles, id, strings.NewReader("left by a crash")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fb.Write(ctx, engine.SpaceContainers, "cfile_orphan", strings.NewReader("left by a crash")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(ctx, `UPDATE file_chunks SET written_at = now() - interval '2 hours' WHERE file_id <> 'file-young'`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(ctx, `UPDATE container_file_chunks SET written_at = now() - interval '2 hours'`); err != nil {
		t.Fatal(err)
	}
	// The engine's bbolt file knows file kept, not the database's files
	// table: the sweep asks the engine's store before it deletes.
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	openEngine(t, nil, func(c *engine.Config) { c.Path, c.FileBytes = path, fb })
	var ids []string
	rows, err := p.Query(ctx, `SELECT file_id FROM file_chunks UNION ALL SELECT file_id FROM container_file_chunks ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if got, want := strings.Join(ids, " "), kept.ID+" file-young"; got != want {
		t.Fatalf("after the sweep: %s, want %s", got, want)
	}
}
