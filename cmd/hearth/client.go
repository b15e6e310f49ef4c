package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hearth-go/hearth/codeinterp"
	"github.com/hearth-go/hearth/codeinterp/wasi"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/openaihttp"
	"github.com/hearth-go/hearth/store"
)

// client speaks the /v1 API, the surface the SDKs use, to a running server
// or to an engine opened in this process (served through the same
// openaihttp handler, without a socket), so chat and the management verbs
// have one code path.
type client struct {
	base string
	key  string
	hc   *http.Client
	// closeFn closes the in-process engine.
	closeFn func() error
}

// clientFlags are the flags every client command shares.
type clientFlags struct {
	server, db, backend, ollamaURL, codeInterp, cacheDir string
	json                                                 bool
}

func (a *app) addClientFlags(fs *flag.FlagSet) *clientFlags {
	c := &clientFlags{}
	fs.StringVar(&c.server, "server", a.env("HEARTH_SERVER", ""), "URL of a running server (env HEARTH_SERVER; key in HEARTH_API_KEYS, the first if several); default http://127.0.0.1:8080 unless --db is given")
	fs.StringVar(&c.db, "db", "", "open this database file in-process instead of asking a server (its server must be stopped)")
	fs.StringVar(&c.backend, "model-backend", a.env("HEARTH_MODEL_BACKEND", "ollama"), "with --db: ollama or scripted (env HEARTH_MODEL_BACKEND)")
	fs.StringVar(&c.ollamaURL, "ollama-url", a.env("HEARTH_OLLAMA_URL", a.env("OLLAMA_HOST", "http://127.0.0.1:11434")), "with --db: the Ollama URL (env HEARTH_OLLAMA_URL, OLLAMA_HOST)")
	fs.StringVar(&c.codeInterp, "code-interpreter", a.env("HEARTH_CODE_INTERPRETER", "wasi"), "with --db: wasi or off (env HEARTH_CODE_INTERPRETER)")
	fs.StringVar(&c.cacheDir, "cache-dir", a.env("HEARTH_CACHE_DIR", defaultCacheDir()), "with --db: cache for the compiled interpreter (env HEARTH_CACHE_DIR)")
	fs.BoolVar(&c.json, "json", false, "print JSON instead of a table")
	return c
}

// open connects to the server, or opens the engine on --db.
func (a *app) open(ctx context.Context, f *clientFlags) (*client, error) {
	if f.server != "" && f.db != "" {
		return nil, fmt.Errorf("%w: give --server or --db, not both", errUsage)
	}
	if f.db == "" {
		base := f.server
		if base == "" {
			base = "http://127.0.0.1:8080"
		}
		return &client{base: strings.TrimRight(base, "/") + "/v1", key: a.serverKey(), hc: &http.Client{}, closeFn: func() error { return nil }}, nil
	}
	model := a.model
	if model == nil {
		m, err := newModel(f.backend, f.ollamaURL, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			return nil, err
		}
		model = m
	}
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var sandbox codeinterp.Sandbox
	var sb *wasi.Sandbox
	switch f.codeInterp {
	case "wasi":
		var err error
		if sb, err = wasi.New(wasi.Config{CacheDir: f.cacheDir, Logger: log}); err != nil {
			return nil, fmt.Errorf("code interpreter: %w (use --code-interpreter=off)", err)
		}
		sandbox = sb
	case "off":
	default:
		return nil, fmt.Errorf("%w: --code-interpreter must be wasi or off, got %q", errUsage, f.codeInterp)
	}
	eng, err := engine.Open(ctx, engine.Config{Path: f.db, Model: model, Logger: log, CodeInterpreter: sandbox})
	if err != nil {
		if sb != nil {
			sb.Close()
		}
		if errors.Is(err, store.ErrLocked) {
			return nil, fmt.Errorf("%w: a server holds %s; use --server", err, f.db)
		}
		return nil, err
	}
	lister, _ := model.(llm.ModelLister)
	h := openaihttp.NewHandler(eng, openaihttp.Options{Logger: log, Ops: openaihttp.OpsOptions{Models: lister}})
	return &client{base: "http://127.0.0.1/v1", hc: &http.Client{Transport: &inProcess{h: h}}, closeFn: func() error {
		h.Drain()
		err := eng.Close()
		if sb != nil {
			sb.Close()
		}
		return err
	}}, nil
}

func (c *client) Close() error { return c.closeFn() }

// inProcess answers requests with a handler in this process: the handler
// writes into a pipe the response body reads, so streams flow as written.
// Each request's handler goroutine ends when the handler returns; closing
// the body (or cancelling the request) ends a stream early.
type inProcess struct{ h http.Handler }

func (t *inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.RemoteAddr = "127.0.0.1:1" // the handler's loopback rule: this process is the client
	if req.Body == nil {
		req.Body = http.NoBody
	}
	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	go func() {
		defer func() { w.writeHeader(http.StatusOK); pw.Close() }()
		t.h.ServeHTTP(w, req)
	}()
	<-w.ready
	return &http.Response{StatusCode: w.status, Status: http.StatusText(w.status), Header: w.header, Body: pr,
		Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, ContentLength: -1}, nil
}

type pipeWriter struct {
	header http.Header
	pw     *io.PipeWriter
	status int
	once   sync.Once
	ready  chan struct{}
}

func (w *pipeWriter) Header() http.Header  { return w.header }
func (w *pipeWriter) WriteHeader(code int) { w.writeHeader(code) }
func (w *pipeWriter) writeHeader(code int) {
	w.once.Do(func() { w.status = code; close(w.ready) })
}
func (w *pipeWriter) Write(b []byte) (int, error) { w.writeHeader(http.StatusOK); return w.pw.Write(b) }
func (w *pipeWriter) Flush()                      {} // the pipe hands every write straight to the reader

// do sends a JSON request and decodes the answer into out (when not nil).
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// send sends a request (a JSON body, or a ready multipart one) and returns
// the response, or the API's error envelope as an error.
func (c *client) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var r io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case *multipartBody:
		r, ctype = b.buf, b.ctype
	default:
		j, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, err
	}
	if r != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var env struct {
			Error struct{ Message, Type string } `json:"error"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &env) == nil && env.Error.Message != "" {
			return nil, fmt.Errorf("%s %s: %s (%s)", method, path, env.Error.Message, resp.Status)
		}
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	return resp, nil
}

// sse is one Server-Sent Event.
type sse struct {
	event string
	data  json.RawMessage
}

// stream posts body and yields the events of the answer until done.
func (c *client) stream(ctx context.Context, path string, body any) iter.Seq2[sse, error] {
	return func(yield func(sse, error) bool) {
		resp, err := c.send(ctx, http.MethodPost, path, body)
		if err != nil {
			yield(sse{}, err)
			return
		}
		defer resp.Body.Close()
		br := bufio.NewReaderSize(resp.Body, 64<<10)
		var ev sse
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				if ctx.Err() != nil {
					err = ctx.Err()
				}
				if !errors.Is(err, io.EOF) {
					yield(sse{}, err)
				}
				return
			}
			line = strings.TrimRight(line, "\r\n")
			switch {
			case strings.HasPrefix(line, "event:"):
				ev.event = strings.TrimSpace(line[len("event:"):])
			case strings.HasPrefix(line, "data:"):
				if ev.data != nil { // the lines of one event's data join with newlines
					ev.data = append(ev.data, '\n')
				}
				ev.data = append(ev.data, strings.TrimPrefix(line[len("data:"):], " ")...)
			case line == "":
				if ev.event == "done" || string(ev.data) == "[DONE]" {
					return
				}
				if ev.event != "" && !yield(ev, nil) {
					return
				}
				ev = sse{}
			}
		}
	}
}

// multipartBody is a ready multipart/form-data request body.
type multipartBody struct {
	buf   *bytes.Buffer
	ctype string
}

// upload sends a file to POST /files with purpose assistants.
func (c *client) upload(ctx context.Context, path string, out any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := &bytes.Buffer{}
	mw := multipart.NewWriter(buf)
	_ = mw.WriteField("purpose", "assistants")
	part, err := mw.CreateFormFile("file", filepath.Base(path))
	if err != nil {
		return err
	}
	if _, err := io.Copy(part, f); err != nil {
		return err
	}
	if err := mw.Close(); err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, "/files", &multipartBody{buf: buf, ctype: mw.FormDataContentType()}, out)
}
