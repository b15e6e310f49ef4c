package engine_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/codeinterp"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/scripted"
)

// closingSandbox records the sessions the engine closes.
type closingSandbox struct {
	noSandbox
	mu     sync.Mutex
	closed []string
}

func (s *closingSandbox) CloseSession(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = append(s.closed, id)
	return nil
}

func (s *closingSandbox) closedIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.closed)
}

func mustUpload(t testing.TB, e *engine.Engine, name, content string) *apitype.File {
	t.Helper()
	f, err := e.Files.Create(context.Background(), strings.NewReader(content), apitype.FileCreateParams{Filename: name, Purpose: "assistants"})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func containerFileText(t testing.TB, e *engine.Engine, cid, fid string) string {
	t.Helper()
	_, rc, err := e.Containers.Files.Content(context.Background(), cid, fid)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The Containers API in Go: a container made with files (two of the same
// name get distinct paths), files added by id and by upload, listed in
// pages, read and deleted; deleting the container ends its session and
// removes every file's bytes.
func TestContainersCRUD(t *testing.T) {
	ctx := context.Background()
	sb := &closingSandbox{}
	e := openEngine(t, scripted.Echo(), func(c *engine.Config) { c.CodeInterpreter = sb })
	a, b := mustUpload(t, e, "data.csv", "x,y\n1,2\n"), mustUpload(t, e, "data.csv", "other")
	c, err := e.Containers.Create(ctx, apitype.ContainerCreateParams{Name: "analysis", FileIDs: []string{a.ID, b.ID},
		ExpiresAfter: &apitype.ContainerExpiresAfter{Anchor: "last_active_at", Minutes: 5}, MemoryLimit: "4g"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.ID, "cntr_") || c.Object != "container" || c.Status != "active" || c.Name != "analysis" ||
		c.ExpiresAfter.Minutes != 5 || c.MemoryLimit != "4g" || c.LastActiveAt != c.CreatedAt {
		t.Fatalf("container %+v", c)
	}
	up, err := e.Containers.Files.Upload(ctx, c.ID, strings.NewReader("uploaded"), "notes.txt")
	if err != nil {
		t.Fatal(err)
	}
	byID, err := e.Containers.Files.Create(ctx, c.ID, apitype.ContainerFileCreateParams{FileID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for f, err := range e.Containers.Files.All(ctx, c.ID, apitype.ListParams{Order: "asc", Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		if f.Object != "container.file" || f.ContainerID != c.ID || f.Source != "user" || !strings.HasPrefix(f.ID, "cfile_") {
			t.Fatalf("file %+v", f)
		}
		paths = append(paths, f.Path)
	}
	if len(paths) != 4 || paths[0] != "/mnt/data/data.csv" || paths[1] != "/mnt/data/"+b.ID+"-data.csv" || paths[2] != "/mnt/data/notes.txt" ||
		paths[3] != "/mnt/data/"+byID.ID+"-data.csv" {
		t.Fatalf("paths %q", paths)
	}
	if got := containerFileText(t, e, c.ID, up.ID); got != "uploaded" || up.Bytes != 8 {
		t.Fatalf("uploaded file %q %+v", got, up)
	}
	if got := containerFileText(t, e, c.ID, byID.ID); got != "x,y\n1,2\n" {
		t.Fatalf("copied file %q", got)
	}
	// Deleting the uploaded File leaves the container's copy whole.
	if _, err := e.Files.Delete(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if got := containerFileText(t, e, c.ID, byID.ID); got != "x,y\n1,2\n" {
		t.Fatalf("after the source's delete: %q", got)
	}
	if d, err := e.Containers.Files.Delete(ctx, c.ID, up.ID); err != nil || !d.Deleted || d.Object != "container.file.deleted" {
		t.Fatalf("delete file %v %+v", err, d)
	}
	if _, err := e.Containers.Files.Retrieve(ctx, c.ID, up.ID); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("deleted file: %v", err)
	}
	other, err := e.Containers.Create(ctx, apitype.ContainerCreateParams{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	page, err := e.Containers.List(ctx, apitype.ContainerListParams{Name: "analysis"})
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != c.ID {
		t.Fatalf("list by name %v %+v", err, page)
	}
	page, err = e.Containers.List(ctx, apitype.ContainerListParams{ListParams: apitype.ListParams{Limit: 1}})
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != other.ID || !page.HasMore {
		t.Fatalf("list newest first %v %+v", err, page)
	}
	// A file of one container is not found through another.
	if _, err := e.Containers.Files.Retrieve(ctx, other.ID, byID.ID); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("file through another container: %v", err)
	}
	if d, err := e.Containers.Delete(ctx, c.ID); err != nil || d.Object != "container.deleted" {
		t.Fatalf("delete %v %+v", err, d)
	}
	if got := sb.closedIDs(); !slices.Contains(got, c.ID) {
		t.Fatalf("closed sessions %q", got)
	}
	if _, err := e.Containers.Retrieve(ctx, c.ID); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("deleted container: %v", err)
	}
	if left := containerDirFiles(t, e); len(left) != 0 {
		t.Fatalf("bytes left after the delete: %q", left)
	}
}

// containerDirFiles lists the bytes kept for container files.
func containerDirFiles(t testing.TB, e *engine.Engine) []string {
	t.Helper()
	if onPostgres {
		return pgByteIDs(t, e, "container_file_chunks")
	}
	entries, err := os.ReadDir(filepath.Join(engineFilesDir(e), "containers"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ent := range entries {
		names = append(names, ent.Name())
	}
	return names
}

func engineFilesDir(e *engine.Engine) string { return e.Store().Path() + ".files" }

// Bad input to the Containers API: each a 4xx naming the parameter, and
// nothing written (no container, no bytes).
func TestContainersBadInput(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, scripted.Echo(), func(c *engine.Config) { c.MaxFileBytes = 16 })
	f := mustUpload(t, e, "a.txt", "a")
	for _, c := range []struct {
		name  string
		p     apitype.ContainerCreateParams
		param string
	}{
		{"no name", apitype.ContainerCreateParams{}, "name"},
		{"unknown file", apitype.ContainerCreateParams{Name: "x", FileIDs: []string{f.ID, "file-nope"}}, "file_ids[1]"},
		{"minutes 0", apitype.ContainerCreateParams{Name: "x", ExpiresAfter: &apitype.ContainerExpiresAfter{Anchor: "last_active_at"}}, "expires_after.minutes"},
		{"bad anchor", apitype.ContainerCreateParams{Name: "x", ExpiresAfter: &apitype.ContainerExpiresAfter{Anchor: "created_at", Minutes: 1}}, "expires_after.anchor"},
		{"bad memory", apitype.ContainerCreateParams{Name: "x", MemoryLimit: "2g"}, "memory_limit"},
	} {
		_, err := e.Containers.Create(ctx, c.p)
		var ae *apitype.Error
		if !errors.As(err, &ae) || ae.Status != 400 || ae.Param != c.param {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if page, _ := e.Containers.List(ctx, apitype.ContainerListParams{}); len(page.Data) != 0 {
		t.Fatalf("a refused create left %d containers", len(page.Data))
	}
	if left := containerDirFiles(t, e); len(left) != 0 {
		t.Fatalf("a refused create left bytes: %q", left)
	}
	c, err := e.Containers.Create(ctx, apitype.ContainerCreateParams{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Containers.Files.Upload(ctx, c.ID, strings.NewReader(strings.Repeat("z", 17)), "big.bin")
	if ae := (*apitype.Error)(nil); !errors.As(err, &ae) || ae.Code != "file_too_large" {
		t.Fatalf("oversized upload: %v", err)
	}
	for _, bad := range []func() error{
		func() error {
			_, err := e.Containers.Files.Upload(ctx, "cntr_nope", strings.NewReader("a"), "a.txt")
			return err
		},
		func() error {
			_, err := e.Containers.Files.Create(ctx, c.ID, apitype.ContainerFileCreateParams{FileID: "file-nope"})
			return err
		},
		func() error {
			_, err := e.Containers.Files.Upload(ctx, c.ID, strings.NewReader("a"), "../")
			return err
		},
	} {
		if err := bad(); err == nil {
			t.Fatal("accepted")
		}
	}
	if page, _ := e.Containers.Files.List(ctx, c.ID, apitype.ListParams{}); len(page.Data) != 0 {
		t.Fatalf("refused files were recorded: %+v", page.Data)
	}
	if left := containerDirFiles(t, e); len(left) != 0 {
		t.Fatalf("refused files left bytes: %q", left)
	}
	// Strict decoding over the wire shape.
	for body, param := range map[string]string{
		`{}`: "name",
		`{"name":"x","expires_after":{"minutes":3}}`:                             "expires_after.anchor",
		`{"name":"x","expires_after":{"anchor":"last_active_at"}}`:               "expires_after.minutes",
		`{"name":"x","network_policy":{"type":"allowlist"}}`:                     "network_policy",
		`{"name":"x","colour":"red"}`:                                            "colour",
		`{"name":"x","file_ids":"file-1"}`:                                       "file_ids",
		`{"name":"x","memory_limit":"3g"}`:                                       "memory_limit",
		`{"name":"x","expires_after":{"anchor":"last_active_at","minutes":"5"}}`: "expires_after.minutes",
	} {
		var p apitype.ContainerCreateParams
		err := p.UnmarshalJSON([]byte(body))
		var ae *apitype.Error
		if !errors.As(err, &ae) || ae.Param != param {
			t.Errorf("%s: %v", body, err)
		}
	}
}

// A container idle for expires_after minutes expires: reads before then
// keep it alive (last_active_at moves), the expirer ends it after, its
// session is closed and its files deleted, and it can no longer be used.
func TestContainerIdleExpiry(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	sb := &closingSandbox{}
	e := openEngine(t, scripted.Echo(), func(c *engine.Config) {
		c.Clock, c.ExpiryInterval, c.CodeInterpreter = clock.Now, time.Hour, sb
	})
	c, err := e.Containers.Create(ctx, apitype.ContainerCreateParams{Name: "x", FileIDs: []string{mustUpload(t, e, "a.txt", "a").ID},
		ExpiresAfter: &apitype.ContainerExpiresAfter{Anchor: "last_active_at", Minutes: 2}})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(90 * time.Second)
	engine.ExpireContainersDue(e, ctx)
	got, err := e.Containers.Retrieve(ctx, c.ID) // activity: the idle time starts again
	if err != nil || got.Status != "active" || got.LastActiveAt != clock.Now().Unix() {
		t.Fatalf("at 90s: %v %+v", err, got)
	}
	clock.Advance(119 * time.Second)
	engine.ExpireContainersDue(e, ctx)
	if page, _ := e.Containers.List(ctx, apitype.ContainerListParams{}); page.Data[0].Status != "active" {
		t.Fatalf("expired a second early: %+v", page.Data[0])
	}
	clock.Advance(time.Second)
	engine.ExpireContainersDue(e, ctx)
	page, _ := e.Containers.List(ctx, apitype.ContainerListParams{})
	if page.Data[0].Status != "expired" {
		t.Fatalf("not expired at 2 min idle: %+v", page.Data[0])
	}
	if !slices.Contains(sb.closedIDs(), c.ID) {
		t.Fatalf("the expired container's session was not closed: %q", sb.closedIDs())
	}
	if files, err := e.Containers.Files.List(ctx, c.ID, apitype.ListParams{}); err != nil || len(files.Data) != 0 {
		t.Fatalf("files of the expired container: %v %+v", err, files)
	}
	if left := containerDirFiles(t, e); len(left) != 0 {
		t.Fatalf("bytes left after expiry: %q", left)
	}
	_, err = e.Containers.Files.Upload(ctx, c.ID, strings.NewReader("a"), "b.txt")
	if ae := (*apitype.Error)(nil); !errors.As(err, &ae) || ae.Code != "container_expired" || ae.Status != 400 {
		t.Fatalf("upload to an expired container: %v", err)
	}
	// Expired by a read, with no expirer pass.
	d, err := e.Containers.Create(ctx, apitype.ContainerCreateParams{Name: "y", ExpiresAfter: &apitype.ContainerExpiresAfter{Anchor: "last_active_at", Minutes: 1}})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if got, err := e.Containers.Retrieve(ctx, d.ID); err != nil || got.Status != "expired" {
		t.Fatalf("read after a minute idle: %v %+v", err, got)
	}
	// Overdue, not yet expired by anyone: an upload expires it and is refused.
	o, err := e.Containers.Create(ctx, apitype.ContainerCreateParams{Name: "z", ExpiresAfter: &apitype.ContainerExpiresAfter{Anchor: "last_active_at", Minutes: 1}})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	_, err = e.Containers.Files.Upload(ctx, o.ID, strings.NewReader("a"), "a.txt")
	if ae := (*apitype.Error)(nil); !errors.As(err, &ae) || ae.Code != "container_expired" {
		t.Fatalf("upload to an overdue container: %v", err)
	}
	if got, err := e.Containers.Retrieve(ctx, o.ID); err != nil || got.Status != "expired" {
		t.Fatalf("after the refused upload: %v %+v", err, got)
	}
	if left := containerDirFiles(t, e); len(left) != 0 {
		t.Fatalf("the refused upload left bytes: %q", left)
	}
}

var _ codeinterp.Sandbox = (*closingSandbox)(nil)
