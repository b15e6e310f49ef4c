package pgfiles_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/filesearch"
	"github.com/hearth-go/hearth/store/pgfiles"
)

// replicaIndex is one replica's file index on the shared database.
func replicaIndex(t *testing.T, st *pgfiles.IndexStorage) engine.FileIndex {
	t.Helper()
	ix, err := engine.NewFileIndexOn(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func add(t *testing.T, ix engine.FileIndex, vs, id, text string) {
	t.Helper()
	f := &apitype.File{ID: id, Filename: id + ".txt"}
	if _, err := ix.Add(context.Background(), vs, f, []byte(text), apitype.ChunkingStrategy{}); err != nil {
		t.Fatalf("add %s: %v", id, err)
	}
}

// found is the ids of the files a search finds.
func found(t *testing.T, ix engine.FileIndex, vs, query string) string {
	t.Helper()
	hits, err := ix.Search(context.Background(), []string{vs}, query, 10, apitype.RankingOptions{ScoreThreshold: 0.05})
	if err != nil {
		t.Fatalf("search %q: %v", query, err)
	}
	seen := map[string]bool{}
	var ids []string
	for _, h := range hits {
		if !seen[h.FileID] {
			seen[h.FileID] = true
			ids = append(ids, h.FileID)
		}
	}
	return strings.Join(ids, ",")
}

// TestIndexAcrossReplicas: two indexes on one database, as two replicas'.
// What one ingests, replaces, removes or drops, the other's next search
// sees — its memory built once, then brought up to date by the versions.
func TestIndexAcrossReplicas(t *testing.T) {
	p := migrated(t)
	st := pgfiles.NewIndexStorage(p)
	a, b := replicaIndex(t, st), replicaIndex(t, st)

	add(t, a, "vs_1", "file-aard", "The aardvark digs burrows at night and eats termites.")
	if got := found(t, b, "vs_1", "aardvark termites"); got != "file-aard" {
		t.Fatalf("B found %q of what A ingested, want file-aard", got)
	}
	// B's memory of vs_1 is built now: later writes reach it by sync.
	add(t, a, "vs_1", "file-zebra", "Zebras graze the savanna in herds, striped black and white.")
	if got := found(t, b, "vs_1", "zebras savanna striped"); got != "file-zebra" {
		t.Fatalf("B found %q after A ingested another file, want file-zebra", got)
	}
	// A write of B's own between two of A's: B's memory must still take A's.
	add(t, b, "vs_1", "file-owl", "The owl hunts mice in the dark forest.")
	add(t, a, "vs_1", "file-heron", "Herons wade in shallow marshes fishing for frogs.")
	if got := found(t, b, "vs_1", "herons marshes frogs"); got != "file-heron" {
		t.Fatalf("B found %q after its own write and A's, want file-heron", got)
	}
	if got := found(t, a, "vs_1", "owl mice forest"); got != "file-owl" {
		t.Fatalf("A found %q of what B ingested, want file-owl", got)
	}
	// Replaced: the old text is gone from B's memory, the new one is there.
	add(t, a, "vs_1", "file-zebra", "Giraffes browse acacia leaves with long necks.")
	if got := found(t, b, "vs_1", "zebras savanna striped"); got != "" {
		t.Fatalf("B still finds %q for the replaced text", got)
	}
	if got := found(t, b, "vs_1", "giraffes acacia necks"); got != "file-zebra" {
		t.Fatalf("B found %q for the replacing text, want file-zebra", got)
	}
	if err := a.Remove(context.Background(), "vs_1", "file-aard"); err != nil {
		t.Fatal(err)
	}
	if got := found(t, b, "vs_1", "aardvark termites"); got != "" {
		t.Fatalf("B still finds %q after A removed it", got)
	}
	if err := a.Drop(context.Background(), "vs_1"); err != nil {
		t.Fatal(err)
	}
	if got := found(t, b, "vs_1", "owl mice forest"); got != "" {
		t.Fatalf("B still finds %q in a store A dropped", got)
	}
	// A store dropped and made again under the same id starts over.
	add(t, a, "vs_1", "file-new", "Penguins slide on antarctic ice.")
	if got := found(t, b, "vs_1", "penguins antarctic ice"); got != "file-new" {
		t.Fatalf("B found %q in the remade store, want file-new", got)
	}
}

// TestIndexReindexAcrossReplicas: a store re-embedded on one replica is
// reloaded by the other (its embedder changed), which must know the new
// embedder to search it.
func TestIndexReindexAcrossReplicas(t *testing.T) {
	p := migrated(t)
	st := pgfiles.NewIndexStorage(p)
	ctx := context.Background()
	a, b := replicaIndex(t, st), replicaIndex(t, st)
	add(t, a, "vs_r", "file-1", "Lighthouses guide ships past rocky coasts.")
	if got := found(t, b, "vs_r", "lighthouses ships"); got != "file-1" {
		t.Fatalf("B found %q, want file-1", got)
	}
	other := filesearch.NewLexicalEmbedder(128)
	ra, err := filesearch.OpenStorage(st, filesearch.Config{Embedder: other})
	if err != nil {
		t.Fatal(err)
	}
	if err := ra.Reindex(ctx, "vs_r", other); err != nil {
		t.Fatal(err)
	}
	// B was not given the new embedder: it must say so, not search stale
	// vectors of another space.
	if _, err := b.Search(ctx, []string{"vs_r"}, "lighthouses", 5, apitype.RankingOptions{}); err == nil {
		t.Fatal("B searched a store re-embedded with an embedder it lacks")
	}
	rb, err := filesearch.OpenStorage(st, filesearch.Config{Embedder: other})
	if err != nil {
		t.Fatal(err)
	}
	res, err := rb.Search(ctx, []string{"vs_r"}, "lighthouses ships", filesearch.SearchOptions{})
	if err != nil || len(res) == 0 || res[0].FileID != "file-1" {
		t.Fatalf("a replica with the new embedder: %v, %v", res, err)
	}
	if _, err := st.Store(ctx, "vs_missing"); !errors.Is(err, filesearch.ErrStoreNotFound) {
		t.Fatalf("an unknown store: %v", err)
	}
}
