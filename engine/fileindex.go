package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/filesearch"
	"github.com/hearth-go/hearth/filesearch/extract"
	"github.com/hearth-go/hearth/truncate"
)

// searchIndex is the default FileIndex: package filesearch over the
// engine's own database, with the offline lexical embedder (no model
// needed) and tiktoken-sized chunks.
type searchIndex struct {
	ix  *filesearch.Index
	emb filesearch.Embedder // nil: the index's default
}

// NewFileIndex returns the file search index Open uses by default, over db.
// Pass embedder to embed with a model (filesearch.NewLLMEmbedder over the
// Ollama backend, say); nil keeps the offline lexical embedder.
func NewFileIndex(db filesearch.DB, embedder filesearch.Embedder) (FileIndex, error) {
	ix, err := filesearch.Open(db, indexConfig(embedder))
	if err != nil {
		return nil, err
	}
	return &searchIndex{ix: ix, emb: embedder}, nil
}

// NewFileIndexOn is NewFileIndex keeping the chunks and vectors in st: with
// a filesearch.SharedStorage (store/pgfiles.IndexStorage), every replica's
// index searches what any replica ingested.
func NewFileIndexOn(st filesearch.Storage, embedder filesearch.Embedder) (FileIndex, error) {
	ix, err := filesearch.OpenStorage(st, indexConfig(embedder))
	if err != nil {
		return nil, err
	}
	return &searchIndex{ix: ix, emb: embedder}, nil
}

func indexConfig(embedder filesearch.Embedder) filesearch.Config {
	cfg := filesearch.Config{Embedder: embedder}
	if enc, err := truncate.Default(); err == nil {
		cfg.Tokenizer = enc
	}
	return cfg
}

func (s *searchIndex) Add(ctx context.Context, vsID string, f *apitype.File, content []byte, chunking apitype.ChunkingStrategy) (int64, error) {
	text, err := extract.Bytes(f.Filename, content)
	switch {
	case errors.Is(err, extract.ErrUnsupported):
		return 0, fmt.Errorf("%w: %v", ErrUnsupportedFile, err)
	case errors.Is(err, extract.ErrInvalid), errors.Is(err, extract.ErrNoText), errors.Is(err, extract.ErrTooLarge):
		return 0, fmt.Errorf("%w: %v", ErrInvalidFile, err)
	}
	if err != nil {
		return 0, err
	}
	progress, _ := ctx.Value(progressKey{}).(func(embedded, total int))
	st, err := s.ix.AddFileProgress(ctx, vsID, f.ID, f.Filename, text, &chunking, progress)
	return st.UsageBytes, err
}

// progressKey carries ingestFile's progress report to the default index's
// Add (FileIndex.Add has no parameter for it; other indexes ignore it).
type progressKey struct{}

func (s *searchIndex) Remove(ctx context.Context, vsID, fileID string) error {
	return s.ix.RemoveFile(ctx, vsID, fileID)
}

func (s *searchIndex) Drop(ctx context.Context, vsID string) error { return s.ix.DropStore(ctx, vsID) }

func (s *searchIndex) Search(ctx context.Context, vsIDs []string, query string, max int, r apitype.RankingOptions) ([]SearchHit, error) {
	return s.SearchFiles(ctx, vsIDs, query, max, r, nil)
}

// SearchFiles makes the default index a FilteredIndex.
func (s *searchIndex) SearchFiles(ctx context.Context, vsIDs []string, query string, max int, r apitype.RankingOptions, allow func(vsID, fileID string) bool) ([]SearchHit, error) {
	res, err := s.ix.Search(ctx, vsIDs, query, filesearch.SearchOptions{MaxNumResults: max, Ranker: r.Ranker, ScoreThreshold: r.ScoreThreshold, Allow: allow})
	if errors.Is(err, filesearch.ErrEmbedderMismatch) {
		return nil, apitype.InvalidState("%v; re-index the vector store (VectorStores.Reindex) to search it with the configured embedder", err)
	}
	if err != nil {
		return nil, err
	}
	hits := make([]SearchHit, len(res))
	for i, h := range res {
		hits[i] = SearchHit{VectorStoreID: h.StoreID, FileID: h.FileID, Filename: h.Filename, Score: h.Score, Text: h.Text}
	}
	return hits, nil
}

func (s *searchIndex) Close() error { return s.ix.Close() }

// Reindexer is a FileIndex that can re-embed a store with its current
// embedder (after the embedding model changed).
type Reindexer interface {
	Reindex(ctx context.Context, vectorStoreID string) error
}

func (s *searchIndex) Reindex(ctx context.Context, vsID string) error {
	emb := s.emb
	if emb == nil {
		emb = filesearch.NewLexicalEmbedder(0)
	}
	return s.ix.Reindex(ctx, vsID, emb)
}
