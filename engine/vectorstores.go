package engine

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// VectorStores manages vector stores, their files and file batches, and
// searches them. Files are ingested (extracted, chunked, embedded, indexed)
// in the background; their status moves from in_progress to completed or
// failed, and Wait returns when a store has nothing in progress.
type VectorStores struct {
	e *Engine
}

// Vector store limits.
const (
	MaxVectorStoreFiles = 500
	MaxExpiresDays      = 365
)

// FileIndex is the file search capability the engine drives: it turns a
// file's text into searchable chunks of one vector store and searches them.
type FileIndex interface {
	// Add indexes a file's content (read from its stored bytes) and returns
	// the bytes of index it uses. Unsupported content must be reported with
	// an error matching ErrUnsupportedFile.
	Add(ctx context.Context, vectorStoreID string, f *apitype.File, content []byte, chunking apitype.ChunkingStrategy) (usageBytes int64, err error)
	Remove(ctx context.Context, vectorStoreID, fileID string) error
	Drop(ctx context.Context, vectorStoreID string) error
	Search(ctx context.Context, vectorStoreIDs []string, query string, maxResults int, ranking apitype.RankingOptions) ([]SearchHit, error)
}

// FilteredIndex is a FileIndex that can keep a search to some files,
// ranking only their chunks, so that maxResults counts matching chunks
// (attribute filters). The default index is one; with another, the engine
// asks Search for MaxFilteredCandidates hits and drops those not allowed.
type FilteredIndex interface {
	SearchFiles(ctx context.Context, vectorStoreIDs []string, query string, maxResults int, ranking apitype.RankingOptions,
		allow func(vectorStoreID, fileID string) bool) ([]SearchHit, error)
}

// MaxFilteredCandidates is how many hits a filtered search asks of a
// FileIndex that is not a FilteredIndex.
const MaxFilteredCandidates = 1000

// SearchHit is one chunk found by a search, its score normalized to 0–1.
// Attributes are its file's (filled by the engine, not the index).
type SearchHit struct {
	VectorStoreID string
	FileID        string
	Filename      string
	Score         float64
	Text          string
	Attributes    map[string]any
}

// ErrUnsupportedFile is what a FileIndex returns for content of a type it
// cannot read; the vector store file fails with last_error unsupported_file.
var ErrUnsupportedFile = errors.New("unsupported file type")

// ErrInvalidFile is what a FileIndex returns for a file of a known type that
// is damaged, empty of text or too large; last_error code invalid_file.
var ErrInvalidFile = errors.New("invalid file")

func checkChunking(param string, c *apitype.ChunkingStrategy) error {
	if c == nil {
		return nil
	}
	switch c.Type {
	case apitype.ChunkingAuto:
		if c.Static != nil {
			return apitype.Invalid(param+".static", "'static' is only allowed with type static.")
		}
	case apitype.ChunkingStatic:
		s := c.Static
		if s == nil {
			return apitype.Invalid(param+".static", "type static needs 'static'.")
		}
		if s.MaxChunkSizeTokens < 100 || s.MaxChunkSizeTokens > 4096 {
			return apitype.Invalid(param+".static.max_chunk_size_tokens", "'max_chunk_size_tokens' must be between 100 and 4096, got %d.", s.MaxChunkSizeTokens)
		}
		if s.ChunkOverlapTokens < 0 || s.ChunkOverlapTokens > s.MaxChunkSizeTokens/2 {
			return apitype.Invalid(param+".static.chunk_overlap_tokens", "'chunk_overlap_tokens' must be between 0 and half of max_chunk_size_tokens (%d), got %d.", s.MaxChunkSizeTokens/2, s.ChunkOverlapTokens)
		}
	default:
		return apitype.Invalid(param+".type", "chunking_strategy type must be auto or static, got %q.", truncateForError(c.Type))
	}
	return nil
}

func defaultChunking(c *apitype.ChunkingStrategy) *apitype.ChunkingStrategy {
	if c == nil || c.Type == apitype.ChunkingAuto {
		return &apitype.ChunkingStrategy{Type: apitype.ChunkingStatic, Static: &apitype.StaticChunking{MaxChunkSizeTokens: 800, ChunkOverlapTokens: 400}}
	}
	return c
}

func checkExpiresAfter(param string, x *apitype.ExpiresAfter) error {
	if x == nil {
		return nil
	}
	if x.Anchor != "last_active_at" {
		return apitype.Invalid(param+".anchor", "'anchor' must be last_active_at, got %q.", truncateForError(x.Anchor))
	}
	if x.Days < 1 || x.Days > MaxExpiresDays {
		return apitype.Invalid(param+".days", "'days' must be between 1 and %d, got %d.", MaxExpiresDays, x.Days)
	}
	return nil
}

func checkFileIDs(param string, ids []string) error {
	if len(ids) > MaxVectorStoreFiles {
		return apitype.Invalid(param, "at most %d files at once, got %d.", MaxVectorStoreFiles, len(ids))
	}
	seen := map[string]bool{}
	for i, id := range ids {
		if !store.ValidID(store.PrefixFile, id) {
			return apitype.Invalid(fmt.Sprintf("%s[%d]", param, i), "invalid file id %q.", truncateForError(id))
		}
		if seen[id] {
			return apitype.Invalid(fmt.Sprintf("%s[%d]", param, i), "file %s is listed twice.", id)
		}
		seen[id] = true
	}
	return nil
}

// Create makes a vector store and starts ingesting its files.
func (s *VectorStores) Create(ctx context.Context, p apitype.VectorStoreCreateParams) (*apitype.VectorStore, error) {
	if err := firstErr(checkOptText("name", p.Name, MaxNameChars), checkMetadata("metadata", p.Metadata),
		checkExpiresAfter("expires_after", p.ExpiresAfter), checkChunking("chunking_strategy", p.ChunkingStrategy),
		checkFileIDs("file_ids", p.FileIDs)); err != nil {
		return nil, err
	}
	now := s.e.now()
	v := &apitype.VectorStore{ID: s.e.newID(store.PrefixVectorStore), Object: apitype.ObjectVectorStore, CreatedAt: now,
		Status: apitype.StatusCompleted, ExpiresAfter: p.ExpiresAfter, LastActiveAt: &now, Metadata: orMeta(p.Metadata)}
	if p.Name != nil {
		v.Name = *p.Name
	}
	setExpiry(v)
	var files []*apitype.VectorStoreFile
	err := s.e.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutVectorStore(v); err != nil {
			return err
		}
		var err error
		files, err = s.e.attach(tx, v.ID, "", p.FileIDs, p.ChunkingStrategy, nil, "file_ids")
		if err != nil {
			return err
		}
		return s.e.recount(tx, v.ID, "")
	})
	if err != nil {
		return nil, err
	}
	s.e.ingestLater(files...)
	return s.Retrieve(ctx, v.ID)
}

func setExpiry(v *apitype.VectorStore) {
	if v.ExpiresAfter == nil || v.LastActiveAt == nil {
		v.ExpiresAt = nil
		return
	}
	v.ExpiresAt = apitype.Ptr(*v.LastActiveAt + int64(v.ExpiresAfter.Days)*86400)
}

// attach records files as in_progress members of a vector store (and of a
// batch when batchID is set).
func (e *Engine) attach(tx store.Tx, vsID, batchID string, ids []string, chunking *apitype.ChunkingStrategy, attrs map[string]any, param string) ([]*apitype.VectorStoreFile, error) {
	var out []*apitype.VectorStoreFile
	for i, id := range ids {
		if _, err := tx.GetFile(id); err != nil {
			return nil, apitype.Invalid(fmt.Sprintf("%s[%d]", param, i), "file %s not found.", id)
		}
		f := &apitype.VectorStoreFile{ID: id, Object: apitype.ObjectVectorStoreFile, CreatedAt: e.now(), VectorStoreID: vsID,
			Status: apitype.StatusInProgress, ChunkingStrategy: defaultChunking(chunking), Attributes: normAttributes(attrs)}
		if err := tx.PutVectorStoreFile(f, batchID); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// recount recomputes a vector store's (and a batch's) file counts, status
// and usage from its files.
func (e *Engine) recount(tx store.Tx, vsID, batchID string) error {
	v, err := tx.GetVectorStore(vsID)
	if err != nil {
		return err
	}
	var counts apitype.FileCounts
	var usage int64
	inBatch := map[string]bool{}
	if batchID != "" {
		ids, err := tx.BatchFileIDs(vsID, batchID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			inBatch[id] = true
		}
	}
	var batchCounts apitype.FileCounts
	err = tx.EachVectorStoreFile(vsID, func(f *apitype.VectorStoreFile) error {
		count(&counts, f.Status)
		usage += f.UsageBytes
		if inBatch[f.ID] {
			count(&batchCounts, f.Status)
		}
		return nil
	})
	if err != nil {
		return err
	}
	v.FileCounts, v.UsageBytes = counts, usage
	if v.Status != apitype.StatusExpired {
		v.Status = apitype.StatusCompleted
		if counts.InProgress > 0 {
			v.Status = apitype.StatusInProgress
		}
	}
	if err := tx.PutVectorStore(v); err != nil {
		return err
	}
	if batchID == "" {
		return nil
	}
	b, err := tx.GetFileBatch(vsID, batchID)
	if err != nil {
		return err
	}
	b.FileCounts = batchCounts
	if b.Status != apitype.StatusCancelled {
		switch {
		case batchCounts.InProgress > 0:
			b.Status = apitype.StatusInProgress
		case batchCounts.Failed > 0 && batchCounts.Completed == 0:
			b.Status = apitype.StatusFailed
		default:
			b.Status = apitype.StatusCompleted
		}
	}
	return tx.PutFileBatch(b)
}

func count(c *apitype.FileCounts, status string) {
	c.Total++
	switch status {
	case apitype.StatusInProgress:
		c.InProgress++
	case apitype.StatusCompleted:
		c.Completed++
	case apitype.StatusFailed:
		c.Failed++
	case apitype.StatusCancelled:
		c.Cancelled++
	}
}

// Retrieve reads a vector store; one past its expires_at reads as expired.
func (s *VectorStores) Retrieve(ctx context.Context, id string) (*apitype.VectorStore, error) {
	v, err := read(ctx, s.e, func(tx store.Tx) (*apitype.VectorStore, error) { return tx.GetVectorStore(id) })
	if err != nil {
		return nil, err
	}
	s.e.markExpired(v)
	return v, nil
}

func (e *Engine) markExpired(v *apitype.VectorStore) {
	if v.ExpiresAt != nil && e.now() >= *v.ExpiresAt {
		v.Status = apitype.StatusExpired
	}
}

// Update modifies a vector store's name, expiry policy and metadata.
func (s *VectorStores) Update(ctx context.Context, id string, p apitype.VectorStoreUpdateParams) (*apitype.VectorStore, error) {
	if err := firstErr(checkOptText("name", p.Name, MaxNameChars), checkMetadata("metadata", p.Metadata),
		checkExpiresAfter("expires_after", p.ExpiresAfter)); err != nil {
		return nil, err
	}
	var v *apitype.VectorStore
	err := s.e.store.Update(ctx, func(tx store.Tx) error {
		var err error
		if v, err = tx.GetVectorStore(id); err != nil {
			return err
		}
		if p.Name != nil {
			v.Name = *p.Name
		}
		if p.ExpiresAfter != nil {
			v.ExpiresAfter = p.ExpiresAfter
		}
		if p.Metadata != nil {
			v.Metadata = maps.Clone(p.Metadata)
		}
		setExpiry(v)
		return tx.PutVectorStore(v)
	})
	if err != nil {
		return nil, err
	}
	s.e.markExpired(v)
	return v, nil
}

// Delete deletes a vector store and its index; the files themselves stay.
func (s *VectorStores) Delete(ctx context.Context, id string) (*apitype.Deleted, error) {
	if err := s.e.store.Update(ctx, func(tx store.Tx) error { return tx.DeleteVectorStore(id) }); err != nil {
		return nil, err
	}
	if idx := s.e.cfg.FileIndex; idx != nil {
		if err := idx.Drop(ctx, id); err != nil {
			s.e.log.Warn("drop vector store index", "vector_store", id, "err", err)
		}
	}
	return &apitype.Deleted{ID: id, Object: "vector_store.deleted", Deleted: true}, nil
}

// List returns one page of vector stores.
func (s *VectorStores) List(ctx context.Context, p apitype.ListParams) (*apitype.Page[apitype.VectorStore], error) {
	if err := checkList(p, store.PrefixVectorStore); err != nil {
		return nil, err
	}
	page, err := read(ctx, s.e, func(tx store.Tx) (apitype.Page[apitype.VectorStore], error) { return tx.ListVectorStores(p) })
	for i := range page.Data {
		s.e.markExpired(&page.Data[i])
	}
	return &page, err
}

// All iterates over vector stores from p's position, page by page.
func (s *VectorStores) All(ctx context.Context, p apitype.ListParams) iter.Seq2[apitype.VectorStore, error] {
	return paginate(p, func(p apitype.ListParams) (*apitype.Page[apitype.VectorStore], error) { return s.List(ctx, p) })
}

// CreateFile attaches a file to a vector store and starts ingesting it.
func (s *VectorStores) CreateFile(ctx context.Context, vsID string, p apitype.VectorStoreFileCreateParams) (*apitype.VectorStoreFile, error) {
	if err := firstErr(checkFileIDs("file_id", []string{p.FileID}), checkChunking("chunking_strategy", p.ChunkingStrategy),
		checkAttributes("attributes", p.Attributes)); err != nil {
		return nil, trimIndex(err, "file_id")
	}
	var files []*apitype.VectorStoreFile
	err := s.e.store.Update(ctx, func(tx store.Tx) error {
		var err error
		if files, err = s.e.attach(tx, vsID, "", []string{p.FileID}, p.ChunkingStrategy, p.Attributes, "file_id"); err != nil {
			return trimIndex(err, "file_id")
		}
		return s.e.recount(tx, vsID, "")
	})
	if err != nil {
		return nil, err
	}
	s.e.ingestLater(files...)
	return files[0], nil
}

func trimIndex(err error, param string) error {
	var ae *apitype.Error
	if errors.As(err, &ae) && len(ae.Param) > len(param) && ae.Param[:len(param)] == param {
		c := *ae
		c.Param = param
		return &c
	}
	return err
}

// UpdateFile replaces a vector store file's attributes.
func (s *VectorStores) UpdateFile(ctx context.Context, vsID, fileID string, p apitype.VectorStoreFileUpdateParams) (*apitype.VectorStoreFile, error) {
	if err := checkAttributes("attributes", p.Attributes); err != nil {
		return nil, err
	}
	var f *apitype.VectorStoreFile
	err := s.e.store.Update(ctx, func(tx store.Tx) (err error) {
		if f, err = tx.GetVectorStoreFile(vsID, fileID); err != nil {
			return err
		}
		f.Attributes = normAttributes(p.Attributes)
		return tx.PutVectorStoreFile(f, "")
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// RetrieveFile reads a vector store file.
func (s *VectorStores) RetrieveFile(ctx context.Context, vsID, fileID string) (*apitype.VectorStoreFile, error) {
	return read(ctx, s.e, func(tx store.Tx) (*apitype.VectorStoreFile, error) { return tx.GetVectorStoreFile(vsID, fileID) })
}

// DeleteFile detaches a file from a vector store (the file stays).
func (s *VectorStores) DeleteFile(ctx context.Context, vsID, fileID string) (*apitype.Deleted, error) {
	err := s.e.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteVectorStoreFile(vsID, fileID); err != nil {
			return err
		}
		return s.e.recount(tx, vsID, "")
	})
	if err != nil {
		return nil, err
	}
	if idx := s.e.cfg.FileIndex; idx != nil {
		if err := idx.Remove(ctx, vsID, fileID); err != nil {
			s.e.log.Warn("remove file from index", "vector_store", vsID, "file", fileID, "err", err)
		}
	}
	return &apitype.Deleted{ID: fileID, Object: "vector_store.file.deleted", Deleted: true}, nil
}

func checkFilter(filter string) error {
	switch filter {
	case "", apitype.StatusInProgress, apitype.StatusCompleted, apitype.StatusFailed, apitype.StatusCancelled:
		return nil
	}
	return apitype.Invalid("filter", "'filter' must be in_progress, completed, failed or cancelled, got %q.", truncateForError(filter))
}

// ListFiles returns one page of a vector store's files.
func (s *VectorStores) ListFiles(ctx context.Context, vsID string, p apitype.VectorStoreFileListParams) (*apitype.Page[apitype.VectorStoreFile], error) {
	return s.listFiles(ctx, vsID, "", p)
}

func (s *VectorStores) listFiles(ctx context.Context, vsID, batchID string, p apitype.VectorStoreFileListParams) (*apitype.Page[apitype.VectorStoreFile], error) {
	if err := firstErr(checkList(p.ListParams, store.PrefixFile), checkFilter(p.Filter)); err != nil {
		return nil, err
	}
	var page apitype.Page[apitype.VectorStoreFile]
	err := s.e.store.View(ctx, func(tx store.Tx) error {
		if batchID != "" {
			if _, err := tx.GetFileBatch(vsID, batchID); err != nil {
				return err
			}
		}
		var err error
		page, err = tx.ListVectorStoreFiles(vsID, batchID, p)
		return err
	})
	return &page, err
}

// CreateBatch attaches several files as one batch.
func (s *VectorStores) CreateBatch(ctx context.Context, vsID string, p apitype.VectorStoreFileBatchCreateParams) (*apitype.VectorStoreFileBatch, error) {
	switch {
	case len(p.FileIDs) > 0 && len(p.Files) > 0:
		return nil, apitype.Invalid("files", "give 'file_ids' or 'files', not both.")
	case len(p.FileIDs) == 0 && len(p.Files) == 0:
		return nil, apitype.Invalid("file_ids", "'file_ids' (or 'files') must name at least one file.")
	}
	if err := firstErr(checkFileIDs("file_ids", p.FileIDs), checkChunking("chunking_strategy", p.ChunkingStrategy),
		checkAttributes("attributes", p.Attributes)); err != nil {
		return nil, err
	}
	for i, f := range p.Files {
		param := fmt.Sprintf("files[%d]", i)
		if err := firstErr(checkFileIDs(param+".file_id", []string{f.FileID}), checkChunking(param+".chunking_strategy", f.ChunkingStrategy),
			checkAttributes(param+".attributes", f.Attributes)); err != nil {
			return nil, trimIndex(err, param+".file_id")
		}
	}
	b := &apitype.VectorStoreFileBatch{ID: s.e.newID(store.PrefixFileBatch), Object: apitype.ObjectFileBatch, CreatedAt: s.e.now(),
		VectorStoreID: vsID, Status: apitype.StatusInProgress}
	var files []*apitype.VectorStoreFile
	err := s.e.store.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.GetVectorStore(vsID); err != nil {
			return err
		}
		if err := tx.PutFileBatch(b); err != nil {
			return err
		}
		if len(p.FileIDs) > 0 {
			var err error
			if files, err = s.e.attach(tx, vsID, b.ID, p.FileIDs, p.ChunkingStrategy, p.Attributes, "file_ids"); err != nil {
				return err
			}
		}
		for i, f := range p.Files {
			one, err := s.e.attach(tx, vsID, b.ID, []string{f.FileID}, f.ChunkingStrategy, f.Attributes, fmt.Sprintf("files[%d].file_id", i))
			if err != nil {
				return trimIndex(err, fmt.Sprintf("files[%d].file_id", i))
			}
			files = append(files, one...)
		}
		return s.e.recount(tx, vsID, b.ID)
	})
	if err != nil {
		return nil, err
	}
	s.e.ingestLater(files...)
	return s.RetrieveBatch(ctx, vsID, b.ID)
}

// RetrieveBatch reads a file batch.
func (s *VectorStores) RetrieveBatch(ctx context.Context, vsID, batchID string) (*apitype.VectorStoreFileBatch, error) {
	return read(ctx, s.e, func(tx store.Tx) (*apitype.VectorStoreFileBatch, error) { return tx.GetFileBatch(vsID, batchID) })
}

// CancelBatch cancels the batch's files still in progress.
func (s *VectorStores) CancelBatch(ctx context.Context, vsID, batchID string) (*apitype.VectorStoreFileBatch, error) {
	var b *apitype.VectorStoreFileBatch
	err := s.e.store.Update(ctx, func(tx store.Tx) error {
		var err error
		if b, err = tx.GetFileBatch(vsID, batchID); err != nil {
			return err
		}
		if b.Status != apitype.StatusInProgress {
			return apitype.InvalidState("Batch %s is %s and cannot be cancelled.", batchID, b.Status)
		}
		ids, err := tx.BatchFileIDs(vsID, batchID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			f, err := tx.GetVectorStoreFile(vsID, id)
			if err != nil || f.Status != apitype.StatusInProgress {
				continue
			}
			f.Status = apitype.StatusCancelled
			if err := tx.PutVectorStoreFile(f, ""); err != nil {
				return err
			}
		}
		b.Status = apitype.StatusCancelled
		if err := tx.PutFileBatch(b); err != nil {
			return err
		}
		return s.e.recount(tx, vsID, batchID)
	})
	if err != nil {
		return nil, err
	}
	return s.RetrieveBatch(ctx, vsID, batchID)
}

// ListBatchFiles returns one page of a batch's files.
func (s *VectorStores) ListBatchFiles(ctx context.Context, vsID, batchID string, p apitype.VectorStoreFileListParams) (*apitype.Page[apitype.VectorStoreFile], error) {
	return s.listFiles(ctx, vsID, batchID, p)
}

// Search finds the chunks of a vector store most relevant to the query.
func (s *VectorStores) Search(ctx context.Context, vsID string, p apitype.VectorStoreSearchParams) (*apitype.VectorStoreSearchPage, error) {
	if len(p.Query) == 0 || len(p.Query) == 1 && p.Query[0] == "" {
		return nil, apitype.Invalid("query", "'query' must not be empty.")
	}
	if p.MaxNumResults != 0 && (p.MaxNumResults < 1 || p.MaxNumResults > 50) {
		return nil, apitype.Invalid("max_num_results", "'max_num_results' must be between 1 and 50, got %d.", p.MaxNumResults)
	}
	if r := p.RankingOptions; r != nil && (r.Ranker == apitype.RankerNone || r.Ranker == apitype.RankerDefault20241115) {
		// The search endpoint's rankers (the Assistants tool has neither).
		q := *r
		q.Ranker = ""
		if err := checkRanking("ranking_options", &q); err != nil {
			return nil, err
		}
	} else if err := checkRanking("ranking_options", p.RankingOptions); err != nil {
		return nil, err
	}
	if p.Filters != nil {
		if err := p.Filters.Check("filters"); err != nil {
			return nil, err
		}
	}
	v, err := s.Retrieve(ctx, vsID)
	if err != nil {
		return nil, err
	}
	if v.Status == apitype.StatusExpired {
		return nil, apitype.InvalidState("Vector store %s has expired.", vsID)
	}
	max := p.MaxNumResults
	if max == 0 {
		max = 10
	}
	ranking := apitype.RankingOptions{Ranker: apitype.RankerAuto}
	if p.RankingOptions != nil {
		ranking = *p.RankingOptions
	}
	hits, err := s.e.search(ctx, []string{vsID}, joinQuery(p.Query), max, ranking, p.Filters)
	if err != nil {
		return nil, err
	}
	page := &apitype.VectorStoreSearchPage{Object: apitype.ObjectSearchResultPage, SearchQuery: p.Query, Data: []apitype.VectorStoreSearchResult{}}
	for _, h := range hits {
		page.Data = append(page.Data, apitype.VectorStoreSearchResult{FileID: h.FileID, Filename: h.Filename, Score: h.Score,
			Attributes: orAttrs(h.Attributes), Content: []apitype.FileSearchText{{Type: "text", Text: h.Text}}})
	}
	s.e.touch(ctx, vsID)
	return page, nil
}

func joinQuery(q []string) string {
	out := ""
	for i, s := range q {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}

// search searches vector stores, keeping to the files whose attributes
// pass filter (nil: all), and gives each hit its file's attributes.
func (e *Engine) search(ctx context.Context, vsIDs []string, query string, max int, ranking apitype.RankingOptions, filter *apitype.Filter) ([]SearchHit, error) {
	idx := e.cfg.FileIndex
	if idx == nil {
		return nil, apitype.ServerError("file search is not configured (engine.Config.FileIndex is nil)")
	}
	ranking.Ranker = indexRanker(ranking.Ranker)
	var hits []SearchHit
	var attrs map[string]map[string]map[string]any // store → file → attributes
	var err error
	if filter == nil {
		if hits, err = idx.Search(ctx, vsIDs, query, max, ranking); err != nil {
			return nil, err
		}
	} else {
		if attrs, err = e.storeAttributes(ctx, vsIDs); err != nil {
			return nil, err
		}
		allow := func(vs, f string) bool { a, ok := attrs[vs][f]; return ok && filter.Match(a) }
		if fi, ok := idx.(FilteredIndex); ok {
			hits, err = fi.SearchFiles(ctx, vsIDs, query, max, ranking, allow)
		} else if hits, err = idx.Search(ctx, vsIDs, query, MaxFilteredCandidates, ranking); err == nil {
			kept := hits[:0]
			for _, h := range hits {
				if allow(h.VectorStoreID, h.FileID) && len(kept) < max {
					kept = append(kept, h)
				}
			}
			hits = kept
		}
		if err != nil {
			return nil, err
		}
	}
	if len(hits) == 0 {
		return hits, nil
	}
	if attrs == nil {
		// Only the hits' files: a store of many files costs nothing more.
		err = e.store.View(ctx, func(tx store.Tx) error {
			attrs = map[string]map[string]map[string]any{}
			for _, h := range hits {
				if _, done := attrs[h.VectorStoreID][h.FileID]; done {
					continue
				}
				f, err := tx.GetVectorStoreFile(h.VectorStoreID, h.FileID)
				if errors.Is(err, apitype.ErrNotFound) {
					continue // detached meanwhile
				}
				if err != nil {
					return err
				}
				if attrs[h.VectorStoreID] == nil {
					attrs[h.VectorStoreID] = map[string]map[string]any{}
				}
				attrs[h.VectorStoreID][h.FileID] = f.Attributes
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for i := range hits {
		hits[i].Attributes = maps.Clone(attrs[hits[i].VectorStoreID][hits[i].FileID])
	}
	return hits, nil
}

// storeAttributes reads the attributes of every file of the vector stores.
func (e *Engine) storeAttributes(ctx context.Context, vsIDs []string) (map[string]map[string]map[string]any, error) {
	out := map[string]map[string]map[string]any{}
	err := e.store.View(ctx, func(tx store.Tx) error {
		for _, id := range vsIDs {
			m := map[string]map[string]any{}
			if err := tx.EachVectorStoreFile(id, func(f *apitype.VectorStoreFile) error {
				m[f.ID] = maps.Clone(f.Attributes)
				if m[f.ID] == nil {
					m[f.ID] = map[string]any{}
				}
				return nil
			}); err != nil && !errors.Is(err, apitype.ErrNotFound) {
				return err
			}
			out[id] = m
		}
		return nil
	})
	return out, err
}

// indexRanker maps the API's rankers onto the index's two: the hybrid
// ranker for auto and default-2024-11-15 (the one auto picks), vector
// similarity for default_2024_08_21 and none (no re-ranking).
func indexRanker(r string) string {
	switch r {
	case apitype.RankerDefault20241115:
		return apitype.RankerAuto
	case apitype.RankerNone:
		return apitype.RankerDefault
	}
	return r
}

func orAttrs(a map[string]any) map[string]any {
	if a == nil {
		return map[string]any{}
	}
	return a
}

// touch moves a vector store's last_active_at (and so its expiry) to now.
func (e *Engine) touch(ctx context.Context, vsID string) {
	err := e.store.Update(ctx, func(tx store.Tx) error {
		v, err := tx.GetVectorStore(vsID)
		if err != nil {
			return err
		}
		v.LastActiveAt = apitype.Ptr(e.now())
		setExpiry(v)
		return tx.PutVectorStore(v)
	})
	if err != nil && ctx.Err() == nil {
		e.log.Debug("touch vector store", "vector_store", vsID, "err", err)
	}
}

// Reindex re-embeds every chunk of a vector store with the engine's current
// embedder (Config.Embedder): the way to move a store indexed with one
// embedder to another, since searching with a different one is an error.
func (s *VectorStores) Reindex(ctx context.Context, vsID string) (*apitype.VectorStore, error) {
	if _, err := s.Retrieve(ctx, vsID); err != nil {
		return nil, err
	}
	r, ok := s.e.cfg.FileIndex.(Reindexer)
	if !ok {
		return nil, apitype.InvalidState("this engine's file index cannot re-index")
	}
	if err := r.Reindex(ctx, vsID); err != nil {
		return nil, serverError(err, "re-index vector store %s", vsID)
	}
	return s.Retrieve(ctx, vsID)
}

// Wait returns when no file of the vector store is in progress.
func (s *VectorStores) Wait(ctx context.Context, vsID string) (*apitype.VectorStore, error) {
	for {
		ch := s.e.ingest.changed()
		v, err := s.Retrieve(ctx, vsID)
		if err != nil || v.FileCounts.InProgress == 0 {
			return v, err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.e.ctx.Done():
			return nil, ErrClosed
		}
	}
}

// ingester runs file ingestion on engine-owned goroutines, apart from the
// run workers so a long upload never delays a run.
type ingester struct {
	mu      sync.Mutex
	notify  chan struct{}
	pending chan *apitype.VectorStoreFile
}

func newIngester() *ingester {
	return &ingester{notify: make(chan struct{}), pending: make(chan *apitype.VectorStoreFile, 1024)}
}

// changed returns a channel closed at the next status change.
func (in *ingester) changed() <-chan struct{} {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.notify
}

func (in *ingester) broadcast() {
	in.mu.Lock()
	close(in.notify)
	in.notify = make(chan struct{})
	in.mu.Unlock()
}

func (e *Engine) ingestLater(files ...*apitype.VectorStoreFile) {
	for _, f := range files {
		f := f
		e.goOwned(func() {
			select {
			case e.ingestSem <- struct{}{}:
			case <-e.ctx.Done():
				return
			}
			defer func() { <-e.ingestSem }()
			e.ingestFile(f.VectorStoreID, f.ID)
		})
	}
}

// ingestFile indexes one vector store file and records the outcome.
func (e *Engine) ingestFile(vsID, fileID string) {
	ctx := e.ctx
	var vf *apitype.VectorStoreFile
	var file *apitype.File
	err := e.store.View(ctx, func(tx store.Tx) error {
		var err error
		if vf, err = tx.GetVectorStoreFile(vsID, fileID); err != nil {
			return err
		}
		file, err = tx.GetFile(fileID)
		return err
	})
	if err != nil || vf.Status != apitype.StatusInProgress {
		return
	}
	status, usage, lastErr := apitype.StatusCompleted, int64(0), (*apitype.LastError)(nil)
	start := time.Now()
	chunks := -1 // unknown unless the index reports progress
	progress := func(embedded, total int) {
		chunks = total
		e.log.LogAttrs(ctx, slog.LevelInfo, "embedding file", slog.String("vector_store", vsID), slog.String("file", fileID),
			slog.Int("chunks_embedded", embedded), slog.Int("chunks_total", total))
	}
	e.log.LogAttrs(ctx, slog.LevelInfo, "ingesting file", slog.String("vector_store", vsID), slog.String("file", fileID),
		slog.String("filename", file.Filename), slog.Int64("bytes", file.Bytes))
	if idx := e.cfg.FileIndex; idx == nil {
		status, lastErr = apitype.StatusFailed, &apitype.LastError{Code: apitype.FileErrorServer, Message: "file search is not configured (engine.Config.FileIndex is nil)"}
	} else if content, rerr := e.readFile(ctx, fileID); rerr != nil {
		status, lastErr = apitype.StatusFailed, &apitype.LastError{Code: apitype.FileErrorServer, Message: rerr.Error()}
	} else if err = e.protect(ctx, "the file index (extraction or embedding)", []slog.Attr{slog.String("vector_store", vsID), slog.String("file", fileID)},
		func() (err error) {
			usage, err = idx.Add(context.WithValue(ctx, progressKey{}, progress), vsID, file, content, *vf.ChunkingStrategy)
			return err
		}); err != nil {
		if ctx.Err() != nil {
			return // closing: the next Open resumes it
		}
		code := apitype.FileErrorServer
		if errors.Is(err, ErrUnsupportedFile) {
			code = apitype.FileErrorUnsupported
		} else if errors.Is(err, ErrInvalidFile) {
			code = apitype.FileErrorInvalid
		}
		status, lastErr = apitype.StatusFailed, &apitype.LastError{Code: code, Message: err.Error()}
	}
	err = e.store.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		f, err := tx.GetVectorStoreFile(vsID, fileID)
		if err != nil {
			return err
		}
		if f.Status != apitype.StatusInProgress {
			return errNoChange // cancelled or detached meanwhile
		}
		f.Status, f.UsageBytes, f.LastError = status, usage, lastErr
		if err := tx.PutVectorStoreFile(f, ""); err != nil {
			return err
		}
		if err := e.recount(tx, vsID, ""); err != nil {
			return err
		}
		// Batches that hold this file.
		return e.recountBatches(tx, vsID, fileID)
	})
	if err == nil {
		ev := IngestEvent{VectorStoreID: vsID, FileID: fileID, Status: string(status), Bytes: file.Bytes, Duration: time.Since(start)}
		attrs := []slog.Attr{slog.String("vector_store", vsID), slog.String("file", fileID), slog.String("status", ev.Status),
			slog.Int64("bytes", file.Bytes), slog.Int64("usage_bytes", usage), slog.Duration("duration", ev.Duration)}
		if chunks >= 0 {
			attrs = append(attrs, slog.Int("chunks", chunks))
		}
		level := slog.LevelInfo
		if lastErr != nil {
			ev.LastError, level = lastErr.Message, slog.LevelWarn
			attrs = append(attrs, slog.String("last_error_code", string(lastErr.Code)), slog.String("last_error", lastErr.Message))
		}
		e.log.LogAttrs(ctx, level, "file ingested", attrs...)
		e.obs.FileIngested(ctx, ev)
	}
	if err == nil && e.cfg.OnFileIngested != nil {
		e.cfg.OnFileIngested(apitype.VectorStoreFile{ID: fileID, Object: apitype.ObjectVectorStoreFile, VectorStoreID: vsID,
			Status: status, UsageBytes: usage, LastError: lastErr, CreatedAt: vf.CreatedAt, ChunkingStrategy: vf.ChunkingStrategy,
			Attributes: vf.Attributes})
	}
	if errors.Is(err, errNoChange) || errors.Is(err, apitype.ErrNotFound) {
		// Detached, the file deleted, or the vector store deleted while the
		// file was indexed: what the indexing wrote must go too.
		if idx := e.cfg.FileIndex; idx != nil {
			wctx := context.WithoutCancel(ctx)
			gone := e.store.View(wctx, func(tx store.Tx) error { _, err := tx.GetVectorStore(vsID); return err })
			if errors.Is(gone, apitype.ErrNotFound) {
				_ = idx.Drop(wctx, vsID) // the vector store is gone: leave none of its keys
			} else {
				_ = idx.Remove(wctx, vsID, fileID)
			}
		}
	} else if err != nil {
		e.log.Error("record ingestion", "vector_store", vsID, "file", fileID, "err", err)
	}
	e.ingest.broadcast()
}

func (e *Engine) recountBatches(tx store.Tx, vsID, fileID string) error {
	page, err := tx.ListFileBatchesOf(vsID, fileID)
	if err != nil {
		return err
	}
	for _, b := range page {
		if err := e.recount(tx, vsID, b); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) readFile(ctx context.Context, id string) ([]byte, error) {
	return e.readBytes(ctx, SpaceFiles, id, e.cfg.MaxFileBytes)
}

// resumeIngestion queues every vector store file a previous process left in
// progress.
func (e *Engine) resumeIngestion(ctx context.Context) error {
	var files []*apitype.VectorStoreFile
	err := e.store.View(ctx, func(tx store.Tx) error {
		page, err := tx.ListVectorStores(apitype.ListParams{Limit: apitype.MaxListLimit})
		for err == nil {
			for _, v := range page.Data {
				if v.FileCounts.InProgress == 0 {
					continue
				}
				if err := tx.EachVectorStoreFile(v.ID, func(f *apitype.VectorStoreFile) error {
					if f.Status == apitype.StatusInProgress {
						files = append(files, f)
					}
					return nil
				}); err != nil {
					return err
				}
			}
			if !page.HasMore {
				return nil
			}
			page, err = tx.ListVectorStores(apitype.ListParams{Limit: apitype.MaxListLimit, After: *page.LastID})
		}
		return err
	})
	if err != nil {
		return err
	}
	e.ingestLater(files...)
	return nil
}

// AllFiles iterates over every file of a vector store from p's position,
// page by page.
func (s *VectorStores) AllFiles(ctx context.Context, vsID string, p apitype.VectorStoreFileListParams) iter.Seq2[apitype.VectorStoreFile, error] {
	return paginate(p.ListParams, func(lp apitype.ListParams) (*apitype.Page[apitype.VectorStoreFile], error) {
		q := p
		q.ListParams = lp
		return s.ListFiles(ctx, vsID, q)
	})
}

// AllBatchFiles iterates over every file of a file batch from p's
// position, page by page.
func (s *VectorStores) AllBatchFiles(ctx context.Context, vsID, batchID string, p apitype.VectorStoreFileListParams) iter.Seq2[apitype.VectorStoreFile, error] {
	return paginate(p.ListParams, func(lp apitype.ListParams) (*apitype.Page[apitype.VectorStoreFile], error) {
		q := p
		q.ListParams = lp
		return s.ListBatchFiles(ctx, vsID, batchID, q)
	})
}
