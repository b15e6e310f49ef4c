package pgfiles

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hearth-go/hearth/filesearch"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// IndexStorage keeps the file search index in search_stores, search_files
// and search_chunks: a filesearch.SharedStorage, so that each replica's
// filesearch.Index (engine.NewFileIndexOn) builds its in-memory search from
// the same chunks and vectors and follows what the others write.
//
// How a replica follows: every write to a store bumps its version in the
// write's own transaction (the row lock orders a store's writers, so a
// version read names committed files only), and each search first reads
// the versions of the stores it has loaded — one indexed query — and
// reloads the files of a store whose version moved. That was chosen over
// LISTEN/NOTIFY: a search on replica B right after replica A's ingest
// returned finds the file (no notification in flight, none lost while a
// listening connection was down, no goroutine to own), at one small query
// per search, which costs less than embedding the query does.
type IndexStorage struct{ pool *pgxpool.Pool }

// NewIndexStorage returns the index storage on pool, whose database is
// migrated (pgstore.Migrate).
func NewIndexStorage(pool *pgxpool.Pool) *IndexStorage { return &IndexStorage{pool} }

var _ filesearch.SharedStorage = (*IndexStorage)(nil)

func notFound(storeID string) error {
	return fmt.Errorf("%w: %s", filesearch.ErrStoreNotFound, storeID)
}

// pgText is text Postgres takes: valid UTF-8 without NUL bytes.
func pgText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return s
}

func (s *IndexStorage) Store(ctx context.Context, storeID string) (filesearch.StoreInfo, error) {
	var info filesearch.StoreInfo
	err := s.pool.QueryRow(ctx, `SELECT embedder, dim FROM search_stores WHERE vector_store_id = $1`, storeID).Scan(&info.EmbedderID, &info.Dim)
	if errors.Is(err, pgx.ErrNoRows) {
		return info, notFound(storeID)
	}
	return info, err
}

const fileColumns = `file_id, filename, chunks, tokens, bytes, version`

func scanFiles(rows pgx.Rows) ([]filesearch.FileInfo, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (filesearch.FileInfo, error) {
		var f filesearch.FileInfo
		var v int64
		err := r.Scan(&f.FileID, &f.Filename, &f.Chunks, &f.Tokens, &f.Bytes, &v)
		f.Version = uint64(v)
		return f, err
	})
}

func (s *IndexStorage) Files(ctx context.Context, storeID string) ([]filesearch.FileInfo, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+fileColumns+` FROM search_files WHERE vector_store_id = $1 ORDER BY file_id`, storeID)
	if err != nil {
		return nil, err
	}
	return scanFiles(rows)
}

func (s *IndexStorage) HasFile(ctx context.Context, storeID, fileID string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM search_files WHERE vector_store_id = $1 AND file_id = $2)`, storeID, fileID).Scan(&ok)
	return ok, err
}

// PutFile bumps the store's version (creating it), replaces the file's
// record and chunks (a COPY), all in one transaction.
func (s *IndexStorage) PutFile(ctx context.Context, storeID string, info filesearch.StoreInfo, f filesearch.FileInfo, texts []string, vecs [][]float32) (uint64, error) {
	var version uint64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var have filesearch.StoreInfo
		var v int64
		if err := tx.QueryRow(ctx, `INSERT INTO search_stores (vector_store_id, embedder, dim, version) VALUES ($1, $2, $3, 1)
			ON CONFLICT (vector_store_id) DO UPDATE SET version = search_stores.version + 1,
				dim = CASE WHEN search_stores.dim = 0 THEN EXCLUDED.dim ELSE search_stores.dim END
			RETURNING embedder, dim, version`, storeID, info.EmbedderID, info.Dim).Scan(&have.EmbedderID, &have.Dim, &v); err != nil {
			return err
		}
		if err := filesearch.CheckStore(storeID, have, info.EmbedderID, info.Dim); err != nil {
			return err
		}
		version = uint64(v)
		if _, err := tx.Exec(ctx, `DELETE FROM search_files WHERE vector_store_id = $1 AND file_id = $2`, storeID, f.FileID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO search_files (vector_store_id, `+fileColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			storeID, f.FileID, pgText(f.Filename), len(texts), f.Tokens, f.Bytes, v); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"search_chunks"}, []string{"vector_store_id", "file_id", "n", "text", "embedding"},
			pgx.CopyFromSlice(len(texts), func(i int) ([]any, error) {
				return []any{storeID, f.FileID, i, pgText(texts[i]), vecs[i]}, nil
			}))
		return err
	})
	return version, err
}

func (s *IndexStorage) RemoveFile(ctx context.Context, storeID, fileID string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM search_files WHERE vector_store_id = $1 AND file_id = $2`, storeID, fileID)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE search_stores SET version = version + 1 WHERE vector_store_id = $1`, storeID)
		return err
	})
}

func (s *IndexStorage) DropStore(ctx context.Context, storeID string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM search_stores WHERE vector_store_id = $1`, storeID)
	return err
}

// snapshot runs fn in a read-only repeatable-read transaction: every
// query in it sees the same committed state.
func (s *IndexStorage) snapshot(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

func (s *IndexStorage) Chunks(ctx context.Context, storeID string) ([]filesearch.ChunkRef, error) {
	var out []filesearch.ChunkRef
	err := s.snapshot(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM search_stores WHERE vector_store_id = $1`, storeID).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
			return notFound(storeID)
		} else if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT file_id, n, text FROM search_chunks WHERE vector_store_id = $1 ORDER BY file_id, n`, storeID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (filesearch.ChunkRef, error) {
			var c filesearch.ChunkRef
			err := r.Scan(&c.FileID, &c.N, &c.Text)
			return c, err
		})
		return err
	})
	return out, err
}

// Reembed locks the store's row (so no file comes or goes meanwhile),
// checks its chunks are still those, and replaces their vectors and the
// store's identity; other replicas see the new embedder and reload it.
func (s *IndexStorage) Reembed(ctx context.Context, storeID string, info filesearch.StoreInfo, chunks []filesearch.ChunkRef, vecs [][]float32) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM search_stores WHERE vector_store_id = $1 FOR UPDATE`, storeID).Scan(&n); errors.Is(err, pgx.ErrNoRows) {
			return notFound(storeID)
		} else if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM search_chunks WHERE vector_store_id = $1`, storeID).Scan(&n); err != nil {
			return err
		}
		if n != len(chunks) {
			return fmt.Errorf("filesearch: store %s changed during re-index; try again", storeID)
		}
		var b pgx.Batch
		for i, c := range chunks {
			b.Queue(`UPDATE search_chunks SET embedding = $4 WHERE vector_store_id = $1 AND file_id = $2 AND n = $3`, storeID, c.FileID, c.N, vecs[i])
		}
		b.Queue(`UPDATE search_stores SET embedder = $2, dim = $3, version = version + 1 WHERE vector_store_id = $1`, storeID, info.EmbedderID, info.Dim)
		return tx.SendBatch(ctx, &b).Close()
	})
}

// loadFiles visits files (all of the store's when ids is nil) with their
// chunks, within tx.
func loadFiles(ctx context.Context, tx pgx.Tx, storeID string, ids []string, fn func(f filesearch.FileInfo, texts []string, vecs [][]float32)) error {
	where, args := `vector_store_id = $1`, []any{storeID}
	if ids != nil {
		where, args = where+` AND file_id = ANY($2)`, append(args, ids)
	}
	rows, err := tx.Query(ctx, `SELECT `+fileColumns+` FROM search_files WHERE `+where, args...)
	if err != nil {
		return err
	}
	files, err := scanFiles(rows)
	if err != nil {
		return err
	}
	byID := make(map[string]filesearch.FileInfo, len(files))
	for _, f := range files {
		byID[f.FileID] = f
	}
	rows, err = tx.Query(ctx, `SELECT file_id, text, embedding FROM search_chunks WHERE `+where+` ORDER BY file_id, n`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		cur   string
		texts []string
		vecs  [][]float32
	)
	flush := func() {
		if cur != "" {
			fn(byID[cur], texts, vecs)
		}
		texts, vecs = nil, nil
	}
	for rows.Next() {
		var id, text string
		var vec []float32
		if err := rows.Scan(&id, &text, &vec); err != nil {
			return err
		}
		if id != cur {
			flush()
			cur = id
		}
		texts = append(texts, text)
		vecs = append(vecs, vec)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	flush()
	return nil
}

func (s *IndexStorage) Load(ctx context.Context, storeID string, fn func(f filesearch.FileInfo, texts []string, vecs [][]float32)) (filesearch.StoreInfo, uint64, error) {
	var info filesearch.StoreInfo
	var v int64
	err := s.snapshot(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT embedder, dim, version FROM search_stores WHERE vector_store_id = $1`, storeID).Scan(&info.EmbedderID, &info.Dim, &v)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound(storeID)
		}
		if err != nil {
			return err
		}
		return loadFiles(ctx, tx, storeID, nil, fn)
	})
	return info, uint64(v), err
}

func (s *IndexStorage) Versions(ctx context.Context, storeIDs []string) (map[string]filesearch.StoreVersion, error) {
	rows, err := s.pool.Query(ctx, `SELECT vector_store_id, embedder, dim, version FROM search_stores WHERE vector_store_id = ANY($1)`, storeIDs)
	if err != nil {
		return nil, err
	}
	out := map[string]filesearch.StoreVersion{}
	var id string
	var sv filesearch.StoreVersion
	var v int64
	_, err = pgx.ForEachRow(rows, []any{&id, &sv.EmbedderID, &sv.Dim, &v}, func() error {
		sv.Version = uint64(v)
		out[id] = sv
		return nil
	})
	return out, err
}

func (s *IndexStorage) FileVersions(ctx context.Context, storeID string) (uint64, map[string]uint64, error) {
	var version int64
	files := map[string]uint64{}
	err := s.snapshot(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT version FROM search_stores WHERE vector_store_id = $1`, storeID).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound(storeID)
		}
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT file_id, version FROM search_files WHERE vector_store_id = $1`, storeID)
		if err != nil {
			return err
		}
		var id string
		var v int64
		_, err = pgx.ForEachRow(rows, []any{&id, &v}, func() error {
			files[id] = uint64(v)
			return nil
		})
		return err
	})
	return uint64(version), files, err
}

func (s *IndexStorage) LoadFiles(ctx context.Context, storeID string, fileIDs []string, fn func(f filesearch.FileInfo, texts []string, vecs [][]float32)) error {
	return s.snapshot(ctx, func(tx pgx.Tx) error { return loadFiles(ctx, tx, storeID, fileIDs, fn) })
}
