package filesearch

import (
	"container/heap"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/filesearch/extract"
	chromem "github.com/philippgille/chromem-go"
	bolt "go.etcd.io/bbolt"
)

// benchCorpus returns n chunk texts of about 100 tokens made by recombining
// sentences of the evaluation set, and as many queries.
func benchCorpus(tb testing.TB, n, queries int) (chunks, qs []string) {
	set := loadEvalSet(tb)
	var sents []string
	for _, d := range set.Docs {
		for _, s := range strings.Split(d.Text, ". ") {
			if len(s) > 30 {
				sents = append(sents, s+".")
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	chunks = make([]string, n)
	for i := range chunks {
		var b strings.Builder
		for b.Len() < 450 {
			b.WriteString(sents[r.IntN(len(sents))])
			b.WriteByte(' ')
		}
		chunks[i] = b.String()
	}
	for i := 0; i < queries; i++ {
		qs = append(qs, set.Questions[r.IntN(len(set.Questions))].Question)
	}
	return chunks, qs
}

// buildBenchIndex stores chunks (1,000 per file) in a fresh bbolt file and
// returns the index, the vectors and the store id.
func buildBenchIndex(b *testing.B, chunks []string) (*Index, [][]float32) {
	ctx := context.Background()
	db, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	emb := NewLexicalEmbedder(0)
	ix, _ := Open(db, Config{Embedder: emb})
	vecs, _ := emb.Embed(ctx, chunks)
	for f := 0; f*1000 < len(chunks); f++ {
		lo, hi := f*1000, min((f+1)*1000, len(chunks))
		if _, err := ix.commitFile(ctx, "vs_bench", fmt.Sprint("file-", f), fmt.Sprint("doc", f, ".md"), emb, chunks[lo:hi], vecs[lo:hi], Stats{}); err != nil {
			b.Fatal(err)
		}
	}
	return ix, vecs
}

type scored struct {
	i int
	s float32
}
type minHeap []scored

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return h[i].s < h[j].s }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(scored)) }
func (h *minHeap) Pop() any          { o := *h; x := o[len(o)-1]; *h = o[:len(o)-1]; return x }

// bruteTopK is the floor: one pass of dot products over normalized vectors
// kept in a slice, with a k-sized heap.
func bruteTopK(vecs [][]float32, q []float32, k int) []scored {
	h := make(minHeap, 0, k+1)
	for i, v := range vecs {
		s := dot(q, v)
		if len(h) < k {
			heap.Push(&h, scored{i, s})
		} else if s > h[0].s {
			h[0] = scored{i, s}
			heap.Fix(&h, 0)
		}
	}
	return h
}

func benchQuery(b *testing.B, n int) {
	ctx := context.Background()
	chunks, queries := benchCorpus(b, n, 64)
	ix, vecs := buildBenchIndex(b, chunks)
	emb := NewLexicalEmbedder(0)
	qvecs, _ := emb.Embed(ctx, queries)
	// Warm the in-memory index (rebuilt from bbolt on first use).
	if _, err := ix.Search(ctx, []string{"vs_bench"}, queries[0], SearchOptions{}); err != nil {
		b.Fatal(err)
	}
	coll, _ := chromem.NewDB().CreateCollection("bare", nil, nil)
	docs := make([]chromem.Document, len(chunks))
	for i := range chunks {
		docs[i] = chromem.Document{ID: fmt.Sprint(i), Embedding: vecs[i], Content: chunks[i]}
	}
	if err := coll.AddDocuments(ctx, docs, runtime.NumCPU()); err != nil {
		b.Fatal(err)
	}
	b.Run("floor=bruteforce-dot", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			bruteTopK(vecs, qvecs[i%len(qvecs)], 20)
		}
	})
	b.Run("chromem-QueryEmbedding", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := coll.QueryEmbedding(ctx, qvecs[i%len(qvecs)], 20, nil, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, r := range []string{RankerDefault, RankerAuto} {
		b.Run("hearth-"+r, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := ix.Search(ctx, []string{"vs_bench"}, queries[i%len(queries)], SearchOptions{Ranker: r}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// Attribute filters: Allow admitting half the files, or a tenth, whose
	// chunks are scored exactly.
	for _, keep := range []struct {
		name string
		n    int
	}{{"half", 5}, {"tenth", 1}} {
		files := map[string]bool{}
		for f := range keep.n {
			files[fmt.Sprint("file-", f)] = true
		}
		allow := func(_, file string) bool { return files[file] }
		for _, r := range []string{RankerDefault, RankerAuto} {
			b.Run("hearth-"+r+"-allow-"+keep.name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if _, err := ix.Search(ctx, []string{"vs_bench"}, queries[i%len(queries)], SearchOptions{Ranker: r, Allow: allow}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	b.Run("hearth-keyword-only", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := ix.search(ctx, []string{"vs_bench"}, queries[i%len(queries)], SearchOptions{Ranker: rankerKeyword}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkQuery10k compares a 20-result query over 10,000 chunks: the
// brute-force floor, bare chromem-go, and Index.Search per ranker.
func BenchmarkQuery10k(b *testing.B) { benchQuery(b, 10_000) }

// BenchmarkQuery100k is the same over 100,000 chunks (slow setup).
func BenchmarkQuery100k(b *testing.B) { benchQuery(b, 100_000) }

// BenchmarkMemory100k reports the heap the in-memory index of 100,000
// chunks holds (chromem collection + BM25), beside the raw vectors, and the
// time to rebuild it from bbolt (the first search after Open).
func BenchmarkMemory100k(b *testing.B) {
	ctx := context.Background()
	chunks, _ := benchCorpus(b, 100_000, 1)
	ix, vecs := buildBenchIndex(b, chunks)
	raw := len(vecs) * len(vecs[0]) * 4
	vecs, chunks = nil, nil
	for i := 0; i < b.N; i++ {
		ix.Close()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		if _, err := ix.Search(ctx, []string{"vs_bench"}, "warranty", SearchOptions{}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s-load+first-query")
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB/100k-chunks")
		b.ReportMetric(float64(raw)/(1<<20), "MiB-raw-vectors")
	}
}

// BenchmarkIngest measures MB/s of Markdown text through extract → chunk →
// embed → store (fsync'd bbolt, one transaction per file), beside each stage
// alone.
func BenchmarkIngest(b *testing.B) {
	ctx := context.Background()
	set := loadEvalSet(b)
	var sb strings.Builder
	for _, d := range set.Docs {
		sb.WriteString(d.Text)
	}
	doc := []byte(sb.String()) // ~250 KB of Markdown
	tok := ApproxTokenizer{}
	emb := NewLexicalEmbedder(0)
	text, _ := extract.Bytes("corpus.md", doc)
	chunks := SplitText(tok, text, AutoChunkTokens, AutoOverlapTokens)
	texts := make([]string, len(chunks))
	for i, c := range chunks {
		texts[i] = c.Text
	}
	b.Run("extract", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		for i := 0; i < b.N; i++ {
			extract.Bytes("corpus.md", doc)
		}
	})
	b.Run("chunk", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		for i := 0; i < b.N; i++ {
			SplitText(tok, text, AutoChunkTokens, AutoOverlapTokens)
		}
	})
	b.Run("embed", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		for i := 0; i < b.N; i++ {
			emb.Embed(ctx, texts)
		}
	})
	for _, cs := range []*apitype.ChunkingStrategy{nil, {Type: "static", Static: &apitype.StaticChunking{MaxChunkSizeTokens: 400, ChunkOverlapTokens: 0}}} {
		name := "full-auto"
		if cs != nil {
			name = "full-static400"
		}
		b.Run(name, func(b *testing.B) {
			db, err := bolt.Open(filepath.Join(b.TempDir(), "ingest.db"), 0o600, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			ix, _ := Open(db, Config{Embedder: emb})
			b.SetBytes(int64(len(doc)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t, err := extract.Bytes("corpus.md", doc)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ix.AddFile(ctx, "vs", fmt.Sprint("file-", i), "corpus.md", t, cs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
