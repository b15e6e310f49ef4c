package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
)

func TestFilesLifecycle(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, nil, func(c *engine.Config) { c.MaxFileBytes = 1 << 10 })
	f, err := e.Files.Create(ctx, strings.NewReader("hello world"), apitype.FileCreateParams{Filename: "dir/notes.txt", Purpose: "assistants"})
	if err != nil {
		t.Fatal(err)
	}
	if f.Filename != "notes.txt" || f.Bytes != 11 || !strings.HasPrefix(f.ID, "file-") {
		t.Fatalf("file %+v", f)
	}
	_, rc, err := e.Files.Content(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "hello world" {
		t.Fatalf("content %q", b)
	}
	_, err = e.Files.Create(ctx, bytes.NewReader(make([]byte, 2048)), apitype.FileCreateParams{Filename: "big.bin", Purpose: "assistants"})
	if !errors.Is(err, engine.ErrFileTooLarge) {
		t.Fatalf("oversize: %v", err)
	}
	_, err = e.Files.Create(ctx, strings.NewReader("x"), apitype.FileCreateParams{Filename: "a.txt", Purpose: "nonsense"})
	if !errors.Is(err, apitype.ErrInvalidRequest) || err.(*apitype.Error).Param != "purpose" {
		t.Fatalf("bad purpose: %v", err)
	}
	page, err := e.Files.List(ctx, apitype.ListParams{}, "")
	if err != nil || len(page.Data) != 1 {
		t.Fatalf("list %v %+v", err, page)
	}
	if _, err := e.Files.Delete(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Files.Retrieve(ctx, f.ID); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if onPostgres {
		if ids := pgByteIDs(t, e, "file_chunks"); len(ids) != 0 {
			t.Fatalf("bytes left: %v", ids)
		}
		return
	}
	entries, _ := os.ReadDir(e.Store().Path() + ".files")
	if len(entries) != 0 {
		t.Fatalf("files left on disk: %v", entries)
	}
}

// files.list takes a limit of 1–10,000 and defaults to 10,000, as the hosted
// API did (other lists stop at 100).
func TestFilesListLimit(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, nil)
	const n = 130
	for i := range n {
		if _, err := e.Files.Create(ctx, strings.NewReader("x"), apitype.FileCreateParams{Filename: fmt.Sprintf("f%d.txt", i), Purpose: "assistants"}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := e.Files.List(ctx, apitype.ListParams{}, "")
	if err != nil || len(page.Data) != n || page.HasMore {
		t.Fatalf("default list: %v, %d files, has_more %v; want all %d", err, len(page.Data), page.HasMore, n)
	}
	page, err = e.Files.List(ctx, apitype.ListParams{Limit: 120}, "")
	if err != nil || len(page.Data) != 120 || !page.HasMore {
		t.Fatalf("limit 120: %v, %d files, has_more %v", err, len(page.Data), page.HasMore)
	}
	if _, err := e.Files.List(ctx, apitype.ListParams{Limit: apitype.MaxFileListLimit + 1}, ""); !errors.Is(err, apitype.ErrInvalidRequest) {
		t.Fatalf("limit 10001: %v", err)
	}
}
