package engine_test

import (
	"path/filepath"

	"context"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"slices"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/store"
)

func TestStreamPlainAnswer(t *testing.T) {
	m := scripted.New(scripted.Turn{Text: "x = 1", Pieces: 3})
	e := openEngine(t, m)
	a := mustAssistant(t, e)
	th := mustThread(t, e, "Solve 3x + 11 = 14")
	got := eventNames(t, e.Runs.CreateStream(context.Background(), th.ID, apitype.RunCreateParams{AssistantID: a.ID}))
	want := []string{"thread.run.created", "thread.run.queued", "thread.run.in_progress",
		"thread.run.step.created", "thread.run.step.in_progress", "thread.message.created", "thread.message.in_progress",
		"thread.message.delta", "thread.message.delta", "thread.message.delta",
		"thread.message.completed", "thread.run.step.completed", "thread.run.completed"}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
	page, err := e.Messages.List(context.Background(), th.ID, apitype.MessageListParams{ListParams: apitype.ListParams{Order: "asc"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 2 || page.Data[1].Text() != "x = 1" || page.Data[1].Status != apitype.MessageCompleted {
		t.Fatalf("messages: %+v", page.Data)
	}
	req := m.Requests()[0]
	if req.Messages[0].Content != "Be brief." || !strings.Contains(req.Messages[1].Content, "3x + 11") {
		t.Fatalf("prompt: %+v", req.Messages)
	}
}

func TestFunctionCallFlow(t *testing.T) {
	m := scripted.New(
		scripted.Turn{Calls: []scripted.Call{{Name: "get_weather", Arguments: `{"city":"Paris"}`}}, StreamArguments: true},
		scripted.Turn{Match: scripted.HasToolResult, Text: "Sunny, 22C."},
	)
	e := openEngine(t, m)
	fn := apitype.Tool{Type: apitype.ToolTypeFunction, Function: &apitype.FunctionDef{Name: "get_weather",
		Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}}
	a := mustAssistant(t, e, fn)
	th := mustThread(t, e, "Weather in Paris?")
	ctx := context.Background()
	r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != apitype.RunRequiresAction {
		t.Fatalf("status %s, last_error %+v", r.Status, r.LastError)
	}
	calls := r.RequiredAction.SubmitToolOutputs.ToolCalls
	if len(calls) != 1 || calls[0].Function.Name != "get_weather" || calls[0].Function.Arguments != `{"city":"Paris"}` {
		t.Fatalf("calls %+v", calls)
	}
	got := eventNames(t, e.Runs.SubmitToolOutputsStream(ctx, th.ID, r.ID, apitype.SubmitToolOutputsParams{
		ToolOutputs: []apitype.ToolOutput{{ToolCallID: calls[0].ID, Output: `{"sky":"sunny","c":22}`}}}))
	want := []string{"thread.run.step.completed", "thread.run.queued", "thread.run.in_progress",
		"thread.run.step.created", "thread.run.step.in_progress", "thread.message.created", "thread.message.in_progress"}
	if !slices.Equal(got[:len(want)], want) || got[len(got)-1] != "thread.run.completed" {
		t.Fatalf("events %v", got)
	}
	steps, err := e.Steps.List(ctx, th.ID, r.ID, apitype.StepListParams{ListParams: apitype.ListParams{Order: "asc"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps.Data) != 2 || *steps.Data[0].StepDetails.ToolCalls[0].Function.Output != `{"sky":"sunny","c":22}` {
		t.Fatalf("steps %+v", steps.Data)
	}
	final, _ := e.Runs.Retrieve(ctx, th.ID, r.ID)
	if final.Usage == nil || final.Usage.TotalTokens == 0 {
		t.Fatalf("usage %+v", final.Usage)
	}
}

func TestStrictFunctionArgumentsRetryThenFail(t *testing.T) {
	ctx := context.Background()
	fn := apitype.Tool{Type: apitype.ToolTypeFunction, Function: &apitype.FunctionDef{Name: "set_temp", Strict: apitype.Ptr(true),
		Parameters: []byte(`{"type":"object","properties":{"c":{"type":"number","minimum":5}},"required":["c"],"additionalProperties":false}`)}}
	bad := scripted.Turn{Calls: []scripted.Call{{Name: "set_temp", Arguments: `{"c":1}`}}}
	good := scripted.Turn{Calls: []scripted.Call{{Name: "set_temp", Arguments: `{"c":21}`}}}

	// One bad call, then a good one: the run asks for the good one only.
	m := scripted.New(bad, good)
	e := openEngine(t, m)
	a := mustAssistant(t, e, fn)
	th := mustThread(t, e, "warmer")
	r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil || r.Status != apitype.RunRequiresAction || r.RequiredAction.SubmitToolOutputs.ToolCalls[0].Function.Arguments != `{"c":21}` {
		t.Fatalf("run %v %+v", err, r)
	}
	if tool, _ := scripted.LastToolResult(&m.Requests()[1]); !strings.Contains(tool, "minimum") {
		t.Fatalf("the model was not told why: %q", tool)
	}

	// Two bad calls: the run fails and says why.
	e2 := openEngine(t, scripted.New(bad, bad))
	a2 := mustAssistant(t, e2, fn)
	th2 := mustThread(t, e2, "warmer")
	r, err = e2.Runs.CreateAndWait(ctx, th2.ID, apitype.RunCreateParams{AssistantID: a2.ID})
	if err != nil || r.Status != apitype.RunFailed || !strings.Contains(r.LastError.Message, "strict schema") {
		t.Fatalf("run %v %+v", err, r)
	}
}

func TestResponseFormatJSONSchemaRetry(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, scripted.New(scripted.Turn{Text: `{"x":"one"}`}, scripted.Turn{Text: `{"x":1}`}))
	a := mustAssistant(t, e)
	th := mustThread(t, e, "x?")
	rf := &apitype.ResponseFormat{Type: "json_schema", JSONSchema: &apitype.JSONSchemaFormat{Name: "answer",
		Schema: []byte(`{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]}`)}}
	r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID, ResponseFormat: rf})
	if err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("run %v %+v", err, r)
	}
	page, _ := e.Messages.List(ctx, th.ID, apitype.MessageListParams{RunID: r.ID, ListParams: apitype.ListParams{Order: "asc"}})
	if len(page.Data) != 2 || page.Data[0].Status != apitype.MessageIncomplete || page.Data[1].Text() != `{"x":1}` {
		t.Fatalf("messages %+v", page.Data)
	}
}

// A run in progress at every restart is resumed three times, then ended
// with a last_error, so a reply that brings the process down cannot loop.
func TestResumeLimit(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "h.db")
	open := func(m *scripted.Model) *engine.Engine {
		e, err := engine.Open(ctx, engine.Config{Path: path, Model: m, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	// crash stops the engine as a dying process would leave the file: a
	// clean Close differs only by its mark, which crash takes away.
	crash := func(e *engine.Engine) {
		e.Close()
		s, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Update(ctx, func(tx store.Tx) error { _, err := tx.TakeCleanClose(); return err }); err != nil {
			t.Fatal(err)
		}
	}
	block := func() *scripted.Model {
		return &scripted.Model{Fallback: func(*llm.Request) scripted.Turn { return scripted.Turn{Block: true} }}
	}
	m := block()
	e := open(m)
	a := mustAssistant(t, e)
	th := mustThread(t, e, "hi")
	r, err := e.Runs.Create(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	inModel := func() { // the run is in progress, in the model call
		if err := m.WaitRequests(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	// Clean restarts (hearth serve stopped and started) resume the run
	// however many there are.
	for range 5 {
		inModel()
		e.Close()
		m = block()
		e = open(m)
	}
	inModel()
	if got, err := e.Runs.Retrieve(ctx, th.ID, r.ID); err != nil || got.Status != apitype.RunInProgress {
		t.Fatalf("after 5 clean restarts: %v %+v", err, got)
	}
	// Crashes while it is in progress are counted: the fourth ends it.
	for restart := 0; ; restart++ {
		inModel()
		crash(e)
		m = block()
		e = open(m)
		got, err := e.Runs.Retrieve(ctx, th.ID, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if restart < 3 {
			continue
		}
		if got, err = e.Runs.Wait(ctx, th.ID, r.ID); err != nil {
			t.Fatal(err)
		}
		if got.Status != apitype.RunFailed || !strings.Contains(got.LastError.Message, "restarted 3 times") {
			t.Fatalf("after %d crashes: %+v %+v", restart+1, got, got.LastError)
		}
		break
	}
	e.Close()
}
