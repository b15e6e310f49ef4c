package openaihttp_test

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// wordIndex is a tiny engine.FileIndex for these tests (a chunk per line,
// scored by shared words), standing in until the filesearch package is
// merged; the HTTP layer only needs vector store files to complete.
type wordIndex struct {
	mu    sync.Mutex
	lines map[string][]engine.SearchHit
}

func (w *wordIndex) Add(_ context.Context, vs string, f *apitype.File, content []byte, _ apitype.ChunkingStrategy) (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lines == nil {
		w.lines = map[string][]engine.SearchHit{}
	}
	for _, l := range strings.Split(string(content), "\n") {
		if l != "" {
			w.lines[vs] = append(w.lines[vs], engine.SearchHit{VectorStoreID: vs, FileID: f.ID, Filename: f.Filename, Text: l})
		}
	}
	return int64(len(content)), nil
}

func (w *wordIndex) Remove(context.Context, string, string) error { return nil }
func (w *wordIndex) Drop(context.Context, string) error           { return nil }

func (w *wordIndex) Search(_ context.Context, vss []string, q string, max int, r apitype.RankingOptions) ([]engine.SearchHit, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []engine.SearchHit
	words := strings.Fields(strings.ToLower(q))
	for _, vs := range vss {
		for _, h := range w.lines[vs] {
			n := 0
			for _, word := range words {
				if strings.Contains(strings.ToLower(h.Text), word) {
					n++
				}
			}
			if n > 0 {
				h.Score = float64(n) / float64(len(words))
				out = append(out, h)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	if len(out) > max {
		out = out[:max]
	}
	return out, nil
}
