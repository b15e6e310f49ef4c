package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// Files stores uploaded files: the bytes in Config.FilesDir, the record in
// the database.
//
// An upload streams to a temporary file that is synced and renamed into
// place before its record commits, so a record always names a whole file. A
// crash can only leave a file without a record; Open removes those.
type Files struct{ e *Engine }

var validPurposes = map[string]bool{
	apitype.PurposeAssistants: true, apitype.PurposeAssistantsOutput: true, apitype.PurposeVision: true,
	apitype.PurposeUserData: true, apitype.PurposeBatch: true, apitype.PurposeFineTune: true,
}

// ErrFileTooLarge matches uploads over Config.MaxFileBytes.
var ErrFileTooLarge = &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Code: "file_too_large", Status: 400}

// Create streams r into a new file.
func (s *Files) Create(ctx context.Context, r io.Reader, p apitype.FileCreateParams) (*apitype.File, error) {
	if !validPurposes[p.Purpose] {
		return nil, apitype.Invalid("purpose", "'purpose' must be one of assistants, vision, user_data, batch, fine-tune; got %q.", truncateForError(p.Purpose))
	}
	if p.Purpose == apitype.PurposeAssistantsOutput {
		return nil, apitype.Invalid("purpose", "files with purpose assistants_output are made by the code interpreter, not uploaded.")
	}
	name := filepath.Base(strings.ReplaceAll(p.Filename, `\`, "/"))
	if name == "" || name == "." || name == "/" || !utf8.ValidString(name) || len(name) > 512 {
		return nil, apitype.Invalid("file", "the file needs a name (at most 512 bytes of valid UTF-8), got %q.", truncateForError(p.Filename))
	}
	return s.e.storeFile(ctx, r, name, p.Purpose, "")
}

// storeFile copies r into a new File; thread, when set, is the thread whose
// code interpreter wrote it, so it counts against that thread's cap.
func (e *Engine) storeFile(ctx context.Context, r io.Reader, name, purpose, thread string) (*apitype.File, error) {
	id := e.newID(store.PrefixFile)
	n, err := writeDurable(ctx, e.cfg.FilesDir, e.filePath(id), r, e.cfg.MaxFileBytes)
	if err != nil {
		return nil, err
	}
	f := &apitype.File{ID: id, Object: apitype.ObjectFile, Bytes: n, CreatedAt: e.now(), Filename: name, Purpose: purpose, Status: "processed"}
	if err := e.store.Update(ctx, func(tx store.Tx) error {
		if thread != "" {
			return tx.PutOutputFile(thread, f)
		}
		return tx.PutFile(f)
	}); err != nil {
		os.Remove(e.filePath(id))
		return nil, err
	}
	return f, nil
}

// writeDurable writes r's bytes (at most limit: more is a 400 naming file)
// to dst in dir, whole or not at all: into a temporary file that is synced,
// then renamed to dst, then the directory synced. A kill at any point
// leaves dst absent or complete, and at worst an upload-*.tmp that Open
// sweeps away. Errors other than the limit (and ctx's) are server errors.
func writeDurable(ctx context.Context, dir, dst string, r io.Reader, limit int64) (int64, error) {
	tmp, err := os.CreateTemp(dir, "upload-*.tmp")
	if err != nil {
		return 0, serverError(err, "cannot store the upload")
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	n, err := io.Copy(tmp, io.LimitReader(ctxReader{ctx, r}, limit+1))
	if err == nil && n > limit {
		err = &apitype.Error{Type: ErrFileTooLarge.Type, Code: ErrFileTooLarge.Code, Status: 400, Param: "file",
			Message: fmt.Sprintf("File is larger than the limit of %d bytes.", limit)}
	}
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
		var ae *apitype.Error
		if errors.As(err, &ae) || ctx.Err() != nil {
			return 0, err
		}
		return 0, serverError(err, "cannot store the upload")
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

func (e *Engine) filePath(id string) string { return filepath.Join(e.cfg.FilesDir, id) }

// Retrieve reads a file's record.
func (s *Files) Retrieve(ctx context.Context, id string) (*apitype.File, error) {
	return read(ctx, s.e, func(tx store.Tx) (*apitype.File, error) { return tx.GetFile(id) })
}

// Content opens a file's bytes; close the reader.
func (s *Files) Content(ctx context.Context, id string) (*apitype.File, io.ReadCloser, error) {
	f, err := s.Retrieve(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	rc, err := os.Open(s.e.filePath(f.ID))
	if err != nil {
		return nil, nil, serverError(err, "file %s has a record but its content cannot be read", id)
	}
	return f, rc, nil
}

// Delete removes a file's record, then its bytes.
func (s *Files) Delete(ctx context.Context, id string) (*apitype.Deleted, error) {
	// A deleted file leaves every vector store in the same transaction, so
	// it is never searched or cited again; its chunks go after the commit.
	var holders []string
	err := s.e.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteFile(id); err != nil {
			return err
		}
		var err error
		if holders, err = tx.VectorStoresHolding(id); err != nil {
			return err
		}
		for _, vsID := range holders {
			if err := tx.DeleteVectorStoreFile(vsID, id); err != nil {
				return err
			}
			if err := firstErr(s.e.recount(tx, vsID, ""), s.e.recountBatches(tx, vsID, id)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if idx := s.e.cfg.FileIndex; idx != nil {
		for _, vsID := range holders {
			if err := idx.Remove(context.WithoutCancel(ctx), vsID, id); err != nil {
				s.e.log.Warn("remove deleted file from index", "vector_store", vsID, "file", id, "err", err)
			}
		}
	}
	if err := os.Remove(s.e.filePath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.e.log.Warn("remove deleted file's content", "file", id, "err", err)
	}
	return &apitype.Deleted{ID: id, Object: "file", Deleted: true}, nil
}

// List returns one page of files, of one purpose when purpose is set.
// Its limit is 1–10,000 and defaults to 10,000, as the hosted files list.
func (s *Files) List(ctx context.Context, p apitype.ListParams, purpose string) (*apitype.Page[apitype.File], error) {
	if p.Limit == 0 {
		p.Limit = apitype.MaxFileListLimit
	}
	if err := checkListUpTo(p, store.PrefixFile, apitype.MaxFileListLimit); err != nil {
		return nil, err
	}
	page, err := read(ctx, s.e, func(tx store.Tx) (apitype.Page[apitype.File], error) { return tx.ListFiles(p, purpose) })
	return &page, err
}

// All iterates over files from p's position, page by page.
func (s *Files) All(ctx context.Context, p apitype.ListParams, purpose string) iter.Seq2[apitype.File, error] {
	return paginate(p, func(p apitype.ListParams) (*apitype.Page[apitype.File], error) { return s.List(ctx, p, purpose) })
}

// sweepFiles removes what a crash can leave in FilesDir: temporary uploads
// and files whose record never committed.
func (e *Engine) sweepFiles(ctx context.Context) error {
	if err := os.MkdirAll(e.cfg.FilesDir, 0o700); err != nil {
		return fmt.Errorf("engine: files directory: %w", err)
	}
	entries, err := os.ReadDir(e.cfg.FilesDir)
	if err != nil {
		return fmt.Errorf("engine: files directory: %w", err)
	}
	return e.store.View(ctx, func(tx store.Tx) error {
		for _, ent := range entries {
			name := ent.Name()
			orphan := strings.HasSuffix(name, ".tmp")
			if !orphan && strings.HasPrefix(name, store.PrefixFile) {
				_, err := tx.GetFile(name)
				orphan = errors.Is(err, apitype.ErrNotFound)
			}
			if orphan {
				e.log.Info("removing file left by an interrupted upload", "file", name)
				os.Remove(filepath.Join(e.cfg.FilesDir, name))
			}
		}
		return nil
	})
}

// readAll reads a stored file whole (ingestion needs the text at once),
// refusing anything over max.
func readAll(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(b)) > max {
		err = fmt.Errorf("file is larger than %d bytes", max)
	}
	return b, err
}
