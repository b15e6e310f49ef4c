// Package pgfiles keeps what the engine's files need beyond their records
// in Postgres, so that every `hearth serve` replica on one database serves
// them (issue 23): Bytes, the bytes of uploaded files and containers' files
// (an engine.FileBytes), and Index, the file search index (an
// engine.FileIndex) whose chunks and vectors are in Postgres and whose
// in-memory search, package filesearch's, each replica builds from them.
// The tables are schema version 1's (store/pgstore.Migrate).
package pgfiles

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ChunkBytes is the size of one row of bytes; the last row of a file may
// be shorter, and an empty file is one empty row.
const ChunkBytes = 1 << 20

// The spaces Bytes keeps (engine.SpaceFiles, engine.SpaceContainers).
const (
	spaceFiles      = "files"
	spaceContainers = "containers"
)

// DefaultSweepGrace is how old bytes without a record must be before Sweep
// removes them.
const DefaultSweepGrace = time.Hour

// BytesOptions configures Bytes.
type BytesOptions struct {
	// SweepGrace: bytes without a record younger than this are kept by
	// Sweep, because another replica may be about to commit their record
	// (bytes commit first). It bounds how long what a crash leaves takes
	// space. Default DefaultSweepGrace.
	SweepGrace time.Duration
}

// Bytes keeps file bytes in file_chunks and container_file_chunks, a
// ChunkBytes a row. It is an engine.FileBytes.
//
// A write is one COPY: all of a file's rows commit together or none does
// (a failed read of the upload, a cancelled request, a killed process all
// abort it), so nothing is ever half-written. The record commits after, in
// the store's transaction; deleting the record deletes the rows in that
// transaction (a trigger), so a deleted file leaves none. What is left is
// bytes whose record never committed (a crash between the two, a failed
// record), which Remove takes at once when the engine sees the failure and
// Sweep otherwise.
type Bytes struct {
	pool  *pgxpool.Pool
	grace time.Duration
}

// NewBytes returns Bytes on pool, whose database is migrated
// (pgstore.Migrate).
func NewBytes(pool *pgxpool.Pool, opts BytesOptions) *Bytes {
	if opts.SweepGrace <= 0 {
		opts.SweepGrace = DefaultSweepGrace
	}
	return &Bytes{pool: pool, grace: opts.SweepGrace}
}

func table(space string) (string, error) {
	switch space {
	case spaceFiles:
		return "file_chunks", nil
	case spaceContainers:
		return "container_file_chunks", nil
	}
	return "", fmt.Errorf("pgfiles: unknown space %q", space)
}

// chunkSource feeds COPY from a reader, a chunk a row, until ctx ends.
type chunkSource struct {
	ctx  context.Context
	id   string
	r    io.Reader
	buf  []byte
	n    int // rows given
	size int64
	row  []any
	err  error
	done bool
}

func (s *chunkSource) Next() bool {
	if s.done || s.err != nil {
		return false
	}
	if s.err = s.ctx.Err(); s.err != nil {
		return false
	}
	k, err := io.ReadFull(s.r, s.buf)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		s.done = true
		if k == 0 && s.n > 0 {
			return false
		}
	case err != nil:
		s.err = err
		return false
	}
	s.row = []any{s.id, s.n, s.buf[:k]}
	s.n++
	s.size += int64(k)
	return true
}

func (s *chunkSource) Values() ([]any, error) { return s.row, nil }
func (s *chunkSource) Err() error             { return s.err }

// Write copies r's bytes into id's rows in one COPY.
func (b *Bytes) Write(ctx context.Context, space, id string, r io.Reader) (int64, error) {
	tab, err := table(space)
	if err != nil {
		return 0, err
	}
	src := &chunkSource{ctx: ctx, id: id, r: r, buf: make([]byte, ChunkBytes)}
	if _, err := b.pool.CopyFrom(ctx, pgx.Identifier{tab}, []string{"file_id", "n", "data"}, src); err != nil {
		if src.err != nil {
			return 0, src.err // the reader's own error, as the engine reads it
		}
		return 0, fmt.Errorf("pgfiles: write %s: %w", id, err)
	}
	return src.size, nil
}

// Copy copies srcID's rows to dstID inside the database: no byte crosses
// the network.
func (b *Bytes) Copy(ctx context.Context, dstSpace, dstID, srcSpace, srcID string) error {
	dst, err := table(dstSpace)
	if err != nil {
		return err
	}
	src, err := table(srcSpace)
	if err != nil {
		return err
	}
	tag, err := b.pool.Exec(ctx, `INSERT INTO `+dst+` (file_id, n, data) SELECT $1, n, data FROM `+src+` WHERE file_id = $2`, dstID, srcID)
	if err != nil {
		return fmt.Errorf("pgfiles: copy %s to %s: %w", srcID, dstID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgfiles: copy %s: %w", srcID, os.ErrNotExist)
	}
	return nil
}

// Open returns a reader of id's rows, read one at a time as the reader
// is: a slow reader holds no connection between rows. Bytes are never
// rewritten, so the rows read are the file's; one deleted while it is read
// fails the read rather than ending it short.
func (b *Bytes) Open(ctx context.Context, space, id string) (io.ReadCloser, error) {
	tab, err := table(space)
	if err != nil {
		return nil, err
	}
	rd := &chunkReader{ctx: ctx, pool: b.pool, tab: tab, id: id}
	if err := b.pool.QueryRow(ctx, `SELECT data, (SELECT count(*) FROM `+tab+` WHERE file_id = $1) FROM `+tab+` WHERE file_id = $1 AND n = 0`,
		id).Scan(&rd.cur, &rd.rows); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("pgfiles: %s: %w", id, os.ErrNotExist)
		}
		return nil, fmt.Errorf("pgfiles: open %s: %w", id, err)
	}
	rd.next = 1
	return rd, nil
}

type chunkReader struct {
	ctx        context.Context
	pool       *pgxpool.Pool
	tab, id    string
	cur        []byte
	next, rows int64
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.next >= r.rows {
			return 0, io.EOF
		}
		err := r.pool.QueryRow(r.ctx, `SELECT data FROM `+r.tab+` WHERE file_id = $1 AND n = $2`, r.id, r.next).Scan(&r.cur)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, fmt.Errorf("pgfiles: %s was deleted while it was read", r.id)
		}
		if err != nil {
			return 0, fmt.Errorf("pgfiles: read %s: %w", r.id, err)
		}
		r.next++
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

func (r *chunkReader) Close() error { r.cur, r.next = nil, r.rows; return nil }

// Remove deletes id's rows.
func (b *Bytes) Remove(ctx context.Context, space, id string) error {
	tab, err := table(space)
	if err != nil {
		return err
	}
	if _, err := b.pool.Exec(ctx, `DELETE FROM `+tab+` WHERE file_id = $1`, id); err != nil {
		return fmt.Errorf("pgfiles: remove %s: %w", id, err)
	}
	return nil
}

// Sweep removes bytes older than the grace that have no record in the
// database's files or container_files and that recorded, asked about each,
// reports as unknown (it is the engine's store, which may not be this
// database). Replicas sweeping at once only delete the same rows twice.
func (b *Bytes) Sweep(ctx context.Context, recorded func(space, id string) (bool, error)) error {
	for _, s := range []struct{ space, tab, records string }{
		{spaceFiles, "file_chunks", "SELECT 1 FROM files r WHERE r.id = c.file_id"},
		{spaceContainers, "container_file_chunks", "SELECT 1 FROM container_files r WHERE r.id = c.file_id"},
	} {
		rows, err := b.pool.Query(ctx, `SELECT file_id FROM `+s.tab+` c WHERE n = 0 AND written_at < now() - $1::interval AND NOT EXISTS (`+s.records+`)`,
			b.grace)
		if err != nil {
			return fmt.Errorf("pgfiles: sweep: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("pgfiles: sweep: %w", err)
		}
		for _, id := range ids {
			ok, err := recorded(s.space, id)
			if err != nil {
				return err
			}
			if !ok {
				if err := b.Remove(ctx, s.space, id); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
