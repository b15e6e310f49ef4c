package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/store"
)

// server runs `hearth serve` in-process until stop is called.
type server struct {
	url  string
	stop func() error
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func startServe(t *testing.T, env map[string]string, args ...string) *server {
	t.Helper()
	return startServeModel(t, env, nil, args...)
}

func startServeModel(t *testing.T, env map[string]string, model llm.Model, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	addr := make(chan string, 1)
	a := &app{stdout: logs, stderr: logs, getenv: func(k string) string { return env[k] }, listening: func(s string) { addr <- s }, model: model}
	done := make(chan error, 1)
	// The interpreter is tested in codeinterp/wasi and engine; serve tests skip
	// its start-up.
	go func() {
		done <- a.run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--code-interpreter", "off"}, args...))
	}()
	select {
	case s := <-addr:
		stop := sync.OnceValue(func() error { cancel(); return <-done })
		t.Cleanup(func() { stop() })
		return &server{url: "http://" + s, stop: stop, logs: logs}
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v\n%s", err, logs)
	}
	return nil
}

func do(t *testing.T, method, url, key, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestVersionAndUsage(t *testing.T) {
	var out bytes.Buffer
	a := &app{stdout: &out, stderr: io.Discard, getenv: func(string) string { return "" }}
	if err := a.run(context.Background(), []string{"version"}); err != nil || !strings.HasPrefix(out.String(), "hearth ") {
		t.Fatalf("version: %v %q", err, out.String())
	}
	if err := a.run(context.Background(), []string{"frobnicate"}); err == nil {
		t.Fatal("unknown command accepted")
	}
	if err := a.run(context.Background(), []string{"serve", "--model-backend", "gpt"}); err == nil {
		t.Fatal("unknown backend accepted")
	}
}

func TestServeRefusesPublicAddressWithoutKeys(t *testing.T) {
	a := &app{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:8080"} {
		err := a.run(context.Background(), []string{"serve", "--db", filepath.Join(t.TempDir(), "h.db"), "--addr", addr})
		if err == nil || !strings.Contains(err.Error(), "without API keys") {
			t.Fatalf("%s: %v", addr, err)
		}
	}
}

// Serve with a key, write through HTTP, back up online through the server,
// see the direct file backup refused while the server holds the file, then
// stop and back up the file directly.
func TestServeAndBackup(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "h.db")
	keysFile := filepath.Join(dir, "keys")
	os.WriteFile(keysFile, []byte("# keys\nsk-one\n\nsk-two\n"), 0o600)
	srv := startServe(t, map[string]string{"HEARTH_DB": db, "HEARTH_LOG_FORMAT": "json", "HEARTH_MODEL_BACKEND": "scripted"}, "--keys-file", keysFile)
	if !strings.Contains(srv.logs.String(), `"model_backend":"scripted"`) {
		t.Fatalf("startup log does not say the backend: %s", srv.logs)
	}
	if code, body := do(t, "POST", srv.url+"/v1/assistants", "sk-two", `{"model":"m","name":"Backed up"}`); code != 200 {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, _ := do(t, "GET", srv.url+"/v1/assistants", "", ""); code != 401 {
		t.Fatalf("no key: %d", code)
	}
	if code, _ := do(t, "GET", srv.url+"/admin/backup", "", ""); code != 401 {
		t.Fatalf("backup without key: %d", code)
	}
	// The serve's own HEARTH_API_KEYS (its first key), or the deprecated
	// HEARTH_API_KEY with a warning.
	var warned syncBuffer
	old := &app{stdout: io.Discard, stderr: &warned, getenv: envMap{"HEARTH_API_KEY": "sk-two"}.get}
	if err := old.run(context.Background(), []string{"backup", "--server", srv.url, filepath.Join(dir, "old.db")}); err != nil ||
		!strings.Contains(warned.String(), "HEARTH_API_KEY is deprecated; rename it HEARTH_API_KEYS") {
		t.Fatalf("backup with HEARTH_API_KEY: %v %q", err, warned.String())
	}
	env := map[string]string{"HEARTH_API_KEYS": "sk-one, sk-two"}
	var quiet syncBuffer
	a := &app{stdout: io.Discard, stderr: &quiet, getenv: func(k string) string { return env[k] }}
	online := filepath.Join(dir, "online.db")
	if err := a.run(context.Background(), []string{"backup", "--server", srv.url, online}); err != nil || quiet.String() != "" {
		t.Fatalf("backup with HEARTH_API_KEYS: %v %q", err, quiet.String())
	}
	err := a.run(context.Background(), []string{"backup", "--db", db, filepath.Join(dir, "direct.db")})
	if err == nil || !strings.Contains(err.Error(), "--server") {
		t.Fatalf("direct backup of a held file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "direct.db.partial")); !os.IsNotExist(err) {
		t.Fatal("partial file left behind")
	}
	if err := a.run(context.Background(), []string{"backup", "--server", srv.url, online}); err == nil {
		t.Fatal("backup overwrote an existing file")
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	offline := filepath.Join(dir, "offline.db")
	if err := a.run(context.Background(), []string{"backup", "--db", db, offline}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{online, offline} {
		e, err := engine.Open(context.Background(), engine.Config{Path: p})
		if err != nil {
			t.Fatal(err)
		}
		page, err := e.Assistants.List(context.Background(), apitype.ListParams{})
		e.Close()
		if err != nil || len(page.Data) != 1 || *page.Data[0].Name != "Backed up" {
			t.Fatalf("%s: %+v %v", p, page, err)
		}
	}
}

// Shutdown ends an open stream cleanly (an error event, then done) while
// its run is in flight, and the run finishes after the next start.
func TestGracefulShutdownResumesRuns(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "h.db")
	env := map[string]string{"HEARTH_DB": db}
	// First life: the model streams a little, then hangs.
	srv := startServeModel(t, env, scripted.New(scripted.Turn{Text: "Thinking about it", Block: true}))
	code, body := do(t, "POST", srv.url+"/v1/assistants", "", `{"model":"m"}`)
	if code != 200 {
		t.Fatal(body)
	}
	asst := jsonField(body, "id")
	req, _ := http.NewRequest("POST", srv.url+"/v1/threads/runs", strings.NewReader(
		`{"assistant_id":"`+asst+`","stream":true,"thread":{"messages":[{"role":"user","content":"hello"}]}}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var lines []string
	var thread string
	stopped := make(chan error, 1)
	stopping := false
	for sc.Scan() {
		if sc.Text() != "" { // event separators
			lines = append(lines, sc.Text())
		}
		if thread == "" && strings.HasPrefix(sc.Text(), "data: ") && strings.Contains(sc.Text(), `"object":"thread"`) {
			thread = jsonField(sc.Text(), "id")
		}
		if sc.Text() == "event: thread.message.delta" && !stopping {
			stopping = true
			first := srv
			go func() { stopped <- first.stop() }() // the run is in flight now
		}
	}
	if !stopping {
		t.Fatalf("no delta: %q", lines)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	n := len(lines)
	if n < 4 || lines[n-4] != "event: error" || !strings.Contains(lines[n-3], "shutting down") ||
		lines[n-2] != "event: done" || lines[n-1] != "data: [DONE]" {
		t.Fatalf("stream did not end with error + done: %q", lines)
	}
	// Second life, same file, a model that answers: the run resumes.
	srv = startServeModel(t, env, scripted.Echo())
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body = do(t, "GET", srv.url+"/v1/threads/"+thread+"/runs", "", "")
		if code != 200 {
			t.Fatal(body)
		}
		if strings.Contains(body, `"status":"completed"`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(body, `"status":"completed"`) {
		t.Fatalf("run not completed after restart: %s", body)
	}
}

func jsonField(body, key string) string {
	i := strings.Index(body, `"`+key+`":"`)
	if i < 0 {
		return ""
	}
	rest := body[i+len(key)+4:]
	return rest[:strings.IndexByte(rest, '"')]
}

// Compaction gives deleted space back: refused offline while a server
// holds the file, done online through the server (which keeps serving), then
// offline into a new file and in place; a backup is compacted too.
func TestCompact(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "h.db")
	keysFile := filepath.Join(dir, "keys")
	os.WriteFile(keysFile, []byte("sk-one\n"), 0o600)
	srv := startServe(t, map[string]string{"HEARTH_DB": db, "HEARTH_MODEL_BACKEND": "scripted"}, "--keys-file", keysFile)
	big := strings.Repeat("x", 400)
	var ids []string
	for i := range 300 {
		code, body := do(t, "POST", srv.url+"/v1/assistants", "sk-one", fmt.Sprintf(`{"model":"m","name":"a%d","instructions":"%s"}`, i, big))
		if code != 200 {
			t.Fatalf("create: %d %s", code, body)
		}
		ids = append(ids, jsonField(body, "id"))
	}
	for _, id := range ids[:290] {
		if code, body := do(t, "DELETE", srv.url+"/v1/assistants/"+id, "sk-one", ""); code != 200 {
			t.Fatalf("delete: %d %s", code, body)
		}
	}
	var out strings.Builder
	env := map[string]string{"HEARTH_API_KEY": "sk-one"}
	a := &app{stdout: &out, stderr: io.Discard, getenv: func(k string) string { return env[k] }}
	ctx := context.Background()
	if err := a.run(ctx, []string{"compact", "--db", db}); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("offline compact of a served file: %v, want store.ErrLocked", err)
	}
	before := fileSize(t, db)
	if err := a.run(ctx, []string{"compact", "--server", srv.url}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"object":"compaction"`) {
		t.Fatalf("compact --server said %q", out.String())
	}
	if after := fileSize(t, db); after >= before {
		t.Errorf("online compaction: %d bytes, was %d", after, before)
	}
	// The server goes on, on the compacted file.
	if code, body := do(t, "POST", srv.url+"/v1/assistants", "sk-one", `{"model":"m","name":"after"}`); code != 200 {
		t.Fatalf("create after compaction: %d %s", code, body)
	}
	if code, body := do(t, "GET", srv.url+"/v1/assistants?limit=100", "sk-one", ""); code != 200 || strings.Count(body, `"object":"assistant"`) != 11 {
		t.Fatalf("list after compaction: %d %s", code, body)
	}
	online := filepath.Join(dir, "online.db")
	if err := a.run(ctx, []string{"backup", "--server", srv.url, online}); err != nil {
		t.Fatal(err)
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	copyTo := filepath.Join(dir, "copy.db")
	if err := a.run(ctx, []string{"compact", "--db", db, copyTo}); err != nil {
		t.Fatal(err)
	}
	if err := a.run(ctx, []string{"compact", "--db", db, copyTo}); err == nil {
		t.Fatal("compacted onto an existing file")
	}
	if err := a.run(ctx, []string{"compact", "--db", db}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{db, copyTo, online} {
		e, err := engine.Open(ctx, engine.Config{Path: p})
		if err != nil {
			t.Fatal(err)
		}
		page, err := e.Assistants.List(ctx, apitype.ListParams{Limit: 100})
		e.Close()
		if err != nil || len(page.Data) != 11 {
			t.Fatalf("%s: %d assistants, %v", p, len(page.Data), err)
		}
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
