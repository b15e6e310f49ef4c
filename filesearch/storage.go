package filesearch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Storage is where an Index keeps its chunks and vectors, the source of
// truth its in-memory search is built from: the bbolt file by default
// (Open), or a database other processes write too (OpenStorage with a
// SharedStorage, such as store/pgfiles').
type Storage interface {
	// Store reads a store's identity; ErrStoreNotFound when it has none.
	Store(ctx context.Context, storeID string) (StoreInfo, error)
	Files(ctx context.Context, storeID string) ([]FileInfo, error)
	HasFile(ctx context.Context, storeID, fileID string) (bool, error)
	// PutFile replaces a file's chunks and record in one transaction,
	// creating the store with info, or checking that the store was indexed
	// with info's embedder and (when both are known) dimension
	// (ErrEmbedderMismatch); a store first given vectors records their
	// dimension. It returns the store's version after the write (0 for a
	// Storage that is not shared).
	PutFile(ctx context.Context, storeID string, info StoreInfo, f FileInfo, texts []string, vecs [][]float32) (uint64, error)
	// RemoveFile deletes a file's chunks and record (none: no error).
	RemoveFile(ctx context.Context, storeID, fileID string) error
	// DropStore deletes a store's index (none: no error).
	DropStore(ctx context.Context, storeID string) error
	// Chunks lists a store's chunks, without vectors, in file and chunk
	// order; ErrStoreNotFound when it has none.
	Chunks(ctx context.Context, storeID string) ([]ChunkRef, error)
	// Reembed replaces the vectors of chunks (as Chunks gave them) and the
	// store's identity with info, in one transaction, failing when the
	// store's chunks are no longer those (a file added or removed since).
	Reembed(ctx context.Context, storeID string, info StoreInfo, chunks []ChunkRef, vecs [][]float32) error
	// Load visits every file of a store with its chunks and vectors, and
	// returns the store's identity and version, from one snapshot;
	// ErrStoreNotFound when it has none.
	Load(ctx context.Context, storeID string, fn func(f FileInfo, texts []string, vecs [][]float32)) (StoreInfo, uint64, error)
}

// SharedStorage is a Storage that other processes write too. Before each
// search an Index asks it for the versions of the stores it has loaded,
// and brings a store whose version moved up to date: it reloads the files
// whose version changed and drops those gone. A store's version must move
// on every write to it, in the write's transaction, and a version read
// must name only committed files.
type SharedStorage interface {
	Storage
	// Versions reports the identity and version of those of storeIDs that
	// exist.
	Versions(ctx context.Context, storeIDs []string) (map[string]StoreVersion, error)
	// FileVersions is the store's version and every file's, from one
	// snapshot; ErrStoreNotFound when it has none.
	FileVersions(ctx context.Context, storeID string) (uint64, map[string]uint64, error)
	// LoadFiles visits those of fileIDs the store holds, with their chunks
	// and vectors.
	LoadFiles(ctx context.Context, storeID string, fileIDs []string, fn func(f FileInfo, texts []string, vecs [][]float32)) error
}

// StoreVersion is a store's identity and version (SharedStorage).
type StoreVersion struct {
	StoreInfo
	Version uint64
}

// ChunkRef names one chunk of a store, with its text.
type ChunkRef struct {
	FileID string
	N      int
	Text   string
}

// boltStorage is the Storage of Open: buckets in a bbolt file.
type boltStorage struct{ db DB }

var _ Storage = boltStorage{}

func (s boltStorage) Store(_ context.Context, storeID string) (StoreInfo, error) {
	var info StoreInfo
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(rootBucket).Bucket([]byte(storeID))
		if b == nil {
			return fmt.Errorf("%w: %s", ErrStoreNotFound, storeID)
		}
		return json.Unmarshal(b.Get(metaKey), &info)
	})
	return info, err
}

func (s boltStorage) Files(_ context.Context, storeID string) ([]FileInfo, error) {
	var out []FileInfo
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(rootBucket).Bucket([]byte(storeID))
		if b == nil {
			return nil
		}
		return b.Bucket(filesBucket).ForEach(func(k, v []byte) error {
			var fi FileInfo
			if err := json.Unmarshal(v, &fi); err != nil {
				return fmt.Errorf("filesearch: corrupt file record %q: %w", k, err)
			}
			out = append(out, fi)
			return nil
		})
	})
	return out, err
}

func (s boltStorage) HasFile(_ context.Context, storeID, fileID string) (bool, error) {
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(rootBucket).Bucket([]byte(storeID)); b != nil {
			ok = b.Bucket(filesBucket).Get([]byte(fileID)) != nil
		}
		return nil
	})
	return ok, err
}

func (s boltStorage) PutFile(_ context.Context, storeID string, info StoreInfo, f FileInfo, texts []string, vecs [][]float32) (uint64, error) {
	return 0, s.db.Update(func(tx *bolt.Tx) error {
		sb, err := storeBucket(tx, storeID, info.EmbedderID, info.Dim)
		if err != nil {
			return err
		}
		cb := sb.Bucket(chunksBucket)
		if err := deleteChunks(cb, f.FileID); err != nil {
			return err
		}
		for i := range texts {
			if err := cb.Put(chunkKey(f.FileID, i), encodeChunk(texts[i], vecs[i])); err != nil {
				return err
			}
		}
		rec, _ := json.Marshal(f)
		return sb.Bucket(filesBucket).Put([]byte(f.FileID), rec)
	})
}

// storeBucket returns the store's bucket, creating it with the embedder's
// identity, and checks that an existing store was indexed with embID and
// vectors of dim dimensions (0: no vectors to check).
func storeBucket(tx *bolt.Tx, storeID, embID string, dim int) (*bolt.Bucket, error) {
	root := tx.Bucket(rootBucket)
	sb := root.Bucket([]byte(storeID))
	if sb != nil {
		var info StoreInfo
		if err := json.Unmarshal(sb.Get(metaKey), &info); err != nil {
			return nil, fmt.Errorf("filesearch: corrupt store meta: %w", err)
		}
		if err := checkStore(storeID, info, embID, dim); err != nil {
			return nil, err
		}
		if info.Dim == 0 && dim != 0 {
			info.Dim = dim
			meta, _ := json.Marshal(info)
			if err := sb.Put(metaKey, meta); err != nil {
				return nil, err
			}
		}
		return sb, nil
	}
	sb, err := root.CreateBucket([]byte(storeID))
	if err != nil {
		return nil, err
	}
	if _, err := sb.CreateBucket(filesBucket); err != nil {
		return nil, err
	}
	if _, err := sb.CreateBucket(chunksBucket); err != nil {
		return nil, err
	}
	meta, _ := json.Marshal(StoreInfo{EmbedderID: embID, Dim: dim})
	return sb, sb.Put(metaKey, meta)
}

// checkStore refuses a write with another embedder, or vectors of another
// dimension, than the store's; a Storage's PutFile calls it.
func checkStore(storeID string, have StoreInfo, embID string, dim int) error {
	if have.EmbedderID != embID {
		return fmt.Errorf("%w: store %s uses %q, not %q", ErrEmbedderMismatch, storeID, have.EmbedderID, embID)
	}
	if dim != 0 && have.Dim != 0 && have.Dim != dim {
		return fmt.Errorf("%w: store %s holds %d-dimensional vectors, embedder %s returned %d", ErrEmbedderMismatch, storeID, have.Dim, embID, dim)
	}
	return nil
}

// CheckStore is checkStore for Storage implementations outside this
// package: nil when a write of embID's vectors of dim dimensions (0:
// none) fits a store indexed as have.
func CheckStore(storeID string, have StoreInfo, embID string, dim int) error {
	return checkStore(storeID, have, embID, dim)
}

func deleteChunks(cb *bolt.Bucket, fileID string) error {
	p := chunkPrefix(fileID)
	c := cb.Cursor()
	for k, _ := c.Seek(p); k != nil && strings.HasPrefix(string(k), string(p)); k, _ = c.Seek(p) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

func (s boltStorage) RemoveFile(_ context.Context, storeID, fileID string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		sb := tx.Bucket(rootBucket).Bucket([]byte(storeID))
		if sb == nil {
			return nil
		}
		if err := deleteChunks(sb.Bucket(chunksBucket), fileID); err != nil {
			return err
		}
		return sb.Bucket(filesBucket).Delete([]byte(fileID))
	})
}

func (s boltStorage) DropStore(_ context.Context, storeID string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		err := tx.Bucket(rootBucket).DeleteBucket([]byte(storeID))
		if errors.Is(err, bolt.ErrBucketNotFound) {
			return nil
		}
		return err
	})
}

func (s boltStorage) Chunks(_ context.Context, storeID string) ([]ChunkRef, error) {
	var out []ChunkRef
	err := s.db.View(func(tx *bolt.Tx) error {
		sb := tx.Bucket(rootBucket).Bucket([]byte(storeID))
		if sb == nil {
			return fmt.Errorf("%w: %s", ErrStoreNotFound, storeID)
		}
		return sb.Bucket(chunksBucket).ForEach(func(k, v []byte) error {
			fileID, n, err := splitChunkKey(k)
			if err != nil {
				return err
			}
			text, _, err := decodeChunk(v)
			out = append(out, ChunkRef{FileID: fileID, N: n, Text: text})
			return err
		})
	})
	return out, err
}

func (s boltStorage) Reembed(_ context.Context, storeID string, info StoreInfo, chunks []ChunkRef, vecs [][]float32) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		sb := tx.Bucket(rootBucket).Bucket([]byte(storeID))
		if sb == nil {
			return fmt.Errorf("%w: %s", ErrStoreNotFound, storeID)
		}
		cb := sb.Bucket(chunksBucket)
		for i, c := range chunks {
			key := chunkKey(c.FileID, c.N)
			if cb.Get(key) == nil {
				continue // removed meanwhile
			}
			if err := cb.Put(key, encodeChunk(c.Text, vecs[i])); err != nil {
				return err
			}
		}
		// Files added or removed between the read and this write would mix
		// embedders: refuse and let the caller retry.
		n := 0
		c := cb.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			n++
		}
		if n != len(chunks) {
			return fmt.Errorf("filesearch: store %s changed during re-index; try again", storeID)
		}
		meta, _ := json.Marshal(info)
		return sb.Put(metaKey, meta)
	})
}

func (s boltStorage) Load(_ context.Context, storeID string, fn func(f FileInfo, texts []string, vecs [][]float32)) (StoreInfo, uint64, error) {
	var info StoreInfo
	err := s.db.View(func(tx *bolt.Tx) error {
		sb := tx.Bucket(rootBucket).Bucket([]byte(storeID))
		if sb == nil {
			return fmt.Errorf("%w: %s", ErrStoreNotFound, storeID)
		}
		if err := json.Unmarshal(sb.Get(metaKey), &info); err != nil {
			return fmt.Errorf("filesearch: corrupt store meta: %w", err)
		}
		files := map[string]FileInfo{}
		if err := sb.Bucket(filesBucket).ForEach(func(k, v []byte) error {
			var fi FileInfo
			if err := json.Unmarshal(v, &fi); err != nil {
				return err
			}
			files[fi.FileID] = fi
			return nil
		}); err != nil {
			return err
		}
		var (
			curFile string
			texts   []string
			vecs    [][]float32
		)
		flush := func() {
			if curFile != "" {
				fi, ok := files[curFile]
				if !ok {
					fi = FileInfo{FileID: curFile}
				}
				fn(fi, texts, vecs)
			}
			texts, vecs = nil, nil
		}
		err := sb.Bucket(chunksBucket).ForEach(func(k, v []byte) error {
			f, _, err := splitChunkKey(k)
			if err != nil {
				return err
			}
			if f != curFile {
				flush()
				curFile = f
			}
			text, vec, err := decodeChunk(v)
			if err != nil {
				return err
			}
			texts = append(texts, text)
			vecs = append(vecs, vec)
			return nil
		})
		flush()
		return err
	})
	return info, 0, err
}

func splitChunkKey(k []byte) (string, int, error) {
	i := strings.IndexByte(string(k), 0)
	if i < 0 || len(k) != i+5 {
		return "", 0, errors.New("filesearch: corrupt chunk key")
	}
	return string(k[:i]), int(uint32(k[i+1])<<24 | uint32(k[i+2])<<16 | uint32(k[i+3])<<8 | uint32(k[i+4])), nil
}
