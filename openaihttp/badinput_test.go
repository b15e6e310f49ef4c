package openaihttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/openaihttp"
)

type badCase struct {
	name, method, path string
	body               string
	ctype              string // default application/json
	auth               string // default "Bearer <testKey>"; "-" sends none
	status             int
	typ                string // error type; default invalid_request_error
	param              string // expected param; "" means not checked
}

func multipartBody(fields map[string]string, file string, size int) (string, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != "" {
		w, _ := mw.CreateFormFile("file", file)
		w.Write(bytes.Repeat([]byte("a"), size))
	}
	mw.Close()
	return b.String(), mw.FormDataContentType()
}

// txID is bbolt's transaction id: it moves with every committed write, so an
// unchanged id proves a request wrote nothing.
func txID(t *testing.T, eng *engine.Engine) int {
	t.Helper()
	var id int
	if err := eng.Store().DB().View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
		t.Fatal(err)
	}
	return id
}

func dirEntries(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(ents)
}

// Malformed requests: each gets the right status and envelope, and nothing
// reaches the database or the files directory.
func TestBadInput(t *testing.T) {
	e := newEnv(t, scripted.Echo(), func(o *openaihttp.Options) {
		o.MaxBodyBytes = 64 << 10
		o.MaxUploadBytes = 128 << 10
	})
	ctx := context.Background()
	a, err := e.eng.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	th, err := e.eng.Threads.Create(ctx, apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: "user", Content: apitype.TextInput("hi")}}})
	if err != nil {
		t.Fatal(err)
	}
	run, err := e.eng.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil || run.Status != apitype.RunCompleted {
		t.Fatalf("setup run %v %v", run, err)
	}
	A, T, R := a.ID, th.ID, run.ID
	big := `{"model":"m","instructions":"` + strings.Repeat("x", 70<<10) + `"}`
	noFile, noFileCT := multipartBody(map[string]string{"purpose": "assistants"}, "", 0)
	noPurpose, noPurposeCT := multipartBody(nil, "a.txt", 10)
	badPurpose, badPurposeCT := multipartBody(map[string]string{"purpose": "nonsense"}, "a.txt", 10)
	hugeFile, hugeFileCT := multipartBody(map[string]string{"purpose": "assistants"}, "a.txt", 200<<10)
	hugeFirst, hugeFirstCT := multipartBody(nil, "a.txt", 200<<10) // file before purpose: spooled path

	cases := []badCase{
		// Bodies that are not JSON objects.
		{name: "truncated JSON", method: "POST", path: "/v1/assistants", body: `{"model":`, status: 400},
		{name: "array body", method: "POST", path: "/v1/assistants", body: `[]`, status: 400},
		{name: "string body", method: "POST", path: "/v1/assistants", body: `"model"`, status: 400},
		{name: "trailing garbage", method: "POST", path: "/v1/assistants", body: `{"model":"m"} x`, status: 400},
		{name: "not JSON at all", method: "POST", path: "/v1/threads", body: `model=m`, status: 400},
		// Bodies a web page can send cross-origin without a preflight.
		{name: "form body", method: "POST", path: "/v1/threads", body: `model=m`, ctype: "application/x-www-form-urlencoded", status: 415},
		{name: "JSON as text/plain", method: "POST", path: "/v1/assistants", body: `{"model":"m"}`, ctype: "text/plain", status: 415},
		{name: "JSON with no content type", method: "POST", path: "/v1/assistants", body: `{"model":"m"}`, ctype: "-", status: 415},
		// Wrong types name the parameter.
		{name: "model number", method: "POST", path: "/v1/assistants", body: `{"model":5}`, status: 400, param: "model"},
		{name: "temperature string", method: "POST", path: "/v1/assistants", body: `{"model":"m","temperature":"hot"}`, status: 400, param: "temperature"},
		{name: "tools object", method: "POST", path: "/v1/assistants", body: `{"model":"m","tools":{}}`, status: 400, param: "tools"},
		{name: "metadata value number", method: "POST", path: "/v1/assistants", body: `{"model":"m","metadata":{"k":1}}`, status: 400, param: "metadata"},
		{name: "response_format number", method: "POST", path: "/v1/assistants", body: `{"model":"m","response_format":7}`, status: 400, param: "response_format"},
		{name: "unknown tool type", method: "POST", path: "/v1/assistants", body: `{"model":"m","tools":[{"type":"teleport"}]}`, status: 400},
		{name: "name too long", method: "POST", path: "/v1/assistants", body: `{"model":"m","name":"` + strings.Repeat("n", 300) + `"}`, status: 400, param: "name"},
		{name: "update tools string", method: "POST", path: "/v1/assistants/" + A, body: `{"tools":"x"}`, status: 400, param: "tools"},
		{name: "messages string", method: "POST", path: "/v1/threads", body: `{"messages":"hi"}`, status: 400, param: "messages"},
		{name: "message bad role", method: "POST", path: "/v1/threads", body: `{"messages":[{"role":"robot","content":"x"}]}`, status: 400},
		{name: "nested wrong type", method: "POST", path: "/v1/threads", body: `{"messages":[{"role":"user","content":"x"},{"role":"user","content":"y","attachments":[{"file_id":7}]}]}`, status: 400, param: "messages[1].attachments[0].file_id"},
		{name: "message content number", method: "POST", path: "/v1/threads", body: `{"messages":[{"role":"user","content":5}]}`, status: 400, param: "messages[0].content"},
		{name: "nested content object", method: "POST", path: "/v1/threads/runs", body: `{"assistant_id":"` + A + `","thread":{"messages":[{"role":"user","content":"a"},{"role":"user","content":{}}]}}`, status: 400, param: "thread.messages[1].content"},
		{name: "message without content", method: "POST", path: "/v1/threads/" + T + "/messages", body: `{"role":"user"}`, status: 400},
		{name: "message bad part", method: "POST", path: "/v1/threads/" + T + "/messages", body: `{"role":"user","content":[{"type":"hologram"}]}`, status: 400},
		{name: "run without assistant", method: "POST", path: "/v1/threads/" + T + "/runs", body: `{}`, status: 400, param: "assistant_id"},
		{name: "run unknown assistant", method: "POST", path: "/v1/threads/" + T + "/runs", body: `{"assistant_id":"asst_nope"}`, status: 404, typ: "not_found_error", param: "assistant_id"},
		{name: "run max_prompt_tokens small", method: "POST", path: "/v1/threads/" + T + "/runs", body: `{"assistant_id":"` + A + `","max_prompt_tokens":10}`, status: 400, param: "max_prompt_tokens"},
		{name: "run tool_choice number", method: "POST", path: "/v1/threads/" + T + "/runs", body: `{"assistant_id":"` + A + `","tool_choice":5}`, status: 400, param: "tool_choice"},
		{name: "run stream string", method: "POST", path: "/v1/threads/" + T + "/runs", body: `{"assistant_id":"` + A + `","stream":"yes"}`, status: 400, param: "stream"},
		{name: "stream on unknown thread", method: "POST", path: "/v1/threads/thread_nope/runs", body: `{"assistant_id":"` + A + `","stream":true}`, status: 404, typ: "not_found_error"},
		{name: "thread and run thread array", method: "POST", path: "/v1/threads/runs", body: `{"assistant_id":"` + A + `","thread":[]}`, status: 400, param: "thread"},
		{name: "submit to completed run", method: "POST", path: "/v1/threads/" + T + "/runs/" + R + "/submit_tool_outputs", body: `{"tool_outputs":[]}`, status: 400},
		{name: "submit outputs string", method: "POST", path: "/v1/threads/" + T + "/runs/" + R + "/submit_tool_outputs", body: `{"tool_outputs":"x"}`, status: 400, param: "tool_outputs"},
		{name: "cancel completed run", method: "POST", path: "/v1/threads/" + T + "/runs/" + R + "/cancel", status: 400},
		{name: "vector store file_ids string", method: "POST", path: "/v1/vector_stores", body: `{"file_ids":"x"}`, status: 400, param: "file_ids"},
		{name: "search unknown store", method: "POST", path: "/v1/vector_stores/vs_nope/search", body: `{"query":"q"}`, status: 404, typ: "not_found_error"},
		{name: "search query number", method: "POST", path: "/v1/vector_stores/vs_nope/search", body: `{"query":5}`, status: 400, param: "query"},
		// Oversize bodies.
		{name: "body over limit", method: "POST", path: "/v1/assistants", body: big, status: 413},
		{name: "message body over limit", method: "POST", path: "/v1/threads/" + T + "/messages", body: `{"role":"user","content":"` + strings.Repeat("y", 70<<10) + `"}`, status: 413},
		// List parameters and cursors.
		{name: "limit zero", method: "GET", path: "/v1/assistants?limit=0", status: 400, param: "limit"},
		{name: "limit word", method: "GET", path: "/v1/assistants?limit=ten", status: 400, param: "limit"},
		{name: "limit 101", method: "GET", path: "/v1/assistants?limit=101", status: 400, param: "limit"},
		{name: "files limit 10001", method: "GET", path: "/v1/files?limit=10001", status: 400, param: "limit"},
		{name: "order sideways", method: "GET", path: "/v1/assistants?order=sideways", status: 400, param: "order"},
		{name: "cursor of another kind", method: "GET", path: "/v1/assistants?after=msg_abc", status: 400, param: "after"},
		{name: "cursor garbage", method: "GET", path: "/v1/threads/" + T + "/messages?before=%21%21%21", status: 400, param: "before"},
		{name: "run cursor on messages", method: "GET", path: "/v1/threads/" + T + "/messages?after=" + R, status: 400, param: "after"},
		{name: "unknown include", method: "GET", path: "/v1/threads/" + T + "/runs/" + R + "/steps?include[]=secrets", status: 400, param: "include[0]"},
		// Unknown ids and paths.
		{name: "unknown assistant", method: "GET", path: "/v1/assistants/asst_nope", status: 404, typ: "not_found_error"},
		{name: "delete unknown assistant", method: "DELETE", path: "/v1/assistants/asst_nope", status: 404, typ: "not_found_error"},
		{name: "messages of unknown thread", method: "GET", path: "/v1/threads/thread_nope/messages", status: 404, typ: "not_found_error"},
		{name: "unknown run", method: "GET", path: "/v1/threads/" + T + "/runs/run_nope", status: 404, typ: "not_found_error"},
		{name: "run of another thread", method: "GET", path: "/v1/threads/thread_other/runs/" + R, status: 404, typ: "not_found_error"},
		{name: "unknown step", method: "GET", path: "/v1/threads/" + T + "/runs/" + R + "/steps/step_nope", status: 404, typ: "not_found_error"},
		{name: "unknown file content", method: "GET", path: "/v1/files/file-nope/content", status: 404, typ: "not_found_error"},
		{name: "traversal in file id", method: "GET", path: "/v1/files/..%2F..%2Fhearth.db/content", status: 404, typ: "not_found_error"},
		{name: "unknown vector store file", method: "GET", path: "/v1/vector_stores/vs_nope/files/file-x", status: 404, typ: "not_found_error"},
		{name: "invalid URL", method: "GET", path: "/v1/engines", status: 404},
		{name: "wrong method", method: "PUT", path: "/v1/assistants", body: `{}`, status: 404},
		// Keys.
		{name: "no key", method: "GET", path: "/v1/assistants", auth: "-", status: 401, typ: "authentication_error"},
		{name: "wrong key", method: "GET", path: "/v1/assistants", auth: "Bearer sk-nope", status: 401, typ: "authentication_error"},
		{name: "basic auth", method: "POST", path: "/v1/assistants", body: `{"model":"m"}`, auth: "Basic " + testKey, status: 401, typ: "authentication_error"},
		{name: "empty bearer", method: "POST", path: "/v1/threads", auth: "Bearer ", status: 401, typ: "authentication_error"},
		// Multipart uploads.
		{name: "upload as JSON", method: "POST", path: "/v1/files", body: `{"purpose":"assistants"}`, status: 400},
		{name: "multipart without file", method: "POST", path: "/v1/files", body: noFile, ctype: noFileCT, status: 400, param: "file"},
		{name: "multipart without purpose", method: "POST", path: "/v1/files", body: noPurpose, ctype: noPurposeCT, status: 400, param: "purpose"},
		{name: "multipart bad purpose", method: "POST", path: "/v1/files", body: badPurpose, ctype: badPurposeCT, status: 400, param: "purpose"},
		{name: "multipart no boundary", method: "POST", path: "/v1/files", body: noFile, ctype: "multipart/form-data", status: 400},
		{name: "multipart torn", method: "POST", path: "/v1/files", body: noFile[:len(noFile)/2], ctype: noFileCT, status: 400},
		{name: "upload over limit", method: "POST", path: "/v1/files", body: hugeFile, ctype: hugeFileCT, status: 413},
		{name: "spooled upload over limit", method: "POST", path: "/v1/files", body: hugeFirst, ctype: hugeFirstCT, status: 413},
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	filesDir := e.eng.Store().Path() + ".files" // engine.Config.FilesDir default
	before, files := txID(t, e.eng), dirEntries(t, filesDir)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, e.srv.URL+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.ctype == "" {
				c.ctype = "application/json"
			}
			if c.ctype != "-" {
				req.Header.Set("Content-Type", c.ctype)
			}
			switch c.auth {
			case "":
				req.Header.Set("Authorization", "Bearer "+testKey)
			case "-":
			default:
				req.Header.Set("Authorization", c.auth)
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			checkEnvelope(t, resp, c.status, c.typ, c.param)
			if now := txID(t, e.eng); now != before {
				t.Fatalf("database written: tx %d → %d", before, now)
			}
			if n := dirEntries(t, filesDir); n != files {
				t.Fatalf("files dir: %d → %d entries", files, n)
			}
		})
	}
}

// checkEnvelope asserts status and the {"error":{message,type,param,code}} body.
func checkEnvelope(t *testing.T, resp *http.Response, status int, typ, param string) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content-type %q", ct)
	}
	var env struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Error == nil {
		t.Fatalf("not an envelope: %s", body)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := env.Error[k]; !ok {
			t.Fatalf("envelope without %q: %s", k, body)
		}
	}
	if msg, _ := env.Error["message"].(string); msg == "" {
		t.Fatalf("empty message: %s", body)
	}
	if typ == "" {
		typ = "invalid_request_error"
	}
	if env.Error["type"] != typ {
		t.Fatalf("type %v, want %s: %s", env.Error["type"], typ, body)
	}
	if param != "" && env.Error["param"] != param {
		t.Fatalf("param %v, want %s: %s", env.Error["param"], param, body)
	}
}

// Without keys, a request from a non-loopback address is refused whatever
// the listener.
func TestNoKeysLoopbackOnly(t *testing.T) {
	e := newEnv(t, scripted.Echo(), func(o *openaihttp.Options) { o.Keys = nil })
	req := httptest.NewRequest("GET", "/v1/assistants", nil)
	req.RemoteAddr = "192.0.2.7:4000"
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	checkEnvelope(t, rec.Result(), 403, "permission_error", "")
	req = httptest.NewRequest("GET", "/v1/assistants", nil)
	req.RemoteAddr = "[::1]:4000"
	req.Host = "localhost" // a foreign Host is refused (DNS rebinding)
	rec = httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("loopback: %d %s", rec.Code, rec.Body)
	}
}
