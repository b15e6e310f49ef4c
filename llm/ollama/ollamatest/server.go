package ollamatest

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"
)

// Version is what the fake reports on /api/version.
const Version = "0.17.4"

// Texts real Ollama v0.17.4 uses in error bodies.
const (
	// TextContextOverflow is the runner's error when the prompt does not fit
	// num_ctx and truncate is false (HTTP 400).
	TextContextOverflow = "the input length exceeds the context length"
	// TextNoVision is the runner's error for images sent to a model without
	// a vision projector.
	TextNoVision = "this model is missing data required for image input"
	// TextBusy is the scheduler's error when its queue is full (HTTP 503).
	TextBusy = "server busy, please try again.  maximum pending requests exceeded"
)

// Model is an entry of the fake's model registry.
type Model struct {
	Name string
	// ContextLength is "<Arch>.context_length" in /api/show; 0 omits it.
	ContextLength int
	// Arch is "general.architecture"; default "llama".
	Arch string
	// Capabilities as /api/show lists them ("completion", "tools", "vision",
	// "thinking", "embedding"); nil means completion and tools.
	Capabilities []string
	// EmbeddingDim is the length of /api/embed vectors; default 8.
	EmbeddingDim int
}

// DefaultModels returns the models registered on every server unless
// WithoutDefaultModels: llama3.2 (tools), qwen3 (tools, thinking), llava
// (vision, 4096 context) and nomic-embed-text (embedding).
func DefaultModels() []Model {
	return []Model{
		{Name: "llama3.2", ContextLength: 131072, Capabilities: []string{"completion", "tools"}},
		{Name: "qwen3", Arch: "qwen3", ContextLength: 40960, Capabilities: []string{"completion", "tools", "thinking"}},
		{Name: "llava", ContextLength: 4096, Capabilities: []string{"completion", "vision"}},
		{Name: "nomic-embed-text", Arch: "nomic-bert", ContextLength: 2048, Capabilities: []string{"embedding"}, EmbeddingDim: 8},
	}
}

// Fault makes a reply fail the way real Ollama fails.
type Fault int

// Faults.
const (
	NoFault Fault = iota
	// ServerError answers HTTP 500 {"error": Reply.Error or "llama runner process has terminated"}.
	ServerError
	// ModelNotFound answers HTTP 404 as Ollama does for a model it lacks.
	ModelNotFound
	// ContextOverflow answers HTTP 400 with TextContextOverflow.
	ContextOverflow
	// NoVision answers HTTP 500 with TextNoVision.
	NoVision
	// Busy answers HTTP 503 with TextBusy.
	Busy
	// CutStream streams half of the text pieces, then drops the connection
	// without the final "done" line.
	CutStream
	// ErrorMidStream streams half of the text pieces, then an {"error": …}
	// line, as Ollama does when the runner fails mid-reply.
	ErrorMidStream
	// Hang sends nothing and waits until the client gives up.
	Hang
	// HangMidStream streams half of the text pieces, then sends nothing more
	// (the connection stays open) until the client gives up.
	HangMidStream
)

// ToolCall is a call the fake model makes.
type ToolCall struct {
	// ID is sent as is; "" gets an id like real Ollama's ("call_" + 8
	// characters) unless Reply.NoToolCallIDs.
	ID   string
	Name string
	// Arguments is a JSON object, in the order to send it.
	Arguments string
}

// Reply scripts one /api/chat answer.
type Reply struct {
	Text string
	// Pieces is how many chunks Text streams in; 0 streams one chunk per
	// word (a word with its following space), like tokens.
	Pieces   int
	Thinking string
	// ToolCalls arrive whole in one chunk after the text, as Ollama sends them.
	ToolCalls     []ToolCall
	NoToolCallIDs bool
	// PromptTokens and CompletionTokens are the final line's counts; 0 means
	// a word count of the prompt and the number of pieces.
	PromptTokens, CompletionTokens int
	// DoneReason is the final line's done_reason; default "stop".
	DoneReason string
	Fault      Fault
	// Error overrides the fault's error text.
	Error string
	// FirstDelay is waited before the first line, ChunkDelay between lines.
	FirstDelay, ChunkDelay time.Duration
}

// Option configures a Server.
type Option func(*Server)

// WithModel registers m (replacing a model of the same name).
func WithModel(m Model) Option { return func(s *Server) { s.models[m.Name] = m } }

// WithoutDefaultModels starts the registry empty.
func WithoutDefaultModels() Option {
	return func(s *Server) { clear(s.models) }
}

// WithReplies queues replies; each chat request takes the next one.
func WithReplies(r ...Reply) Option { return func(s *Server) { s.queue = append(s.queue, r...) } }

// WithHandler answers chat requests once the queue is empty.
func WithHandler(h func(*api.ChatRequest) Reply) Option { return func(s *Server) { s.handler = h } }

// Server is a fake Ollama speaking the real wire format: NDJSON /api/chat
// with tool calls and thinking, /api/show, /api/embed, /api/tags,
// /api/version, and errors as {"error": "..."} with Ollama's status codes.
type Server struct {
	t  testing.TB
	ts *httptest.Server

	mu       sync.Mutex
	models   map[string]Model
	queue    []Reply
	handler  func(*api.ChatRequest) Reply
	requests []api.ChatRequest
	arrived  chan struct{} // closed and replaced at every chat request (WaitRequests)
	embeds   []api.EmbedRequest
	hits     map[string]int
	ids      uint64

	closing chan struct{}
}

// NewServer starts a fake Ollama, closed by t.Cleanup.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{t: t, models: map[string]Model{}, hits: map[string]int{}, closing: make(chan struct{})}
	for _, m := range DefaultModels() {
		s.models[m.Name] = m
	}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/chat", s.chat)
	mux.HandleFunc("POST /api/show", s.show)
	mux.HandleFunc("POST /api/embed", s.embed)
	mux.HandleFunc("GET /api/tags", s.tags)
	mux.HandleFunc("GET /api/version", s.version)
	mux.HandleFunc("HEAD /{$}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "Ollama is running") })
	s.ts = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// Close stops the server, releasing hanging replies. It is safe to call twice.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.closing:
		s.mu.Unlock()
		return
	default:
		close(s.closing)
	}
	s.mu.Unlock()
	s.ts.CloseClientConnections()
	s.ts.Close()
}

// URL is the server's base URL, e.g. for ollama.Config.URL or OLLAMA_HOST.
func (s *Server) URL() string { return s.ts.URL }

// Enqueue adds replies to the queue.
func (s *Server) Enqueue(r ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, r...)
}

// SetHandler sets the function that answers chat requests once the queue is
// empty; nil restores the default reply.
func (s *Server) SetHandler(h func(*api.ChatRequest) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler = h
}

// AddModel registers m (replacing a model of the same name).
func (s *Server) AddModel(m Model) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.models[m.Name] = m
}

// Requests returns the chat requests received so far, decoded.
func (s *Server) Requests() []api.ChatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]api.ChatRequest(nil), s.requests...)
}

// WaitRequests waits until the server has received at least n chat
// requests, or ctx ends: tests wait on it for a call to be in flight.
func (s *Server) WaitRequests(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		if len(s.requests) >= n {
			s.mu.Unlock()
			return nil
		}
		if s.arrived == nil {
			s.arrived = make(chan struct{})
		}
		arrived, got := s.arrived, len(s.requests)
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return fmt.Errorf("ollamatest: %d chat requests received, waiting for %d: %w", got, n, context.Cause(ctx))
		}
	}
}

// received records a chat request; s.mu is held.
func (s *Server) received(req api.ChatRequest) {
	s.requests = append(s.requests, req)
	if s.arrived != nil {
		close(s.arrived)
		s.arrived = nil
	}
}

// EmbedRequests returns the /api/embed requests received so far.
func (s *Server) EmbedRequests() []api.EmbedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]api.EmbedRequest(nil), s.embeds...)
}

// Hits returns how many requests reached path (e.g. "/api/show").
func (s *Server) Hits(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func (s *Server) hit(r *http.Request) {
	s.mu.Lock()
	s.hits[r.URL.Path]++
	s.mu.Unlock()
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(v)
}

func (s *Server) model(name string) (Model, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.models[name]
	if !ok && !strings.Contains(name, ":") {
		m, ok = s.models[name+":latest"]
	}
	if !ok {
		m, ok = s.models[strings.TrimSuffix(name, ":latest")]
	}
	return m, ok
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) {
	s.hit(r)
	writeJSON(w, map[string]string{"version": Version})
}

func (s *Server) tags(w http.ResponseWriter, r *http.Request) {
	s.hit(r)
	s.mu.Lock()
	var resp api.ListResponse
	for _, m := range s.models {
		name := m.Name
		if !strings.Contains(name, ":") {
			name += ":latest"
		}
		resp.Models = append(resp.Models, api.ListModelResponse{
			Name: name, Model: name, ModifiedAt: time.Unix(1700000000, 0).UTC(),
			Size: 1 << 20, Digest: fmt.Sprintf("%064x", fnv64(m.Name)),
			Details: api.ModelDetails{Format: "gguf", Family: arch(m)},
		})
	}
	s.mu.Unlock()
	sort.Slice(resp.Models, func(i, j int) bool { return resp.Models[i].Name < resp.Models[j].Name })
	writeJSON(w, resp)
}

func arch(m Model) string {
	if m.Arch == "" {
		return "llama"
	}
	return m.Arch
}

func caps(m Model) []string {
	if m.Capabilities == nil {
		return []string{"completion", "tools"}
	}
	return m.Capabilities
}

func (s *Server) show(w http.ResponseWriter, r *http.Request) {
	s.hit(r)
	var req api.ShowRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	name := req.Model
	if name == "" {
		name = req.Name
	}
	m, ok := s.model(name)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model '%s' not found", name))
		return
	}
	info := map[string]any{"general.architecture": arch(m)}
	if m.ContextLength > 0 {
		info[arch(m)+".context_length"] = m.ContextLength
	}
	resp := api.ShowResponse{
		Details:   api.ModelDetails{Format: "gguf", Family: arch(m)},
		ModelInfo: info,
	}
	for _, c := range caps(m) {
		resp.Capabilities = append(resp.Capabilities, model.Capability(c))
	}
	writeJSON(w, resp)
}

func (s *Server) embed(w http.ResponseWriter, r *http.Request) {
	s.hit(r)
	var req api.EmbedRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	s.embeds = append(s.embeds, req)
	s.mu.Unlock()
	m, ok := s.model(req.Model)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model %q not found, try pulling it first", req.Model))
		return
	}
	var inputs []string
	switch in := req.Input.(type) {
	case string:
		inputs = []string{in}
	case []any:
		for _, x := range in {
			str, ok := x.(string)
			if !ok {
				writeError(w, http.StatusBadRequest, "invalid input type")
				return
			}
			inputs = append(inputs, str)
		}
	default:
		writeError(w, http.StatusBadRequest, "invalid input type")
		return
	}
	dim := m.EmbeddingDim
	if dim <= 0 {
		dim = 8
	}
	resp := api.EmbedResponse{Model: req.Model}
	for _, in := range inputs {
		if m.ContextLength > 0 && len(strings.Fields(in)) > m.ContextLength {
			if req.Truncate != nil && !*req.Truncate {
				writeError(w, http.StatusBadRequest, TextContextOverflow)
				return
			}
			// Truncation is the server's default: keep the first words.
			in = strings.Join(strings.Fields(in)[:m.ContextLength], " ")
		}
		resp.Embeddings = append(resp.Embeddings, Embedding(in, dim))
		resp.PromptEvalCount += len(strings.Fields(in))
	}
	writeJSON(w, resp)
}

// Embedding is the fake's deterministic embedding of text: a normalized
// vector of dim hashed character trigram counts, so similar texts are near.
func Embedding(text string, dim int) []float32 {
	v := make([]float32, dim)
	t := strings.ToLower(text)
	if len(t) < 3 {
		t += "   "
	}
	for i := 0; i+3 <= len(t); i++ {
		v[fnv64(t[i:i+3])%uint64(dim)]++
	}
	var norm float64
	for _, x := range v {
		norm += float64(x) * float64(x)
	}
	if norm > 0 {
		n := float32(math.Sqrt(norm))
		for i := range v {
			v[i] /= n
		}
	}
	return v
}

func fnv64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

func (s *Server) next(req *api.ChatRequest) Reply {
	s.mu.Lock()
	s.received(*req)
	if len(s.queue) > 0 {
		r := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		return r
	}
	h := s.handler
	s.mu.Unlock()
	if h != nil {
		return h(req)
	}
	return Reply{Text: "Hello from the fake Ollama."}
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	s.hit(r)
	var req api.ChatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	m, ok := s.model(req.Model)
	if !ok {
		s.mu.Lock()
		s.received(req)
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, fmt.Sprintf("model '%s' not found", req.Model))
		return
	}
	reply := s.next(&req)
	if !s.wait(r, reply.FirstDelay) {
		return
	}
	if len(req.Tools) > 0 && !contains(caps(m), "tools") {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("registry.ollama.ai/library/%s:latest does not support tools", req.Model))
		return
	}
	if req.Think != nil && req.Think.Bool() && !contains(caps(m), "thinking") {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%q does not support thinking", req.Model))
		return
	}
	errText := func(def string) string {
		if reply.Error != "" {
			return reply.Error
		}
		return def
	}
	switch reply.Fault {
	case ServerError:
		writeError(w, http.StatusInternalServerError, errText("llama runner process has terminated: exit status 2"))
		return
	case ModelNotFound:
		writeError(w, http.StatusNotFound, errText(fmt.Sprintf("model '%s' not found", req.Model)))
		return
	case ContextOverflow:
		writeError(w, http.StatusBadRequest, errText(TextContextOverflow))
		return
	case NoVision:
		writeError(w, http.StatusInternalServerError, errText(TextNoVision))
		return
	case Busy:
		writeError(w, http.StatusServiceUnavailable, errText(TextBusy))
		return
	case Hang:
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return
	}
	hasImages := false
	for _, msg := range req.Messages {
		hasImages = hasImages || len(msg.Images) > 0
	}
	if hasImages && !contains(caps(m), "vision") {
		writeError(w, http.StatusInternalServerError, TextNoVision)
		return
	}
	if n, ok := numCtx(req.Options); ok && reply.Fault == NoFault && promptWords(&req) > n {
		writeError(w, http.StatusBadRequest, TextContextOverflow)
		return
	}
	s.stream(w, r, &req, reply)
}

func numCtx(opts map[string]any) (int, bool) {
	switch n := opts["num_ctx"].(type) {
	case float64:
		return int(n), n > 0
	}
	return 0, false
}

// promptWords is the fake's token count: words of every message.
func promptWords(req *api.ChatRequest) int {
	n := 0
	for _, m := range req.Messages {
		n += len(strings.Fields(m.Content)) + 4*len(m.Images)
	}
	return n
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// wait sleeps d unless the client goes away or the server closes.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-s.closing:
	}
	return false
}

// Pieces splits text as Reply.Pieces says.
func Pieces(text string, n int) []string {
	if text == "" {
		return nil
	}
	if n <= 0 {
		var out []string
		start := 0
		for i := 0; i < len(text); i++ {
			if text[i] == ' ' {
				out = append(out, text[start:i+1])
				start = i + 1
			}
		}
		if start < len(text) {
			out = append(out, text[start:])
		}
		return out
	}
	runes := []rune(text)
	n = min(n, len(runes))
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, string(runes[i*len(runes)/n:(i+1)*len(runes)/n]))
	}
	return out
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request, req *api.ChatRequest, reply Reply) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush() // the status line goes out before the first chunk
	}
	enc := json.NewEncoder(w)
	created := time.Unix(1700000000, 0).UTC()
	send := func(resp api.ChatResponse) bool {
		resp.Model = req.Model
		resp.CreatedAt = created
		if err := enc.Encode(resp); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	line := 0
	pace := func() bool {
		line++
		return line == 1 || s.wait(r, reply.ChunkDelay)
	}

	think := Pieces(reply.Thinking, 0)
	for _, p := range think {
		if !pace() || !send(api.ChatResponse{Message: api.Message{Role: "assistant", Thinking: p}}) {
			return
		}
	}
	pieces := Pieces(reply.Text, reply.Pieces)
	limit := len(pieces)
	if reply.Fault == CutStream || reply.Fault == ErrorMidStream || reply.Fault == HangMidStream {
		limit = len(pieces) / 2
	}
	for _, p := range pieces[:limit] {
		if !pace() || !send(api.ChatResponse{Message: api.Message{Role: "assistant", Content: p}}) {
			return
		}
	}
	switch reply.Fault {
	case HangMidStream:
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return
	case CutStream:
		// Drop the connection without the chunked terminator: the client
		// sees an unexpected EOF, as when Ollama crashes mid-reply.
		panic(http.ErrAbortHandler)
	case ErrorMidStream:
		msg := reply.Error
		if msg == "" {
			msg = "an error was encountered while running the model: unexpected EOF"
		}
		enc.Encode(map[string]string{"error": msg})
		return
	}
	if len(reply.ToolCalls) > 0 {
		msg := api.Message{Role: "assistant"}
		for i, tc := range reply.ToolCalls {
			args := api.NewToolCallFunctionArguments()
			if tc.Arguments != "" {
				if err := json.Unmarshal([]byte(tc.Arguments), &args); err != nil {
					s.t.Errorf("ollamatest: tool call %s: arguments %q are not a JSON object: %v", tc.Name, tc.Arguments, err)
				}
			}
			id := tc.ID
			if id == "" && !reply.NoToolCallIDs {
				id = s.callID()
			}
			msg.ToolCalls = append(msg.ToolCalls, api.ToolCall{ID: id, Function: api.ToolCallFunction{Index: i, Name: tc.Name, Arguments: args}})
		}
		if !pace() || !send(api.ChatResponse{Message: msg}) {
			return
		}
	}
	done := api.ChatResponse{
		Message:    api.Message{Role: "assistant"},
		Done:       true,
		DoneReason: reply.DoneReason,
		Metrics: api.Metrics{
			TotalDuration:      time.Millisecond,
			PromptEvalCount:    reply.PromptTokens,
			PromptEvalDuration: time.Microsecond,
			EvalCount:          reply.CompletionTokens,
			EvalDuration:       time.Microsecond,
		},
	}
	if done.DoneReason == "" {
		done.DoneReason = "stop"
	}
	if done.PromptEvalCount == 0 {
		done.PromptEvalCount = promptWords(req)
	}
	if done.EvalCount == 0 {
		done.EvalCount = len(pieces) + len(think) + len(reply.ToolCalls)
	}
	if pace() {
		send(done)
	}
}

// callID mimics Ollama's "call_" + 8 lowercase letters and digits,
// deterministic per server.
func (s *Server) callID() string {
	s.mu.Lock()
	s.ids++
	n := s.ids
	s.mu.Unlock()
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	h := fnv64(fmt.Sprint(n))
	b := make([]byte, 8)
	for i := range b {
		b[i] = letters[h%uint64(len(letters))]
		h /= uint64(len(letters))
	}
	return "call_" + string(b)
}
