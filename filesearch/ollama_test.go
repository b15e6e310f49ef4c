package filesearch

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/ollama"
	"github.com/hearth-go/hearth/llm/ollama/ollamatest"
)

// TestOllamaEmbedder indexes and searches through the real Ollama client
// against the fake Ollama server: /api/embed is called in batches and the
// store records the model's identity and dimension.
func TestOllamaEmbedder(t *testing.T) {
	srv := ollamatest.NewServer(t)
	client, err := ollama.New(ollama.Config{URL: srv.URL(), Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	emb := NewLLMEmbedder(client, "nomic-embed-text")
	emb.Batch = 4
	ix, _, _ := newIndex(t, Config{Embedder: emb})
	ctx := context.Background()
	text := strings.Repeat(docTea+"\n"+docBikes+"\n", 12)
	st, err := ix.AddFile(ctx, "vs", "file-1", "mix.txt", text,
		&apitype.ChunkingStrategy{Type: "static", Static: &apitype.StaticChunking{MaxChunkSizeTokens: 100, ChunkOverlapTokens: 0}})
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.EmbedRequests()
	if want := (st.Chunks + 3) / 4; len(reqs) != want {
		t.Fatalf("%d /api/embed calls for %d chunks, want %d", len(reqs), st.Chunks, want)
	}
	info, _ := ix.Store("vs")
	if info.EmbedderID != "llm:nomic-embed-text" || info.Dim != 8 {
		t.Fatalf("%+v", info)
	}
	rs, err := ix.Search(ctx, []string{"vs"}, "green tea", SearchOptions{Ranker: RankerDefault, MaxNumResults: 3})
	if err != nil || len(rs) == 0 {
		t.Fatalf("%d results, %v", len(rs), err)
	}
	// A missing model is the backend's typed error, not a panic.
	badClient, _ := ollama.New(ollama.Config{URL: srv.URL(), Retries: -1, EmbedModel: "no-such-model"})
	if _, err := ix.AddFile(ctx, "vs2", "file-2", "b.txt", docTea, nil); err != nil {
		t.Fatal(err)
	}
	ix2, _, _ := newIndex(t, Config{Embedder: NewLLMEmbedder(badClient, "no-such-model")})
	if _, err := ix2.AddFile(ctx, "vs", "f", "a.txt", docTea, nil); !errors.Is(err, llm.ErrModelNotFound) {
		t.Fatalf("unknown model: %v", err)
	}
	if ok, _ := ix2.HasFile("vs", "f"); ok {
		t.Fatal("file indexed despite the embedding error")
	}
}
