package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

func respParams(input string) *apitype.ResponseCreateParams {
	return &apitype.ResponseCreateParams{Model: "test-model", Input: apitype.TextResponseInput(input)}
}

func TestResponseCreate(t *testing.T) {
	ctx := context.Background()
	m := scripted.New(scripted.Turn{Text: "Hello there."})
	e := openEngine(t, m)
	p := respParams("Hi!")
	p.Instructions = apitype.Ptr("Be brief.")
	p.Metadata = apitype.Metadata{"k": "v"}
	r, err := e.Responses.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != apitype.ResponseCompleted || r.OutputText() != "Hello there." || r.CompletedAt == nil || r.Usage == nil || r.Usage.TotalTokens == 0 {
		t.Fatalf("response %+v", r)
	}
	if len(r.Output) != 1 || r.Output[0].Message == nil || r.Output[0].Message.Status != "completed" || !strings.HasPrefix(r.Output[0].ID(), "msg_") {
		t.Fatalf("output %+v", r.Output)
	}
	got, err := e.Responses.Retrieve(ctx, r.ID, apitype.ResponseRetrieveParams{})
	if err != nil || got.OutputText() != "Hello there." || got.Status != apitype.ResponseCompleted || got.Metadata["k"] != "v" {
		t.Fatalf("retrieve %+v %v", got, err)
	}
	req := m.Requests()[0]
	if req.Messages[0].Role != llm.RoleSystem || req.Messages[0].Content != "Be brief." || scripted.LastUser(&req) != "Hi!" {
		t.Fatalf("request %+v", req.Messages)
	}
	items, err := e.Responses.InputItems(ctx, r.ID, apitype.InputItemListParams{})
	if err != nil || len(items.Data) != 1 || items.Data[0].Message.Text() != "Hi!" {
		t.Fatalf("input items %+v %v", items, err)
	}
	if _, err := e.Responses.Delete(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Responses.Retrieve(ctx, r.ID, apitype.ResponseRetrieveParams{}); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

// The history is the chain's inputs and outputs; instructions are not
// carried to the next turn.
func TestResponsePreviousChain(t *testing.T) {
	ctx := context.Background()
	m := scripted.New(scripted.Turn{Text: "Paris."}, scripted.Turn{Text: "About 2 million."})
	e := openEngine(t, m)
	p := respParams("Capital of France?")
	p.Instructions = apitype.Ptr("Answer in one word.")
	r1, err := e.Responses.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	p2 := respParams("Its population?")
	p2.PreviousResponseID = &r1.ID
	r2, err := e.Responses.Create(ctx, p2)
	if err != nil || r2.OutputText() != "About 2 million." || *r2.PreviousResponseID != r1.ID {
		t.Fatalf("%+v %v", r2, err)
	}
	req := m.Requests()[1]
	var got []string
	for _, msg := range req.Messages {
		got = append(got, string(msg.Role)+":"+msg.Content)
	}
	want := []string{"user:Capital of France?", "assistant:Paris.", "user:Its population?"}
	if !slices.Equal(got, want) {
		t.Fatalf("prompt %q, want %q", got, want)
	}
}

// Function calls end the response; the caller continues with
// function_call_output items naming their call_id.
func TestResponseFunctionCalling(t *testing.T) {
	ctx := context.Background()
	m := scripted.New(
		scripted.Turn{Calls: []scripted.Call{{Name: "get_weather", Arguments: `{"city":"Oslo"}`}}, StreamArguments: true},
		scripted.Turn{Text: "It is sunny in Oslo."})
	e := openEngine(t, m)
	p := respParams("Weather in Oslo?")
	p.Tools = []apitype.ResponseTool{{Type: apitype.ToolTypeFunction, Name: "get_weather", Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}}
	r1, err := e.Responses.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Status != apitype.ResponseCompleted || len(r1.Output) != 1 || r1.Output[0].FunctionCall == nil {
		t.Fatalf("first %+v", r1.Output)
	}
	call := r1.Output[0].FunctionCall
	if call.Name != "get_weather" || call.Arguments != `{"city":"Oslo"}` || call.CallID == "" || !strings.HasPrefix(call.ID, "fc_") {
		t.Fatalf("call %+v", call)
	}
	// Continuing without the output is refused, as is an unknown call_id.
	p2 := respParams("well?")
	p2.PreviousResponseID = &r1.ID
	if _, err := e.Responses.Create(ctx, p2); !errors.Is(err, apitype.ErrInvalidRequest) || !strings.Contains(err.Error(), "No tool output found") {
		t.Fatalf("missing output: %v", err)
	}
	out := func(callID string) *apitype.ResponseCreateParams {
		p := &apitype.ResponseCreateParams{Model: "test-model", PreviousResponseID: &r1.ID, Tools: p.Tools,
			Input: apitype.ItemsResponseInput(apitype.ItemOf(&apitype.FunctionCallOutputItem{CallID: callID, Output: apitype.FunctionCallOutput{Text: `{"sky":"sunny"}`}}))}
		return p
	}
	if _, err := e.Responses.Create(ctx, out("call_nope")); !errors.Is(err, apitype.ErrInvalidRequest) {
		t.Fatalf("unknown call_id: %v", err)
	}
	r2, err := e.Responses.Create(ctx, out(call.CallID))
	if err != nil || r2.OutputText() != "It is sunny in Oslo." {
		t.Fatalf("second %+v %v", r2, err)
	}
	req := m.Requests()[1]
	if res, ok := scripted.LastToolResult(&req); !ok || res != `{"sky":"sunny"}` {
		t.Fatalf("tool result %q %v in %+v", res, ok, req.Messages)
	}
}

// The stream carries the API's events in order, numbered from 0.
func TestResponseStreamEvents(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, scripted.New(scripted.Turn{Text: "one two three", Pieces: 3}))
	var types []string
	var text strings.Builder
	for ev, err := range e.Responses.CreateStream(ctx, respParams("count")) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.SequenceNumber != len(types) {
			t.Fatalf("event %d has sequence_number %d", len(types), ev.SequenceNumber)
		}
		types = append(types, string(ev.Type))
		if ev.Type == apitype.EventOutputTextDelta {
			text.WriteString(ev.Delta)
		}
	}
	want := []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
		"response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
		"response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"}
	if !slices.Equal(types, want) || text.String() != "one two three" {
		t.Fatalf("events %q text %q", types, text.String())
	}
}

// A background response returns queued, can be cancelled (again and
// again), and its stream replays from a sequence number.
func TestResponseBackgroundCancel(t *testing.T) {
	ctx := context.Background()
	hold := scripted.NewHold()
	e := openEngine(t, scripted.New(scripted.Turn{Text: "partial", Hold: hold}, scripted.Turn{Text: "done"}))
	p := respParams("go")
	p.Background = apitype.Ptr(true)
	r, err := e.Responses.Create(ctx, p)
	if err != nil || r.Status != apitype.ResponseQueued || !r.Background {
		t.Fatalf("%+v %v", r, err)
	}
	if err := hold.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := e.Responses.Cancel(ctx, r.ID)
	if err != nil || c.Status != apitype.ResponseCancelled {
		t.Fatalf("cancel %+v %v", c, err)
	}
	again, err := e.Responses.Cancel(ctx, r.ID)
	if err != nil || again.Status != apitype.ResponseCancelled {
		t.Fatalf("cancel again %+v %v", again, err)
	}
	var last apitype.ResponseStreamEvent
	n := 0
	for ev, err := range e.Responses.Stream(ctx, r.ID, 1) {
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 && ev.SequenceNumber != 2 {
			t.Fatalf("replay starts at %d", ev.SequenceNumber)
		}
		n++
		last = ev
	}
	if last.Type != apitype.EventResponseFailed || last.Response.Status != apitype.ResponseCancelled {
		t.Fatalf("replay ends with %s", last.Type)
	}

	// A completed background response cannot be cancelled; a foreground one never.
	p.Background = nil
	done, err := e.Responses.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Responses.Cancel(ctx, done.ID); !errors.Is(err, apitype.ErrInvalidRequest) {
		t.Fatalf("cancel foreground: %v", err)
	}
}

// store: false keeps nothing; a conversation gets the turn's input and
// output once it ends, and feeds the next turn.
func TestResponseStoreFalseAndConversation(t *testing.T) {
	ctx := context.Background()
	m := scripted.New(scripted.Turn{Text: "not kept"}, scripted.Turn{Text: "Hello Ada."}, scripted.Turn{Text: "Your name is Ada."})
	e := openEngine(t, m)
	p := respParams("x")
	p.Store = apitype.Ptr(false)
	r, err := e.Responses.Create(ctx, p)
	if err != nil || r.OutputText() != "not kept" || r.Store {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := e.Responses.Retrieve(ctx, r.ID, apitype.ResponseRetrieveParams{}); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("store false retrieve: %v", err)
	}
	c, err := e.Conversations.Create(ctx, apitype.ConversationCreateParams{})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"I am Ada.", "What is my name?"} {
		p := respParams(in)
		p.Conversation = &apitype.ConversationRef{ID: c.ID}
		if _, err := e.Responses.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	items, err := e.Conversations.Items.List(ctx, c.ID, apitype.ListParams{Order: apitype.OrderAsc})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, it := range items.Data {
		texts = append(texts, it.Message.Text())
	}
	if !slices.Equal(texts, []string{"I am Ada.", "Hello Ada.", "What is my name?", "Your name is Ada."}) {
		t.Fatalf("conversation %q", texts)
	}
	req := m.Requests()[2]
	if len(req.Messages) != 3 || req.Messages[0].Content != "I am Ada." {
		t.Fatalf("second turn prompt %+v", req.Messages)
	}
	p2 := respParams("x")
	p2.Conversation = &apitype.ConversationRef{ID: "conv_missing"}
	if _, err := e.Responses.Create(ctx, p2); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("unknown conversation: %v", err)
	}
}

// A thinking model's thoughts become a reasoning item when a summary is
// asked for, and stay hidden otherwise.
func TestResponseReasoning(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, scripted.New(scripted.Turn{Thinking: "2+2 is 4.", Text: "4"}, scripted.Turn{Thinking: "hidden", Text: "4"}))
	p := respParams("2+2?")
	p.Reasoning = &apitype.Reasoning{Summary: apitype.Ptr("auto")}
	var types []string
	var final *apitype.Response
	for ev, err := range e.Responses.CreateStream(ctx, p) {
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, string(ev.Type))
		final = ev.Response
	}
	if len(final.Output) != 2 || final.Output[0].Reasoning == nil || final.Output[0].Reasoning.Summary[0].Text != "2+2 is 4." ||
		final.Output[1].Message == nil || final.OutputText() != "4" {
		t.Fatalf("output %+v", final.Output)
	}
	if !slices.Contains(types, "response.reasoning_summary_text.delta") || !slices.Contains(types, "response.reasoning_summary_part.done") {
		t.Fatalf("events %q", types)
	}
	hidden, err := e.Responses.Create(ctx, respParams("2+2?"))
	if err != nil || len(hidden.Output) != 1 || hidden.Output[0].Message == nil {
		t.Fatalf("hidden %+v %v", hidden, err)
	}
}

// max_output_tokens cuts the reply: the response is incomplete with that
// reason, its partial message kept.
func TestResponseMaxOutputTokens(t *testing.T) {
	ctx := context.Background()
	m := scripted.New(scripted.Turn{Text: "A long answer that", FinishReason: llm.FinishLength})
	e := openEngine(t, m)
	p := respParams("Tell me everything.")
	p.MaxOutputTokens = apitype.Ptr(16)
	r, err := e.Responses.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != apitype.ResponseIncomplete || r.IncompleteDetails == nil || r.IncompleteDetails.Reason != apitype.IncompleteMaxOutputTokens ||
		r.OutputText() != "A long answer that" || r.Output[0].Message.Status != "incomplete" {
		t.Fatalf("%+v", r)
	}
	if got := m.Requests()[0].MaxOutputTokens; got != 16 {
		t.Fatalf("max output tokens sent %d", got)
	}
}

// With truncation disabled (the default) an input that cannot fit is a
// 400 context_length_exceeded and nothing is stored; auto fits it.
func TestResponseTruncation(t *testing.T) {
	ctx := context.Background()
	m := scripted.New(scripted.Turn{Text: "fitted"})
	e := openEngine(t, m, func(c *engine.Config) { c.ContextWindow = 512 })
	long := strings.Repeat("word ", 2000)
	p := &apitype.ResponseCreateParams{Model: "test-model", Input: apitype.ItemsResponseInput(
		userText("", long), apitype.ItemOf(&apitype.MessageItem{Role: apitype.RoleAssistant, Content: []apitype.ContentPart{apitype.OutputText("ok")}}),
		userText("", "short question"))}
	_, err := e.Responses.Create(ctx, p)
	var ae *apitype.Error
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != "context_length_exceeded" {
		t.Fatalf("disabled: %v", err)
	}
	if m.Received() != 0 {
		t.Fatal("the model was called for a refused request")
	}
	p.Truncation = apitype.Ptr(apitype.TruncationAuto)
	r, err := e.Responses.Create(ctx, p)
	if err != nil || r.Status != apitype.ResponseCompleted || r.Truncation != apitype.TruncationAuto {
		t.Fatalf("auto: %+v %v", r, err)
	}
	if scripted.LastUser(&m.Requests()[0]) != "short question" {
		t.Fatal("the newest input was not kept")
	}
}

// text.format json_schema is checked, with one corrective retry.
func TestResponseTextFormat(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, scripted.New(scripted.Turn{Text: "not json"}, scripted.Turn{Text: `{"answer":4}`}))
	p := respParams("2+2 as JSON")
	p.Text = &apitype.ResponseTextConfig{Format: &apitype.TextFormat{Type: apitype.ResponseFormatJSONSchema, Name: "sum",
		Schema: []byte(`{"type":"object","properties":{"answer":{"type":"integer"}},"required":["answer"],"additionalProperties":false}`), Strict: apitype.Ptr(true)}}
	r, err := e.Responses.Create(ctx, p)
	if err != nil || r.Status != apitype.ResponseCompleted {
		t.Fatalf("%+v %v", r, err)
	}
	// The refused answer went out on the stream but is not in the output:
	// output_text parses.
	if len(r.Output) != 1 || r.OutputText() != `{"answer":4}` {
		t.Fatalf("output %+v", r.Output)
	}
}

// A conversation deleted while its response runs does not leave the
// response unrecorded.
func TestResponseConversationDeletedMidway(t *testing.T) {
	ctx := context.Background()
	hold := scripted.NewHold()
	e := openEngine(t, scripted.New(scripted.Turn{Text: "late", Hold: hold}))
	c, err := e.Conversations.Create(ctx, apitype.ConversationCreateParams{})
	if err != nil {
		t.Fatal(err)
	}
	p := respParams("hi")
	p.Conversation = &apitype.ConversationRef{ID: c.ID}
	p.Background = apitype.Ptr(true)
	r, err := e.Responses.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := hold.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Conversations.Delete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	hold.Release()
	var last apitype.ResponseStreamEvent
	for ev, err := range e.Responses.Stream(ctx, r.ID, -1) {
		if err != nil {
			t.Fatal(err)
		}
		last = ev
	}
	got, err := e.Responses.Retrieve(ctx, r.ID, apitype.ResponseRetrieveParams{})
	if err != nil || got.Status != apitype.ResponseCompleted || last.Type != apitype.EventResponseCompleted {
		t.Fatalf("%+v %v (last event %s)", got, err, last.Type)
	}
}

// input_file parts reach the model as their text (uploaded or inline);
// files the store does not hold and URLs are refused before anything is
// written.
func TestResponseInputFiles(t *testing.T) {
	ctx := context.Background()
	m := scripted.New(scripted.Turn{Text: "42"}, scripted.Turn{Text: "7"})
	e := openEngine(t, m)
	f, err := e.Files.Create(ctx, strings.NewReader("The secret is 42."), apitype.FileCreateParams{Filename: "notes.txt", Purpose: "user_data"})
	if err != nil {
		t.Fatal(err)
	}
	msg := func(parts ...apitype.ContentPart) *apitype.ResponseCreateParams {
		return &apitype.ResponseCreateParams{Model: "test-model", Input: apitype.ItemsResponseInput(apitype.ItemOf(&apitype.MessageItem{Role: apitype.RoleUser,
			Content: append(parts, apitype.InputText("What is the secret?"))}))}
	}
	if _, err := e.Responses.Create(ctx, msg(apitype.ContentPart{Type: apitype.PartInputFile, FileID: &f.ID})); err != nil {
		t.Fatal(err)
	}
	if got := scripted.LastUser(&m.Requests()[0]); !strings.Contains(got, "File notes.txt:\nThe secret is 42.") || !strings.HasSuffix(got, "What is the secret?") {
		t.Fatalf("the model read %q", got)
	}
	inline := apitype.ContentPart{Type: apitype.PartInputFile, Filename: apitype.Ptr("b.txt"), FileData: apitype.Ptr("data:text/plain;base64,VGhlIHNlY3JldCBpcyA3Lg==")}
	if _, err := e.Responses.Create(ctx, msg(inline)); err != nil {
		t.Fatal(err)
	}
	if got := scripted.LastUser(&m.Requests()[1]); !strings.Contains(got, "The secret is 7.") {
		t.Fatalf("the model read %q", got)
	}
	var ae *apitype.Error
	if _, err := e.Responses.Create(ctx, msg(apitype.ContentPart{Type: apitype.PartInputFile, FileID: apitype.Ptr("file-missing")})); !errors.As(err, &ae) || ae.Param != "input[0].content[0].file_id" {
		t.Fatalf("unknown file: %v", err)
	}
	if _, err := e.Responses.Create(ctx, msg(apitype.ContentPart{Type: apitype.PartInputFile, FileURL: apitype.Ptr("https://example.com/a.pdf")})); !errors.As(err, &ae) || ae.Param != "input[0].content[0].file_url" {
		t.Fatalf("file_url: %v", err)
	}
	if m.Received() != 2 {
		t.Fatalf("the model was called %d times", m.Received())
	}
}
