package filesearch

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/truncate"
)

var update = flag.Bool("update", false, "rewrite testdata/eval from the generator")

const evalPath = "testdata/eval/set.json"

func TestEvalSetCommitted(t *testing.T) {
	want, err := json.MarshalIndent(buildEvalSet(), "", " ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *update {
		os.MkdirAll(filepath.Dir(evalPath), 0o755)
		if err := os.WriteFile(evalPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(evalPath)
	if err != nil {
		t.Fatalf("%v (run go test -run TestEvalSetCommitted -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the generator; run go test -run TestEvalSetCommitted -update", evalPath)
	}
}

func loadEvalSet(t testing.TB) evalSet {
	t.Helper()
	data, err := os.ReadFile(evalPath)
	if err != nil {
		t.Fatal(err)
	}
	var set evalSet
	if err := json.Unmarshal(data, &set); err != nil {
		t.Fatal(err)
	}
	return set
}

type evalScore struct {
	recall5, mrr float64
	n            int
}

// evaluate indexes the set in one store and scores every question for ranker.
func evaluate(t testing.TB, set evalSet, ix *Index, ranker string) evalScore {
	ctx := context.Background()
	var s evalScore
	for _, q := range set.Questions {
		rs, err := ix.search(ctx, []string{"vs_eval"}, q.Question, SearchOptions{MaxNumResults: 20, Ranker: ranker})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rs {
			if r.FileID == q.DocID && strings.Contains(r.Text, q.Answer) {
				if i < 5 {
					s.recall5++
				}
				s.mrr += 1 / float64(i+1)
				break
			}
		}
		s.n++
	}
	s.recall5 /= float64(s.n)
	s.mrr /= float64(s.n)
	return s
}

func indexEvalSet(t testing.TB, set evalSet, cfg Config, cs *apitype.ChunkingStrategy) *Index {
	ix, _, _ := newIndex(t, cfg)
	for _, d := range set.Docs {
		if _, err := ix.AddFile(context.Background(), "vs_eval", d.ID, d.Filename, d.Text, cs); err != nil {
			t.Fatal(err)
		}
	}
	return ix
}

// TestRetrievalQuality measures recall@5 and MRR@20 of the three rankers on
// the committed evaluation set with the offline embedder and auto chunking.
func TestRetrievalQuality(t *testing.T) {
	set := loadEvalSet(t)
	if len(set.Questions) < 200 {
		t.Fatalf("only %d questions", len(set.Questions))
	}
	cl100k, err := truncate.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		cs   *apitype.ChunkingStrategy
		tok  Tokenizer
	}{
		{"auto 800/400", nil, nil},
		{"static 200/100", &apitype.ChunkingStrategy{Type: "static", Static: &apitype.StaticChunking{MaxChunkSizeTokens: 200, ChunkOverlapTokens: 100}}, nil},
		{"auto cl100k", nil, cl100k},
	} {
		w, _ := strconv.ParseFloat(os.Getenv("EVAL_W"), 64)
		dim, _ := strconv.Atoi(os.Getenv("EVAL_DIM"))
		ix := indexEvalSet(t, set, Config{HybridWeight: w, Embedder: NewLexicalEmbedder(dim), Tokenizer: c.tok}, c.cs)
		chunks := 0
		files, _ := ix.Files("vs_eval")
		for _, f := range files {
			chunks += f.Chunks
		}
		res := map[string]evalScore{}
		for _, r := range []string{rankerKeyword, RankerDefault, RankerAuto} {
			res[r] = evaluate(t, set, ix, r)
			t.Logf("%-15s %-20s recall@5 %.3f  MRR %.3f  (%d questions, %d docs, %d chunks)", c.name, r, res[r].recall5, res[r].mrr, res[r].n, len(set.Docs), chunks)
		}
		if h := res[RankerAuto]; h.recall5 < 0.90 {
			t.Errorf("%s: hybrid recall@5 = %.3f, want ≥ 0.90", c.name, h.recall5)
		}
	}
}
