package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// The spaces of FileBytes: an uploaded file's bytes are under its file id
// in SpaceFiles, a container file's under its container file id in
// SpaceContainers.
const (
	SpaceFiles      = "files"
	SpaceContainers = "containers"
)

// FileBytes keeps the bytes of uploaded files and of containers' files
// (Config.FileBytes): the records are the store's, the bytes this. The
// default is a directory (DirFileBytes over Config.FilesDir); with many
// replicas the bytes must be where every replica reads them
// (store/pgfiles keeps them in Postgres).
//
// The engine writes the bytes before it commits the record that names
// them, and removes them after the commit that deletes the record, so a
// record always names whole bytes; what a crash or a failed commit leaves
// is bytes without a record, which Sweep removes. Ids are never reused:
// bytes once written are never rewritten.
type FileBytes interface {
	// Write stores r's bytes under id in space, whole or not at all: when
	// Write fails (r's error, ctx's, or the storage's), nothing is kept —
	// at worst leftovers that Sweep removes. r's error is returned as it is
	// (wrapped or not: the engine's size limit is an *apitype.Error read
	// from r).
	Write(ctx context.Context, space, id string, r io.Reader) (int64, error)
	// Copy gives dstID in dstSpace the bytes of srcID in srcSpace (a file
	// copied into a container), whole or not at all.
	Copy(ctx context.Context, dstSpace, dstID, srcSpace, srcID string) error
	// Open reads the bytes under id; an unknown id is an error matching
	// os.ErrNotExist.
	Open(ctx context.Context, space, id string) (io.ReadCloser, error)
	// Remove deletes the bytes under id; an unknown id is not an error.
	Remove(ctx context.Context, space, id string) error
	// Sweep removes the leftovers of interrupted writes, and the bytes
	// whose id recorded reports as having no record. It runs at Open, maybe
	// while other replicas write: bytes whose record may still be about to
	// commit must be kept.
	Sweep(ctx context.Context, recorded func(space, id string) (bool, error)) error
}

// DirFileBytes keeps bytes as files in dir (uploads) and dir/containers:
// each written to a temporary file that is synced, renamed into place, and
// the directory synced, so a kill leaves an id absent or whole.
func DirFileBytes(dir string) FileBytes { return dirBytes{dir} }

type dirBytes struct{ dir string }

func (d dirBytes) path(space, id string) (string, error) {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, `/\`+"\x00") {
		return "", fmt.Errorf("engine: file bytes: bad id %q", id)
	}
	switch space {
	case SpaceFiles:
		return filepath.Join(d.dir, id), nil
	case SpaceContainers:
		return filepath.Join(d.dir, "containers", id), nil
	}
	return "", fmt.Errorf("engine: file bytes: unknown space %q", space)
}

func (d dirBytes) Write(ctx context.Context, space, id string, r io.Reader) (int64, error) {
	dst, err := d.path(space, id)
	if err != nil {
		return 0, err
	}
	dir := filepath.Dir(dst)
	if space == SpaceContainers {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return 0, err
		}
	}
	return writeDurable(ctx, dir, dst, r)
}

func (d dirBytes) Copy(ctx context.Context, dstSpace, dstID, srcSpace, srcID string) error {
	dst, err := d.path(dstSpace, dstID)
	if err != nil {
		return err
	}
	src, err := d.path(srcSpace, srcID)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	// A hard link where the file system allows: bytes are never rewritten
	// in place, so sharing them is safe.
	if err := os.Link(src, dst); err == nil {
		return syncDir(filepath.Dir(dst))
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = writeDurable(ctx, filepath.Dir(dst), dst, f)
	return err
}

func (d dirBytes) Open(_ context.Context, space, id string) (io.ReadCloser, error) {
	p, err := d.path(space, id)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

func (d dirBytes) Remove(_ context.Context, space, id string) error {
	p, err := d.path(space, id)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Sweep removes temporary writes (*.tmp) and bytes without a record. In
// dir itself only names with the file prefix are bytes; the containers
// directory holds nothing else.
func (d dirBytes) Sweep(ctx context.Context, recorded func(space, id string) (bool, error)) error {
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return fmt.Errorf("engine: files directory: %w", err)
	}
	for _, space := range []string{SpaceFiles, SpaceContainers} {
		dir := d.dir
		if space == SpaceContainers {
			dir = filepath.Join(d.dir, "containers")
		}
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("engine: files directory: %w", err)
		}
		for _, ent := range entries {
			name := ent.Name()
			orphan := strings.HasSuffix(name, ".tmp")
			if !orphan && (space == SpaceContainers || strings.HasPrefix(name, store.PrefixFile)) {
				ok, err := recorded(space, name)
				if err != nil {
					return err
				}
				orphan = !ok
			}
			if orphan {
				os.Remove(filepath.Join(dir, name))
			}
		}
	}
	return nil
}

// writeDurable writes r's bytes to dst in dir, whole or not at all: into
// a temporary file that is synced, then renamed to dst, then the directory
// synced. A kill at any point leaves dst absent or complete, and at worst
// an upload-*.tmp that Sweep removes.
func writeDurable(ctx context.Context, dir, dst string, r io.Reader) (int64, error) {
	tmp, err := os.CreateTemp(dir, "upload-*.tmp")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	n, err := io.Copy(tmp, ctxReader{ctx, r})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

// ctxReader stops a copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// capReader fails a read past limit bytes with the API's 400 (param file),
// and stops when ctx is done.
type capReader struct {
	ctx      context.Context
	r        io.Reader
	n, limit int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if room := c.limit - c.n + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := c.r.Read(p)
	if c.n += int64(n); c.n > c.limit {
		return 0, &apitype.Error{Type: ErrFileTooLarge.Type, Code: ErrFileTooLarge.Code, Status: 400, Param: "file",
			Message: fmt.Sprintf("File is larger than the limit of %d bytes.", c.limit)}
	}
	return n, err
}

// writeBytes stores r (at most limit bytes: more is a 400 naming file)
// under id; errors other than the limit (and ctx's) are server errors.
func (e *Engine) writeBytes(ctx context.Context, space, id string, r io.Reader, limit int64) (int64, error) {
	n, err := e.cfg.FileBytes.Write(ctx, space, id, &capReader{ctx: ctx, r: r, limit: limit})
	if err != nil {
		var ae *apitype.Error
		if errors.As(err, &ae) {
			return 0, ae
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, serverError(err, "cannot store the upload")
	}
	return n, nil
}

// readBytes reads stored bytes whole (ingestion, images, mounts need them
// at once), refusing anything over max.
func (e *Engine) readBytes(ctx context.Context, space, id string, max int64) ([]byte, error) {
	rc, err := e.cfg.FileBytes.Open(ctx, space, id)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err == nil && int64(len(b)) > max {
		err = fmt.Errorf("file is larger than %d bytes", max)
	}
	return b, err
}

// removeBytes deletes bytes after the commit that deleted their record;
// a failure only leaves bytes for the next Sweep.
func (e *Engine) removeBytes(ctx context.Context, space, id string) {
	if err := e.cfg.FileBytes.Remove(context.WithoutCancel(ctx), space, id); err != nil {
		e.log.WarnContext(ctx, "remove deleted file's bytes", "space", space, "id", id, "err", err)
	}
}

// sweepBytes removes what a crash can leave in FileBytes: interrupted
// writes and bytes whose record never committed (or whose record was
// deleted before the bytes were).
func (e *Engine) sweepBytes(ctx context.Context) error {
	return e.store.View(ctx, func(tx store.Tx) error {
		var containerFiles map[string]bool // loaded on first need
		return e.cfg.FileBytes.Sweep(ctx, func(space, id string) (bool, error) {
			switch space {
			case SpaceFiles:
				_, err := tx.GetFile(id)
				if errors.Is(err, apitype.ErrNotFound) {
					e.log.Info("removing file left by an interrupted upload", "file", id)
					return false, nil
				}
				return true, err // kept unless surely unknown
			case SpaceContainers:
				if containerFiles == nil {
					var err error
					if containerFiles, err = allContainerFiles(tx); err != nil {
						return false, err
					}
				}
				if !containerFiles[id] {
					e.log.Info("removing container file left by an interrupted write", "file", id)
				}
				return containerFiles[id], nil
			}
			return true, nil
		})
	})
}

// allContainerFiles is the id of every container file.
func allContainerFiles(tx store.Tx) (map[string]bool, error) {
	known := map[string]bool{}
	p := apitype.ListParams{Limit: apitype.MaxListLimit, Order: apitype.OrderAsc}
	for {
		page, err := tx.ListContainers(p, "")
		if err != nil {
			return nil, err
		}
		for _, c := range page.Data {
			files, err := tx.ContainerFiles(c.ID)
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				known[f.ID] = true
			}
		}
		if !page.HasMore {
			return known, nil
		}
		p.After = *page.LastID
	}
}
