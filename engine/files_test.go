package engine_test

import (
	"bytes"
	"context"
	"errors"
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
	entries, _ := os.ReadDir(e.Store().Path() + ".files")
	if len(entries) != 0 {
		t.Fatalf("files left on disk: %v", entries)
	}
}
