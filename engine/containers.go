package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/codeinterp"
	"github.com/hearth-go/hearth/store"
)

// Containers manages the code interpreter's containers on the Responses
// API (the Containers API): each is one sandbox session, whose Python
// state persists between the code_interpreter calls that name it, and the
// files of its /mnt/data. A container idle for expires_after minutes
// expires: its session is closed, its files are deleted, and it can no
// longer be used.
//
// A container file's bytes are in Config.FileBytes (SpaceContainers),
// written whole before its record commits, so a record always names whole
// bytes; Open sweeps away bytes whose record never committed.
type Containers struct {
	e *Engine
	// Files manages the files of containers.
	Files *ContainerFiles
	// locks serialises the code runs of a container (its session's
	// mounts and the files its code writes).
	locks sync.Map // container id → *sync.Mutex
}

// ContainerFiles manages the files of containers.
type ContainerFiles struct{ e *Engine }

func newContainers(e *Engine) *Containers {
	return &Containers{e: e, Files: &ContainerFiles{e}}
}

func (s *Containers) lock(id string) func() {
	m, _ := s.locks.LoadOrStore(id, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// forget drops the lock of a container that can no longer run code
// (deleted or expired), so the map does not grow by every container ever
// made; a caller still holding it only finds the container gone or expired.
func (s *Containers) forget(id string) { s.locks.Delete(id) }

// errContainerOverdue is a container whose idle time ran out but which the
// expirer has not expired yet: the caller expires it and refuses.
var errContainerOverdue = errors.New("container overdue")

// Create makes a container, copying file_ids into its /mnt/data, in one
// transaction.
func (s *Containers) Create(ctx context.Context, p apitype.ContainerCreateParams) (*apitype.Container, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return s.e.createContainer(ctx, p, "file_ids")
}

// createContainer makes a container; param names file_ids in errors.
func (e *Engine) createContainer(ctx context.Context, p apitype.ContainerCreateParams, param string) (*apitype.Container, error) {
	now := e.now()
	c := &apitype.Container{ID: e.newID(store.PrefixContainer), Object: apitype.ObjectContainer, CreatedAt: now, Status: apitype.ContainerActive,
		ExpiresAfter: apitype.ContainerExpiresAfter{Anchor: apitype.ContainerAnchorLastActive, Minutes: apitype.DefaultContainerMinutes},
		LastActiveAt: now, Name: p.Name, MemoryLimit: "1g", Network: apitype.ContainerNetworkPolicy{Type: "disabled"}}
	if p.ExpiresAfter != nil {
		c.ExpiresAfter = *p.ExpiresAfter
	}
	if p.MemoryLimit != "" {
		c.MemoryLimit = p.MemoryLimit
	}
	// The files' names first (refusing unknown ids), then their bytes,
	// then every record in one transaction.
	var srcs []*apitype.File
	if err := e.store.View(ctx, func(tx store.Tx) error {
		for i, id := range p.FileIDs {
			f, err := tx.GetFile(id)
			if err != nil {
				return &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Status: 400, Param: fmt.Sprintf("%s[%d]", param, i),
					Message: fmt.Sprintf("No file found with id '%s'.", id)}
			}
			srcs = append(srcs, f)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var files []*apitype.ContainerFile
	written := []string{}
	defer func() {
		for _, id := range written {
			e.removeBytes(ctx, SpaceContainers, id)
		}
	}()
	taken := map[string]bool{}
	for _, f := range srcs {
		cf := &apitype.ContainerFile{ID: e.newID(store.PrefixContainerFile), Object: apitype.ObjectContainerFile, ContainerID: c.ID,
			CreatedAt: now, Bytes: f.Bytes, Path: containerPath(f.ID, f.Filename, taken), Source: apitype.ContainerFileUser}
		if err := e.copyIntoContainer(ctx, cf.ID, f.ID); err != nil {
			return nil, err
		}
		written = append(written, cf.ID)
		files = append(files, cf)
	}
	err := e.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutContainer(c); err != nil {
			return err
		}
		for _, f := range files {
			if err := tx.PutContainerFile(f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	written = nil
	return c, nil
}

// containerPath is where a file named name goes in /mnt/data: its name, or
// prefixed with its id when the name is taken or unsafe.
func containerPath(id, name string, taken map[string]bool) string {
	if taken[name] || !safeName(name) {
		name = id + "-" + sanitize(name)
	}
	taken[name] = true
	return "/mnt/data/" + name
}

// Retrieve reads a container. Like every use of a container it counts as
// activity: last_active_at moves to now, unless it has expired.
func (s *Containers) Retrieve(ctx context.Context, id string) (*apitype.Container, error) {
	c, err := s.e.touchContainer(ctx, id, "")
	if errors.Is(err, errContainerOverdue) {
		return s.e.expireContainer(ctx, id)
	}
	if ae := (*apitype.Error)(nil); errors.As(err, &ae) && ae.Code == "container_expired" {
		return c, nil
	}
	return c, err
}

// touchContainer records activity on an active container; it returns the
// container with ContainerExpiredError (param) when it has expired, and
// errContainerOverdue when its time ran out unnoticed.
func (e *Engine) touchContainer(ctx context.Context, id, param string) (*apitype.Container, error) {
	var c *apitype.Container
	err := e.store.Update(ctx, func(tx store.Tx) error {
		var err error
		if c, err = tx.GetContainer(id); err != nil {
			return err
		}
		return e.touchActive(tx, c, param)
	})
	return c, err
}

// touchActive moves an active container's last_active_at to now, within tx.
func (e *Engine) touchActive(tx store.Tx, c *apitype.Container, param string) error {
	now := e.now()
	switch {
	case c.Status == apitype.ContainerExpired:
		return apitype.ContainerExpiredError(param, c.ID)
	case now >= c.ExpiresAt():
		return errContainerOverdue
	case c.LastActiveAt == now:
		return nil
	}
	c.LastActiveAt = now
	return tx.PutContainer(c)
}

// List returns one page of containers, newest first unless p.Order is asc.
func (s *Containers) List(ctx context.Context, p apitype.ContainerListParams) (*apitype.Page[apitype.Container], error) {
	if err := checkList(p.ListParams, store.PrefixContainer); err != nil {
		return nil, err
	}
	page, err := read(ctx, s.e, func(tx store.Tx) (apitype.Page[apitype.Container], error) {
		return tx.ListContainers(p.ListParams, p.Name)
	})
	return &page, err
}

// All iterates over containers from p's position, page by page.
func (s *Containers) All(ctx context.Context, p apitype.ContainerListParams) iter.Seq2[apitype.Container, error] {
	return paginate(p.ListParams, func(lp apitype.ListParams) (*apitype.Page[apitype.Container], error) {
		q := p
		q.ListParams = lp
		return s.List(ctx, q)
	})
}

// Delete deletes a container with its files and ends its session.
func (s *Containers) Delete(ctx context.Context, id string) (apitype.Deleted, error) {
	defer s.lock(id)()
	var files []apitype.ContainerFile
	err := s.e.store.Update(ctx, func(tx store.Tx) (err error) {
		files, err = tx.DeleteContainer(id)
		return err
	})
	if err != nil {
		return apitype.Deleted{}, err
	}
	s.e.freeContainer(ctx, id, files)
	return apitype.ContainerDeleted(id), nil
}

// freeContainer ends a container's session and removes its files' bytes,
// after the commit that deleted or expired it.
func (e *Engine) freeContainer(ctx context.Context, id string, files []apitype.ContainerFile) {
	if sb := e.cfg.CodeInterpreter; sb != nil {
		if err := sb.CloseSession(id); err != nil {
			e.log.WarnContext(ctx, "close container session", "container", id, "err", err)
		}
	}
	e.mounts.forget(id)
	e.Containers.forget(id)
	for _, f := range files {
		e.removeBytes(ctx, SpaceContainers, f.ID)
	}
}

// expireContainer moves an overdue container to expired, deleting its
// files and ending its session, and returns it.
func (e *Engine) expireContainer(ctx context.Context, id string) (*apitype.Container, error) {
	defer e.Containers.lock(id)()
	var c *apitype.Container
	var files []apitype.ContainerFile
	err := e.store.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		var err error
		if c, err = tx.GetContainer(id); err != nil {
			return err
		}
		if c.Status != apitype.ContainerActive || e.now() < c.ExpiresAt() {
			return errNoChange // used or expired meanwhile
		}
		if files, err = tx.ContainerFiles(id); err != nil {
			return err
		}
		for _, f := range files {
			if err := tx.DeleteContainerFile(id, f.ID); err != nil {
				return err
			}
		}
		c.Status = apitype.ContainerExpired
		return tx.PutContainer(c)
	})
	if errors.Is(err, errNoChange) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	e.log.InfoContext(ctx, "container expired", "container", id, "idle_minutes", c.ExpiresAfter.Minutes)
	e.freeContainer(ctx, id, files)
	return c, nil
}

// expireContainersDue expires every container whose idle time ran out; the
// engine's expirer calls it with expireDue.
func (e *Engine) expireContainersDue(ctx context.Context) {
	var due []string
	err := e.store.View(ctx, func(tx store.Tx) error {
		return tx.DueContainers(e.now(), func(id string) bool {
			due = append(due, id)
			return len(due) < 1000
		})
	})
	if err != nil {
		// Nothing is expired on a partial read; the next tick tries again.
		if ctx.Err() == nil {
			e.log.Warn("expire containers", "err", err)
		}
		return
	}
	for _, id := range due {
		if _, err := e.expireContainer(ctx, id); err != nil && ctx.Err() == nil {
			e.log.Warn("expire container", "container", id, "err", err)
		}
	}
}

// copyIntoContainer gives container file id the bytes of uploaded file
// fileID.
func (e *Engine) copyIntoContainer(ctx context.Context, id, fileID string) error {
	if err := e.cfg.FileBytes.Copy(ctx, SpaceContainers, id, SpaceFiles, fileID); err != nil {
		return serverError(err, "cannot copy file %s into the container", fileID)
	}
	return nil
}

// Create copies an uploaded file (p.FileID) into a container's /mnt/data.
func (s *ContainerFiles) Create(ctx context.Context, containerID string, p apitype.ContainerFileCreateParams) (*apitype.ContainerFile, error) {
	e := s.e
	if p.FileID == "" {
		return nil, &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Code: apitype.CodeMissingParameter, Status: 400, Param: "file_id",
			Message: "Send either 'file' (an upload) or 'file_id' (an uploaded file)."}
	}
	var src *apitype.File
	if err := e.store.View(ctx, func(tx store.Tx) (err error) {
		if _, err = tx.GetContainer(containerID); err != nil {
			return err
		}
		if src, err = tx.GetFile(p.FileID); err != nil {
			return &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Status: 400, Param: "file_id",
				Message: fmt.Sprintf("No file found with id '%s'.", p.FileID)}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	id := e.newID(store.PrefixContainerFile)
	if err := e.copyIntoContainer(ctx, id, src.ID); err != nil {
		return nil, err
	}
	return s.record(ctx, containerID, id, src.Filename, src.Bytes)
}

// Upload stores r as a new file named filename in a container's /mnt/data.
func (s *ContainerFiles) Upload(ctx context.Context, containerID string, r io.Reader, filename string) (*apitype.ContainerFile, error) {
	e := s.e
	name := path.Base(strings.ReplaceAll(filename, `\`, "/"))
	if !safeName(name) {
		return nil, apitype.Invalid("file", "the file needs a plain name (at most 200 bytes of valid UTF-8), got %q.", truncateForError(filename))
	}
	if _, err := read(ctx, e, func(tx store.Tx) (*apitype.Container, error) { return tx.GetContainer(containerID) }); err != nil {
		return nil, err
	}
	id := e.newID(store.PrefixContainerFile)
	n, err := e.writeBytes(ctx, SpaceContainers, id, r, e.cfg.MaxFileBytes)
	if err != nil {
		return nil, err
	}
	return s.record(ctx, containerID, id, name, n)
}

// record commits a user file whose bytes are in place, touching the
// container; on any failure the bytes go.
func (s *ContainerFiles) record(ctx context.Context, containerID, id, name string, n int64) (*apitype.ContainerFile, error) {
	e := s.e
	f := &apitype.ContainerFile{ID: id, Object: apitype.ObjectContainerFile, ContainerID: containerID, CreatedAt: e.now(), Bytes: n,
		Source: apitype.ContainerFileUser}
	unlock := e.Containers.lock(containerID)
	err := e.store.Update(ctx, func(tx store.Tx) error {
		c, err := tx.GetContainer(containerID)
		if err != nil {
			return err
		}
		if err := e.touchActive(tx, c, ""); err != nil {
			return err
		}
		files, err := tx.ContainerFiles(containerID)
		if err != nil {
			return err
		}
		taken := map[string]bool{}
		for _, o := range files {
			taken[strings.TrimPrefix(o.Path, "/mnt/data/")] = true
		}
		f.Path = containerPath(id, name, taken)
		return tx.PutContainerFile(f)
	})
	unlock()
	if err != nil {
		e.removeBytes(ctx, SpaceContainers, id)
		if errors.Is(err, errContainerOverdue) {
			_, _ = e.expireContainer(ctx, containerID)
			return nil, apitype.ContainerExpiredError("", containerID)
		}
		return nil, err
	}
	return f, nil
}

// All iterates over a container's files from p's position, page by page.
func (s *ContainerFiles) All(ctx context.Context, containerID string, p apitype.ListParams) iter.Seq2[apitype.ContainerFile, error] {
	return paginate(p, func(p apitype.ListParams) (*apitype.Page[apitype.ContainerFile], error) {
		return s.List(ctx, containerID, p)
	})
}

// Retrieve reads a container file's record.
func (s *ContainerFiles) Retrieve(ctx context.Context, containerID, id string) (*apitype.ContainerFile, error) {
	return read(ctx, s.e, func(tx store.Tx) (*apitype.ContainerFile, error) { return tx.GetContainerFile(containerID, id) })
}

// List returns one page of a container's files, newest first unless
// p.Order is asc.
func (s *ContainerFiles) List(ctx context.Context, containerID string, p apitype.ListParams) (*apitype.Page[apitype.ContainerFile], error) {
	if err := checkList(p, store.PrefixContainerFile); err != nil {
		return nil, err
	}
	page, err := read(ctx, s.e, func(tx store.Tx) (apitype.Page[apitype.ContainerFile], error) {
		return tx.ListContainerFiles(containerID, p)
	})
	return &page, err
}

// Content opens a container file's bytes; close the reader.
func (s *ContainerFiles) Content(ctx context.Context, containerID, id string) (*apitype.ContainerFile, io.ReadCloser, error) {
	f, err := s.Retrieve(ctx, containerID, id)
	if err != nil {
		return nil, nil, err
	}
	rc, err := s.e.cfg.FileBytes.Open(ctx, SpaceContainers, f.ID)
	if err != nil {
		return nil, nil, serverError(err, "container file %s has a record but its content cannot be read", id)
	}
	return f, rc, nil
}

// Delete removes a container file: its record, then its bytes, and the
// file from the live session's /mnt/data.
func (s *ContainerFiles) Delete(ctx context.Context, containerID, id string) (apitype.Deleted, error) {
	e := s.e
	defer e.Containers.lock(containerID)()
	var f *apitype.ContainerFile
	err := e.store.Update(ctx, func(tx store.Tx) (err error) {
		if f, err = tx.GetContainerFile(containerID, id); err != nil {
			return err
		}
		return tx.DeleteContainerFile(containerID, id)
	})
	if err != nil {
		return apitype.Deleted{}, err
	}
	if m := e.mounts.lookup(containerID); m != nil {
		if name, ok := m.files[id]; ok {
			delete(m.files, id)
			code := fmt.Sprintf("import os\ntry:\n    os.remove(%q)\nexcept FileNotFoundError:\n    pass", "/mnt/data/"+name)
			if _, err := m.sess.Exec(context.WithoutCancel(ctx), code); err != nil {
				e.log.WarnContext(ctx, "remove a deleted file from the container's session", "container", containerID, "file", id, "err", err)
			}
		}
	}
	e.removeBytes(ctx, SpaceContainers, f.ID)
	return apitype.ContainerFileDeleted(id), nil
}

// containerSession is the live sandbox session of a container, with the
// container's files copied into its /mnt/data (once per session); names
// maps each name under /mnt/data to its container file. The caller holds
// the container's lock.
func (e *Engine) containerSession(ctx context.Context, containerID string) (codeinterp.Session, *mounted, error) {
	if e.cfg.CodeInterpreter == nil {
		return nil, nil, errNoSandbox
	}
	sess, err := e.cfg.CodeInterpreter.Session(ctx, containerID)
	if err != nil {
		return nil, nil, err
	}
	m, _ := e.mounts.get(sess)
	var files []apitype.ContainerFile
	if err := e.store.View(ctx, func(tx store.Tx) (err error) {
		files, err = tx.ContainerFiles(containerID)
		return err
	}); err != nil {
		return nil, nil, err
	}
	// Files deleted or replaced since this session last ran — on another
	// replica, whose Delete could not reach this session — leave its
	// /mnt/data before the code runs.
	stored := make(map[string]bool, len(files))
	for _, f := range files {
		stored[f.ID] = true
	}
	var gone []string
	for id, name := range m.files {
		if !stored[id] {
			gone = append(gone, "/mnt/data/"+name)
			delete(m.files, id)
		}
	}
	if len(gone) > 0 {
		code := fmt.Sprintf("import os\nfor p in %s:\n    try:\n        os.remove(p)\n    except FileNotFoundError:\n        pass", pyStrings(gone))
		if _, err := sess.Exec(ctx, code); err != nil {
			return nil, nil, fmt.Errorf("remove deleted files from /mnt/data: %w", err)
		}
	}
	for _, f := range files {
		if _, ok := m.files[f.ID]; ok {
			continue
		}
		data, err := e.readBytes(ctx, SpaceContainers, f.ID, e.cfg.MaxFileBytes)
		if err != nil {
			return nil, nil, fmt.Errorf("container file %s: %w", f.ID, err)
		}
		name := strings.TrimPrefix(f.Path, "/mnt/data/")
		if err := sess.WriteFile(name, data); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		m.files[f.ID] = name
	}
	return sess, m, nil
}

// pyStrings is a Python list literal of ss.
func pyStrings(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// lookup is the record of a live session with this id, if one is known.
func (c *codeMounts) lookup(id string) *mounted {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessions[id]
}
