package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/filesearch"
)

// heldEmbedder is the lexical embedder whose first Embed call (the first
// file's chunks) is held: entered is closed when it starts, and it returns
// once release is closed.
type heldEmbedder struct {
	*filesearch.LexicalEmbedder
	once             sync.Once
	entered, release chan struct{}
}

func newHeldEmbedder() *heldEmbedder {
	return &heldEmbedder{LexicalEmbedder: filesearch.NewLexicalEmbedder(64), entered: make(chan struct{}), release: make(chan struct{})}
}

func (h *heldEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	first := false
	h.once.Do(func() { first = true })
	if first {
		close(h.entered)
		select {
		case <-h.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return h.LexicalEmbedder.Embed(ctx, texts)
}

func mustFile(t *testing.T, e *engine.Engine, name, text string) *apitype.File {
	t.Helper()
	f, err := e.Files.Create(context.Background(), strings.NewReader(text), apitype.FileCreateParams{Filename: name, Purpose: "assistants"})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// settle ingests one more file in a fresh vector store and waits for it:
// with MaxConcurrentIngest 1 every earlier ingestion has then ended.
func settle(t *testing.T, e *engine.Engine) {
	t.Helper()
	ctx := context.Background()
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{FileIDs: []string{mustFile(t, e, "later.txt", "Unrelated words about gardens.").ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.VectorStores.Wait(ctx, vs.ID); err != nil {
		t.Fatal(err)
	}
}

func searchHits(t *testing.T, e *engine.Engine, vsID, q string) int {
	t.Helper()
	page, err := e.VectorStores.Search(context.Background(), vsID, apitype.VectorStoreSearchParams{Query: apitype.StringList{q}})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Data)
}

// Deleting a file removes it from every vector store that holds it: its
// record, the counts and its chunks, so it is never searched or cited again.
func TestDeletedFileLeavesVectorStores(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, nil)
	doc := mustFile(t, e, "policy.md", "Our refund policy: refunds take 14 days.")
	var stores []string
	for range 2 {
		vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{FileIDs: []string{doc.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.VectorStores.Wait(ctx, vs.ID); err != nil {
			t.Fatal(err)
		}
		if searchHits(t, e, vs.ID, "refund") != 1 {
			t.Fatal("the file is not searchable before the delete")
		}
		stores = append(stores, vs.ID)
	}
	if _, err := e.Files.Delete(ctx, doc.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range stores {
		if _, err := e.VectorStores.RetrieveFile(ctx, id, doc.ID); !errors.Is(err, apitype.ErrNotFound) {
			t.Fatalf("vector store %s still holds the deleted file: %v", id, err)
		}
		vs, err := e.VectorStores.Retrieve(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if vs.FileCounts.Total != 0 || vs.FileCounts.Completed != 0 {
			t.Fatalf("vector store %s counts %+v after the delete", id, vs.FileCounts)
		}
		if n := searchHits(t, e, id, "refund"); n != 0 {
			t.Fatalf("vector store %s still finds the deleted file (%d hits)", id, n)
		}
	}
}

// A file deleted while it is being ingested ends with nothing indexed.
func TestFileDeletedDuringIngestion(t *testing.T) {
	ctx := context.Background()
	emb := newHeldEmbedder()
	e := openEngine(t, nil, func(c *engine.Config) { c.Embedder, c.MaxConcurrentIngest = emb, 1 })
	doc := mustFile(t, e, "policy.md", "Our refund policy: refunds take 14 days.")
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{FileIDs: []string{doc.ID}})
	if err != nil {
		t.Fatal(err)
	}
	<-emb.entered
	if _, err := e.Files.Delete(ctx, doc.ID); err != nil {
		t.Fatal(err)
	}
	close(emb.release)
	settle(t, e)
	if n := searchHits(t, e, vs.ID, "refund"); n != 0 {
		t.Fatalf("the file deleted mid-ingestion is searchable (%d hits)", n)
	}
	if _, err := e.VectorStores.RetrieveFile(ctx, vs.ID, doc.ID); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("vector store file after the delete: %v", err)
	}
}

// A vector store deleted while a file of it is being ingested leaves no key
// of it in the index.
func TestVectorStoreDeletedDuringIngestion(t *testing.T) {
	ctx := context.Background()
	emb := newHeldEmbedder()
	path := filepath.Join(t.TempDir(), "hearth.db")
	e, err := engine.Open(ctx, engine.Config{Path: path, NoSync: true, Embedder: emb, MaxConcurrentIngest: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	doc := mustFile(t, e, "policy.md", "Our refund policy: refunds take 14 days.")
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{FileIDs: []string{doc.ID}})
	if err != nil {
		t.Fatal(err)
	}
	<-emb.entered
	if _, err := e.VectorStores.Delete(ctx, vs.ID); err != nil {
		t.Fatal(err)
	}
	close(emb.release)
	settle(t, e)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		root := tx.Bucket([]byte("filesearch.v1"))
		if root != nil && root.Bucket([]byte(vs.ID)) != nil {
			t.Errorf("filesearch.v1/%s is left in the index after its vector store was deleted", vs.ID)
		}
		return nil
	})
}
