package engine_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

// An assistant stands where a prompt does: its model, instructions with
// the variables substituted, and tools.
func TestResponsePromptAssistant(t *testing.T) {
	ctx := context.Background()
	m := scripted.New(scripted.Turn{Text: "x = 1"})
	e := openEngine(t, m)
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "tutor-model", Instructions: apitype.Ptr("You tutor {{subject}}, {{ level }} level; {{unknown}} stays."),
		Tools: []apitype.Tool{{Type: apitype.ToolTypeFunction, Function: &apitype.FunctionDef{Name: "check", Parameters: []byte(`{"type":"object","properties":{}}`)}}}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.Responses.Create(ctx, &apitype.ResponseCreateParams{Input: apitype.TextResponseInput("3x + 11 = 14?"),
		Prompt: &apitype.ResponsePrompt{ID: a.ID, Variables: map[string]string{"subject": "math", "level": "school"}}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Model != "tutor-model" || r.Prompt == nil || r.Prompt.ID != a.ID || len(r.Tools) != 1 || r.Tools[0].Name != "check" || r.OutputText() != "x = 1" {
		t.Fatalf("%+v", r)
	}
	req := m.Requests()[0]
	if req.Messages[0].Role != llm.RoleSystem || req.Messages[0].Content != "You tutor math, school level; {{unknown}} stays." || len(req.Tools) != 1 {
		t.Fatalf("request %+v", req)
	}
	var ae *apitype.Error
	if _, err := e.Responses.Create(ctx, &apitype.ResponseCreateParams{Input: apitype.TextResponseInput("x"), Prompt: &apitype.ResponsePrompt{ID: "asst_missing"}}); !errors.As(err, &ae) || ae.Status != 404 || ae.Param != "prompt.id" {
		t.Fatalf("unknown assistant: %v", err)
	}
	if _, err := e.Responses.Create(ctx, &apitype.ResponseCreateParams{Input: apitype.TextResponseInput("x"), Prompt: &apitype.ResponsePrompt{ID: "pmpt_1"}}); !errors.As(err, &ae) || ae.Status != 400 || ae.Param != "prompt.id" {
		t.Fatalf("stored prompt: %v", err)
	}
}

// A thread carried into a conversation: its messages in order, its
// metadata and tool resources; the thread stays; a response continues it.
func TestConversationFromThread(t *testing.T) {
	ctx := context.Background()
	m := scripted.New(scripted.Turn{Text: "Paris."}, scripted.Turn{Text: "About 2 million."})
	e := openEngine(t, m)
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{})
	if err != nil {
		t.Fatal(err)
	}
	th, err := e.Threads.Create(ctx, apitype.ThreadCreateParams{Metadata: apitype.Metadata{"user": "ada"},
		ToolResources: &apitype.ToolResources{FileSearch: &apitype.FileSearchResources{VectorStoreIDs: []string{vs.ID}}},
		Messages:      []apitype.MessageCreateParams{{Role: apitype.RoleUser, Content: apitype.TextInput("Capital of France?")}}})
	if err != nil {
		t.Fatal(err)
	}
	a := mustAssistant(t, e)
	if _, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID}); err != nil {
		t.Fatal(err)
	}
	c, err := e.Conversations.FromThread(ctx, th.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Metadata["user"] != "ada" || c.Metadata[engine.MetaFromThread] != th.ID || c.Metadata[engine.MetaVectorStoreIDs] != vs.ID {
		t.Fatalf("metadata %+v", c.Metadata)
	}
	items, err := e.Conversations.Items.List(ctx, c.ID, apitype.ListParams{Order: apitype.OrderAsc})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items.Data {
		got = append(got, string(it.Message.Role)+":"+it.Message.Content[0].Type+":"+it.Message.Text())
	}
	if !slices.Equal(got, []string{"user:input_text:Capital of France?", "assistant:output_text:Paris."}) {
		t.Fatalf("items %q", got)
	}
	if msgs, err := e.Messages.List(ctx, th.ID, apitype.MessageListParams{}); err != nil || len(msgs.Data) != 2 {
		t.Fatalf("the thread changed: %v %v", msgs, err)
	}
	p := respParams("Its population?")
	p.Conversation = &apitype.ConversationRef{ID: c.ID}
	if _, err := e.Responses.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if n := len(m.Requests()[1].Messages); n != 3 {
		t.Fatalf("the continued conversation sent %d messages", n)
	}
	if _, err := e.Conversations.FromThread(ctx, "thread_missing"); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("unknown thread: %v", err)
	}
}
