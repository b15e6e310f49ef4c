package ollama_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/ollama"
	"github.com/hearth-go/hearth/llm/ollama/ollamatest"
	"github.com/hearth-go/hearth/schema"
)

var weatherTool = llm.Tool{
	Name:        "get_weather",
	Description: "Current weather for a city.",
	Parameters: json.RawMessage(`{
		"type": "object",
		"properties": {
			"city": {"type": "string", "description": "City name", "pattern": "^[A-Z]"},
			"days": {"type": "integer", "minimum": 1, "maximum": 7, "default": 3},
			"unit": {"type": "string", "enum": ["c", "f"]}
		},
		"required": ["city"],
		"additionalProperties": false
	}`),
	Strict: true,
}

func TestChatToolCalls(t *testing.T) {
	srv := ollamatest.NewServer(t, ollamatest.WithReplies(ollamatest.Reply{
		ToolCalls: []ollamatest.ToolCall{
			{ID: "call_abc12345", Name: "get_weather", Arguments: `{"city":"Paris","days":2}`},
			{Name: "get_weather", Arguments: `{"unit":"c","city":"Oslo"}`},
		},
	}))
	chunks, err := collect(t, newClient(t, srv), &llm.Request{
		Model: "llama3.2", Messages: []llm.Message{user("weather in Paris and Oslo?")}, Tools: []llm.Tool{weatherTool},
	})
	if err != nil {
		t.Fatal(err)
	}
	var calls []llm.ToolCall
	for _, ch := range chunks {
		calls = append(calls, ch.ToolCalls...)
	}
	if len(calls) != 2 {
		t.Fatalf("calls %+v", calls)
	}
	if calls[0].ID != "call_abc12345" || calls[0].Name != "get_weather" || string(calls[0].Arguments) != `{"city":"Paris","days":2}` {
		t.Errorf("call 0 %+v (%s)", calls[0], calls[0].Arguments)
	}
	// Ollama's own id is kept; argument order is the model's.
	if !strings.HasPrefix(calls[1].ID, "call_") || calls[1].ID == calls[0].ID || string(calls[1].Arguments) != `{"unit":"c","city":"Oslo"}` {
		t.Errorf("call 1 %+v (%s)", calls[1], calls[1].Arguments)
	}
	if f := chunks[len(chunks)-1].FinishReason; f != llm.FinishToolCalls {
		t.Errorf("finish %q", f)
	}
}

func TestToolCallIDsDerivedWhenMissing(t *testing.T) {
	reply := ollamatest.Reply{NoToolCallIDs: true, ToolCalls: []ollamatest.ToolCall{
		{Name: "get_weather", Arguments: `{"city":"Paris"}`},
		{Name: "get_weather", Arguments: `{"city":"Paris"}`},
	}}
	srv := ollamatest.NewServer(t, ollamatest.WithHandler(func(*api.ChatRequest) ollamatest.Reply { return reply }))
	c := newClient(t, srv)
	ids := func(prompt string) []string {
		chunks, err := collect(t, c, &llm.Request{Model: "llama3.2", Messages: []llm.Message{user(prompt)}, Tools: []llm.Tool{weatherTool}})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, ch := range chunks {
			for _, tc := range ch.ToolCalls {
				out = append(out, tc.ID)
			}
		}
		return out
	}
	a, b, other := ids("weather?"), ids("weather?"), ids("weather again?")
	if len(a) != 2 || !strings.HasPrefix(a[0], "call_") || len(a[0]) != len("call_")+24 {
		t.Fatalf("ids %v", a)
	}
	if a[0] == a[1] {
		t.Error("two calls in one reply share an id")
	}
	if a[0] != b[0] || a[1] != b[1] {
		t.Errorf("ids not stable across runs: %v vs %v", a, b)
	}
	if a[0] == other[0] {
		t.Error("the same call in another conversation got the same id")
	}
}

func TestToolSchemaFoldedOnTheWire(t *testing.T) {
	srv := ollamatest.NewServer(t)
	c := newClient(t, srv)
	if _, err := collect(t, c, &llm.Request{Model: "llama3.2", Messages: []llm.Message{user("hi")}, Tools: []llm.Tool{weatherTool, {Name: "noop"}}}); err != nil {
		t.Fatal(err)
	}
	tools := srv.Requests()[0].Tools
	if len(tools) != 2 {
		t.Fatalf("tools %v", tools)
	}
	fn := tools[0].Function
	if fn.Name != "get_weather" || !strings.Contains(fn.Description, "Current weather for a city.") || !strings.Contains(fn.Description, "no other properties allowed") {
		t.Errorf("description %q", fn.Description)
	}
	city, _ := fn.Parameters.Properties.Get("city")
	days, _ := fn.Parameters.Properties.Get("days")
	if city.Description != "City name (pattern ^[A-Z])" {
		t.Errorf("city description %q", city.Description)
	}
	if days.Description != "minimum 1; maximum 7; default 3" {
		t.Errorf("days description %q", days.Description)
	}
	var order []string
	for k := range fn.Parameters.Properties.All() {
		order = append(order, k)
	}
	if strings.Join(order, ",") != "city,days,unit" {
		t.Errorf("property order %v", order)
	}
	if len(fn.Parameters.Required) != 1 || fn.Parameters.Required[0] != "city" {
		t.Errorf("required %v", fn.Parameters.Required)
	}
	noop := tools[1].Function
	if noop.Parameters.Type != "object" || noop.Parameters.Properties == nil {
		t.Errorf("empty parameters sent as %+v", noop.Parameters)
	}
}

func TestToolChoice(t *testing.T) {
	srv := ollamatest.NewServer(t)
	c := newClient(t, srv)
	other := llm.Tool{Name: "other", Parameters: json.RawMessage(`{"type":"object","properties":{}}`)}
	for _, choice := range []llm.ToolChoice{
		{Mode: llm.ToolChoiceNone},
		{Mode: llm.ToolChoiceFunction, Name: "other"},
		{Mode: llm.ToolChoiceRequired},
	} {
		if _, err := collect(t, c, &llm.Request{Model: "llama3.2", Messages: []llm.Message{user("hi")}, Tools: []llm.Tool{weatherTool, other}, ToolChoice: choice}); err != nil {
			t.Fatal(err)
		}
	}
	reqs := srv.Requests()
	if len(reqs[0].Tools) != 0 {
		t.Errorf("none: %d tools sent", len(reqs[0].Tools))
	}
	if len(reqs[1].Tools) != 1 || reqs[1].Tools[0].Function.Name != "other" {
		t.Errorf("function: %v", reqs[1].Tools)
	}
	if len(reqs[2].Tools) != 2 {
		t.Errorf("required: %d tools", len(reqs[2].Tools))
	}
}

func TestToolBadSchema(t *testing.T) {
	srv := ollamatest.NewServer(t)
	_, err := collect(t, newClient(t, srv), &llm.Request{Model: "llama3.2", Messages: []llm.Message{user("hi")},
		Tools: []llm.Tool{{Name: "bad", Parameters: json.RawMessage(`[1,2]`)}}})
	if !errors.Is(err, schema.ErrInvalidSchema) || !strings.Contains(err.Error(), "tool bad") {
		t.Fatalf("err = %v", err)
	}
	if len(srv.Requests()) != 0 {
		t.Error("request sent with a bad schema")
	}
}

func TestToolHistoryOnTheWire(t *testing.T) {
	srv := ollamatest.NewServer(t)
	_, err := collect(t, newClient(t, srv), &llm.Request{Model: "llama3.2", Tools: []llm.Tool{weatherTool}, Messages: []llm.Message{
		user("weather?"),
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris","days":2}`)}}},
		{Role: llm.RoleTool, ToolCallID: "call_1", ToolName: "get_weather", Content: `{"temp":21}`},
	}})
	if err != nil {
		t.Fatal(err)
	}
	msgs := srv.Requests()[0].Messages
	a, tool := msgs[1], msgs[2]
	if len(a.ToolCalls) != 1 || a.ToolCalls[0].ID != "call_1" || a.ToolCalls[0].Function.Name != "get_weather" || a.ToolCalls[0].Function.Arguments.String() != `{"city":"Paris","days":2}` {
		t.Errorf("assistant %+v", a)
	}
	if tool.Role != "tool" || tool.ToolCallID != "call_1" || tool.ToolName != "get_weather" || tool.Content != `{"temp":21}` {
		t.Errorf("tool message %+v", tool)
	}
}

// The engine validates a model's arguments against the caller's full
// schema; this is the whole recipe.
func TestValidateModelArguments(t *testing.T) {
	s, err := schema.Compile(weatherTool.Parameters)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(json.RawMessage(`{"city":"Paris","days":2}`)); err != nil {
		t.Error(err)
	}
	err = s.Validate(json.RawMessage(`{"city":"paris","days":9,"x":1}`))
	var ve *schema.ValidationError
	if !errors.As(err, &ve) || len(ve.Violations) != 3 {
		t.Fatalf("err = %v", err)
	}
}

func TestEmbed(t *testing.T) {
	srv := ollamatest.NewServer(t)
	c := newClient(t, srv)
	texts := make([]string, 100)
	for i := range texts {
		texts[i] = strings.Repeat("word ", i%5+1)
	}
	vecs, err := c.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != 100 || len(vecs[0]) != 8 {
		t.Fatalf("%d vectors of %d", len(vecs), len(vecs[0]))
	}
	for i, v := range vecs {
		want := ollamatest.Embedding(texts[i], 8)
		for j := range v {
			if v[j] != want[j] {
				t.Fatalf("vector %d differs from the fake's embedding", i)
			}
		}
	}
	reqs := srv.EmbedRequests()
	if len(reqs) != 2 {
		t.Errorf("%d embed requests for 100 texts, want 2 batches", len(reqs))
	}
	if reqs[0].Model != "nomic-embed-text" || reqs[0].Truncate == nil || *reqs[0].Truncate {
		t.Errorf("embed request %+v", reqs[0])
	}
	if v, err := c.Embed(context.Background(), nil); err != nil || len(v) != 0 {
		t.Errorf("empty: %v %v", v, err)
	}
}

func TestEmbedErrors(t *testing.T) {
	srv := ollamatest.NewServer(t, ollamatest.WithModel(ollamatest.Model{Name: "tiny-embed", ContextLength: 3, Capabilities: []string{"embedding"}}))
	c := newClient(t, srv, func(c *ollama.Config) { c.EmbedModel = "absent" })
	if _, err := c.Embed(context.Background(), []string{"x"}); !errors.Is(err, llm.ErrModelNotFound) || !strings.Contains(err.Error(), "ollama pull absent") {
		t.Errorf("err = %v", err)
	}
	c = newClient(t, srv, func(c *ollama.Config) { c.EmbedModel = "tiny-embed" })
	if _, err := c.Embed(context.Background(), []string{"one two three four"}); !errors.Is(err, llm.ErrContextOverflow) {
		t.Errorf("err = %v", err)
	}
}

func TestPing(t *testing.T) {
	srv := ollamatest.NewServer(t)
	if err := newClient(t, srv).Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestNewURL(t *testing.T) {
	cases := []struct{ url, env, want string }{
		{"", "", "http://127.0.0.1:11434"},
		{"", "0.0.0.0:9999", "http://0.0.0.0:9999"},
		{"", "http://ollama.lan", "http://ollama.lan:80"},
		{"localhost:1234", "http://ignored:1", "http://localhost:1234"},
		{"myhost", "", "http://myhost:11434"},
		{"https://box.example/ollama/", "", "https://box.example:443/ollama"},
	}
	for _, tc := range cases {
		t.Setenv("OLLAMA_HOST", tc.env)
		if tc.env == "" {
			os.Unsetenv("OLLAMA_HOST")
		}
		c, err := ollama.New(ollama.Config{URL: tc.url})
		if err != nil {
			t.Fatalf("%q/%q: %v", tc.url, tc.env, err)
		}
		if c.URL() != tc.want {
			t.Errorf("%q/%q: URL %q, want %q", tc.url, tc.env, c.URL(), tc.want)
		}
	}
	for _, bad := range []string{"ftp://x", "http://", "http://h:99999"} {
		if _, err := ollama.New(ollama.Config{URL: bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Valid JSON Schemas that Ollama's types cannot hold as is still convert.
func TestToolSchemaOddButValid(t *testing.T) {
	srv := ollamatest.NewServer(t)
	params := json.RawMessage(`{"type":"object","properties":{"any":true,"never":false,"either":{"anyOf":[true,{"type":"string"}]},"list":{"type":["array","null"],"items":{"type":"integer"}}}}`)
	if _, err := schema.Compile(params); err != nil {
		t.Fatal(err)
	}
	_, err := collect(t, newClient(t, srv), &llm.Request{Model: "llama3.2", Messages: []llm.Message{user("hi")}, Tools: []llm.Tool{{Name: "odd", Parameters: params}}})
	if err != nil {
		t.Fatal(err)
	}
	props := srv.Requests()[0].Tools[0].Function.Parameters.Properties
	if never, _ := props.Get("never"); never.Description != "must not be present" {
		t.Errorf("never: %+v", never)
	}
	if list, _ := props.Get("list"); len(list.Type) != 2 {
		t.Errorf("list: %+v", list)
	}
}
