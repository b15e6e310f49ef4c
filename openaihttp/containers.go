package openaihttp

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/hearth-go/hearth/apitype"
)

// The Containers API: the code interpreter's containers and their files.

func (h *Handler) containerRoutes(route func(string, int64, endpoint), jsonLimit, upload int64) {
	route("POST /v1/containers", jsonLimit, h.createContainer)
	route("GET /v1/containers", 0, h.listContainers)
	route("GET /v1/containers/{container_id}", 0, func(w http.ResponseWriter, r *http.Request) (any, error) {
		return h.eng.Containers.Retrieve(r.Context(), r.PathValue("container_id"))
	})
	route("DELETE /v1/containers/{container_id}", 0, func(w http.ResponseWriter, r *http.Request) (any, error) {
		return h.eng.Containers.Delete(r.Context(), r.PathValue("container_id"))
	})
	route("POST /v1/containers/{container_id}/files", upload, h.createContainerFile)
	route("GET /v1/containers/{container_id}/files", 0, func(w http.ResponseWriter, r *http.Request) (any, error) {
		p, err := listParams(r)
		if err != nil {
			return nil, err
		}
		return h.eng.Containers.Files.List(r.Context(), r.PathValue("container_id"), p)
	})
	route("GET /v1/containers/{container_id}/files/{file_id}", 0, func(w http.ResponseWriter, r *http.Request) (any, error) {
		return h.eng.Containers.Files.Retrieve(r.Context(), r.PathValue("container_id"), r.PathValue("file_id"))
	})
	route("DELETE /v1/containers/{container_id}/files/{file_id}", 0, func(w http.ResponseWriter, r *http.Request) (any, error) {
		return h.eng.Containers.Files.Delete(r.Context(), r.PathValue("container_id"), r.PathValue("file_id"))
	})
	route("GET /v1/containers/{container_id}/files/{file_id}/content", 0, h.containerFileContent)
}

func (h *Handler) createContainer(w http.ResponseWriter, r *http.Request) (any, error) {
	var p apitype.ContainerCreateParams
	if err := decodeStrictBody(r, h.opts.MaxBodyBytes, &p); err != nil {
		return nil, err
	}
	return h.eng.Containers.Create(r.Context(), p)
}

func (h *Handler) listContainers(w http.ResponseWriter, r *http.Request) (any, error) {
	lp, err := listParams(r)
	if err != nil {
		return nil, err
	}
	return h.eng.Containers.List(r.Context(), apitype.ContainerListParams{ListParams: lp, Name: r.URL.Query().Get("name")})
}

// createContainerFile takes JSON {file_id} or multipart/form-data with a
// "file" part (streamed into the container) or a "file_id" field, as
// openai-go sends either.
func (h *Handler) createContainerFile(w http.ResponseWriter, r *http.Request) (any, error) {
	id := r.PathValue("container_id")
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		var p apitype.ContainerFileCreateParams
		if err := decodeStrictBody(r, h.opts.MaxBodyBytes, &p); err != nil {
			return nil, err
		}
		return h.eng.Containers.Files.Create(r.Context(), id, p)
	}
	if r.ContentLength > h.opts.MaxUploadBytes {
		return nil, tooLarge(h.opts.MaxUploadBytes)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, apitype.Invalid("", "Invalid multipart body: %v.", err)
	}
	fileID := ""
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, multipartErr(err, h.opts.MaxUploadBytes)
		}
		switch part.FormName() {
		case "file":
			if fileID != "" {
				return nil, mutuallyExclusive()
			}
			if part.FileName() == "" {
				return nil, apitype.Invalid("file", "The 'file' part needs a filename.")
			}
			f, err := h.eng.Containers.Files.Upload(r.Context(), id, &partReader{r.Context(), part, h.opts.MaxUploadBytes}, part.FileName())
			if err != nil {
				return nil, err
			}
			for { // a file_id after the file is refused too, but the file is kept: drain
				p, err := mr.NextPart()
				if err != nil {
					break
				}
				if p.FormName() == "file_id" {
					_, _ = h.eng.Containers.Files.Delete(r.Context(), id, f.ID)
					return nil, mutuallyExclusive()
				}
			}
			return f, nil
		case "file_id":
			b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
			if err != nil {
				return nil, multipartErr(err, h.opts.MaxUploadBytes)
			}
			if len(b) > maxFieldBytes {
				return nil, apitype.Invalid("file_id", "'file_id' is too long.")
			}
			fileID = strings.TrimSpace(string(b))
		default:
			if _, err := io.Copy(io.Discard, part); err != nil {
				return nil, multipartErr(err, h.opts.MaxUploadBytes)
			}
		}
	}
	return h.eng.Containers.Files.Create(r.Context(), id, apitype.ContainerFileCreateParams{FileID: fileID})
}

func mutuallyExclusive() *apitype.Error {
	return &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Code: apitype.CodeMutuallyExclusive, Status: 400, Param: "file",
		Message: "Send either 'file' or 'file_id', not both."}
}

func (h *Handler) containerFileContent(w http.ResponseWriter, r *http.Request) (any, error) {
	f, rc, err := h.eng.Containers.Files.Content(r.Context(), r.PathValue("container_id"), r.PathValue("file_id"))
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	hd := w.Header()
	hd.Del("openai-poll-after-ms")
	hd.Set("Content-Type", "application/octet-stream")
	name := f.Path[strings.LastIndexByte(f.Path, '/')+1:]
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, rc)
	return nil, nil
}
