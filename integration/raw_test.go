//go:build integration

package integration

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
)

// The same checks through Ollama's own Go client, so the tier also pins down
// what the server itself does, independent of Hearth's backend.

func rawClient(t *testing.T, raw string) *api.Client {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return api.NewClient(u, http.DefaultClient)
}

func rawChat(t *testing.T, c *api.Client, req *api.ChatRequest) ([]api.ChatResponse, error) {
	t.Helper()
	var out []api.ChatResponse
	err := c.Chat(testCtx(t), req, func(r api.ChatResponse) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

func rawUser(model, s string, stream bool) *api.ChatRequest {
	return &api.ChatRequest{
		Model:    model,
		Messages: []api.Message{{Role: "user", Content: s}},
		Stream:   &stream,
		Options:  map[string]any{"temperature": 0},
	}
}

func TestRawPlainAnswer(t *testing.T) {
	e := needEnv(t)
	resps, err := rawChat(t, rawClient(t, e.URL), rawUser(e.Model, "Say hello.", false))
	if err != nil {
		t.Fatal(err)
	}
	if len(resps) != 1 {
		t.Fatalf("non-streamed chat gave %d responses", len(resps))
	}
	r := resps[0]
	if r.Message.Content != plainReply || !r.Done || r.DoneReason != "stop" {
		t.Fatalf("reply = %q done=%v reason=%q, want %q done stop", r.Message.Content, r.Done, r.DoneReason, plainReply)
	}
	// Ollama counts the end-of-sequence token too.
	if r.EvalCount != 7 {
		t.Errorf("eval_count = %d, want 7 (six reply tokens and EOS)", r.EvalCount)
	}
}

func TestRawStreamedAnswer(t *testing.T) {
	e := needEnv(t)
	resps, err := rawChat(t, rawClient(t, e.URL), rawUser(e.Model, "Stream it.", true))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	withText := 0
	for _, r := range resps {
		b.WriteString(r.Message.Content)
		if r.Message.Content != "" {
			withText++
		}
	}
	if b.String() != plainReply || withText < 3 || !resps[len(resps)-1].Done {
		t.Fatalf("stream = %d responses (%d with text) %q, want several giving %q", len(resps), withText, b.String(), plainReply)
	}
}

func TestRawToolCall(t *testing.T) {
	e := needEnv(t)
	req := rawUser(e.ToolsModel, "What is the weather in Paris?", false)
	props := api.NewToolPropertiesMap()
	props.Set("city", api.ToolProperty{Type: api.PropertyType{"string"}, Description: "City name"})
	req.Tools = api.Tools{{
		Type: "function",
		Function: api.ToolFunction{
			Name:        "get_weather",
			Description: "Current weather in a city.",
			Parameters:  api.ToolFunctionParameters{Type: "object", Properties: props, Required: []string{"city"}},
		},
	}}
	c := rawClient(t, e.URL)
	resps, err := rawChat(t, c, req)
	if err != nil {
		t.Fatal(err)
	}
	msg := resps[0].Message
	if len(msg.ToolCalls) != 1 {
		t.Fatalf("message = %+v, want one tool call", msg)
	}
	fn := msg.ToolCalls[0].Function
	city, _ := fn.Arguments.Get("city")
	if fn.Name != "get_weather" || fn.Arguments.Len() != 1 || city != "Paris" {
		t.Fatalf("tool call = %s %v, want get_weather {city: Paris}", fn.Name, fn.Arguments)
	}
	if strings.TrimSpace(msg.Content) != "" {
		t.Errorf("content beside the call = %q", msg.Content)
	}

	req.Messages = append(req.Messages, msg, api.Message{Role: "tool", ToolName: "get_weather", ToolCallID: msg.ToolCalls[0].ID, Content: `{"sky":"sunny"}`})
	resps, err = rawChat(t, c, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := resps[0].Message.Content; got != weatherReply {
		t.Fatalf("answer after the tool result = %q, want %q", got, weatherReply)
	}
}

func TestRawShowContextLength(t *testing.T) {
	e := needEnv(t)
	resp, err := rawClient(t, e.URL).Show(testCtx(t), &api.ShowRequest{Model: e.Model})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := resp.ModelInfo["llama.context_length"].(float64); got != contextLen {
		t.Fatalf("llama.context_length = %v, want %d", resp.ModelInfo["llama.context_length"], contextLen)
	}
}

func TestRawEmbed(t *testing.T) {
	e := needEnv(t)
	if e.EmbedModel == "" {
		t.Skip("HEARTH_TINY_EMBED_MODEL not set")
	}
	resp, err := rawClient(t, e.URL).Embed(testCtx(t), &api.EmbedRequest{Model: e.EmbedModel, Input: []string{"hello world", "tick"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Embeddings) != 2 || len(resp.Embeddings[0]) != embedDim {
		t.Fatalf("embeddings: %d vectors of %d dims, want 2 of %d", len(resp.Embeddings), len(resp.Embeddings[0]), embedDim)
	}
	var sq float64
	for _, x := range resp.Embeddings[0] {
		sq += float64(x) * float64(x)
	}
	if math.Abs(math.Sqrt(sq)-1) > 1e-3 {
		t.Errorf("norm = %g, want 1", math.Sqrt(sq))
	}
}

func TestRawModelNotFound(t *testing.T) {
	e := needEnv(t)
	_, err := rawChat(t, rawClient(t, e.URL), rawUser("hearth-no-such-model", "hi", true))
	var se api.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusNotFound {
		t.Fatalf("err = %#v, want api.StatusError 404", err)
	}
}

// TestRawServerKilledMidStream pins down what Ollama's own client sees when
// the server dies mid-reply: the callback stops promptly and never gets a
// done response, but Chat returns nil — api.Client reads the stream with a
// bufio.Scanner, which takes the cut body for a clean end. That is why
// Hearth's backend treats "no done" as llm.ErrStreamCut.
func TestRawServerKilledMidStream(t *testing.T) {
	e := needEnv(t)
	if e.LoopModel == "" {
		t.Skip("HEARTH_TINY_LOOP_MODEL not set")
	}
	srv := startPrivateServer(t, e)
	req := rawUser(e.LoopModel, "Count forever.", true)
	req.Options["num_predict"] = 100000
	n := 0
	done := false
	var killedAt time.Time
	err := rawClient(t, srv.URL).Chat(testCtx(t), req, func(r api.ChatResponse) error {
		n++
		done = done || r.Done
		if n == 3 {
			srv.Kill()
			killedAt = time.Now()
		}
		return nil
	})
	if killedAt.IsZero() {
		t.Fatalf("the reply ended after %d responses before the server was killed (err %v)", n, err)
	}
	if done {
		t.Fatal("the cut reply ended with done=true")
	}
	if d := time.Since(killedAt); d > 10*time.Second {
		t.Errorf("the cut was reported %v after the kill", d)
	}
	t.Logf("cut after %d responses; api.Client.Chat returned %v", n, err)
}
