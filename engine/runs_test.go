package engine_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm/scripted"
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
