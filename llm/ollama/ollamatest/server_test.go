package ollamatest_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/hearth-go/hearth/llm/ollama/ollamatest"
)

// Ollama's own client understands everything the fake sends.
func TestRealClientReadsTheFake(t *testing.T) {
	srv := ollamatest.NewServer(t, ollamatest.WithReplies(ollamatest.Reply{
		Thinking: "hmm", Text: "It is sunny.", Pieces: 3, DoneReason: "stop", PromptTokens: 9,
		ToolCalls: []ollamatest.ToolCall{{Name: "get_weather", Arguments: `{"city":"Paris"}`}},
	}))
	u, _ := url.Parse(srv.URL())
	c := api.NewClient(u, http.DefaultClient)
	ctx := context.Background()

	var content, thinking strings.Builder
	var calls []api.ToolCall
	var last api.ChatResponse
	err := c.Chat(ctx, &api.ChatRequest{Model: "qwen3", Messages: []api.Message{{Role: "user", Content: "weather?"}}}, func(r api.ChatResponse) error {
		content.WriteString(r.Message.Content)
		thinking.WriteString(r.Message.Thinking)
		calls = append(calls, r.Message.ToolCalls...)
		last = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if content.String() != "It is sunny." || thinking.String() != "hmm" {
		t.Errorf("content %q thinking %q", content.String(), thinking.String())
	}
	if len(calls) != 1 || !strings.HasPrefix(calls[0].ID, "call_") || calls[0].Function.Arguments.String() != `{"city":"Paris"}` {
		t.Errorf("calls %+v", calls)
	}
	if !last.Done || last.DoneReason != "stop" || last.PromptEvalCount != 9 || last.EvalCount != 5 {
		t.Errorf("last %+v", last)
	}
	if got := srv.Requests(); len(got) != 1 || got[0].Messages[0].Content != "weather?" {
		t.Errorf("requests %+v", got)
	}

	show, err := c.Show(ctx, &api.ShowRequest{Model: "llava"})
	if err != nil || show.ModelInfo["llama.context_length"] != float64(4096) || len(show.Capabilities) != 2 || show.Capabilities[1] != "vision" {
		t.Errorf("show %+v %v", show, err)
	}
	var se api.StatusError
	if _, err := c.Show(ctx, &api.ShowRequest{Model: "nope"}); !errors.As(err, &se) || se.StatusCode != 404 || se.ErrorMessage != "model 'nope' not found" {
		t.Errorf("show missing: %v", err)
	}
	list, err := c.List(ctx)
	if err != nil || len(list.Models) != len(ollamatest.DefaultModels()) {
		t.Errorf("list %+v %v", list, err)
	}
	if v, err := c.Version(ctx); err != nil || v != ollamatest.Version {
		t.Errorf("version %q %v", v, err)
	}
	if err := c.Heartbeat(ctx); err != nil {
		t.Errorf("heartbeat %v", err)
	}
	emb, err := c.Embed(ctx, &api.EmbedRequest{Model: "nomic-embed-text", Input: []string{"a", "b"}})
	if err != nil || len(emb.Embeddings) != 2 || len(emb.Embeddings[0]) != 8 {
		t.Errorf("embed %+v %v", emb, err)
	}
	if srv.Hits("/api/show") != 2 || len(srv.EmbedRequests()) != 1 {
		t.Errorf("hits %d embeds %d", srv.Hits("/api/show"), len(srv.EmbedRequests()))
	}
}

func TestFaultsAsOllamaWordsThem(t *testing.T) {
	cases := []struct {
		fault  ollamatest.Fault
		status int
		text   string
	}{
		{ollamatest.ServerError, 500, "llama runner process has terminated"},
		{ollamatest.ModelNotFound, 404, "not found"},
		{ollamatest.ContextOverflow, 400, ollamatest.TextContextOverflow},
		{ollamatest.NoVision, 500, ollamatest.TextNoVision},
		{ollamatest.Busy, 503, ollamatest.TextBusy},
	}
	for _, tc := range cases {
		srv := ollamatest.NewServer(t, ollamatest.WithReplies(ollamatest.Reply{Fault: tc.fault}))
		u, _ := url.Parse(srv.URL())
		err := api.NewClient(u, http.DefaultClient).Chat(context.Background(), &api.ChatRequest{Model: "llama3.2"}, func(api.ChatResponse) error { return nil })
		var se api.StatusError
		if !errors.As(err, &se) || se.StatusCode != tc.status || !strings.Contains(se.ErrorMessage, tc.text) {
			t.Errorf("fault %d: %v", tc.fault, err)
		}
	}
}

func TestPieces(t *testing.T) {
	if got := ollamatest.Pieces("a b c", 0); len(got) != 3 || got[0] != "a " || got[2] != "c" {
		t.Errorf("%q", got)
	}
	if got := ollamatest.Pieces("abcdef", 4); strings.Join(got, "") != "abcdef" || len(got) != 4 {
		t.Errorf("%q", got)
	}
	if got := ollamatest.Pieces("ab", 5); len(got) != 2 {
		t.Errorf("%q", got)
	}
}

func TestToolsNeedCapability(t *testing.T) {
	srv := ollamatest.NewServer(t)
	u, _ := url.Parse(srv.URL())
	err := api.NewClient(u, http.DefaultClient).Chat(context.Background(), &api.ChatRequest{
		Model: "llava", Tools: api.Tools{{Type: "function", Function: api.ToolFunction{Name: "f"}}},
	}, func(api.ChatResponse) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "does not support tools") {
		t.Errorf("err = %v", err)
	}
}
