package openaihttp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/openaihttp"
	"github.com/hearth-go/hearth/store"
)

// onlyDriver hides the bbolt store's optional interfaces, as a store
// driver of another database lacks them.
type onlyDriver struct{ store.Driver }

// The admin backup and compaction work on a bbolt file: on another store
// driver they answer a typed 400 instead of failing on a nil store.
func TestAdminWithoutBolt(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "hearth.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng, err := engine.Open(context.Background(), engine.Config{Store: onlyDriver{st}, FilesDir: t.TempDir(),
		FileIndex: &wordIndex{}, Model: scripted.Echo(), Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	h := openaihttp.NewHandler(eng, openaihttp.Options{Keys: []string{testKey}, Admin: true, Logger: discardLogger()})
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Drain()
	for _, c := range []struct{ method, path string }{{"GET", "/admin/backup"}, {"POST", "/admin/compact"}} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body apitype.ErrorBody
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusBadRequest || body.Error == nil || body.Error.Type != apitype.ErrorTypeInvalidRequest {
			t.Errorf("%s %s: status %d, body %+v, err %v; want a 400 invalid_request_error", c.method, c.path, resp.StatusCode, body.Error, err)
		}
	}
}
