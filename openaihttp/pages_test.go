package openaihttp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/openaihttp"
	"github.com/hearth-go/hearth/playground"
)

func get(t *testing.T, h http.Handler, path, remote, accept string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+path, nil)
	r.RemoteAddr = remote
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// The Playground is code, not data: with keys it is served without one (it
// asks for the key), with its CSP; without keys only to loopback clients.
func TestPlaygroundRoutes(t *testing.T) {
	e := newEnv(t, scripted.Echo(), func(o *openaihttp.Options) { o.Playground = true })
	const local = "127.0.0.1:5000"
	w := get(t, e.h, "/playground/", local, "")
	if w.Code != 200 || w.Header().Get("Content-Security-Policy") != playground.CSP || w.Header().Get("X-Frame-Options") != "DENY" ||
		!strings.Contains(w.Body.String(), `<script src="app.js"`) || strings.Contains(w.Body.String(), "<script>") {
		t.Fatalf("/playground/: %d %v\n%s", w.Code, w.Header(), w.Body)
	}
	if w := get(t, e.h, "/playground/app.js", "10.0.0.2:5000", ""); w.Code != 200 || !strings.Contains(w.Header().Get("Content-Type"), "javascript") {
		t.Errorf("app.js from another machine with keys set: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	if w := get(t, e.h, "/playground", local, ""); w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != "/playground/" {
		t.Errorf("/playground: %d %s", w.Code, w.Header().Get("Location"))
	}
	if w := get(t, e.h, "/", local, "text/html,application/xhtml+xml"); w.Code != 200 || !strings.Contains(w.Body.String(), `href="/playground/"`) ||
		!strings.Contains(w.Body.String(), "Hearth is running") {
		t.Errorf("/ for a browser: %d %s", w.Code, w.Body)
	}
	if w := get(t, e.h, "/", local, ""); !strings.Contains(w.Body.String(), `"playground":"/playground/"`) {
		t.Errorf("/ as JSON: %s", w.Body)
	}
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/playground/", strings.NewReader("x"))
	r.RemoteAddr = local
	pw := httptest.NewRecorder()
	e.h.ServeHTTP(pw, r)
	if pw.Code == 200 {
		t.Errorf("POST /playground/ served")
	}

	keyless := newEnv(t, scripted.Echo(), func(o *openaihttp.Options) { o.Playground, o.Keys = true, nil })
	if w := get(t, keyless.h, "/playground/", "10.0.0.2:5000", ""); w.Code != http.StatusForbidden {
		t.Errorf("keyless, another machine: %d", w.Code)
	}
	if w := get(t, keyless.h, "/playground/", local, ""); w.Code != 200 {
		t.Errorf("keyless, loopback: %d", w.Code)
	}
	off := newEnv(t, scripted.Echo())
	if w := get(t, off.h, "/playground/", local, ""); w.Code == 200 { // the catch-all: 401 with keys, 404 with one
		t.Errorf("without Options.Playground: %d", w.Code)
	}
}

// GET /v1/threads, a Hearth extension, pages like every list.
func TestListThreads(t *testing.T) {
	e := newEnv(t, scripted.Echo())
	ctx := context.Background()
	var made []string
	for range 3 {
		th, err := e.client.Beta.Threads.New(ctx, openai.BetaThreadNewParams{})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, th.ID)
	}
	type page struct {
		Data []struct {
			ID        string `json:"id"`
			CreatedAt int64  `json:"created_at"`
		} `json:"data"`
		HasMore bool   `json:"has_more"`
		LastID  string `json:"last_id"`
	}
	list := func(q string) (page, int) {
		var p page
		req, _ := http.NewRequest("GET", e.srv.URL+"/v1/threads?"+q, nil)
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == 200 {
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
		}
		return p, resp.StatusCode
	}
	first, _ := list("limit=2")
	if len(first.Data) != 2 || !first.HasMore {
		t.Fatalf("first page: %+v", first)
	}
	second, _ := list("limit=2&after=" + first.LastID)
	if len(second.Data) != 1 || second.HasMore {
		t.Fatalf("second page: %+v", second)
	}
	var desc []string
	for _, d := range append(first.Data, second.Data...) {
		desc = append(desc, d.ID)
	}
	asc, _ := list("order=asc")
	var ascIDs []string
	for _, d := range asc.Data {
		ascIDs = append(ascIDs, d.ID)
	}
	slices.Reverse(ascIDs)
	if !slices.Equal(desc, ascIDs) {
		t.Errorf("desc %v, asc reversed %v", desc, ascIDs)
	}
	slices.Sort(made)
	slices.Sort(desc)
	if !slices.Equal(made, desc) {
		t.Errorf("listed %v, made %v", desc, made)
	}
	// Cursors work as in every list: a position by id, refused when it is
	// not a thread id.
	if _, code := list("after=asst_01m98jr7ms8pmk14d45z5e8zqt"); code != 400 {
		t.Errorf("an assistant id as the cursor: %d", code)
	}
}
