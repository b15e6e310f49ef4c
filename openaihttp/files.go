package openaihttp

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"

	"github.com/hearth-go/hearth/apitype"
)

// FileService stores uploaded files. *engine.Files satisfies it and is the
// default; another implementation can be given in Options.
type FileService interface {
	// Create stores content (read to EOF) as a new file.
	Create(ctx context.Context, content io.Reader, p apitype.FileCreateParams) (*apitype.File, error)
	Retrieve(ctx context.Context, id string) (*apitype.File, error)
	// Content opens a file's bytes; the caller closes the reader.
	Content(ctx context.Context, id string) (*apitype.File, io.ReadCloser, error)
	Delete(ctx context.Context, id string) (*apitype.Deleted, error)
	List(ctx context.Context, p apitype.ListParams, purpose string) (*apitype.Page[apitype.File], error)
}

// VectorStoreService manages vector stores, their files and file batches.
// *engine.VectorStores satisfies it and is the default.
// Every call that names a file also names its vector store: an
// implementation must answer 404 for a file that is not in that store.
type VectorStoreService interface {
	Create(ctx context.Context, p apitype.VectorStoreCreateParams) (*apitype.VectorStore, error)
	Retrieve(ctx context.Context, id string) (*apitype.VectorStore, error)
	Update(ctx context.Context, id string, p apitype.VectorStoreUpdateParams) (*apitype.VectorStore, error)
	Delete(ctx context.Context, id string) (*apitype.Deleted, error)
	List(ctx context.Context, p apitype.ListParams) (*apitype.Page[apitype.VectorStore], error)
	Search(ctx context.Context, id string, p apitype.VectorStoreSearchParams) (*apitype.VectorStoreSearchPage, error)

	CreateFile(ctx context.Context, vsID string, p apitype.VectorStoreFileCreateParams) (*apitype.VectorStoreFile, error)
	RetrieveFile(ctx context.Context, vsID, fileID string) (*apitype.VectorStoreFile, error)
	UpdateFile(ctx context.Context, vsID, fileID string, p apitype.VectorStoreFileUpdateParams) (*apitype.VectorStoreFile, error)
	DeleteFile(ctx context.Context, vsID, fileID string) (*apitype.Deleted, error)
	ListFiles(ctx context.Context, vsID string, p apitype.VectorStoreFileListParams) (*apitype.Page[apitype.VectorStoreFile], error)

	CreateBatch(ctx context.Context, vsID string, p apitype.VectorStoreFileBatchCreateParams) (*apitype.VectorStoreFileBatch, error)
	RetrieveBatch(ctx context.Context, vsID, batchID string) (*apitype.VectorStoreFileBatch, error)
	CancelBatch(ctx context.Context, vsID, batchID string) (*apitype.VectorStoreFileBatch, error)
	ListBatchFiles(ctx context.Context, vsID, batchID string, p apitype.VectorStoreFileListParams) (*apitype.Page[apitype.VectorStoreFile], error)
}

func (h *Handler) fileRoutes(route func(string, int64, endpoint), jsonLimit, upload int64) {
	fs, vs := h.opts.Files, h.opts.VectorStores
	{
		route(uploadRoute, upload, h.uploadFile)
		route("GET /v1/files", 0, func(w http.ResponseWriter, r *http.Request) (any, error) {
			lp, err := listParams(r)
			if err != nil {
				return nil, err
			}
			return fs.List(r.Context(), lp, r.URL.Query().Get("purpose"))
		})
		route("GET /v1/files/{file_id}", 0, func(w http.ResponseWriter, r *http.Request) (any, error) {
			return fs.Retrieve(r.Context(), r.PathValue("file_id"))
		})
		route("DELETE /v1/files/{file_id}", 0, func(w http.ResponseWriter, r *http.Request) (any, error) {
			return fs.Delete(r.Context(), r.PathValue("file_id"))
		})
		route("GET /v1/files/{file_id}/content", 0, h.fileContent)
	}

	vsPaths := []string{
		"POST /v1/vector_stores", "GET /v1/vector_stores", "GET /v1/vector_stores/{vector_store_id}",
		"POST /v1/vector_stores/{vector_store_id}", "DELETE /v1/vector_stores/{vector_store_id}",
		"POST /v1/vector_stores/{vector_store_id}/search",
		"POST /v1/vector_stores/{vector_store_id}/files", "GET /v1/vector_stores/{vector_store_id}/files",
		"GET /v1/vector_stores/{vector_store_id}/files/{file_id}", "DELETE /v1/vector_stores/{vector_store_id}/files/{file_id}",
		"POST /v1/vector_stores/{vector_store_id}/file_batches",
		"GET /v1/vector_stores/{vector_store_id}/file_batches/{batch_id}",
		"POST /v1/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel",
		"GET /v1/vector_stores/{vector_store_id}/file_batches/{batch_id}/files",
		"POST /v1/vector_stores/{vector_store_id}/files/{file_id}",
	}
	vsID := func(r *http.Request) string { return r.PathValue("vector_store_id") }
	body := func(r *http.Request, dst any) error { return decodeJSON(r, jsonLimit, dst) }
	fileList := func(r *http.Request) (apitype.VectorStoreFileListParams, error) {
		lp, err := listParams(r)
		return apitype.VectorStoreFileListParams{ListParams: lp, Filter: r.URL.Query().Get("filter")}, err
	}
	route(vsPaths[0], jsonLimit, func(w http.ResponseWriter, r *http.Request) (any, error) {
		var p apitype.VectorStoreCreateParams
		if err := body(r, &p); err != nil {
			return nil, err
		}
		return vs.Create(r.Context(), p)
	})
	route(vsPaths[1], 0, func(w http.ResponseWriter, r *http.Request) (any, error) {
		p, err := listParams(r)
		if err != nil {
			return nil, err
		}
		return vs.List(r.Context(), p)
	})
	route(vsPaths[2], 0, func(w http.ResponseWriter, r *http.Request) (any, error) { return vs.Retrieve(r.Context(), vsID(r)) })
	route(vsPaths[3], jsonLimit, func(w http.ResponseWriter, r *http.Request) (any, error) {
		var p apitype.VectorStoreUpdateParams
		if err := body(r, &p); err != nil {
			return nil, err
		}
		return vs.Update(r.Context(), vsID(r), p)
	})
	route(vsPaths[4], 0, func(w http.ResponseWriter, r *http.Request) (any, error) { return vs.Delete(r.Context(), vsID(r)) })
	route(vsPaths[5], jsonLimit, func(w http.ResponseWriter, r *http.Request) (any, error) {
		var p apitype.VectorStoreSearchParams
		if err := body(r, &p); err != nil {
			return nil, err
		}
		return vs.Search(r.Context(), vsID(r), p)
	})
	route(vsPaths[6], jsonLimit, func(w http.ResponseWriter, r *http.Request) (any, error) {
		var p apitype.VectorStoreFileCreateParams
		if err := body(r, &p); err != nil {
			return nil, err
		}
		return vs.CreateFile(r.Context(), vsID(r), p)
	})
	route(vsPaths[7], 0, func(w http.ResponseWriter, r *http.Request) (any, error) {
		p, err := fileList(r)
		if err != nil {
			return nil, err
		}
		return vs.ListFiles(r.Context(), vsID(r), p)
	})
	route(vsPaths[8], 0, func(w http.ResponseWriter, r *http.Request) (any, error) {
		return vs.RetrieveFile(r.Context(), vsID(r), r.PathValue("file_id"))
	})
	route(vsPaths[14], jsonLimit, func(w http.ResponseWriter, r *http.Request) (any, error) {
		var p apitype.VectorStoreFileUpdateParams
		if err := body(r, &p); err != nil {
			return nil, err
		}
		return vs.UpdateFile(r.Context(), vsID(r), r.PathValue("file_id"), p)
	})
	route(vsPaths[9], 0, func(w http.ResponseWriter, r *http.Request) (any, error) {
		return vs.DeleteFile(r.Context(), vsID(r), r.PathValue("file_id"))
	})
	route(vsPaths[10], jsonLimit, func(w http.ResponseWriter, r *http.Request) (any, error) {
		var p apitype.VectorStoreFileBatchCreateParams
		if err := body(r, &p); err != nil {
			return nil, err
		}
		return vs.CreateBatch(r.Context(), vsID(r), p)
	})
	route(vsPaths[11], 0, func(w http.ResponseWriter, r *http.Request) (any, error) {
		return vs.RetrieveBatch(r.Context(), vsID(r), r.PathValue("batch_id"))
	})
	route(vsPaths[12], jsonLimit, func(w http.ResponseWriter, r *http.Request) (any, error) {
		if _, err := readBody(r, jsonLimit); err != nil {
			return nil, err
		}
		return vs.CancelBatch(r.Context(), vsID(r), r.PathValue("batch_id"))
	})
	route(vsPaths[13], 0, func(w http.ResponseWriter, r *http.Request) (any, error) {
		p, err := fileList(r)
		if err != nil {
			return nil, err
		}
		return vs.ListBatchFiles(r.Context(), vsID(r), r.PathValue("batch_id"), p)
	})
}

// maxFieldBytes bounds a non-file multipart field (purpose).
const maxFieldBytes = 1 << 10

// uploadFile reads multipart/form-data with a "purpose" field and a "file"
// part. The file part is streamed to the service; when it comes before the
// purpose (openai-go sends it first) it is spooled to a temporary file so
// memory stays bounded whatever the size.
func (h *Handler) uploadFile(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.ContentLength > h.opts.MaxUploadBytes {
		return nil, tooLarge(h.opts.MaxUploadBytes)
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, apitype.Invalid("", "Uploads must be multipart/form-data with 'file' and 'purpose' fields.")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, apitype.Invalid("", "Invalid multipart body: %v.", err)
	}
	var (
		purpose  string
		filename string
		spool    *os.File
		fileSeen bool
	)
	defer func() {
		if spool != nil {
			spool.Close()
			os.Remove(spool.Name())
		}
	}()
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, multipartErr(err, h.opts.MaxUploadBytes)
		}
		switch part.FormName() {
		case "purpose":
			b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
			if err != nil {
				return nil, multipartErr(err, h.opts.MaxUploadBytes)
			}
			if len(b) > maxFieldBytes {
				return nil, apitype.Invalid("purpose", "'purpose' is too long.")
			}
			purpose = strings.TrimSpace(string(b))
		case "file":
			if fileSeen {
				return nil, apitype.Invalid("file", "Only one 'file' part is allowed.")
			}
			fileSeen = true
			filename = part.FileName()
			if filename == "" {
				return nil, apitype.Invalid("file", "The 'file' part needs a filename.")
			}
			if purpose != "" {
				// Purpose known: stream straight to the service.
				return h.opts.Files.Create(r.Context(), &partReader{r.Context(), part, h.opts.MaxUploadBytes}, apitype.FileCreateParams{Filename: filename, Purpose: purpose})
			}
			spool, err = os.CreateTemp("", "hearth-upload-*")
			if err != nil {
				return nil, err
			}
			if _, err := io.Copy(spool, &partReader{r.Context(), part, h.opts.MaxUploadBytes}); err != nil {
				return nil, err // the context's error, or already the API's (413, 400)
			}
		default:
			// Unknown fields are ignored, as in JSON bodies.
			if _, err := io.Copy(io.Discard, part); err != nil {
				return nil, multipartErr(err, h.opts.MaxUploadBytes)
			}
		}
	}
	if !fileSeen {
		return nil, apitype.Invalid("file", "Missing required parameter: 'file'.")
	}
	if purpose == "" {
		return nil, apitype.Invalid("purpose", "Missing required parameter: 'purpose'.")
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return h.opts.Files.Create(r.Context(), spool, apitype.FileCreateParams{Filename: filename, Purpose: purpose})
}

// partReader reads a multipart part, stopping when the request's context
// (its timeout) is done, and turns the body limit error into the 413
// envelope when the reader goes past it.
type partReader struct {
	ctx   context.Context
	r     io.Reader
	limit int64
}

func (p *partReader) Read(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := p.r.Read(b)
	if err != nil && !errors.Is(err, io.EOF) {
		err = multipartErr(err, p.limit)
	}
	return n, err
}

func multipartErr(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(limit)
	}
	return apitype.Invalid("", "Invalid multipart body: %v.", err)
}

func (h *Handler) fileContent(w http.ResponseWriter, r *http.Request) (any, error) {
	id := r.PathValue("file_id")
	f, rc, err := h.opts.Files.Content(r.Context(), id)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	hd := w.Header()
	hd.Del("openai-poll-after-ms")
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Filename}))
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, rc)
	return nil, nil
}
