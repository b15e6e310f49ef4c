package openaihttp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/scripted"
)

// FuzzDecode: any body decodes or fails with a 400 *apitype.Error; never a
// panic, never another error type.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"model":"m"}`, `[]`, `{"model":5}`, `{"tools":[{"type":"function","function":{"name":"x"}}]}`,
		`{"tool_choice":{"type":"function"}}`, `{"response_format":"json"}`, `{"thread":{"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}}`,
		`{"content":7}`, `{"metadata":{"a":null}}`, `{"query":["a",1]}`, "{\"a\":\"\xff\"}", `{"stream":true}{`, `nul`, `{"max_prompt_tokens":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, dst := range []any{&apitype.AssistantCreateParams{}, &apitype.ThreadAndRunCreateParams{}, &apitype.RunCreateParams{},
			&apitype.MessageCreateParams{}, &apitype.VectorStoreSearchParams{}, &apitype.SubmitToolOutputsParams{}} {
			err := unmarshalParams(b, dst)
			if err == nil {
				continue
			}
			var ae *apitype.Error
			if !errors.As(err, &ae) || ae.Status != 400 || ae.Message == "" {
				t.Fatalf("%T: %q → %#v", dst, b, err)
			}
		}
	})
}

// FuzzHandler: any body on the JSON endpoints answers 2xx or a 4xx envelope,
// never a 5xx.
func FuzzHandler(f *testing.F) {
	for _, s := range []string{`{"model":"m"}`, `{"model":"m","tools":[{"type":"code_interpreter"}]}`, `{}`, `{"messages":[{"role":"user","content":"hi"}]}`,
		`{"assistant_id":"asst_x"}`, `{"model":"m","response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{}}}}`,
		`{"model":"m","metadata":{"` + strings.Repeat("k", 70) + `":"v"}}`, `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:,"}}]}]}`} {
		f.Add(uint8(0), s)
		f.Add(uint8(1), s)
		f.Add(uint8(2), s)
	}
	eng, err := engine.Open(context.Background(), engine.Config{Path: filepath.Join(f.TempDir(), "fuzz.db"), Model: scripted.Echo(), NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { eng.Close() })
	h := NewHandler(eng, Options{Logger: slog.New(slog.DiscardHandler)})
	paths := []string{"/v1/assistants", "/v1/threads", "/v1/threads/runs", "/v1/vector_stores"}
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		req := httptest.NewRequest("POST", paths[int(which)%len(paths)], strings.NewReader(body))
		// A loopback client with a JSON body, so the body reaches the decoders.
		req.RemoteAddr, req.Host = "127.0.0.1:40000", "localhost"
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q → %d %s", req.URL.Path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var env apitype.ErrorBody
			if json.Unmarshal(rec.Body.Bytes(), &env) != nil || env.Error == nil || env.Error.Message == "" {
				t.Fatalf("not an envelope: %s", rec.Body)
			}
		}
	})
}
