package filesearch

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	bolt "go.etcd.io/bbolt"
)

func openDB(t testing.TB, path string) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func newIndex(t testing.TB, cfg Config) (*Index, *bolt.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fs.db")
	db := openDB(t, path)
	t.Cleanup(func() { db.Close() })
	ix, err := Open(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ix, db, path
}

const (
	docTea = `Green tea is steamed or pan-fired soon after picking, which stops oxidation and keeps the leaves green.
Brew it with water around 75 to 80 degrees Celsius for two minutes; boiling water makes it bitter.`
	docBikes = `To fix a flat bicycle tyre, remove the wheel, lever the tyre off the rim and find the puncture.
Patch the inner tube, or replace it, then inflate to the pressure printed on the sidewall.`
	docTax = `Quarterly estimated tax payments are due in April, June, September and January.
Late payments accrue a penalty calculated on the unpaid amount for each day it remains unpaid.`
)

func TestIndexAddSearchRemove(t *testing.T) {
	ctx := context.Background()
	ix, _, _ := newIndex(t, Config{})
	for _, f := range []struct{ id, name, text string }{
		{"file-tea", "tea.md", docTea}, {"file-bike", "bikes.txt", docBikes}, {"file-tax", "tax.html", docTax},
	} {
		st, err := ix.AddFile(ctx, "vs_1", f.id, f.name, f.text, nil)
		if err != nil || st.Chunks != 1 || st.Tokens == 0 || st.UsageBytes == 0 {
			t.Fatalf("AddFile %s: %+v %v", f.id, st, err)
		}
	}
	for _, ranker := range []string{"", RankerAuto, RankerDefault, rankerKeyword} {
		rs, err := ix.search(ctx, []string{"vs_1"}, "what water temperature should I brew green tea at?", SearchOptions{Ranker: ranker})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) == 0 || rs[0].FileID != "file-tea" || rs[0].Filename != "tea.md" || rs[0].StoreID != "vs_1" {
			t.Fatalf("ranker %q: %+v", ranker, rs)
		}
		for _, r := range rs {
			if r.Score < 0 || r.Score > 1 {
				t.Fatalf("score %v out of range", r.Score)
			}
		}
	}
	// max_num_results larger than the collection is clamped, not an error.
	rs, err := ix.Search(ctx, []string{"vs_1"}, "tyre puncture", SearchOptions{MaxNumResults: 50, Ranker: RankerDefault})
	if err != nil || len(rs) == 0 || len(rs) > 3 || rs[0].FileID != "file-bike" {
		t.Fatalf("clamp: %+v %v", rs, err)
	}
	// The threshold drops weak results.
	rs, _ = ix.Search(ctx, []string{"vs_1"}, "tyre puncture", SearchOptions{ScoreThreshold: 0.3})
	if len(rs) != 1 || rs[0].FileID != "file-bike" {
		t.Fatalf("threshold: %+v", rs)
	}
	if err := ix.RemoveFile(ctx, "vs_1", "file-bike"); err != nil {
		t.Fatal(err)
	}
	rs, _ = ix.Search(ctx, []string{"vs_1"}, "tyre puncture", SearchOptions{})
	for _, r := range rs {
		if r.FileID == "file-bike" {
			t.Fatalf("removed file still found: %+v", rs)
		}
	}
	// Replacing a file keeps one copy of its chunks.
	if _, err := ix.AddFile(ctx, "vs_1", "file-tea", "tea.md", docTea+"\nOolong sits between green and black tea.", nil); err != nil {
		t.Fatal(err)
	}
	rs, _ = ix.Search(ctx, []string{"vs_1"}, "oolong", SearchOptions{})
	if len(rs) != 1 || rs[0].FileID != "file-tea" {
		t.Fatalf("replace: %+v", rs)
	}
	if err := ix.DropStore(ctx, "vs_1"); err != nil {
		t.Fatal(err)
	}
	if rs, err := ix.Search(ctx, []string{"vs_1", "vs_missing"}, "tea", SearchOptions{}); err != nil || len(rs) != 0 {
		t.Fatalf("dropped: %+v %v", rs, err)
	}
}

func TestSearchValidation(t *testing.T) {
	ix, _, _ := newIndex(t, Config{})
	for _, tc := range []struct {
		o     SearchOptions
		param string
	}{
		{SearchOptions{MaxNumResults: 51}, "max_num_results"},
		{SearchOptions{MaxNumResults: -1}, "max_num_results"},
		{SearchOptions{Ranker: "bm25"}, "ranking_options.ranker"},
		{SearchOptions{ScoreThreshold: 1.5}, "ranking_options.score_threshold"},
		{SearchOptions{ScoreThreshold: -0.1}, "ranking_options.score_threshold"},
	} {
		_, err := ix.Search(context.Background(), []string{"vs"}, "q", tc.o)
		var ae *apitype.Error
		if !errors.As(err, &ae) || ae.Param != tc.param {
			t.Errorf("%+v: %v", tc.o, err)
		}
	}
	if _, err := ix.Search(context.Background(), []string{"vs"}, "  ", SearchOptions{}); !errors.Is(err, ErrEmptyQuery) {
		t.Errorf("empty query: %v", err)
	}
	if _, err := ix.AddFile(context.Background(), "vs", "f", "f.txt", "x",
		&apitype.ChunkingStrategy{Type: "static", Static: &apitype.StaticChunking{MaxChunkSizeTokens: 50}}); err == nil {
		t.Error("bad chunking accepted")
	}
}

func TestReopenRebuildsFromBolt(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fs.db")
	db := openDB(t, path)
	ix, _ := Open(db, Config{})
	long := strings.Repeat(docTax+"\n", 40)
	st, err := ix.AddFile(ctx, "vs_a", "file-tax", "tax.txt", long,
		&apitype.ChunkingStrategy{Type: "static", Static: &apitype.StaticChunking{MaxChunkSizeTokens: 100, ChunkOverlapTokens: 20}})
	if err != nil || st.Chunks < 10 {
		t.Fatalf("%+v %v", st, err)
	}
	ix.AddFile(ctx, "vs_a", "file-tea", "tea.txt", docTea, nil)
	before, _ := ix.Search(ctx, []string{"vs_a"}, "green tea brewing temperature", SearchOptions{})
	db.Close()

	db = openDB(t, path)
	defer db.Close()
	ix2, err := Open(db, Config{})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := ix2.Files("vs_a")
	if len(files) != 2 {
		t.Fatalf("files after reopen: %+v", files)
	}
	after, err := ix2.Search(ctx, []string{"vs_a"}, "green tea brewing temperature", SearchOptions{})
	if err != nil || len(after) != len(before) {
		t.Fatalf("after reopen: %d vs %d results, %v", len(after), len(before), err)
	}
	for i := range after {
		if after[i].FileID != before[i].FileID || after[i].ChunkIndex != before[i].ChunkIndex || after[i].Text != before[i].Text {
			t.Fatalf("result %d differs: %+v vs %+v", i, after[i], before[i])
		}
	}
}

// failingEmbedder fails after n calls, like a backend that dies mid-ingestion.
type failingEmbedder struct {
	*LexicalEmbedder
	mu    sync.Mutex
	calls int
	n     int
}

func (f *failingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	f.mu.Lock()
	f.calls++
	c := f.calls
	f.mu.Unlock()
	if c > f.n {
		return nil, errors.New("backend died")
	}
	return f.LexicalEmbedder.Embed(ctx, texts)
}

func TestIngestionIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	emb := &failingEmbedder{LexicalEmbedder: NewLexicalEmbedder(64), n: 1}
	ix, _, _ := newIndex(t, Config{Embedder: emb})
	if _, err := ix.AddFile(ctx, "vs", "f1", "a.txt", docTea, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.AddFile(ctx, "vs", "f2", "b.txt", docBikes, nil); err == nil {
		t.Fatal("expected embed failure")
	}
	if ok, _ := ix.HasFile("vs", "f2"); ok {
		t.Fatal("failed file is marked indexed")
	}
	if ok, _ := ix.HasFile("vs", "f1"); !ok {
		t.Fatal("indexed file missing")
	}
	// A cancelled context stores nothing either.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	emb.n = 100
	if _, err := ix.AddFile(cctx, "vs", "f3", "c.txt", docTax, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if ok, _ := ix.HasFile("vs", "f3"); ok {
		t.Fatal("cancelled file is marked indexed")
	}
}

func TestEmbedderMismatchAndReindex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fs.db")
	db := openDB(t, path)
	defer db.Close()
	small := NewLexicalEmbedder(64)
	ix, _ := Open(db, Config{Embedder: small})
	ix.AddFile(ctx, "vs", "f1", "tea.txt", docTea, nil)
	ix.AddFile(ctx, "vs", "f2", "bike.txt", docBikes, nil)

	// Another process opens the same DB with a different default embedder.
	big := NewLexicalEmbedder(256)
	ix2, _ := Open(db, Config{Embedder: big})
	if _, err := ix2.Search(ctx, []string{"vs"}, "tea", SearchOptions{}); !errors.Is(err, ErrEmbedderMismatch) {
		t.Fatalf("search: %v", err)
	}
	if _, err := ix2.AddFile(ctx, "vs", "f3", "tax.txt", docTax, nil); !errors.Is(err, ErrEmbedderMismatch) {
		t.Fatalf("add: %v", err)
	}
	if err := ix2.Reindex(ctx, "vs", big); err != nil {
		t.Fatal(err)
	}
	info, _ := ix2.Store("vs")
	if info.EmbedderID != big.ID() {
		t.Fatalf("store info %+v", info)
	}
	rs, err := ix2.Search(ctx, []string{"vs"}, "puncture tyre", SearchOptions{})
	if err != nil || len(rs) == 0 || rs[0].FileID != "f2" {
		t.Fatalf("after reindex: %+v %v", rs, err)
	}
	// Knowing both embedders, an index can serve stores of either.
	ix3, _ := Open(db, Config{Embedder: small, Embedders: []Embedder{big}})
	if _, err := ix3.Search(ctx, []string{"vs"}, "tea", SearchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := ix2.Reindex(ctx, "vs_none", big); !errors.Is(err, ErrStoreNotFound) {
		t.Fatalf("reindex unknown: %v", err)
	}
}

// fakeBackend is an llm.Embedder that records batch sizes; its vectors are
// the lexical embedder's so results stay meaningful.
type fakeBackend struct {
	batches []int
	lex     *LexicalEmbedder
}

func (f *fakeBackend) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	f.batches = append(f.batches, len(texts))
	return f.lex.Embed(ctx, texts)
}

func TestLLMEmbedderBatches(t *testing.T) {
	fb := &fakeBackend{lex: NewLexicalEmbedder(32)}
	e := NewLLMEmbedder(fb, "nomic-embed-text")
	e.Batch = 3
	texts := make([]string, 7)
	for i := range texts {
		texts[i] = fmt.Sprint("text ", i)
	}
	vs, err := e.Embed(context.Background(), texts)
	if err != nil || len(vs) != 7 || fmt.Sprint(fb.batches) != "[3 3 1]" || e.ID() != "llm:nomic-embed-text" {
		t.Fatalf("%d %v %v", len(vs), fb.batches, err)
	}
	ix, _, _ := newIndex(t, Config{Embedder: e})
	if _, err := ix.AddFile(context.Background(), "vs", "f", "bike.txt", docBikes, nil); err != nil {
		t.Fatal(err)
	}
	if info, _ := ix.Store("vs"); info.EmbedderID != "llm:nomic-embed-text" {
		t.Fatalf("%+v", info)
	}
}

func TestConcurrentAddAndSearch(t *testing.T) {
	ctx := context.Background()
	ix, _, _ := newIndex(t, Config{})
	ix.AddFile(ctx, "vs", "seed", "seed.txt", docTea, nil)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				id := fmt.Sprintf("f%d-%d", w, i)
				if _, err := ix.AddFile(ctx, "vs", id, id+".txt", docBikes, nil); err != nil {
					t.Error(err)
				}
				if _, err := ix.Search(ctx, []string{"vs"}, "tyre", SearchOptions{MaxNumResults: 5}); err != nil {
					t.Error(err)
				}
				if i%3 == 0 {
					ix.RemoveFile(ctx, "vs", id)
				}
			}
		}(w)
	}
	wg.Wait()
	files, _ := ix.Files("vs")
	rs, _ := ix.Search(ctx, []string{"vs"}, "tyre puncture", SearchOptions{MaxNumResults: 50})
	bikes := 0
	for _, r := range rs {
		if r.FileID != "seed" {
			bikes++
		}
	}
	if len(files) != 1+4*6 || bikes != 4*6 {
		t.Fatalf("files %d results %d", len(files), bikes)
	}
}

// shiftyBackend returns vectors whose length depends on the call, like a
// backend whose model was swapped under the same name.
type shiftyBackend struct{ dim int }

func (s *shiftyBackend) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = make([]float32, s.dim)
		out[i][i%s.dim] = 1
	}
	return out, nil
}

func TestDimensionChecked(t *testing.T) {
	ctx := context.Background()
	sb := &shiftyBackend{dim: 8}
	ix, _, _ := newIndex(t, Config{Embedder: NewLLMEmbedder(sb, "m")})
	if _, err := ix.AddFile(ctx, "vs", "f1", "a.txt", docTea, nil); err != nil {
		t.Fatal(err)
	}
	if info, _ := ix.Store("vs"); info.Dim != 8 {
		t.Fatalf("dim %+v", info)
	}
	sb.dim = 16
	if _, err := ix.AddFile(ctx, "vs", "f2", "b.txt", docBikes, nil); !errors.Is(err, ErrEmbedderMismatch) {
		t.Fatalf("add: %v", err)
	}
	if _, err := ix.Search(ctx, []string{"vs"}, "tea", SearchOptions{}); !errors.Is(err, ErrEmbedderMismatch) {
		t.Fatalf("search: %v", err)
	}
}
