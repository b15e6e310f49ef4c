package openaihttp

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
)

// Options configures a Handler. The zero value is usable: no API keys
// (loopback clients only) and the default limits.
type Options struct {
	// Keys are the accepted API keys, sent as "Authorization: Bearer <key>".
	// With none, every request from a non-loopback address is refused (403),
	// whatever address the server listens on.
	Keys []string
	// MaxBodyBytes bounds a JSON request body. Default 8 MiB (a run may carry
	// 256,000-character instructions and several messages).
	MaxBodyBytes int64
	// MaxUploadBytes bounds a multipart file upload. Default 512 MiB, the
	// hosted API's file limit.
	MaxUploadBytes int64
	// Timeout bounds every request except streams, uploads and the backup.
	// Default 60s.
	Timeout time.Duration
	// UploadTimeout bounds a file upload, body included. Default 10 minutes.
	UploadTimeout time.Duration
	// PollAfter is sent as openai-poll-after-ms, the wait SDK poll helpers
	// use between polls (5 s without it). Default 100ms: local runs are short.
	PollAfter time.Duration
	// Files serves /v1/files. Default: the engine's Files.
	Files FileService
	// VectorStores serves /v1/vector_stores. Default: the engine's VectorStores.
	VectorStores VectorStoreService
	// Admin enables GET /admin/backup, an online consistent copy of the
	// database (bbolt's Tx.WriteTo) streamed as application/octet-stream,
	// and POST /admin/compact, which compacts the database online.
	// It is served only when Keys are set: a keyless server has no way to
	// tell a rebound or proxied browser request from the user's own.
	Admin bool
	// AllowedHosts are Host header values a keyless server serves besides
	// loopback names and addresses ("*" allows any). Others are refused (403)
	// against DNS rebinding. With keys, any Host is served.
	AllowedHosts []string
	// Playground serves the browser Playground (package playground) at
	// /playground/, and GET / from a browser links to it.
	Playground bool
	// Logger receives one line per request. Default slog.Default().
	Logger *slog.Logger

	// Operations (ops.go): /, /healthz, /readyz, /v1/models, /metrics.
	Ops OpsOptions
}

func (o *Options) setDefaults() {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 8 << 20
	}
	if o.MaxUploadBytes <= 0 {
		o.MaxUploadBytes = 512 << 20
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.UploadTimeout <= 0 {
		o.UploadTimeout = 10 * time.Minute
	}
	if o.PollAfter <= 0 {
		o.PollAfter = 100 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Handler is the OpenAI-compatible HTTP API over an engine. Call Drain
// before shutting the server down so that open streams end.
type Handler struct {
	eng  *engine.Engine
	opts Options
	keys [][]byte
	mux  *http.ServeMux
	log  *slog.Logger
	cop  *http.CrossOriginProtection

	// drained is cancelled by Drain; open streams end with it.
	drained context.Context
	drain   context.CancelFunc

	ops *opsState // ops.go
}

// NewHandler returns the handler serving eng under /v1.
func NewHandler(eng *engine.Engine, opts Options) *Handler {
	opts.setDefaults()
	if opts.Files == nil {
		opts.Files = eng.Files
	}
	if opts.VectorStores == nil {
		opts.VectorStores = eng.VectorStores
	}
	h := &Handler{eng: eng, opts: opts, mux: http.NewServeMux(), log: opts.Logger, cop: http.NewCrossOriginProtection()}
	h.drained, h.drain = context.WithCancel(context.Background())
	h.ops = newOps(opts.Ops)
	for _, k := range opts.Keys {
		if k = strings.TrimSpace(k); k != "" {
			h.keys = append(h.keys, []byte(k))
		}
	}
	h.routes()
	return h
}

// Drain ends every open stream (each gets an error event saying the server
// is shutting down, then done) and makes new streaming requests fail with
// 503. Runs are not touched: they go on, or resume when the engine reopens.
func (h *Handler) Drain() { h.drain() }

// endpoint serves one route: it returns the value to write as JSON, or an
// error for the envelope, or (nil, nil) when it wrote the response itself.
type endpoint func(w http.ResponseWriter, r *http.Request) (any, error)

type ctxKey struct{}

// uploadRoute is the one route with the upload limit and timeout.
const uploadRoute = "POST /v1/files"

func (h *Handler) routes() {
	jsonLimit, upload := h.opts.MaxBodyBytes, h.opts.MaxUploadBytes
	route := func(pattern string, limit int64, ep endpoint) {
		timeout := h.opts.Timeout
		if pattern == uploadRoute {
			timeout = h.opts.UploadTimeout
		}
		h.mux.Handle(pattern, h.api(limit, timeout, ep))
	}
	// Assistants.
	route("POST /v1/assistants", jsonLimit, h.createAssistant)
	route("GET /v1/assistants", 0, h.listAssistants)
	route("GET /v1/assistants/{assistant_id}", 0, h.getAssistant)
	route("POST /v1/assistants/{assistant_id}", jsonLimit, h.updateAssistant)
	route("DELETE /v1/assistants/{assistant_id}", 0, h.deleteAssistant)
	// Threads.
	route("POST /v1/threads", jsonLimit, h.createThread)
	route("GET /v1/threads", 0, h.listThreads) // a Hearth extension: pages.go
	route("GET /v1/threads/{thread_id}", 0, h.getThread)
	route("POST /v1/threads/{thread_id}", jsonLimit, h.updateThread)
	route("DELETE /v1/threads/{thread_id}", 0, h.deleteThread)
	// Messages.
	route("POST /v1/threads/{thread_id}/messages", jsonLimit, h.createMessage)
	route("GET /v1/threads/{thread_id}/messages", 0, h.listMessages)
	route("GET /v1/threads/{thread_id}/messages/{message_id}", 0, h.getMessage)
	route("POST /v1/threads/{thread_id}/messages/{message_id}", jsonLimit, h.updateMessage)
	route("DELETE /v1/threads/{thread_id}/messages/{message_id}", 0, h.deleteMessage)
	// Runs.
	route("POST /v1/threads/runs", jsonLimit, h.createThreadAndRun)
	route("POST /v1/threads/{thread_id}/runs", jsonLimit, h.createRun)
	route("GET /v1/threads/{thread_id}/runs", 0, h.listRuns)
	route("GET /v1/threads/{thread_id}/runs/{run_id}", 0, h.getRun)
	route("POST /v1/threads/{thread_id}/runs/{run_id}", jsonLimit, h.updateRun)
	route("POST /v1/threads/{thread_id}/runs/{run_id}/cancel", jsonLimit, h.cancelRun)
	route("POST /v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs", jsonLimit, h.submitToolOutputs)
	// Steps.
	route("GET /v1/threads/{thread_id}/runs/{run_id}/steps", 0, h.listSteps)
	route("GET /v1/threads/{thread_id}/runs/{run_id}/steps/{step_id}", 0, h.getStep)
	// Files and vector stores: see files.go.
	h.fileRoutes(route, jsonLimit, upload)
	h.conversationRoutes(route, jsonLimit) // conversations.go
	h.responseRoutes(route, jsonLimit)     // responses.go
	h.opsRoutes(route)                     // ops.go
	h.pageRoutes()                         // pages.go
	if h.opts.Admin && len(h.keys) > 0 {   // the whole database: never keyless
		h.mux.Handle("GET /admin/backup", h.guard(http.HandlerFunc(h.backup)))
		h.mux.Handle("POST /admin/compact", h.guard(http.HandlerFunc(h.compact)))
	}
	h.mux.Handle("/", h.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Status: http.StatusNotFound,
			Message: fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path)})
	})))
}

// ServeHTTP logs and dispatches a request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &recorder{ResponseWriter: w, status: http.StatusOK}
	id := requestID()
	rw.Header().Set("X-Request-Id", id)
	r = r.WithContext(engine.WithRequestID(r.Context(), id)) // on the run logs of the runs it queues
	if err := h.browserGuard(r); err != nil {
		h.writeError(rw, r, err)
	} else {
		h.mux.ServeHTTP(rw, r)
	}
	level := slog.LevelInfo
	if r.Method == http.MethodGet && rw.status < 400 {
		level = slog.LevelDebug // polls: one every openai-poll-after-ms per waiting client
	}
	h.log.LogAttrs(r.Context(), level, "http",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", rw.status),
		slog.Duration("duration", time.Since(start)), slog.String("request_id", id), slog.String("remote", r.RemoteAddr))
}

// guard checks the API key, or, with no keys configured, that the client is
// on the loopback interface.
func (h *Handler) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.authorize(r); err != nil {
			h.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) authorize(r *http.Request) *apitype.Error {
	if len(h.keys) == 0 {
		if !isLoopback(r.RemoteAddr) {
			return &apitype.Error{Type: "permission_error", Status: http.StatusForbidden,
				Message: "This Hearth server has no API keys configured and answers loopback clients only."}
		}
		return nil
	}
	auth := r.Header.Get("Authorization")
	scheme, key, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		return &apitype.Error{Type: apitype.ErrorTypeAuthentication, Status: http.StatusUnauthorized,
			Message: "You didn't provide an API key. Send it in the Authorization header as 'Bearer YOUR_KEY'."}
	}
	got := []byte(strings.TrimSpace(key))
	match := 0
	for _, k := range h.keys {
		match |= subtle.ConstantTimeCompare(got, k)
	}
	if match != 1 {
		return &apitype.Error{Type: apitype.ErrorTypeAuthentication, Code: "invalid_api_key", Status: http.StatusUnauthorized,
			Message: "Incorrect API key provided."}
	}
	return nil
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// api wraps an endpoint: authorization, the body limit, the per-request
// timeout (streams lift it), and the JSON or error answer.
func (h *Handler) api(limit int64, timeout time.Duration, ep endpoint) http.Handler {
	return h.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if limit > 0 {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		base := r.Context()
		ctx, cancel := context.WithTimeout(context.WithValue(base, ctxKey{}, base), timeout)
		defer cancel()
		rc := http.NewResponseController(w)
		deadline := time.Now().Add(timeout + 5*time.Second)
		_ = rc.SetReadDeadline(deadline) // unsupported writers (tests) return an error: fine
		_ = rc.SetWriteDeadline(deadline)
		w.Header().Set("openai-poll-after-ms", strconv.FormatInt(h.opts.PollAfter.Milliseconds(), 10))
		v, err := ep(w, r.WithContext(ctx))
		switch {
		case err != nil:
			h.writeError(w, r, err)
		case v != nil:
			writeJSON(w, http.StatusOK, v)
		}
	}))
}

// untimed returns the request's context without the per-request timeout,
// for streams.
func untimed(r *http.Request) context.Context {
	if base, ok := r.Context().Value(ctxKey{}).(context.Context); ok {
		return base
	}
	return r.Context()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// asAPIError maps any error to the envelope's error and status.
func asAPIError(err error) *apitype.Error {
	var ae *apitype.Error
	switch {
	case errors.As(err, &ae):
		if ae.Status == 0 {
			c := *ae
			c.Status = http.StatusInternalServerError
			return &c
		}
		return ae
	case errors.Is(err, context.DeadlineExceeded):
		return &apitype.Error{Type: apitype.ErrorTypeServer, Status: http.StatusGatewayTimeout, Code: "timeout",
			Message: "The request timed out."}
	case errors.Is(err, context.Canceled):
		return &apitype.Error{Type: apitype.ErrorTypeServer, Status: 499, Message: "The client closed the request."}
	}
	return &apitype.Error{Type: apitype.ErrorTypeServer, Status: http.StatusInternalServerError,
		Message: "The server had an error while processing your request."}
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := asAPIError(err)
	if ae.Status >= 500 {
		h.log.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	writeJSON(w, ae.Status, apitype.ErrorBody{Error: ae})
}

func requestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}

// recorder remembers the status for the log; Unwrap lets
// http.ResponseController reach Flush and deadlines underneath.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
