package filesearch

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/hearth-go/hearth/apitype"
	chromem "github.com/philippgille/chromem-go"
	bolt "go.etcd.io/bbolt"
)

// rootBucket holds one sub-bucket per vector store; each has a "meta" key
// and the buckets "files" (fileID → fileRecord JSON) and "chunks"
// (fileID 0x00 uint32-BE index → chunk record).
var (
	rootBucket   = []byte("filesearch.v1")
	metaKey      = []byte("meta")
	filesBucket  = []byte("files")
	chunksBucket = []byte("chunks")
)

// Config configures an Index.
type Config struct {
	// Embedder embeds new vector stores and queries; nil means
	// NewLexicalEmbedder(0).
	Embedder Embedder
	// Embedders are other embedders stores may have been indexed with; a
	// store is always queried with the embedder whose ID it recorded.
	Embedders []Embedder
	// Tokenizer sizes chunks; nil means ApproxTokenizer. Pass truncate's
	// cl100k encoding to match the hosted API's token counts.
	Tokenizer Tokenizer
	// HybridWeight is the weight of the vector score in the auto ranker,
	// 0–1; 0 means DefaultHybridWeight.
	HybridWeight float64
	Logger       *slog.Logger
}

// Index is the file search index over a bbolt database. It is safe for
// concurrent use. bbolt holds every chunk and vector; the in-memory
// chromem-go collection and BM25 index of a store are rebuilt from it on the
// store's first use after Open.
type Index struct {
	st      Storage
	shared  SharedStorage // st, when other processes write it too
	tok     Tokenizer
	log     *slog.Logger
	defEmb  Embedder
	hybridW float64

	wmu sync.Mutex // serializes writes, loads and syncs so memory follows storage

	mu        sync.Mutex
	embedders map[string]Embedder
	stores    map[string]*memStore // loaded stores
}

// StoreInfo describes an indexed vector store.
type StoreInfo struct {
	EmbedderID string `json:"embedder"`
	Dim        int    `json:"dim"`
}

// FileInfo is the record of an indexed file: present means fully indexed.
type FileInfo struct {
	FileID   string `json:"file_id"`
	Filename string `json:"filename"`
	Chunks   int    `json:"chunks"`
	Tokens   int    `json:"tokens"`
	Bytes    int64  `json:"bytes"`
	// Version is the store's version the file was written at
	// (SharedStorage; 0 otherwise).
	Version uint64 `json:"-"`
}

// Stats reports what AddFile indexed.
type Stats struct {
	Chunks int
	Tokens int
	// UsageBytes is the stored size of text and vectors, for usage_bytes.
	UsageBytes int64
}

// DB is the bbolt database the index keeps its buckets in: a *bolt.DB, or
// a handle that outlives the file it has open (store.Bolt, which follows
// the store across an online compaction).
type DB interface {
	View(fn func(*bolt.Tx) error) error
	Update(fn func(*bolt.Tx) error) error
}

// Open prepares the index's buckets in db. It reads no chunk: stores are
// loaded into memory when first searched.
func Open(db DB, cfg Config) (*Index, error) {
	if b, ok := db.(*bolt.DB); db == nil || ok && b == nil {
		return nil, errors.New("filesearch: nil bbolt DB")
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(rootBucket)
		return err
	}); err != nil {
		return nil, fmt.Errorf("filesearch: creating buckets: %w", err)
	}
	return OpenStorage(boltStorage{db}, cfg)
}

// OpenStorage returns an index keeping its chunks and vectors in st. When
// st is a SharedStorage, each search first brings the stores it has loaded
// up to date with what other processes wrote.
func OpenStorage(st Storage, cfg Config) (*Index, error) {
	if st == nil {
		return nil, errors.New("filesearch: nil Storage")
	}
	ix := &Index{st: st, tok: cfg.Tokenizer, log: cfg.Logger, defEmb: cfg.Embedder,
		embedders: map[string]Embedder{}, stores: map[string]*memStore{}}
	ix.shared, _ = st.(SharedStorage)
	ix.hybridW = cfg.HybridWeight
	if ix.hybridW <= 0 || ix.hybridW > 1 {
		ix.hybridW = DefaultHybridWeight
	}
	if ix.tok == nil {
		ix.tok = ApproxTokenizer{}
	}
	if ix.log == nil {
		ix.log = slog.New(slog.DiscardHandler)
	}
	if ix.defEmb == nil {
		ix.defEmb = NewLexicalEmbedder(0)
	}
	ix.embedders[ix.defEmb.ID()] = ix.defEmb
	for _, e := range cfg.Embedders {
		ix.embedders[e.ID()] = e
	}
	return ix, nil
}

// Close drops the in-memory indexes; the storage stays open (it is the
// caller's).
func (ix *Index) Close() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.stores = map[string]*memStore{}
	return nil
}

func (ix *Index) embedder(id string) (Embedder, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	e, ok := ix.embedders[id]
	return e, ok
}

// Store returns the embedder identity a store was indexed with.
func (ix *Index) Store(storeID string) (StoreInfo, error) {
	return ix.st.Store(context.Background(), storeID)
}

// Files lists the files fully indexed in a store (empty for an unknown store).
// After a crash, files the engine had in progress and that are not listed
// here must be added again.
func (ix *Index) Files(storeID string) ([]FileInfo, error) {
	return ix.st.Files(context.Background(), storeID)
}

// HasFile reports whether fileID is fully indexed in storeID.
func (ix *Index) HasFile(storeID, fileID string) (bool, error) {
	return ix.st.HasFile(context.Background(), storeID, fileID)
}

func chunkKey(fileID string, i int) []byte {
	k := make([]byte, 0, len(fileID)+5)
	k = append(k, fileID...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint32(k, uint32(i))
}

func chunkPrefix(fileID string) []byte { return append([]byte(fileID), 0) }

func encodeChunk(text string, vec []float32) []byte {
	b := make([]byte, 0, 4+len(text)+4*len(vec))
	b = binary.BigEndian.AppendUint32(b, uint32(len(text)))
	b = append(b, text...)
	for _, x := range vec {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func decodeChunk(v []byte) (string, []float32, error) {
	if len(v) < 4 {
		return "", nil, errors.New("filesearch: corrupt chunk record")
	}
	n := int(binary.BigEndian.Uint32(v))
	if n > len(v)-4 || (len(v)-4-n)%4 != 0 {
		return "", nil, errors.New("filesearch: corrupt chunk record")
	}
	text := string(v[4 : 4+n])
	raw := v[4+n:]
	vec := make([]float32, len(raw)/4)
	for i := range vec {
		vec[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return text, vec, nil
}

// AddFile chunks text, embeds the chunks and stores them with the file's
// record in one bbolt transaction: after a crash the file is either fully
// indexed or absent. Adding a file again replaces its chunks. chunking nil
// means auto.
func (ix *Index) AddFile(ctx context.Context, storeID, fileID, filename, text string, chunking *apitype.ChunkingStrategy) (Stats, error) {
	return ix.AddFileProgress(ctx, storeID, fileID, filename, text, chunking, nil)
}

// ProgressBatch is how many chunks AddFileProgress embeds between two
// progress reports.
const ProgressBatch = 64

// AddFileProgress is AddFile telling progress (when not nil) how many chunks
// are embedded of the total, after each ProgressBatch chunks and at the end.
func (ix *Index) AddFileProgress(ctx context.Context, storeID, fileID, filename, text string, chunking *apitype.ChunkingStrategy,
	progress func(embedded, total int)) (Stats, error) {
	if storeID == "" || fileID == "" || strings.IndexByte(fileID, 0) >= 0 || strings.IndexByte(storeID, 0) >= 0 {
		return Stats{}, errors.New("filesearch: store and file ids must be non-empty and free of NUL bytes")
	}
	size, overlap, err := chunkSizes(chunking)
	if err != nil {
		return Stats{}, err
	}
	emb := ix.defEmb
	if info, err := ix.Store(storeID); err == nil {
		e, ok := ix.embedder(info.EmbedderID)
		if !ok {
			return Stats{}, fmt.Errorf("%w: store %s uses %q, which this index was not given", ErrEmbedderMismatch, storeID, info.EmbedderID)
		}
		emb = e
	}
	chunks := SplitText(ix.tok, text, size, overlap)
	texts := make([]string, len(chunks))
	st := Stats{Chunks: len(chunks)}
	for i, c := range chunks {
		texts[i] = c.Text
		st.Tokens += c.Tokens
	}
	vecs := make([][]float32, 0, len(texts))
	for i := 0; i < len(texts); i += ProgressBatch {
		part := texts[i:min(i+ProgressBatch, len(texts))]
		vs, err := emb.Embed(ctx, part)
		if err != nil {
			return Stats{}, err
		}
		if len(vs) != len(part) {
			return Stats{}, fmt.Errorf("filesearch: embedder %s returned %d vectors for %d chunks", emb.ID(), len(vs), len(part))
		}
		vecs = append(vecs, vs...)
		if progress != nil {
			progress(len(vecs), len(texts))
		}
	}
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	usage, err := ix.commitFile(ctx, storeID, fileID, filename, emb, texts, vecs, st)
	st.UsageBytes = usage
	return st, err
}

// commitFile stores a file's embedded chunks and its record in one
// transaction, then mirrors them into the loaded in-memory store.
func (ix *Index) commitFile(ctx context.Context, storeID, fileID, filename string, emb Embedder, texts []string, vecs [][]float32, st Stats) (int64, error) {
	dim := 0
	for _, v := range vecs {
		if dim == 0 {
			dim = len(v)
		}
		if len(v) != dim || len(v) == 0 {
			return 0, fmt.Errorf("filesearch: embedder %s returned vectors of differing lengths (%d and %d)", emb.ID(), dim, len(v))
		}
	}
	var usage int64
	for i := range texts {
		usage += int64(4 + len(texts[i]) + 4*len(vecs[i])) // its encodeChunk size
	}
	fi := FileInfo{FileID: fileID, Filename: filename, Chunks: len(texts), Tokens: st.Tokens, Bytes: usage}
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	version, err := ix.st.PutFile(ctx, storeID, StoreInfo{EmbedderID: emb.ID(), Dim: dim}, fi, texts, vecs)
	if err != nil {
		return 0, err
	}
	if ms := ix.loaded(storeID); ms != nil {
		ms.mu.Lock()
		ms.removeFile(fileID)
		ms.addFile(ctx, fileID, filename, version, texts, vecs)
		if ms.dim == 0 {
			ms.dim = dim
		}
		ms.mu.Unlock()
	}
	return usage, nil
}

// RemoveFile deletes a file's chunks and record from a store.
func (ix *Index) RemoveFile(ctx context.Context, storeID, fileID string) error {
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	if err := ix.st.RemoveFile(ctx, storeID, fileID); err != nil {
		return err
	}
	if ms := ix.loaded(storeID); ms != nil {
		ms.mu.Lock()
		ms.removeFile(fileID)
		ms.mu.Unlock()
	}
	return nil
}

// DropStore deletes a store's index.
func (ix *Index) DropStore(ctx context.Context, storeID string) error {
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	err := ix.st.DropStore(ctx, storeID)
	ix.mu.Lock()
	delete(ix.stores, storeID)
	ix.mu.Unlock()
	return err
}

// Reindex re-embeds every chunk of a store with emb and records emb as the
// store's embedder, all in one transaction; emb is remembered for queries.
func (ix *Index) Reindex(ctx context.Context, storeID string, emb Embedder) error {
	chunks, err := ix.st.Chunks(ctx, storeID)
	if err != nil {
		return err
	}
	texts := make([]string, len(chunks))
	for i, c := range chunks {
		texts[i] = c.Text
	}
	var vecs [][]float32
	if len(texts) > 0 {
		if vecs, err = emb.Embed(ctx, texts); err != nil {
			return err
		}
		if len(vecs) != len(texts) {
			return fmt.Errorf("filesearch: embedder %s returned %d vectors for %d chunks", emb.ID(), len(vecs), len(texts))
		}
	}
	dim := 0
	for _, v := range vecs {
		if dim == 0 {
			dim = len(v)
		}
		if len(v) != dim || len(v) == 0 {
			return fmt.Errorf("filesearch: embedder %s returned vectors of differing lengths (%d and %d)", emb.ID(), dim, len(v))
		}
	}
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	if err := ix.st.Reembed(ctx, storeID, StoreInfo{EmbedderID: emb.ID(), Dim: dim}, chunks, vecs); err != nil {
		return err
	}
	ix.mu.Lock()
	ix.embedders[emb.ID()] = emb
	delete(ix.stores, storeID)
	ix.mu.Unlock()
	return nil
}

func (ix *Index) loaded(storeID string) *memStore {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.stores[storeID]
}

// load returns the store's in-memory index, building it from storage once.
func (ix *Index) load(ctx context.Context, storeID string) (*memStore, error) {
	if ms := ix.loaded(storeID); ms != nil {
		return ms, nil
	}
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	if ms := ix.loaded(storeID); ms != nil {
		return ms, nil
	}
	ms := newMemStore(storeID)
	info, version, err := ix.st.Load(ctx, storeID, func(f FileInfo, texts []string, vecs [][]float32) {
		ms.addFile(ctx, f.FileID, f.Filename, f.Version, texts, vecs)
	})
	if err != nil {
		return nil, err
	}
	ms.embedderID, ms.dim, ms.version = info.EmbedderID, info.Dim, version
	ix.mu.Lock()
	ix.stores[storeID] = ms
	ix.mu.Unlock()
	ix.log.Debug("filesearch: loaded store", "store", storeID, "chunks", ms.coll.Count())
	return ms, nil
}

// sync brings the loaded ones of storeIDs up to date with what other
// processes wrote to the shared storage: a store dropped is forgotten, one
// re-embedded is loaded again, and in one whose version moved the files
// whose version changed are reloaded and those gone dropped. A store not
// loaded is loaded whole by its search.
func (ix *Index) sync(ctx context.Context, storeIDs []string) error {
	var loaded []string
	for _, id := range storeIDs {
		if ix.loaded(id) != nil {
			loaded = append(loaded, id)
		}
	}
	if len(loaded) == 0 {
		return nil
	}
	now, err := ix.shared.Versions(ctx, loaded)
	if err != nil {
		return err
	}
	for _, id := range loaded {
		ms := ix.loaded(id)
		if ms == nil {
			continue
		}
		ms.mu.RLock()
		v, ok := now[id]
		current := ok && v.Version == ms.version && v.EmbedderID == ms.embedderID
		ms.mu.RUnlock()
		if current {
			continue
		}
		if err := ix.syncStore(ctx, id, v, ok); err != nil {
			return err
		}
	}
	return nil
}

func (ix *Index) syncStore(ctx context.Context, storeID string, v StoreVersion, exists bool) error {
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	ms := ix.loaded(storeID)
	if ms == nil {
		return nil
	}
	if !exists || v.EmbedderID != ms.embedderID {
		ix.mu.Lock()
		delete(ix.stores, storeID) // its search loads it again, or skips it
		ix.mu.Unlock()
		return nil
	}
	version, files, err := ix.shared.FileVersions(ctx, storeID)
	if errors.Is(err, ErrStoreNotFound) {
		ix.mu.Lock()
		delete(ix.stores, storeID)
		ix.mu.Unlock()
		return nil
	}
	if err != nil {
		return err
	}
	ms.mu.RLock()
	var changed, gone []string
	for id, f := range ms.files {
		if fv, ok := files[id]; !ok {
			gone = append(gone, id)
		} else if fv != f.version {
			changed = append(changed, id)
		}
	}
	for id := range files {
		if _, ok := ms.files[id]; !ok {
			changed = append(changed, id)
		}
	}
	ms.mu.RUnlock()
	type file struct {
		f     FileInfo
		texts []string
		vecs  [][]float32
	}
	var got []file
	if len(changed) > 0 {
		if err := ix.shared.LoadFiles(ctx, storeID, changed, func(f FileInfo, texts []string, vecs [][]float32) {
			got = append(got, file{f, texts, vecs})
		}); err != nil {
			return err
		}
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	for _, id := range append(gone, changed...) {
		ms.removeFile(id) // a changed file not loaded was removed since
	}
	for _, f := range got {
		ms.addFile(ctx, f.f.FileID, f.f.Filename, f.f.Version, f.texts, f.vecs)
	}
	if ms.dim == 0 {
		ms.dim = v.Dim
	}
	ms.version = version
	ix.log.Debug("filesearch: synced store", "store", storeID, "version", version, "reloaded", len(got), "dropped", len(gone))
	return nil
}

// memStore is the in-memory index of one vector store.
type memStore struct {
	mu         sync.RWMutex
	embedderID string
	dim        int    // vector length, 0 while the store has no vectors
	version    uint64 // the shared storage's version memory follows
	coll       *chromem.Collection
	kw         *keywordIndex
	ords       map[string]int32 // chromem doc id → keyword ordinal
	files      map[string]memFile
}

type memFile struct {
	name    string
	chunks  int
	version uint64
}

func newMemStore(storeID string) *memStore {
	coll, _ := chromem.NewDB().CreateCollection(storeID, nil, func(context.Context, string) ([]float32, error) {
		return nil, errors.New("filesearch: chunks carry their embeddings")
	})
	return &memStore{coll: coll, kw: newKeywordIndex(), ords: map[string]int32{}, files: map[string]memFile{}}
}

func docID(fileID string, i int) string { return fileID + "#" + strconv.Itoa(i) }

func splitDocID(id string) (string, int) {
	j := strings.LastIndexByte(id, '#')
	if j < 0 {
		return id, 0
	}
	n, _ := strconv.Atoi(id[j+1:])
	return id[:j], n
}

// addFile adds chunks to memory; the caller holds ms.mu or owns ms.
func (ms *memStore) addFile(ctx context.Context, fileID, name string, version uint64, texts []string, vecs [][]float32) {
	ms.files[fileID] = memFile{name: name, chunks: len(texts), version: version}
	for i, t := range texts {
		id := docID(fileID, i)
		// AddDocument only fails on an empty id or an empty embedding, which
		// decodeChunk and the embedders never produce.
		_ = ms.coll.AddDocument(ctx, chromem.Document{ID: id, Embedding: vecs[i], Content: t})
		ms.ords[id] = ms.kw.add(id, t)
	}
}

func (ms *memStore) removeFile(fileID string) {
	f, ok := ms.files[fileID]
	if !ok {
		return
	}
	ids := make([]string, f.chunks)
	for i := range ids {
		ids[i] = docID(fileID, i)
		if ord, ok := ms.ords[ids[i]]; ok {
			ms.kw.remove(ord)
			delete(ms.ords, ids[i])
		}
	}
	if len(ids) > 0 {
		_ = ms.coll.Delete(context.Background(), nil, nil, ids...)
	}
	delete(ms.files, fileID)
	if ms.kw.live < len(ms.kw.docs)/2 {
		ms.rebuildKeywords()
	}
}

// rebuildKeywords drops tombstones once they outnumber live documents.
func (ms *memStore) rebuildKeywords() {
	old := ms.kw
	ms.kw = newKeywordIndex()
	ms.ords = map[string]int32{}
	for _, d := range old.docs {
		if !d.alive {
			continue
		}
		doc, err := ms.coll.GetByID(context.Background(), d.id)
		if err != nil {
			continue
		}
		ms.ords[d.id] = ms.kw.add(d.id, doc.Content)
	}
}
