//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/filesearch"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/openaichat"
)

// The OpenAI-compatible backend (llm/openaichat) against the real Ollama
// server's /v1/chat/completions and /v1/embeddings: a real
// OpenAI-compatible server the tier already builds.

// pathCounter counts the requests that reach each path, so a test can tell
// which endpoint did the work.
type pathCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (p *pathCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	p.mu.Lock()
	p.n[r.URL.Path]++
	p.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (p *pathCounter) count(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n[path]
}

func openaiClient(t *testing.T, e env) (*openaichat.Client, *pathCounter) {
	t.Helper()
	pc := &pathCounter{n: map[string]int{}}
	c, err := openaichat.New(openaichat.Config{URL: e.URL + "/v1", EmbedModel: e.EmbedModel, HTTPClient: &http.Client{Transport: pc}})
	if err != nil {
		t.Fatal(err)
	}
	return c, pc
}

func openaiEngine(t *testing.T, c *openaichat.Client, mod ...func(*engine.Config)) *engine.Engine {
	t.Helper()
	cfg := engine.Config{Path: filepath.Join(t.TempDir(), "h.db"), Model: c}
	for _, m := range mod {
		m(&cfg)
	}
	eng, err := engine.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// A streamed run through the engine on /v1/chat/completions: the tiny
// model's fixed answer arrives in several deltas, the run completes with
// the include_usage chunk's counts.
func TestOpenAIChatStreamedRun(t *testing.T) {
	e := needEnv(t)
	ctx := testCtx(t)
	c, pc := openaiClient(t, e)
	eng := openaiEngine(t, c)
	a, err := eng.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: e.Model})
	if err != nil {
		t.Fatal(err)
	}
	text, last, deltas := "", "", 0
	var usage *apitype.Usage
	for ev, err := range eng.Runs.CreateThreadAndRunStream(ctx, apitype.ThreadAndRunCreateParams{AssistantID: a.ID,
		Thread: &apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: "user", Content: apitype.TextInput("hi")}}}}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.MessageDelta != nil {
			text += ev.MessageDelta.Delta.Content[0].Text.Value
			deltas++
		}
		last = string(ev.Event)
		if ev.Run != nil && ev.Run.Status == apitype.RunCompleted {
			usage = ev.Run.Usage
		}
	}
	if text != plainReply || last != "thread.run.completed" {
		t.Fatalf("text %q, last event %s", text, last)
	}
	if deltas < 2 {
		t.Errorf("the reply came in %d delta(s): it did not stream", deltas)
	}
	if usage == nil || usage.PromptTokens == 0 || usage.CompletionTokens == 0 {
		t.Errorf("usage %+v, want the include_usage chunk's counts", usage)
	}
	if n := pc.count("/v1/chat/completions"); n != 1 {
		t.Errorf("%d requests to /v1/chat/completions, want 1", n)
	}
}

// The weather flow on /v1/chat/completions: Ollama's parsed tool call
// arrives as a streamed tool_calls delta, the run requires action, the
// submitted output goes back as a role "tool" message and the model answers.
func TestOpenAIChatFunctionCalling(t *testing.T) {
	e := needEnv(t)
	ctx := testCtx(t)
	c, _ := openaiClient(t, e)
	eng := openaiEngine(t, c)
	a, err := eng.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: e.ToolsModel, Tools: []apitype.Tool{{
		Type: apitype.ToolTypeFunction, Function: &apitype.FunctionDef{Name: "get_weather",
			Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}}}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := eng.Runs.CreateThreadAndRunAndWait(ctx, apitype.ThreadAndRunCreateParams{AssistantID: a.ID,
		Thread: &apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: "user", Content: apitype.TextInput("weather in Paris?")}}}})
	if err != nil || r.Status != apitype.RunRequiresAction {
		t.Fatalf("run %v %+v %+v", err, r, r.LastError)
	}
	calls := r.RequiredAction.SubmitToolOutputs.ToolCalls
	if len(calls) != 1 {
		t.Fatalf("calls %+v", calls)
	}
	var args map[string]string
	if err := json.Unmarshal([]byte(calls[0].Function.Arguments), &args); err != nil || calls[0].Function.Name != "get_weather" || args["city"] != "Paris" || calls[0].ID == "" {
		t.Fatalf("call %+v (%v)", calls[0], err)
	}
	r, err = eng.Runs.SubmitToolOutputsAndWait(ctx, r.ThreadID, r.ID, apitype.SubmitToolOutputsParams{
		ToolOutputs: []apitype.ToolOutput{{ToolCallID: calls[0].ID, Output: `{"sky":"sunny"}`}}})
	if err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("after submit %v %+v %+v", err, r, r.LastError)
	}
	page, err := eng.Messages.List(ctx, r.ThreadID, apitype.MessageListParams{RunID: r.ID})
	if err != nil || len(page.Data) == 0 || page.Data[0].Text() != weatherReply {
		t.Fatalf("answer %v %+v", err, page)
	}
}

// /v1/embeddings: one unit-norm vector per text, in order.
func TestOpenAIChatEmbed(t *testing.T) {
	e := needEnv(t)
	if e.EmbedModel == "" {
		t.Skip("HEARTH_TINY_EMBED_MODEL not set")
	}
	c, pc := openaiClient(t, e)
	texts := []string{"hello world", "tick", "hello world"}
	vecs, err := c.Embed(testCtx(t), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != len(texts) {
		t.Fatalf("%d vectors for %d texts", len(vecs), len(texts))
	}
	for i, v := range vecs {
		var sq float64
		for _, x := range v {
			sq += float64(x) * float64(x)
		}
		if len(v) != embedDim || math.Abs(math.Sqrt(sq)-1) > 1e-3 {
			t.Errorf("vector %d: %d dimensions, norm %g; want %d, 1", i, len(v), math.Sqrt(sq), embedDim)
		}
	}
	if !equalVec(vecs[0], vecs[2]) || equalVec(vecs[0], vecs[1]) {
		t.Error("vectors out of order: equal texts differ or different texts match")
	}
	if n := pc.count("/v1/embeddings"); n != 1 {
		t.Errorf("%d requests to /v1/embeddings, want one batch", n)
	}
}

// A file_search vector store embedded on /v1/embeddings: its files index,
// and a search (its query embedded on the same endpoint) finds the file
// that says the query.
func TestOpenAIChatVectorStore(t *testing.T) {
	e := needEnv(t)
	if e.EmbedModel == "" {
		t.Skip("HEARTH_TINY_EMBED_MODEL not set")
	}
	ctx := testCtx(t)
	c, pc := openaiClient(t, e)
	eng := openaiEngine(t, c, func(cfg *engine.Config) { cfg.Embedder = filesearch.NewLLMEmbedder(c, e.EmbedModel) })
	var ids []string
	for _, f := range []struct{ name, text string }{
		{"hello.md", "hello world"}, {"clock.md", "tick tock tick tock"}} {
		file, err := eng.Files.Create(ctx, strings.NewReader(f.text), apitype.FileCreateParams{Filename: f.name, Purpose: "assistants"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, file.ID)
	}
	vs, err := eng.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{FileIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if vs, err = eng.VectorStores.Wait(ctx, vs.ID); err != nil || vs.FileCounts.Completed != 2 {
		t.Fatalf("vector store %v %+v", err, vs)
	}
	indexed := pc.count("/v1/embeddings")
	if indexed == 0 {
		t.Fatal("the files were not embedded on /v1/embeddings")
	}
	res, err := eng.VectorStores.Search(ctx, vs.ID, apitype.VectorStoreSearchParams{Query: apitype.StringList{"tick tock tick tock"}})
	if err != nil || len(res.Data) == 0 {
		t.Fatalf("search %v %+v", err, res)
	}
	if res.Data[0].Filename != "clock.md" {
		t.Errorf("top result %s (%g), want clock.md", res.Data[0].Filename, res.Data[0].Score)
	}
	if pc.count("/v1/embeddings") == indexed {
		t.Error("the query was not embedded on /v1/embeddings")
	}
}

// A missing model fails with llm.ErrModelNotFound, and the error lists
// the models the server has.
func TestOpenAIChatModelNotFound(t *testing.T) {
	e := needEnv(t)
	c, _ := openaiClient(t, e)
	_, err := collect(c.Chat(testCtx(t), userSays("hearth-no-such-model", "hi")))
	if !errors.Is(err, llm.ErrModelNotFound) {
		t.Fatalf("err = %v, want llm.ErrModelNotFound", err)
	}
	if !strings.Contains(err.Error(), "hearth-no-such-model") || !strings.Contains(err.Error(), e.Model) {
		t.Errorf("error %q does not name the model and the server's models", err)
	}
}
