package openaichattest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Flavor is whose wire format the fake speaks.
type Flavor int

const (
	// VLLM: role chunk first, "usage":null on every chunk, "logprobs":null,
	// the include_usage chunk with choices [], max_model_len on /v1/models.
	VLLM Flavor = iota
	// LlamaCpp: llama-server's key order, system_fingerprint, no usage field
	// on deltas, a usage chunk with "timings", n_ctx on /props.
	LlamaCpp
)

// Quirk makes tool calls arrive the way some server gets them wrong.
type Quirk int

const (
	// Standard: first delta per index carries id, type and name with empty
	// arguments; later deltas carry only index and argument fragments.
	Standard Quirk = iota
	// WholeCall sends each call complete in one delta.
	WholeCall
	// IndexZero sends every parallel call on index 0, told apart by id.
	IndexZero
	// NoIDs omits the ids.
	NoIDs
	// ObjectArguments sends arguments as a JSON object, not a string.
	ObjectArguments
)

// Fault makes a reply fail as real servers fail.
type Fault int

const (
	NoFault Fault = iota
	// ServerError answers HTTP 500.
	ServerError
	// Unauthorized answers HTTP 401 (invalid API key).
	Unauthorized
	// ModelNotFound answers HTTP 404 as vLLM does for an unknown model.
	ModelNotFound
	// ContextOverflow answers HTTP 400 with the server's overflow text.
	ContextOverflow
	// Busy answers HTTP 503 with Retry-After: Reply.RetryAfter seconds.
	Busy
	// RateLimited answers HTTP 429 with Retry-After.
	RateLimited
	// MalformedSSE streams half the text, then a line that is not SSE JSON.
	MalformedSSE
	// CutStream streams half the text and drops the connection.
	CutStream
	// CutInToolCall streams the first tool call's name and half of its
	// arguments, then drops the connection.
	CutInToolCall
	// CutBeforeUsage streams everything up to the finish chunk, then drops
	// the connection before the usage chunk and [DONE].
	CutBeforeUsage
	// Hang sends no headers until the client gives up.
	Hang
	// HangMidStream streams half the text, then sends nothing more.
	HangMidStream
)

// Texts the servers use.
const (
	TextOverflowVLLM  = "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion."
	TextOverflowLlama = "the request exceeds the available context size, try increasing it"
)

// ToolCall is a call the fake model makes.
type ToolCall struct {
	ID        string // "" gets "chatcmpl-tool-<n>" (vLLM) / a random-looking id (llama.cpp)
	Name      string
	Arguments string // a JSON object
}

// Reply scripts one chat answer.
type Reply struct {
	Text string
	// Pieces is how many chunks Text streams in; 0 is one per word.
	Pieces    int
	Reasoning string // streamed as reasoning_content before the text
	ToolCalls []ToolCall
	Quirk     Quirk
	// FinishReason defaults to "stop", or "tool_calls" with calls.
	FinishReason                   string
	PromptTokens, CompletionTokens int
	// NoUsage leaves out the usage chunk (a server that ignores include_usage).
	NoUsage    bool
	Fault      Fault
	Error      string
	RetryAfter int // seconds, for Busy and RateLimited
}

// Model is an entry of the fake's registry.
type Model struct {
	Name string
	// ContextLength is max_model_len (VLLM) or n_ctx (LlamaCpp); 0 omits it.
	ContextLength int
	EmbeddingDim  int // default 8
}

// Option configures a Server.
type Option func(*Server)

// WithFlavor picks the wire format; default VLLM.
func WithFlavor(f Flavor) Option { return func(s *Server) { s.flavor = f } }

// WithModel registers m.
func WithModel(m Model) Option { return func(s *Server) { s.models = append(s.models, m) } }

// WithReplies queues replies; each chat request takes the next one.
func WithReplies(r ...Reply) Option { return func(s *Server) { s.queue = append(s.queue, r...) } }

// WithHandler answers once the queue is empty.
func WithHandler(h func(*Request) Reply) Option { return func(s *Server) { s.handler = h } }

// WithAPIKey makes the server refuse requests without "Bearer key".
func WithAPIKey(key string) Option { return func(s *Server) { s.key = key } }

// WithListener serves on l instead of a new loopback port: a test can
// make a server "come up" at an address its client already failed to reach.
func WithListener(l net.Listener) Option { return func(s *Server) { s.listener = l } }

// Request is a chat request as the fake decoded it.
type Request struct {
	Model    string `json:"model"`
	Messages []struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		ToolCallID string          `json:"tool_call_id"`
		ToolCalls  []struct {
			ID       string `json:"id"`
			Type     string `json:"type"`
			Function struct {
				Name      string `json:"name"`
				Arguments string `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	} `json:"messages"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Tools []struct {
		Type     string `json:"type"`
		Function struct {
			Name       string          `json:"name"`
			Parameters json.RawMessage `json:"parameters"`
		} `json:"function"`
	} `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls"`
	ResponseFormat      json.RawMessage `json:"response_format"`
	MaxCompletionTokens int             `json:"max_completion_tokens"`
	MaxTokens           int             `json:"max_tokens"`
	Seed                *int            `json:"seed"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	// Raw is the body as sent.
	Raw []byte `json:"-"`
}

// Text returns message i's content as text (a string, or the text parts).
func (r *Request) Text(i int) string {
	var s string
	if json.Unmarshal(r.Messages[i].Content, &s) == nil {
		return s
	}
	var parts []struct{ Type, Text string }
	_ = json.Unmarshal(r.Messages[i].Content, &parts)
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

// Server is the fake.
type Server struct {
	t       testing.TB
	srv     *httptest.Server
	flavor  Flavor
	key     string
	models  []Model
	mu      sync.Mutex
	queue   []Reply
	handler func(*Request) Reply
	reqs    []Request
	embeds  int
	stop    chan struct{}

	listener net.Listener
}

// NewServer starts a fake, closed at the end of the test. Without WithModel
// it serves "llama3.2" (8192 context) and "nomic-embed-text".
func NewServer(t testing.TB, opts ...Option) *Server {
	s := &Server{t: t, stop: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	if len(s.models) == 0 {
		s.models = []Model{{Name: "llama3.2", ContextLength: 8192}, {Name: "nomic-embed-text", ContextLength: 2048}}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	mux.HandleFunc("GET /v1/models", s.listModels)
	mux.HandleFunc("GET /props", s.props)
	mux.HandleFunc("POST /v1/embeddings", s.embed)
	if s.listener != nil {
		s.srv = httptest.NewUnstartedServer(mux)
		s.srv.Listener.Close()
		s.srv.Listener = s.listener
		s.srv.Start()
	} else {
		s.srv = httptest.NewServer(mux)
	}
	t.Cleanup(func() { close(s.stop); s.srv.CloseClientConnections(); s.srv.Close() })
	return s
}

// URL is the server's OpenAI base URL, ending in /v1.
func (s *Server) URL() string { return s.srv.URL + "/v1" }

// Requests returns the chat requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// EmbedCalls is how many /v1/embeddings requests arrived.
func (s *Server) EmbedCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.embeds
}

func (s *Server) has(name string) (Model, bool) {
	for _, m := range s.models {
		if m.Name == name {
			return m, true
		}
	}
	return Model{}, false
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if s.key == "" || r.Header.Get("Authorization") == "Bearer "+s.key {
		return true
	}
	s.fail(w, http.StatusUnauthorized, "invalid_request_error", "Unauthorized", 0)
	return false
}

// fail writes an error body in the flavor's shape.
func (s *Server) fail(w http.ResponseWriter, code int, typ, msg string, retryAfter int) {
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	m, _ := json.Marshal(msg)
	t, _ := json.Marshal(typ)
	if s.flavor == LlamaCpp {
		fmt.Fprintf(w, `{"error":{"code":%d,"message":%s,"type":%s}}`, code, m, t)
		return
	}
	fmt.Fprintf(w, `{"error":{"message":%s,"type":%s,"param":null,"code":%d}}`, m, t, code)
}

func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	var b bytes.Buffer
	b.WriteString(`{"object":"list","data":[`)
	for i, m := range s.models {
		if i > 0 {
			b.WriteByte(',')
		}
		n, _ := json.Marshal(m.Name)
		fmt.Fprintf(&b, `{"id":%s,"object":"model","created":1733550000,"owned_by":"vllm","root":%s,"parent":null`, n, n)
		if s.flavor == VLLM && m.ContextLength > 0 {
			fmt.Fprintf(&b, `,"max_model_len":%d`, m.ContextLength)
		}
		b.WriteByte('}')
	}
	b.WriteString(`]}`)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b.Bytes())
}

func (s *Server) props(w http.ResponseWriter, r *http.Request) {
	if s.flavor != LlamaCpp {
		http.NotFound(w, r)
		return
	}
	n := 0
	if len(s.models) > 0 {
		n = s.models[0].ContextLength
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"default_generation_settings":{"n_ctx":%d,"params":{"n_predict":-1}},"total_slots":1,"chat_template":"","build_info":"b5000"}`, n)
}

func (s *Server) embed(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	var req struct {
		Model string   `json:"model"`
		Input []string `json:"input"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.fail(w, 400, "BadRequestError", err.Error(), 0)
		return
	}
	s.mu.Lock()
	s.embeds++
	s.mu.Unlock()
	m, ok := s.has(req.Model)
	if !ok {
		s.fail(w, 404, "NotFoundError", fmt.Sprintf("The model `%s` does not exist.", req.Model), 0)
		return
	}
	dim := m.EmbeddingDim
	if dim == 0 {
		dim = 8
	}
	var b bytes.Buffer
	b.WriteString(`{"object":"list","data":[`)
	for i, text := range req.Input {
		if i > 0 {
			b.WriteByte(',')
		}
		v, _ := json.Marshal(Vector(text, dim))
		fmt.Fprintf(&b, `{"object":"embedding","index":%d,"embedding":%s}`, i, v)
	}
	fmt.Fprintf(&b, `],"model":%q,"usage":{"prompt_tokens":%d,"total_tokens":%d}}`, req.Model, len(req.Input), len(req.Input))
	w.Header().Set("Content-Type", "application/json")
	w.Write(b.Bytes())
}

// Vector is the fake's embedding of text: a unit vector from word hashes, so
// texts sharing words are close.
func Vector(text string, dim int) []float32 {
	v := make([]float32, dim)
	for _, w := range strings.Fields(strings.ToLower(text)) {
		h := fnv.New32a()
		h.Write([]byte(strings.Trim(w, ".,?!")))
		v[h.Sum32()%uint32(dim)]++
	}
	var n float64
	for _, x := range v {
		n += float64(x * x)
	}
	if n > 0 {
		for i := range v {
			v[i] /= float32(math.Sqrt(n))
		}
	}
	return v
}

// Pieces splits text as the fake streams it.
func Pieces(text string, n int) []string {
	if text == "" {
		return nil
	}
	if n <= 0 {
		var out []string
		rest := text
		for rest != "" {
			i := strings.IndexByte(rest, ' ')
			if i < 0 {
				out = append(out, rest)
				break
			}
			out = append(out, rest[:i+1])
			rest = rest[i+1:]
		}
		return out
	}
	rs := []rune(text)
	var out []string
	for i := range n {
		a, b := i*len(rs)/n, (i+1)*len(rs)/n
		if a < b {
			out = append(out, string(rs[a:b]))
		}
	}
	return out
}

func (s *Server) next(req *Request) Reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, *req)
	if len(s.queue) > 0 {
		r := s.queue[0]
		s.queue = s.queue[1:]
		return r
	}
	if s.handler != nil {
		h := s.handler
		s.mu.Unlock()
		defer s.mu.Lock()
		return h(req)
	}
	return Reply{Text: "Hello from the fake server."}
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	var body bytes.Buffer
	body.ReadFrom(r.Body)
	var req Request
	if err := json.Unmarshal(body.Bytes(), &req); err != nil {
		s.fail(w, 400, "BadRequestError", err.Error(), 0)
		return
	}
	req.Raw = body.Bytes()
	rep := s.next(&req)
	if _, ok := s.has(req.Model); !ok && rep.Fault == NoFault {
		rep.Fault = ModelNotFound
	}
	switch rep.Fault {
	case ServerError:
		s.fail(w, 500, "InternalServerError", or(rep.Error, "CUDA error: an illegal memory access was encountered"), 0)
		return
	case Unauthorized:
		s.fail(w, 401, "invalid_request_error", or(rep.Error, "Unauthorized"), 0)
		return
	case ModelNotFound:
		s.fail(w, 404, "NotFoundError", or(rep.Error, fmt.Sprintf("The model `%s` does not exist.", req.Model)), 0)
		return
	case ContextOverflow:
		if s.flavor == LlamaCpp {
			s.fail(w, 400, "exceed_context_size_error", or(rep.Error, TextOverflowLlama), 0)
		} else {
			s.fail(w, 400, "BadRequestError", or(rep.Error, TextOverflowVLLM), 0)
		}
		return
	case Busy:
		s.fail(w, 503, "ServiceUnavailableError", or(rep.Error, "The server is overloaded, please try again later."), rep.RetryAfter)
		return
	case RateLimited:
		s.fail(w, 429, "RateLimitError", or(rep.Error, "Too many requests"), rep.RetryAfter)
		return
	case Hang:
		select {
		case <-r.Context().Done():
		case <-s.stop:
		}
		return
	}
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	s.stream(w, fl, r, &req, rep)
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// stream writes the reply's events.
func (s *Server) stream(w http.ResponseWriter, fl http.Flusher, r *http.Request, req *Request, rep Reply) {
	bw := bufio.NewWriter(w)
	send := func(choices string, usage string) {
		if s.flavor == LlamaCpp {
			fmt.Fprintf(bw, `data: {"choices":%s,"created":1733550000,"id":"chatcmpl-fake","model":%q,"system_fingerprint":"b5000-fake","object":"chat.completion.chunk"%s}`+"\n\n", choices, req.Model, usage)
		} else {
			if usage == "" {
				usage = `,"usage":null`
			}
			fmt.Fprintf(bw, `data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1733550000,"model":%q,"choices":%s%s}`+"\n\n", req.Model, choices, usage)
		}
		bw.Flush()
		if fl != nil {
			fl.Flush()
		}
	}
	choice := func(delta, finish string) string {
		f := "null"
		if finish != "" {
			f = strconv.Quote(finish)
		}
		if s.flavor == LlamaCpp {
			return fmt.Sprintf(`[{"finish_reason":%s,"index":0,"delta":%s}]`, f, delta)
		}
		return fmt.Sprintf(`[{"index":0,"delta":%s,"logprobs":null,"finish_reason":%s}]`, delta, f)
	}
	str := func(v string) string { b, _ := json.Marshal(v); return string(b) }
	drop := func() {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
	}

	if s.flavor == VLLM {
		send(choice(`{"role":"assistant","content":""}`, ""), "")
	}
	for _, p := range Pieces(rep.Reasoning, 0) {
		send(choice(`{"reasoning_content":`+str(p)+`}`, ""), "")
	}
	pieces := Pieces(rep.Text, rep.Pieces)
	half := len(pieces) / 2
	// midFault fails the stream halfway through the text; false when the
	// reply goes on.
	midFault := func() bool {
		switch rep.Fault {
		case CutStream:
			drop()
		case MalformedSSE:
			fmt.Fprintf(bw, "data: {\"id\":\"chatcmpl-fake\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tru\n\n")
			bw.Flush()
			if fl != nil {
				fl.Flush()
			}
		case HangMidStream:
			select {
			case <-r.Context().Done():
			case <-s.stop:
			}
		default:
			return false
		}
		return true
	}
	if len(pieces) == 0 && midFault() {
		return
	}
	for i, p := range pieces {
		if i == half && midFault() {
			return
		}
		if s.flavor == LlamaCpp && i == 0 {
			send(choice(`{"role":"assistant","content":`+str(p)+`}`, ""), "")
			continue
		}
		send(choice(`{"content":`+str(p)+`}`, ""), "")
	}

	for i, tc := range rep.ToolCalls {
		id := tc.ID
		if id == "" && rep.Quirk != NoIDs {
			if s.flavor == LlamaCpp {
				id = fmt.Sprintf("Xq7bK2mP%02dzR", i)
			} else {
				id = fmt.Sprintf("chatcmpl-tool-%08x", 0xabc0+i)
			}
		}
		idx := i
		if rep.Quirk == IndexZero {
			idx = 0
		}
		idPart := ""
		if id != "" {
			idPart = `"id":` + str(id) + `,`
		}
		switch rep.Quirk {
		case WholeCall:
			send(choice(fmt.Sprintf(`{"tool_calls":[{"index":%d,%s"type":"function","function":{"name":%s,"arguments":%s}}]}`, idx, idPart, str(tc.Name), str(tc.Arguments)), ""), "")
		case ObjectArguments:
			send(choice(fmt.Sprintf(`{"tool_calls":[{"index":%d,%s"type":"function","function":{"name":%s,"arguments":%s}}]}`, idx, idPart, str(tc.Name), tc.Arguments), ""), "")
		default:
			send(choice(fmt.Sprintf(`{"tool_calls":[{"index":%d,%s"type":"function","function":{"name":%s,"arguments":""}}]}`, idx, idPart, str(tc.Name)), ""), "")
			frags := Pieces(tc.Arguments, max(1, len(tc.Arguments)/6))
			for j, f := range frags {
				if rep.Fault == CutInToolCall && i == 0 && j == len(frags)/2 {
					drop()
					return
				}
				send(choice(fmt.Sprintf(`{"tool_calls":[{"index":%d,"function":{"arguments":%s}}]}`, idx, str(f)), ""), "")
			}
		}
	}
	finish := rep.FinishReason
	if finish == "" {
		finish = "stop"
		if len(rep.ToolCalls) > 0 {
			finish = "tool_calls"
		}
	}
	send(choice(`{}`, finish), "")
	if rep.Fault == CutBeforeUsage {
		drop()
		return
	}
	if !rep.NoUsage && req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		pt, ct := rep.PromptTokens, rep.CompletionTokens
		if pt == 0 {
			for i := range req.Messages {
				pt += len(strings.Fields(req.Text(i)))
			}
		}
		if ct == 0 {
			ct = len(pieces) + len(rep.ToolCalls)
		}
		usage := fmt.Sprintf(`,"usage":{"prompt_tokens":%d,"total_tokens":%d,"completion_tokens":%d}`, pt, pt+ct, ct)
		if s.flavor == LlamaCpp {
			usage = fmt.Sprintf(`,"usage":{"completion_tokens":%d,"prompt_tokens":%d,"total_tokens":%d},"timings":{"prompt_n":%d,"prompt_ms":1.5,"predicted_n":%d,"predicted_ms":9.2}`, ct, pt, pt+ct, pt, ct)
		}
		send(`[]`, usage)
	}
	fmt.Fprint(bw, "data: [DONE]\n\n")
	bw.Flush()
	if fl != nil {
		fl.Flush()
	}

}
