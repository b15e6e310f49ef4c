package openaichat_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/openaichat"
	"github.com/hearth-go/hearth/llm/openaichat/openaichattest"
)

func client(t *testing.T, url string, mod ...func(*openaichat.Config)) *openaichat.Client {
	t.Helper()
	cfg := openaichat.Config{URL: url, RetryBackoff: 1e6, EmbedModel: "nomic-embed-text"}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := openaichat.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type result struct {
	text, thinking string
	deltas         []llm.ToolCallDelta
	calls          []llm.ToolCall
	last           llm.Chunk
	err            error
}

func chat(t *testing.T, c *openaichat.Client, req *llm.Request) result {
	t.Helper()
	var r result
	for ch, err := range c.Chat(context.Background(), req) {
		if err != nil {
			r.err = err
			break
		}
		r.text += ch.Text
		r.thinking += ch.Thinking
		r.deltas = append(r.deltas, ch.ToolCallDeltas...)
		r.calls = append(r.calls, ch.ToolCalls...)
		r.last = ch
	}
	return r
}

func hello() *llm.Request {
	return &llm.Request{Model: "llama3.2", Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}
}

func TestToolCallQuirks(t *testing.T) {
	calls := []openaichattest.ToolCall{{Name: "get_weather", Arguments: `{"city":"Paris"}`}, {Name: "get_time", Arguments: `{"tz":"CET"}`}}
	for _, fl := range []openaichattest.Flavor{openaichattest.VLLM, openaichattest.LlamaCpp} {
		for _, q := range []openaichattest.Quirk{openaichattest.Standard, openaichattest.WholeCall, openaichattest.IndexZero, openaichattest.NoIDs, openaichattest.ObjectArguments} {
			fake := openaichattest.NewServer(t, openaichattest.WithFlavor(fl), openaichattest.WithReplies(openaichattest.Reply{Quirk: q, ToolCalls: calls}))
			r := chat(t, client(t, fake.URL()), hello())
			if r.err != nil || len(r.calls) != 2 || r.last.FinishReason != llm.FinishToolCalls {
				t.Fatalf("flavor %d quirk %d: %v %+v", fl, q, r.err, r)
			}
			for i, c := range r.calls {
				if c.Name != calls[i].Name || string(c.Arguments) != calls[i].Arguments || !strings.HasPrefix(c.ID, "call_") {
					t.Fatalf("flavor %d quirk %d: call %d %+v", fl, q, i, c)
				}
			}
			if r.calls[0].ID == r.calls[1].ID {
				t.Fatalf("quirk %d: one id for two calls", q)
			}
			// The deltas rebuild the same calls, under the same ids.
			args := map[int]string{}
			for _, d := range r.deltas {
				args[d.Index] += d.ArgumentsDelta
				if d.ID != r.calls[d.Index].ID {
					t.Fatalf("quirk %d: delta id %q, call id %q", q, d.ID, r.calls[d.Index].ID)
				}
			}
			if args[0] != calls[0].Arguments || args[1] != calls[1].Arguments {
				t.Fatalf("quirk %d: streamed arguments %v", q, args)
			}
			if q == openaichattest.Standard && len(r.deltas) <= 4 {
				t.Fatalf("standard streaming: only %d deltas, the fragments were not passed on", len(r.deltas))
			}
		}
	}
}

func TestRequestFields(t *testing.T) {
	fake := openaichattest.NewServer(t)
	temp, topP, seed := 0.2, 0.9, 7
	req := hello()
	req.Temperature, req.TopP, req.Seed, req.MaxOutputTokens = &temp, &topP, &seed, 100
	req.Tools = []llm.Tool{{Name: "f", Parameters: json.RawMessage(`{"type":"object"}`)}}
	req.ToolChoice = llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: "f"}
	req.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "out", Schema: json.RawMessage(`{"type":"object"}`)}
	req.Messages = append(req.Messages,
		llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "f", Arguments: json.RawMessage(`{}`)}}},
		llm.Message{Role: llm.RoleTool, ToolCallID: "call_1", Content: "ok"},
		llm.Message{Role: llm.RoleUser, Content: "look", Images: [][]byte{[]byte("\x89PNG\r\n\x1a\n0000")}})
	if r := chat(t, client(t, fake.URL()), req); r.err != nil {
		t.Fatal(r.err)
	}
	got := fake.Requests()[0]
	if *got.Temperature != temp || *got.TopP != topP || *got.Seed != seed || got.MaxCompletionTokens != 100 || got.MaxTokens != 100 ||
		string(got.ToolChoice) != `{"function":{"name":"f"},"type":"function"}` || got.ParallelToolCalls == nil || *got.ParallelToolCalls ||
		string(got.ResponseFormat) != `{"type":"json_schema","json_schema":{"name":"out","schema":{"type":"object"}}}` {
		t.Fatalf("request %s", got.Raw)
	}
	if !strings.Contains(string(got.Raw), `"tool_call_id":"call_1"`) || !strings.Contains(string(got.Raw), `"url":"data:image/png;base64,`) ||
		!strings.Contains(string(got.Raw), `"arguments":"{}"`) {
		t.Fatalf("messages %s", got.Raw)
	}
}

func TestReasoningIsThinking(t *testing.T) {
	fake := openaichattest.NewServer(t, openaichattest.WithReplies(openaichattest.Reply{Reasoning: "Let me think.", Text: "Hi."}))
	r := chat(t, client(t, fake.URL()), hello())
	if r.err != nil || r.text != "Hi." || r.thinking != "Let me think." {
		t.Fatalf("%+v", r)
	}
}

// A stream cut before the usage chunk still yields the text, then an error.
func TestCutBeforeUsage(t *testing.T) {
	fake := openaichattest.NewServer(t, openaichattest.WithReplies(openaichattest.Reply{Text: "All of it.", Fault: openaichattest.CutBeforeUsage}))
	r := chat(t, client(t, fake.URL()), hello())
	if r.text != "All of it." || !errors.Is(r.err, llm.ErrStreamCut) {
		t.Fatalf("%q %v", r.text, r.err)
	}
	if n := len(fake.Requests()); n != 1 {
		t.Fatalf("%d requests: a reply that reached the consumer is not retried", n)
	}
}

func TestNoUsageChunk(t *testing.T) {
	fake := openaichattest.NewServer(t, openaichattest.WithFlavor(openaichattest.LlamaCpp), openaichattest.WithReplies(openaichattest.Reply{Text: "Hi.", NoUsage: true}))
	r := chat(t, client(t, fake.URL()), hello())
	if r.err != nil || r.last.Usage == nil || r.last.FinishReason != llm.FinishStop {
		t.Fatalf("%+v", r)
	}
}

func TestRetries(t *testing.T) {
	fake := openaichattest.NewServer(t, openaichattest.WithReplies(
		openaichattest.Reply{Fault: openaichattest.Busy, RetryAfter: 1},
		openaichattest.Reply{Fault: openaichattest.CutStream}, // cut before any text: retried
		openaichattest.Reply{Text: "Third time."}))
	// The waits are recorded, not taken: the server's Retry-After, then
	// the backoff.
	var waited []time.Duration
	r := chat(t, client(t, fake.URL(), func(c *openaichat.Config) {
		c.Sleep = func(_ context.Context, d time.Duration) error { waited = append(waited, d); return nil }
	}), hello())
	if r.err != nil || r.text != "Third time." || len(fake.Requests()) != 3 {
		t.Fatalf("%v %q after %d requests", r.err, r.text, len(fake.Requests()))
	}
	if len(waited) != 2 || waited[0] != time.Second || waited[1] != time.Millisecond {
		t.Fatalf("waited %v, want [1s (Retry-After) 1ms (backoff)]", waited)
	}
}

// A Retry-After past MaxRetryAfter waits MaxRetryAfter: a server cannot
// stall a run for an hour.
func TestRetryAfterCapped(t *testing.T) {
	fake := openaichattest.NewServer(t, openaichattest.WithReplies(
		openaichattest.Reply{Fault: openaichattest.RateLimited, RetryAfter: 3600}, openaichattest.Reply{Text: "Later."}))
	var waited []time.Duration
	r := chat(t, client(t, fake.URL(), func(c *openaichat.Config) {
		c.MaxRetryAfter = 5 * time.Second
		c.Sleep = func(_ context.Context, d time.Duration) error { waited = append(waited, d); return nil }
	}), hello())
	if r.err != nil || r.text != "Later." || len(waited) != 1 || waited[0] != 5*time.Second {
		t.Fatalf("%v %q, waited %v, want [5s]", r.err, r.text, waited)
	}
}

func TestAPIKey(t *testing.T) {
	fake := openaichattest.NewServer(t, openaichattest.WithAPIKey("sk-local"))
	if r := chat(t, client(t, fake.URL()), hello()); !errors.Is(r.err, openaichat.ErrUnauthorized) {
		t.Fatalf("without the key: %v", r.err)
	}
	if r := chat(t, client(t, fake.URL(), func(c *openaichat.Config) { c.APIKey = "sk-local" }), hello()); r.err != nil {
		t.Fatal(r.err)
	}
}

func TestContextWindow(t *testing.T) {
	ctx := context.Background()
	m := openaichattest.WithModel(openaichattest.Model{Name: "qwen", ContextLength: 32768})
	for _, fl := range []openaichattest.Flavor{openaichattest.VLLM, openaichattest.LlamaCpp} {
		fake := openaichattest.NewServer(t, openaichattest.WithFlavor(fl), m)
		if n, err := client(t, fake.URL()).ContextWindow(ctx, "qwen"); err != nil || n != 32768 {
			t.Fatalf("flavor %d: %d %v", fl, n, err)
		}
	}
	fake := openaichattest.NewServer(t, m)
	if n, _ := client(t, fake.URL(), func(c *openaichat.Config) { c.ContextWindow = 4096 }).ContextWindow(ctx, "qwen"); n != 4096 {
		t.Fatalf("configured window %d", n)
	}
}

func TestEmbed(t *testing.T) {
	fake := openaichattest.NewServer(t)
	texts := make([]string, 70) // two batches
	for i := range texts {
		texts[i] = strings.Repeat("w ", i%5) + "kettle"
	}
	vecs, err := client(t, fake.URL()).Embed(context.Background(), texts)
	if err != nil || len(vecs) != 70 || fake.EmbedCalls() != 2 {
		t.Fatalf("%v %d vectors in %d calls", err, len(vecs), fake.EmbedCalls())
	}
	for i, v := range vecs {
		want := openaichattest.Vector(texts[i], 8)
		for j := range v {
			if v[j] != want[j] {
				t.Fatalf("vector %d out of order", i)
			}
		}
	}
	_, err = client(t, fake.URL(), func(c *openaichat.Config) { c.EmbedModel = "missing" }).Embed(context.Background(), texts)
	if !errors.Is(err, llm.ErrModelNotFound) {
		t.Fatal(err)
	}
}

func TestURL(t *testing.T) {
	for in, want := range map[string]string{"gpu:8000": "http://gpu:8000/v1", "http://h/v1/": "http://h/v1", "https://lb/openai": "https://lb/openai/v1"} {
		c, err := openaichat.New(openaichat.Config{URL: in})
		if err != nil || c.URL() != want {
			t.Fatalf("%q: %v %q", in, err, c.URL())
		}
	}
	for _, bad := range []string{"", "ftp://x", "http://"} {
		if _, err := openaichat.New(openaichat.Config{URL: bad}); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}
