package ollama_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/ollama"
	"github.com/hearth-go/hearth/llm/ollama/ollamatest"
)

func newClient(t *testing.T, srv *ollamatest.Server, mod ...func(*ollama.Config)) *ollama.Client {
	t.Helper()
	cfg := ollama.Config{URL: srv.URL(), RetryBackoff: time.Millisecond}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := ollama.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func collect(t *testing.T, c *ollama.Client, req *llm.Request) ([]llm.Chunk, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return collectCtx(ctx, c, req)
}

func collectCtx(ctx context.Context, c *ollama.Client, req *llm.Request) ([]llm.Chunk, error) {
	var out []llm.Chunk
	for ch, err := range c.Chat(ctx, req) {
		if err != nil {
			return out, err
		}
		out = append(out, ch)
	}
	return out, nil
}

func text(chunks []llm.Chunk) string {
	var b strings.Builder
	for _, c := range chunks {
		b.WriteString(c.Text)
	}
	return b.String()
}

func user(s string) llm.Message { return llm.Message{Role: llm.RoleUser, Content: s} }

func TestChatStreamsTextAndUsage(t *testing.T) {
	srv := ollamatest.NewServer(t, ollamatest.WithReplies(ollamatest.Reply{
		Text: "one two three four", PromptTokens: 12, CompletionTokens: 4,
	}))
	c := newClient(t, srv)
	chunks, err := collect(t, c, &llm.Request{Model: "llama3.2", Messages: []llm.Message{
		{Role: llm.RoleSystem, Content: "Be brief."}, user("Count."),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 5 {
		t.Fatalf("got %d chunks, want 4 text + 1 final: %+v", len(chunks), chunks)
	}
	if got := text(chunks); got != "one two three four" {
		t.Errorf("text %q", got)
	}
	last := chunks[len(chunks)-1]
	if last.FinishReason != llm.FinishStop || last.Usage == nil || *last.Usage != (llm.Usage{PromptTokens: 12, CompletionTokens: 4}) {
		t.Errorf("last chunk %+v usage %+v", last, last.Usage)
	}
	for _, ch := range chunks[:len(chunks)-1] {
		if ch.Usage != nil || ch.FinishReason != "" {
			t.Errorf("non-final chunk carries the end: %+v", ch)
		}
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Truncate == nil || *r.Truncate || r.Shift == nil || *r.Shift {
		t.Errorf("truncate %v shift %v: want both false", r.Truncate, r.Shift)
	}
	if r.Stream == nil || !*r.Stream {
		t.Error("stream not set")
	}
	// llama3.2 is trained for 131072 tokens; the default cap is 8192.
	if got := r.Options["num_ctx"]; got != float64(8192) {
		t.Errorf("num_ctx %v, want 8192", got)
	}
	if len(r.Messages) != 2 || r.Messages[0].Role != "system" || r.Messages[1].Content != "Count." {
		t.Errorf("messages %+v", r.Messages)
	}
}

func TestChatNumCtx(t *testing.T) {
	srv := ollamatest.NewServer(t, ollamatest.WithModel(ollamatest.Model{Name: "nolen"}))
	c := newClient(t, srv, func(c *ollama.Config) { c.MaxContext = 16384 })
	cases := []struct {
		model  string
		window int
		want   float64
	}{
		{"llava", 0, 4096},     // trained context below the cap
		{"llama3.2", 0, 16384}, // capped
		{"llama3.2", 3000, 3000},
		{"nolen", 0, 16384}, // no context_length reported: the cap
	}
	for _, tc := range cases {
		if _, err := collect(t, c, &llm.Request{Model: tc.model, ContextWindow: tc.window, Messages: []llm.Message{user("hi")}}); err != nil {
			t.Fatal(err)
		}
		reqs := srv.Requests()
		if got := reqs[len(reqs)-1].Options["num_ctx"]; got != tc.want {
			t.Errorf("%s window %d: num_ctx %v, want %v", tc.model, tc.window, got, tc.want)
		}
	}
}

func TestContextWindowCached(t *testing.T) {
	srv := ollamatest.NewServer(t)
	c := newClient(t, srv)
	for range 3 {
		n, err := c.ContextWindow(context.Background(), "qwen3")
		if err != nil || n != 40960 {
			t.Fatalf("ContextWindow = %d, %v", n, err)
		}
	}
	if _, err := collect(t, c, &llm.Request{Model: "qwen3", Messages: []llm.Message{user("hi")}}); err != nil {
		t.Fatal(err)
	}
	if h := srv.Hits("/api/show"); h != 1 {
		t.Errorf("/api/show hit %d times, want 1 (cached)", h)
	}
	_, err := c.ContextWindow(context.Background(), "missing")
	if !errors.Is(err, llm.ErrModelNotFound) || !strings.Contains(err.Error(), "ollama pull missing") {
		t.Errorf("err = %v", err)
	}
}

func TestChatOptions(t *testing.T) {
	srv := ollamatest.NewServer(t)
	keep := 10 * time.Minute
	think := false
	c := newClient(t, srv, func(c *ollama.Config) { c.KeepAlive = &keep; c.Think = &think })
	temp, topP, seed := 0.2, 0.9, 42
	_, err := collect(t, c, &llm.Request{
		Model: "qwen3", Messages: []llm.Message{user("hi")},
		Temperature: &temp, TopP: &topP, Seed: &seed, MaxOutputTokens: 77,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := srv.Requests()[0]
	want := map[string]any{"num_predict": float64(77), "temperature": 0.2, "top_p": 0.9, "seed": float64(42)}
	for k, v := range want {
		if r.Options[k] != v {
			t.Errorf("option %s = %v, want %v", k, r.Options[k], v)
		}
	}
	if r.KeepAlive == nil || r.KeepAlive.Duration != keep {
		t.Errorf("keep_alive %v", r.KeepAlive)
	}
	if r.Think == nil || r.Think.Value != false {
		t.Errorf("think %v", r.Think)
	}
	// Unset options are not sent.
	_, _ = collect(t, c, &llm.Request{Model: "qwen3", Messages: []llm.Message{user("hi")}})
	r = srv.Requests()[1]
	for _, k := range []string{"num_predict", "temperature", "top_p", "seed"} {
		if _, ok := r.Options[k]; ok {
			t.Errorf("option %s sent though unset", k)
		}
	}
}

func TestChatLengthFinish(t *testing.T) {
	srv := ollamatest.NewServer(t, ollamatest.WithReplies(ollamatest.Reply{Text: "cut short", DoneReason: "length"}))
	chunks, err := collect(t, newClient(t, srv), &llm.Request{Model: "llama3.2", Messages: []llm.Message{user("hi")}, MaxOutputTokens: 2})
	if err != nil {
		t.Fatal(err)
	}
	if f := chunks[len(chunks)-1].FinishReason; f != llm.FinishLength {
		t.Errorf("finish %q, want length", f)
	}
}

func TestChatThinkingStaysOutOfText(t *testing.T) {
	srv := ollamatest.NewServer(t, ollamatest.WithReplies(ollamatest.Reply{Thinking: "let me think about it", Text: "42"}))
	chunks, err := collect(t, newClient(t, srv), &llm.Request{Model: "qwen3", Messages: []llm.Message{user("answer?")}})
	if err != nil {
		t.Fatal(err)
	}
	var thinking strings.Builder
	for _, ch := range chunks {
		thinking.WriteString(ch.Thinking)
	}
	if text(chunks) != "42" || thinking.String() != "let me think about it" {
		t.Errorf("text %q thinking %q", text(chunks), thinking.String())
	}
}

func TestChatResponseFormat(t *testing.T) {
	srv := ollamatest.NewServer(t)
	c := newClient(t, srv)
	sch := json.RawMessage(`{"type":"object","properties":{"a":{"type":"integer"}}}`)
	for _, f := range []*llm.ResponseFormat{
		{Type: llm.FormatJSONObject},
		{Type: llm.FormatJSONSchema, Name: "x", Schema: sch},
		{Type: llm.FormatText},
	} {
		if _, err := collect(t, c, &llm.Request{Model: "llama3.2", Messages: []llm.Message{user("hi")}, ResponseFormat: f}); err != nil {
			t.Fatal(err)
		}
	}
	reqs := srv.Requests()
	if string(reqs[0].Format) != `"json"` {
		t.Errorf("json_object → %s", reqs[0].Format)
	}
	var got, want any
	json.Unmarshal(reqs[1].Format, &got)
	json.Unmarshal(sch, &want)
	if gb, _ := json.Marshal(got); string(gb) != string(mustJSON(want)) {
		t.Errorf("json_schema → %s", reqs[1].Format)
	}
	if len(reqs[2].Format) != 0 {
		t.Errorf("text → %s", reqs[2].Format)
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func TestChatStopEarly(t *testing.T) {
	srv := ollamatest.NewServer(t, ollamatest.WithReplies(ollamatest.Reply{Text: "a b c d e f g"}))
	c := newClient(t, srv)
	n := 0
	for _, err := range c.Chat(context.Background(), &llm.Request{Model: "llama3.2", Messages: []llm.Message{user("hi")}}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 2 {
			break
		}
	}
	if n != 2 || len(srv.Requests()) != 1 {
		t.Errorf("n=%d requests=%d", n, len(srv.Requests()))
	}
}

func TestChatNoModel(t *testing.T) {
	srv := ollamatest.NewServer(t)
	_, err := collect(t, newClient(t, srv), &llm.Request{})
	if err == nil {
		t.Fatal("no error for a request without a model")
	}
}

// --- images

func TestChatImagesReachVisionModel(t *testing.T) {
	srv := ollamatest.NewServer(t)
	c := newClient(t, srv)
	img := []byte("\x89PNG fake image")
	_, err := collect(t, c, &llm.Request{Model: "llava", Messages: []llm.Message{{Role: llm.RoleUser, Content: "what is this?", Images: [][]byte{img}}}})
	if err != nil {
		t.Fatal(err)
	}
	m := srv.Requests()[0].Messages[0]
	if len(m.Images) != 1 || string(m.Images[0]) != string(img) {
		t.Errorf("images on the wire: %q", m.Images)
	}
}

func TestChatImagesNoVision(t *testing.T) {
	srv := ollamatest.NewServer(t, ollamatest.WithModel(ollamatest.Model{Name: "quiet", Capabilities: []string{}}))
	c := newClient(t, srv)
	img := [][]byte{[]byte("img")}

	// Known from /api/show: refused before any chat request.
	_, err := collect(t, c, &llm.Request{Model: "llama3.2", Messages: []llm.Message{{Role: llm.RoleUser, Content: "see", Images: img}}})
	if !errors.Is(err, llm.ErrNoVision) || !strings.Contains(err.Error(), "llama3.2") {
		t.Fatalf("err = %v", err)
	}
	if len(srv.Requests()) != 0 {
		t.Error("a chat request was sent")
	}

	// A server that lists no capabilities: its error text is recognised.
	_, err = collect(t, c, &llm.Request{Model: "quiet", Messages: []llm.Message{{Role: llm.RoleUser, Content: "see", Images: img}}})
	if !errors.Is(err, llm.ErrNoVision) {
		t.Fatalf("err = %v", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d chat requests, want 1 (no retry)", n)
	}
}

// --- errors

func TestChatUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := ollama.New(ollama.Config{URL: "http://" + addr, RetryBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = collect(t, c, &llm.Request{Model: "llama3.2", ContextWindow: 2048, Messages: []llm.Message{user("hi")}})
	// Chat and Embed retry (1 + DefaultRetries attempts) and say so; Ping does not.
	if !errors.Is(err, llm.ErrUnreachable) || !strings.Contains(err.Error(), "cannot reach Ollama at http://"+addr+" after 3 attempts (") {
		t.Fatalf("err = %v", err)
	}
	if err := c.Ping(context.Background()); !errors.Is(err, llm.ErrUnreachable) || strings.Contains(err.Error(), "attempts") {
		t.Errorf("Ping: %v", err)
	}
	if _, err := c.Embed(context.Background(), []string{"x"}); !errors.Is(err, llm.ErrUnreachable) || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Errorf("Embed: %v", err)
	}
}

func TestChatModelNotFound(t *testing.T) {
	srv := ollamatest.NewServer(t)
	c := newClient(t, srv)
	// Found out through /api/show when the engine leaves num_ctx to us…
	_, err := collect(t, c, &llm.Request{Model: "mistral", Messages: []llm.Message{user("hi")}})
	if !errors.Is(err, llm.ErrModelNotFound) || !strings.Contains(err.Error(), "model mistral not found") || !strings.Contains(err.Error(), "`ollama pull mistral`") {
		t.Fatalf("err = %v", err)
	}
	// …and through /api/chat when it sets ContextWindow.
	_, err = collect(t, c, &llm.Request{Model: "mistral", ContextWindow: 2048, Messages: []llm.Message{user("hi")}})
	if !errors.Is(err, llm.ErrModelNotFound) || !strings.Contains(err.Error(), "`ollama pull mistral`") {
		t.Fatalf("err = %v", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d chat requests, want 1 (a missing model is not retried)", n)
	}
}

func TestChatServerErrorRetried(t *testing.T) {
	srv := ollamatest.NewServer(t, ollamatest.WithReplies(
		ollamatest.Reply{Fault: ollamatest.ServerError},
		ollamatest.Reply{Fault: ollamatest.Busy},
		ollamatest.Reply{Text: "fine now"},
	))
	chunks, err := collect(t, newClient(t, srv), &llm.Request{Model: "llama3.2", Messages: []llm.Message{user("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	if text(chunks) != "fine now" || len(srv.Requests()) != 3 {
		t.Errorf("text %q after %d requests", text(chunks), len(srv.Requests()))
	}
}

// TestErrorTexts: each text says the HTTP status once (the wrapped
// api.StatusError, which would repeat it, is reachable but not printed) and,
// when the call was retried, how many attempts were made.
func TestErrorTexts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fault   ollamatest.Fault
		retries int
		want    string // URL stands for the server's address
		is      error
	}{
		{"500 not retried", ollamatest.ServerError, -1,
			"ollama: URL failed for model llama3.2 with HTTP 500: llama runner process has terminated: exit status 2: ollama: server error", ollama.ErrServer},
		{"500 retried", ollamatest.ServerError, 2,
			"ollama: URL failed for model llama3.2 with HTTP 500 after 3 attempts: llama runner process has terminated: exit status 2: ollama: server error", ollama.ErrServer},
		{"503 retried", ollamatest.Busy, 2,
			"ollama: URL is busy (HTTP 503: server busy, please try again.  maximum pending requests exceeded) after 3 attempts; retry later: llm: rate limited", llm.ErrRateLimited},
		{"404 final", ollamatest.ModelNotFound, 2,
			"ollama: model llama3.2 not found at URL (HTTP 404); pull it with `ollama pull llama3.2`: llm: model not found", llm.ErrModelNotFound},
		{"400 overflow final", ollamatest.ContextOverflow, 2,
			`ollama: the prompt does not fit model llama3.2's context window (Ollama said "the input length exceeds the context length" with HTTP 400); shorten the conversation or raise the context size: llm: prompt exceeds the context window`, llm.ErrContextOverflow},
		{"stream cut retried", ollamatest.CutStream, 1,
			"ollama: the reply from model llama3.2 at URL stopped before the model finished after 2 attempts (reading the reply stream: unexpected EOF): llm: reply stream cut", llm.ErrStreamCut},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := ollamatest.NewServer(t, ollamatest.WithHandler(func(*api.ChatRequest) ollamatest.Reply {
				return ollamatest.Reply{Fault: tc.fault}
			}))
			c := newClient(t, srv, func(c *ollama.Config) { c.Retries = tc.retries })
			_, err := collect(t, c, &llm.Request{Model: "llama3.2", ContextWindow: 2048, Messages: []llm.Message{user("hi")}})
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want one wrapping %v", err, tc.is)
			}
			if want := strings.ReplaceAll(tc.want, "URL", srv.URL()); err.Error() != want {
				t.Errorf("err = %q\nwant  %q", err, want)
			}
			var se api.StatusError
			if tc.fault != ollamatest.CutStream && !errors.As(err, &se) {
				t.Errorf("the api.StatusError is no longer wrapped: %v", err)
			}
		})
	}
}

func TestChatServerErrorFinal(t *testing.T) {
	srv := ollamatest.NewServer(t, ollamatest.WithHandler(func(*api.ChatRequest) ollamatest.Reply {
		return ollamatest.Reply{Fault: ollamatest.ServerError, Error: "llama runner process has terminated: signal: killed"}
	}))
	c := newClient(t, srv, func(c *ollama.Config) { c.Retries = 1 })
	_, err := collect(t, c, &llm.Request{Model: "llama3.2", Messages: []llm.Message{user("hi")}})
	var se api.StatusError
	if !errors.Is(err, ollama.ErrServer) || !errors.As(err, &se) || se.StatusCode != 500 {
		t.Fatalf("err = %v", err)
	}
	want := "ollama: " + srv.URL() + " failed for model llama3.2 with HTTP 500 after 2 attempts: " +
		"llama runner process has terminated: signal: killed: ollama: server error"
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("%d requests, want 2 (one retry)", n)
	}

	srv2 := ollamatest.NewServer(t, ollamatest.WithReplies(ollamatest.Reply{Fault: ollamatest.ServerError}))
	c2 := newClient(t, srv2, func(c *ollama.Config) { c.Retries = -1 })
	if _, err := collect(t, c2, &llm.Request{Model: "llama3.2", Messages: []llm.Message{user("hi")}}); !errors.Is(err, ollama.ErrServer) {
		t.Fatalf("err = %v", err)
	}
	if n := len(srv2.Requests()); n != 1 {
		t.Errorf("%d requests with retries off", n)
	}
}

func TestChatBusy(t *testing.T) {
	srv := ollamatest.NewServer(t, ollamatest.WithHandler(func(*api.ChatRequest) ollamatest.Reply {
		return ollamatest.Reply{Fault: ollamatest.Busy}
	}))
	_, err := collect(t, newClient(t, srv), &llm.Request{Model: "llama3.2", Messages: []llm.Message{user("hi")}})
	if !errors.Is(err, llm.ErrRateLimited) {
		t.Fatalf("err = %v", err)
	}
	if n := len(srv.Requests()); n != 3 {
		t.Errorf("%d requests, want 3 (two retries)", n)
	}
}

func TestChatStreamCutAfterText(t *testing.T) {
	for _, fault := range []ollamatest.Fault{ollamatest.CutStream, ollamatest.ErrorMidStream} {
		srv := ollamatest.NewServer(t, ollamatest.WithReplies(ollamatest.Reply{Text: "a b c d", Fault: fault}, ollamatest.Reply{Text: "never"}))
		chunks, err := collect(t, newClient(t, srv), &llm.Request{Model: "llama3.2", Messages: []llm.Message{user("hi")}})
		if !errors.Is(err, llm.ErrStreamCut) {
			t.Fatalf("fault %d: err = %v", fault, err)
		}
		if text(chunks) != "a b " {
			t.Errorf("fault %d: partial text %q, want the first half", fault, text(chunks))
		}
		if n := len(srv.Requests()); n != 1 {
			t.Errorf("fault %d: %d requests; a reply cut after output must not be retried", fault, n)
		}
	}
}

func TestChatStreamCutBeforeTextRetried(t *testing.T) {
	srv := ollamatest.NewServer(t, ollamatest.WithReplies(
		ollamatest.Reply{Text: "x", Fault: ollamatest.CutStream}, // cut before any text
		ollamatest.Reply{Text: "whole"},
	))
	chunks, err := collect(t, newClient(t, srv), &llm.Request{Model: "llama3.2", Messages: []llm.Message{user("hi")}})
	if err != nil || text(chunks) != "whole" {
		t.Fatalf("text %q err %v", text(chunks), err)
	}

	srv2 := ollamatest.NewServer(t, ollamatest.WithHandler(func(*api.ChatRequest) ollamatest.Reply {
		return ollamatest.Reply{Fault: ollamatest.CutStream}
	}))
	_, err = collect(t, newClient(t, srv2), &llm.Request{Model: "llama3.2", Messages: []llm.Message{user("hi")}})
	if !errors.Is(err, llm.ErrStreamCut) || len(srv2.Requests()) != 3 {
		t.Fatalf("err = %v after %d requests", err, len(srv2.Requests()))
	}
}

func TestChatContextOverflow(t *testing.T) {
	srv := ollamatest.NewServer(t, ollamatest.WithReplies(ollamatest.Reply{Fault: ollamatest.ContextOverflow}))
	c := newClient(t, srv)
	_, err := collect(t, c, &llm.Request{Model: "llama3.2", Messages: []llm.Message{user("hi")}})
	if !errors.Is(err, llm.ErrContextOverflow) || !strings.Contains(err.Error(), ollamatest.TextContextOverflow) {
		t.Fatalf("err = %v", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests; overflow must not be retried", n)
	}
	// The fake also overflows for real when the prompt exceeds num_ctx.
	_, err = collect(t, c, &llm.Request{Model: "llama3.2", ContextWindow: 3, Messages: []llm.Message{user("one two three four")}})
	if !errors.Is(err, llm.ErrContextOverflow) {
		t.Fatalf("err = %v", err)
	}
}

func TestChatDeadline(t *testing.T) {
	srv := ollamatest.NewServer(t, ollamatest.WithHandler(func(*api.ChatRequest) ollamatest.Reply {
		return ollamatest.Reply{Fault: ollamatest.Hang}
	}))
	c := newClient(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	// The fake hangs until the client gives up: only the deadline ends it.
	_, err := collectCtx(ctx, c, &llm.Request{Model: "llama3.2", ContextWindow: 2048, Messages: []llm.Message{user("hi")}})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("err = %v", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests; a deadline is not retried", n)
	}

	// Slow between chunks: text so far, then the deadline.
	srv.SetHandler(func(*api.ChatRequest) ollamatest.Reply {
		return ollamatest.Reply{Text: "a b c", ChunkDelay: time.Hour}
	})
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	chunks, err := collectCtx(ctx2, c, &llm.Request{Model: "llama3.2", ContextWindow: 2048, Messages: []llm.Message{user("hi")}})
	if !errors.Is(err, context.DeadlineExceeded) || text(chunks) != "a " {
		t.Fatalf("text %q err %v", text(chunks), err)
	}
}

func TestChatLongLines(t *testing.T) {
	long := strings.Repeat("x", 100_000)
	srv := ollamatest.NewServer(t, ollamatest.WithReplies(ollamatest.Reply{Text: long, Pieces: 1}))
	chunks, err := collect(t, newClient(t, srv), &llm.Request{Model: "llama3.2", Messages: []llm.Message{user("hi")}})
	if err != nil || text(chunks) != long {
		t.Fatalf("len %d err %v", len(text(chunks)), err)
	}
}

func TestChatThinkTagsInContent(t *testing.T) {
	srv := ollamatest.NewServer(t, ollamatest.WithReplies(ollamatest.Reply{Text: "<think>the user wants 42</think>\n\nIt is 42."}))
	chunks, err := collect(t, newClient(t, srv), &llm.Request{Model: "llama3.2", Messages: []llm.Message{user("answer?")}})
	if err != nil {
		t.Fatal(err)
	}
	var thinking strings.Builder
	for _, ch := range chunks {
		thinking.WriteString(ch.Thinking)
	}
	if text(chunks) != "It is 42." || thinking.String() != "the user wants 42" {
		t.Errorf("text %q thinking %q", text(chunks), thinking.String())
	}
}

func TestChatThinkOnlyForThinkingModels(t *testing.T) {
	srv := ollamatest.NewServer(t)
	think := true
	c := newClient(t, srv, func(c *ollama.Config) { c.Think = &think })
	for _, m := range []string{"qwen3", "llama3.2"} {
		if _, err := collect(t, c, &llm.Request{Model: m, ContextWindow: 2048, Messages: []llm.Message{user("hi")}}); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
	}
	reqs := srv.Requests()
	if reqs[0].Think == nil || reqs[0].Think.Value != true || reqs[1].Think != nil {
		t.Errorf("think: qwen3 %v, llama3.2 %v", reqs[0].Think, reqs[1].Think)
	}
}

func TestChatToolsUnsupported(t *testing.T) {
	srv := ollamatest.NewServer(t)
	_, err := collect(t, newClient(t, srv), &llm.Request{Model: "llava", Messages: []llm.Message{user("hi")}, Tools: []llm.Tool{{Name: "f"}}})
	if !errors.Is(err, ollama.ErrServer) || !strings.Contains(err.Error(), "model llava cannot call tools") {
		t.Fatalf("err = %v", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests; a 400 is not retried", n)
	}
}

func TestContextWindowConcurrentFirstUse(t *testing.T) {
	srv := ollamatest.NewServer(t)
	c := newClient(t, srv)
	errs := make(chan error, 20)
	for range 20 {
		go func() {
			_, err := collect(t, c, &llm.Request{Model: "llama3.2", Messages: []llm.Message{user("hi")}})
			errs <- err
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if h := srv.Hits("/api/show"); h > 2 {
		t.Errorf("/api/show hit %d times for one model", h)
	}
}

func TestChatOutOfMemory(t *testing.T) {
	srv := ollamatest.NewServer(t, ollamatest.WithReplies(ollamatest.Reply{Fault: ollamatest.ServerError,
		Error: "model requires more system memory (9.1 GiB) than is available (3.2 GiB)"}))
	_, err := collect(t, newClient(t, srv), &llm.Request{Model: "llama3.2", Messages: []llm.Message{user("hi")}})
	if !errors.Is(err, ollama.ErrServer) || !strings.Contains(err.Error(), "lower the context size") {
		t.Fatalf("err = %v", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests; running out of memory is not retried", n)
	}
}
