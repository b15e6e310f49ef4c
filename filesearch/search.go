package filesearch

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hearth-go/hearth/apitype"
)

// Search defaults and limits of the file_search tool.
const (
	DefaultMaxResults = 20
	MaxMaxResults     = 50
)

// Rankers. RankerAuto is hybrid: the blend w·vector + (1−w)·keyword with
// w = Config.HybridWeight. RankerDefault (default_2024_08_21) is
// vector similarity only. rankerKeyword is internal, for evaluation.
const (
	RankerAuto    = apitype.RankerAuto
	RankerDefault = apitype.RankerDefault
	rankerKeyword = "keyword"
)

// DefaultHybridWeight is the weight of the vector score in the auto ranker
// (Config.HybridWeight), chosen on the evaluation set (bench/filesearch.md).
const DefaultHybridWeight = 0.4

// SearchOptions tune a search. The zero value is auto ranking, 20 results, no
// threshold.
type SearchOptions struct {
	MaxNumResults  int     // 1–50; 0 means 20
	Ranker         string  // "", auto or default_2024_08_21
	ScoreThreshold float64 // 0–1; results scoring below are dropped
	// Allow, when set, keeps the search to the files it admits: they are
	// ranked among themselves, so MaxNumResults counts their chunks only
	// (attribute filters run here, before ranking, not on its results).
	Allow func(storeID, fileID string) bool
}

// Result is one ranked chunk.
type Result struct {
	StoreID    string
	FileID     string
	Filename   string
	ChunkIndex int
	Text       string
	// Score is in 0–1 for every ranker: cosine similarity clamped at 0 for
	// vectors, BM25 divided by the score of a document holding each query
	// term once (capped at 1) for keywords, their weighted blend for auto.
	Score float64
}

// ValidateSearch checks options the way the API does, naming the parameter.
func ValidateSearch(o SearchOptions) error {
	if o.MaxNumResults < 0 || o.MaxNumResults > MaxMaxResults {
		return apitype.Invalid("max_num_results", "max_num_results must be between 1 and 50, got %d.", o.MaxNumResults)
	}
	switch o.Ranker {
	case "", RankerAuto, RankerDefault:
	default:
		return apitype.Invalid("ranking_options.ranker", "Invalid ranker %q: expected 'auto' or 'default_2024_08_21'.", o.Ranker)
	}
	if !(o.ScoreThreshold >= 0 && o.ScoreThreshold <= 1) {
		return apitype.Invalid("ranking_options.score_threshold", "score_threshold must be between 0 and 1, got %v.", o.ScoreThreshold)
	}
	return nil
}

// Search ranks the chunks of the given stores against query. Stores with no
// index are skipped (an empty vector store finds nothing); a store indexed
// with an embedder this Index was not given is ErrEmbedderMismatch.
func (ix *Index) Search(ctx context.Context, storeIDs []string, query string, opts SearchOptions) ([]Result, error) {
	if err := ValidateSearch(opts); err != nil {
		return nil, err
	}
	return ix.search(ctx, storeIDs, query, opts)
}

func (ix *Index) search(ctx context.Context, storeIDs []string, query string, opts SearchOptions) ([]Result, error) {
	if strings.TrimSpace(query) == "" {
		return nil, ErrEmptyQuery
	}
	n := opts.MaxNumResults
	if n == 0 {
		n = DefaultMaxResults
	}
	ranker := opts.Ranker
	if ranker == "" {
		ranker = RankerAuto
	}
	if ix.shared != nil {
		if err := ix.sync(ctx, storeIDs); err != nil {
			return nil, err
		}
	}
	qvecs := map[string][]float32{}
	var all []Result
	for _, sid := range storeIDs {
		ms, err := ix.load(ctx, sid)
		if errors.Is(err, ErrStoreNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ms.mu.RLock()
		embID, dim, count := ms.embedderID, ms.dim, ms.coll.Count()
		ms.mu.RUnlock()
		if count == 0 {
			continue // nothing to find: do not embed the query for it
		}
		var qv []float32
		if ranker != rankerKeyword {
			if qv = qvecs[embID]; qv == nil {
				emb, ok := ix.embedder(embID)
				if !ok {
					return nil, fmt.Errorf("%w: store %s was indexed with %q; re-index it or give the Index that embedder", ErrEmbedderMismatch, sid, embID)
				}
				vs, err := emb.Embed(ctx, []string{query})
				if err != nil {
					return nil, err
				}
				if len(vs) != 1 || len(vs[0]) == 0 {
					return nil, fmt.Errorf("filesearch: embedder %s returned no query vector", embID)
				}
				qv = normalize(vs[0])
				qvecs[embID] = qv
			}
			if dim != 0 && len(qv) != dim {
				return nil, fmt.Errorf("%w: store %s holds %d-dimensional vectors, the query has %d", ErrEmbedderMismatch, sid, dim, len(qv))
			}
		}
		var rs []Result
		if opts.Allow != nil {
			rs, err = ms.searchAllowed(ctx, query, qv, ranker, n, ix.hybridW, func(f string) bool { return opts.Allow(sid, f) })
		} else {
			rs, err = ms.search(ctx, query, qv, ranker, n, ix.hybridW)
		}
		if err != nil {
			return nil, err
		}
		for i := range rs {
			rs[i].StoreID = sid
		}
		all = append(all, rs...)
	}
	out := all[:0]
	for _, r := range all {
		// A zero score shares nothing with the query: never a result.
		if r.Score > 0 && r.Score >= opts.ScoreThreshold {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}

func clamp01(x float64) float64 { return max(0, min(1, x)) }

// search ranks one store. The caller passes the query vector for vector and
// hybrid rankers.
func (ms *memStore) search(ctx context.Context, query string, qv []float32, ranker string, n int, w float64) ([]Result, error) {
	ms.mu.RLock()
	defer ms.mu.RUnlock()
	count := ms.coll.Count()
	if count == 0 {
		return nil, nil
	}
	mk := func(id, text string, score float64) Result {
		f, i := splitDocID(id)
		return Result{FileID: f, Filename: ms.files[f].name, ChunkIndex: i, Text: text, Score: score}
	}
	switch ranker {
	case rankerKeyword:
		var out []Result
		for _, h := range ms.kw.search(query, n) {
			id := ms.kw.docs[h.ord].id
			doc, err := ms.coll.GetByID(ctx, id)
			if err != nil {
				continue
			}
			out = append(out, mk(id, doc.Content, h.score))
		}
		return out, nil
	case RankerDefault:
		hits, err := ms.coll.QueryEmbedding(ctx, qv, min(n, count), nil, nil)
		if err != nil {
			return nil, err
		}
		out := make([]Result, len(hits))
		for i, h := range hits {
			out[i] = mk(h.ID, h.Content, clamp01(float64(h.Similarity)))
		}
		return out, nil
	}
	// Hybrid: take a deeper candidate list from each side, score every
	// candidate on both, blend.
	k := min(count, max(3*n, 50))
	type cand struct {
		text     string
		vec, kw  float64
		hasV, hK bool
	}
	cands := map[string]*cand{}
	hits, err := ms.coll.QueryEmbedding(ctx, qv, k, nil, nil)
	if err != nil {
		return nil, err
	}
	for _, h := range hits {
		cands[h.ID] = &cand{text: h.Content, vec: clamp01(float64(h.Similarity)), hasV: true}
	}
	prep := ms.kw.prepareQuery(query)
	for _, h := range ms.kw.searchPrepared(prep, k) {
		id := ms.kw.docs[h.ord].id
		c := cands[id]
		if c == nil {
			doc, err := ms.coll.GetByID(ctx, id)
			if err != nil {
				continue
			}
			c = &cand{text: doc.Content, vec: clamp01(float64(dot(qv, doc.Embedding)))}
			cands[id] = c
		}
		c.kw, c.hK = h.score, true
	}
	out := make([]Result, 0, len(cands))
	for id, c := range cands {
		if !c.hK {
			if ord, ok := ms.ords[id]; ok {
				c.kw = ms.kw.scorePrepared(prep, ord)
			}
		}
		out = append(out, mk(id, c.text, w*c.vec+(1-w)*c.kw))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		if out[i].FileID != out[j].FileID {
			return out[i].FileID < out[j].FileID
		}
		return out[i].ChunkIndex < out[j].ChunkIndex
	})
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// searchAllowed ranks the chunks of the files allow admits, scoring each
// exactly (the vector side is exhaustive anyway), with the scores search
// gives the same chunks.
func (ms *memStore) searchAllowed(ctx context.Context, query string, qv []float32, ranker string, n int, w float64, allow func(fileID string) bool) ([]Result, error) {
	ms.mu.RLock()
	defer ms.mu.RUnlock()
	var prep preparedQuery
	if ranker != RankerDefault {
		prep = ms.kw.prepareQuery(query)
	}
	var out []Result
	for fid, mf := range ms.files {
		if !allow(fid) {
			continue
		}
		for i := 0; i < mf.chunks; i++ {
			id := docID(fid, i)
			doc, err := ms.coll.GetByID(ctx, id)
			if err != nil {
				continue
			}
			var kw float64
			if ord, ok := ms.ords[id]; ok && ranker != RankerDefault {
				kw = ms.kw.scorePrepared(prep, ord)
			}
			var score float64
			switch ranker {
			case rankerKeyword:
				score = kw
			case RankerDefault:
				score = clamp01(float64(dot(qv, doc.Embedding)))
			default:
				score = w*clamp01(float64(dot(qv, doc.Embedding))) + (1-w)*kw
			}
			out = append(out, Result{FileID: fid, Filename: mf.name, ChunkIndex: i, Text: doc.Content, Score: score})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		if out[i].FileID != out[j].FileID {
			return out[i].FileID < out[j].FileID
		}
		return out[i].ChunkIndex < out[j].ChunkIndex
	})
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// FileSearchResult converts r for a run step's file_search tool call;
// content is filled only when the caller asked for it with
// include[]=step_details.tool_calls[*].file_search.results[*].content.
func (r Result) FileSearchResult(withContent bool) apitype.FileSearchResult {
	out := apitype.FileSearchResult{FileID: r.FileID, FileName: r.Filename, Score: r.Score}
	if withContent {
		out.Content = []apitype.FileSearchText{{Type: "text", Text: r.Text}}
	}
	return out
}

// VectorStoreSearchResult converts r for POST /vector_stores/{id}/search.
func (r Result) VectorStoreSearchResult() apitype.VectorStoreSearchResult {
	return apitype.VectorStoreSearchResult{FileID: r.FileID, Filename: r.Filename, Score: r.Score,
		Attributes: map[string]any{}, Content: []apitype.FileSearchText{{Type: "text", Text: r.Text}}}
}
