package openaihttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/hearth-go/hearth/llm/scripted"
)

// The Containers API through openai-go v3: containers made, read, listed
// (by name, paged) and deleted; files added by upload and by file_id,
// listed, read, their content fetched, deleted.
func TestOpenAIGoContainers(t *testing.T) {
	e := newEnv(t, scripted.New())
	ctx := context.Background()
	cs := &e.client.Containers
	up, err := e.client.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader("a,b\n1,2\n"), "data.csv", "text/csv"),
		Purpose: openai.FilePurposeAssistants})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cs.New(ctx, openai.ContainerNewParams{Name: "analysis", FileIDs: []string{up.ID},
		ExpiresAfter: openai.ContainerNewParamsExpiresAfter{Anchor: "last_active_at", Minutes: 30},
		MemoryLimit:  openai.ContainerNewParamsMemoryLimit4g})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.ID, "cntr_") || c.Object != "container" || c.Status != "active" || c.Name != "analysis" ||
		c.ExpiresAfter.Anchor != "last_active_at" || c.ExpiresAfter.Minutes != 30 || c.MemoryLimit != "4g" || c.LastActiveAt == 0 ||
		c.NetworkPolicy.Type != "disabled" {
		t.Fatalf("created %s", c.RawJSON())
	}
	if g, err := cs.Get(ctx, c.ID); err != nil || g.ID != c.ID || g.Name != "analysis" {
		t.Fatalf("get %v %v", g, err)
	}
	other, err := cs.New(ctx, openai.ContainerNewParams{Name: "other"})
	if err != nil || other.ExpiresAfter.Minutes != 20 || other.MemoryLimit != "1g" {
		t.Fatalf("defaults %v %v", other, err)
	}
	var names []string
	pager := cs.ListAutoPaging(ctx, openai.ContainerListParams{Limit: openai.Int(1)})
	for pager.Next() {
		names = append(names, pager.Current().Name)
	}
	if err := pager.Err(); err != nil || strings.Join(names, ",") != "other,analysis" {
		t.Fatalf("auto-paged %v %v", names, err)
	}
	byName, err := cs.List(ctx, openai.ContainerListParams{Name: openai.String("analysis")})
	if err != nil || len(byName.Data) != 1 || byName.Data[0].ID != c.ID {
		t.Fatalf("by name %v %v", byName, err)
	}

	fs := &cs.Files
	uploaded, err := fs.New(ctx, c.ID, openai.ContainerFileNewParams{File: openai.File(strings.NewReader("notes"), "notes.txt", "text/plain")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(uploaded.ID, "cfile_") || uploaded.Object != "container.file" || uploaded.Path != "/mnt/data/notes.txt" ||
		uploaded.Bytes != 5 || uploaded.Source != "user" || uploaded.ContainerID != c.ID {
		t.Fatalf("uploaded %s", uploaded.RawJSON())
	}
	copied, err := fs.New(ctx, other.ID, openai.ContainerFileNewParams{FileID: openai.String(up.ID)})
	if err != nil || copied.Path != "/mnt/data/data.csv" || copied.Bytes != 8 {
		t.Fatalf("by file_id %v %v", copied, err)
	}
	list, err := fs.List(ctx, c.ID, openai.ContainerFileListParams{Order: openai.ContainerFileListParamsOrderAsc})
	if err != nil || len(list.Data) != 2 || list.Data[0].Path != "/mnt/data/data.csv" || list.Data[1].ID != uploaded.ID {
		t.Fatalf("files %v %v", list, err)
	}
	if g, err := fs.Get(ctx, c.ID, uploaded.ID); err != nil || g.Path != uploaded.Path {
		t.Fatalf("file get %v %v", g, err)
	}
	resp, err := fs.Content.Get(ctx, c.ID, uploaded.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "notes" {
		t.Fatalf("content %q", b)
	}
	if err := fs.Delete(ctx, c.ID, uploaded.ID); err != nil {
		t.Fatal(err)
	}
	_, err = fs.Get(ctx, c.ID, uploaded.ID)
	apiErr(t, err, 404, "not_found_error")
	// A file is found only through its own container.
	_, err = fs.Get(ctx, c.ID, copied.ID)
	apiErr(t, err, 404, "not_found_error")
	if err := cs.Delete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	_, err = cs.Get(ctx, c.ID)
	apiErr(t, err, 404, "not_found_error")
}

// The container routes' bad input: each the API's 4xx with its param.
func TestContainersHTTPBadInput(t *testing.T) {
	e := newEnv(t, scripted.New())
	do := func(method, path, ctype string, body []byte) (int, map[string]any) {
		req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Error map[string]any `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out.Error
	}
	status, _ := do("POST", "/v1/containers", "application/json", []byte(`{"name":"ok"}`))
	if status != 200 {
		t.Fatalf("create: %d", status)
	}
	page, err := e.client.Containers.List(context.Background(), openai.ContainerListParams{})
	if err != nil || len(page.Data) != 1 {
		t.Fatal(err)
	}
	id := page.Data[0].ID
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	fw, _ := w.CreateFormFile("file", "a.txt")
	fw.Write([]byte("a"))
	w.WriteField("file_id", "file-x")
	w.Close()
	for _, c := range []struct {
		method, path, ctype, body string
		status                    int
		param                     string
	}{
		{"POST", "/v1/containers", "application/json", `{}`, 400, "name"},
		{"POST", "/v1/containers", "application/json", `{"name":"x","expires_after":{"anchor":"created_at","minutes":1}}`, 400, "expires_after.anchor"},
		{"POST", "/v1/containers", "application/json", `{"name":"x","expires_after":{"anchor":"last_active_at","minutes":0}}`, 400, "expires_after.minutes"},
		{"POST", "/v1/containers", "application/json", `{"name":"x","file_ids":["file-nope"]}`, 400, "file_ids[0]"},
		{"POST", "/v1/containers", "application/json", `{"name":"x","bogus":1}`, 400, "bogus"},
		{"GET", "/v1/containers/cntr_nope", "", ``, 404, ""},
		{"GET", "/v1/containers?limit=0", "", ``, 400, "limit"},
		{"POST", "/v1/containers/" + id + "/files", "application/json", `{}`, 400, "file_id"},
		{"POST", "/v1/containers/" + id + "/files", "application/json", `{"file_id":"file-nope"}`, 400, "file_id"},
		{"POST", "/v1/containers/cntr_nope/files", "application/json", `{"file_id":"file-nope"}`, 404, ""},
		{"POST", "/v1/containers/" + id + "/files", w.FormDataContentType(), mp.String(), 400, "file"},
		{"GET", "/v1/containers/" + id + "/files/cfile_nope/content", "", ``, 404, ""},
		{"DELETE", "/v1/containers/" + id + "/files/cfile_nope", "", ``, 404, ""},
	} {
		status, errBody := do(c.method, c.path, c.ctype, []byte(c.body))
		got, _ := errBody["param"].(string)
		if status != c.status || got != c.param {
			t.Errorf("%s %s %s: %d %v, want %d param %q", c.method, c.path, c.body, status, errBody, c.status, c.param)
		}
	}
	files, err := e.client.Containers.Files.List(context.Background(), id, openai.ContainerFileListParams{})
	if err != nil || len(files.Data) != 0 {
		t.Fatalf("refused files were kept: %v %+v", err, files)
	}
	page, err = e.client.Containers.List(context.Background(), openai.ContainerListParams{})
	if err != nil || len(page.Data) != 1 {
		t.Fatalf("refused containers were kept: %v %+v", err, page)
	}
}
