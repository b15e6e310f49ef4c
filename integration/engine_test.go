//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/ollama"
)

func openEngine(t *testing.T, e env) *engine.Engine {
	t.Helper()
	c, err := ollama.New(ollama.Config{URL: e.URL})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.Open(context.Background(), engine.Config{Path: filepath.Join(t.TempDir(), "h.db"), Model: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// A streamed run through the engine against the real server: the events
// carry the tiny model's fixed answer, the run completes with usage.
func TestEngineStreamedRun(t *testing.T) {
	e := needEnv(t)
	ctx := testCtx(t)
	eng := openEngine(t, e)
	a, err := eng.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: e.Model})
	if err != nil {
		t.Fatal(err)
	}
	text, last := "", ""
	for ev, err := range eng.Runs.CreateThreadAndRunStream(ctx, apitype.ThreadAndRunCreateParams{AssistantID: a.ID,
		Thread: &apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: "user", Content: apitype.TextInput("hi")}}}}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.MessageDelta != nil {
			text += ev.MessageDelta.Delta.Content[0].Text.Value
		}
		last = string(ev.Event)
		if ev.Run != nil && ev.Run.Status == apitype.RunCompleted && (ev.Run.Usage == nil || ev.Run.Usage.PromptTokens == 0) {
			t.Fatalf("usage %+v", ev.Run.Usage)
		}
	}
	if text != plainReply || last != "thread.run.completed" {
		t.Fatalf("text %q, last event %s", text, last)
	}
}

// The weather flow through the engine: the model's tool call, parsed by
// Ollama, becomes requires_action; the submitted output goes back as a
// tool message and the model answers.
func TestEngineFunctionCalling(t *testing.T) {
	e := needEnv(t)
	ctx := testCtx(t)
	eng := openEngine(t, e)
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
	call := r.RequiredAction.SubmitToolOutputs.ToolCalls[0]
	if call.Function.Name != "get_weather" || call.Function.Arguments != `{"city":"Paris"}` {
		t.Fatalf("call %+v", call)
	}
	r, err = eng.Runs.SubmitToolOutputsAndWait(ctx, r.ThreadID, r.ID, apitype.SubmitToolOutputsParams{
		ToolOutputs: []apitype.ToolOutput{{ToolCallID: call.ID, Output: `{"sky":"sunny"}`}}})
	if err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("after submit %v %+v %+v", err, r, r.LastError)
	}
	page, err := eng.Messages.List(ctx, r.ThreadID, apitype.MessageListParams{RunID: r.ID})
	if err != nil || len(page.Data) == 0 || page.Data[0].Text() != weatherReply {
		t.Fatalf("answer %v %+v", err, page)
	}
}
