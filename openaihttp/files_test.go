package openaihttp_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/hearth-go/hearth/llm/scripted"
)

// Files through the SDK: multipart upload (file part first, as openai-go
// sends it), retrieve, list by purpose, content download, delete.
func TestFilesRoundTrip(t *testing.T) {
	e := newEnv(t, scripted.Echo())
	ctx := context.Background()
	content := []byte(strings.Repeat("Hearth keeps assistants offline.\n", 1000))
	f, err := e.client.Files.New(ctx, openai.FileNewParams{File: openai.File(bytes.NewReader(content), "notes.txt", "application/octet-stream"),
		Purpose: openai.FilePurposeAssistants})
	if err != nil {
		t.Fatal(err)
	}
	if f.Filename != "notes.txt" || f.Bytes != int64(len(content)) || f.Purpose != "assistants" {
		t.Fatalf("file %+v", f)
	}
	got, err := e.client.Files.Get(ctx, f.ID)
	if err != nil || got.ID != f.ID {
		t.Fatalf("get %+v %v", got, err)
	}
	page, err := e.client.Files.List(ctx, openai.FileListParams{Purpose: openai.String("assistants")})
	if err != nil || len(page.Data) != 1 {
		t.Fatalf("list %+v %v", page, err)
	}
	resp, err := e.client.Files.Content(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(body, content) {
		t.Fatalf("content: %d bytes back of %d", len(body), len(content))
	}
	del, err := e.client.Files.Delete(ctx, f.ID)
	if err != nil || !del.Deleted {
		t.Fatalf("delete %+v %v", del, err)
	}
	_, err = e.client.Files.Get(ctx, f.ID)
	apiErr(t, err, 404, "not_found_error")
}

// Vector stores through the SDK: uploadAndPoll (honouring
// openai-poll-after-ms), a file batch, listing, search.
func TestVectorStoresRoundTrip(t *testing.T) {
	e := newEnv(t, scripted.Echo())
	ctx := context.Background()
	vs, err := e.client.VectorStores.New(ctx, openai.VectorStoreNewParams{Name: openai.String("docs")})
	if err != nil {
		t.Fatal(err)
	}
	vf, err := e.client.VectorStores.Files.UploadAndPoll(ctx, vs.ID, openai.FileNewParams{
		File:    openai.File(strings.NewReader("The warranty covers the kettle for two years from purchase."), "warranty.txt", "application/octet-stream"),
		Purpose: openai.FilePurposeAssistants}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if vf.Status != "completed" {
		t.Fatalf("vector store file %+v", vf)
	}
	f2, err := e.client.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader("Returns are accepted within 30 days."), "returns.txt", "text/plain"),
		Purpose: openai.FilePurposeAssistants})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := e.client.VectorStores.FileBatches.NewAndPoll(ctx, vs.ID, openai.VectorStoreFileBatchNewParams{FileIDs: []string{f2.ID}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if batch.Status != "completed" || batch.FileCounts.Completed != 1 {
		t.Fatalf("batch %+v", batch)
	}
	files, err := e.client.VectorStores.Files.List(ctx, vs.ID, openai.VectorStoreFileListParams{})
	if err != nil || len(files.Data) != 2 {
		t.Fatalf("files %+v %v", files, err)
	}
	res, err := e.client.VectorStores.Search(ctx, vs.ID, openai.VectorStoreSearchParams{
		Query: openai.VectorStoreSearchParamsQueryUnion{OfString: openai.String("how long is the warranty")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Data) == 0 || res.Data[0].Filename != "warranty.txt" {
		t.Fatalf("search %+v", res.Data)
	}
	// A file of another store is not reachable through this one.
	other, err := e.client.VectorStores.New(ctx, openai.VectorStoreNewParams{Name: openai.String("other")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.VectorStores.Files.Get(ctx, other.ID, vf.ID)
	apiErr(t, err, 404, "not_found_error")
	got, err := e.client.VectorStores.Get(ctx, vs.ID)
	if err != nil || got.FileCounts.Completed != 2 {
		t.Fatalf("store %+v %v", got, err)
	}
}
