package engine

import (
	"context"
	"io"
	"iter"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// Files stores uploaded files: the bytes in Config.FileBytes, the record in
// the store.
//
// An upload's bytes are written whole before its record commits, so a
// record always names whole bytes. A crash can only leave bytes without a
// record; Open sweeps those away.
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
	n, err := e.writeBytes(ctx, SpaceFiles, id, r, e.cfg.MaxFileBytes)
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
		e.removeBytes(ctx, SpaceFiles, id)
		return nil, err
	}
	return f, nil
}

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
	rc, err := s.e.cfg.FileBytes.Open(ctx, SpaceFiles, f.ID)
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
	s.e.removeBytes(ctx, SpaceFiles, id)
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
