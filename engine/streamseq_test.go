package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/scripted"
)

// logsTool is a ToolRunner that answers every built-in call with fixed logs.
type logsTool struct{ logs string }

func (l logsTool) RunTool(_ context.Context, c *engine.ToolCall) (*engine.ToolResult, error) {
	return &engine.ToolResult{Output: l.logs, Logs: l.logs}, nil
}

// TestStreamCodeInterpreterStep streams a code_interpreter call and the
// answer after it: the tool_calls step is created empty, its deltas carry
// the indexed call with id and type once, input pieces that concatenate to
// the code, then the logs output.
func TestStreamCodeInterpreterStep(t *testing.T) {
	const code = `print(6*7)`
	m := scripted.New(
		scripted.Turn{Calls: []scripted.Call{{Name: "code_interpreter", Arguments: `{"code":"print(6*7)"}`}}, StreamArguments: true},
		scripted.Turn{Match: scripted.HasToolResult, Text: "It is 42.", Pieces: 2})
	e := openEngine(t, m, func(c *engine.Config) { c.Tools = logsTool{"42\n"} })
	a, th := mustAssistant(t, e, apitype.Tool{Type: apitype.ToolTypeCodeInterpreter}), mustThread(t, e, "6*7?")
	evs := collect(t, e.Runs.CreateStream(context.Background(), th.ID, apitype.RunCreateParams{AssistantID: a.ID}), nil)

	// The exact sequence, with the step deltas folded into one entry.
	var got []string
	for _, n := range names(evs) {
		if n == "thread.run.step.delta" && got[len(got)-1] == n {
			continue
		}
		got = append(got, n)
	}
	want := []string{"thread.run.created", "thread.run.queued", "thread.run.in_progress",
		"thread.run.step.created", "thread.run.step.in_progress", "thread.run.step.delta", "thread.run.step.completed",
		"thread.run.step.created", "thread.run.step.in_progress", "thread.message.created", "thread.message.in_progress",
		"thread.message.delta", "thread.message.delta", "thread.message.completed", "thread.run.step.completed",
		"thread.run.completed"}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}

	created := evs[3].Step
	if created.Type != apitype.StepToolCalls || len(created.StepDetails.ToolCalls) != 0 {
		t.Fatalf("tool_calls step must be created empty (SDKs rebuild calls from deltas): %+v", created.StepDetails)
	}
	var deltas []apitype.ToolCallDelta
	for _, ev := range evs {
		if ev.StepDelta != nil {
			if ev.StepDelta.ID != created.ID || ev.StepDelta.Object != apitype.ObjectRunStepDelta || len(ev.StepDelta.Delta.StepDetails.ToolCalls) != 1 {
				t.Fatalf("step delta %+v", ev.StepDelta)
			}
			deltas = append(deltas, ev.StepDelta.Delta.StepDetails.ToolCalls[0])
		}
	}
	if len(deltas) < 3 {
		t.Fatalf("only %d step deltas", len(deltas))
	}
	var input strings.Builder
	ids, types := 0, 0
	for i, d := range deltas {
		if d.Index != 0 {
			t.Fatalf("delta %d index %d", i, d.Index)
		}
		if d.ID != "" {
			ids++
		}
		if d.Type != "" {
			types++
		}
		if d.CodeInterpreter == nil {
			t.Fatalf("delta %d without code_interpreter: %+v", i, d)
		}
		if i > 0 && i < len(deltas)-1 && d.CodeInterpreter.Input == "" {
			t.Fatalf("delta %d adds no input: %+v", i, d)
		}
		input.WriteString(d.CodeInterpreter.Input)
		if i < len(deltas)-1 && len(d.CodeInterpreter.Outputs) > 0 {
			t.Fatalf("outputs before the input is complete (delta %d)", i)
		}
	}
	// The id comes once, on the first delta, whose input is empty (the SDKs
	// hand it to tool_call_created); the type is on every delta, as the
	// SDKs' delta types require it.
	if ids != 1 || types != len(deltas) || deltas[0].ID == "" || deltas[0].Type != apitype.ToolTypeCodeInterpreter || deltas[0].CodeInterpreter.Input != "" {
		t.Fatalf("id must come once, on the first delta, with an empty input; type on every delta: %+v", deltas[0])
	}
	if input.String() != code {
		t.Fatalf("input deltas concatenate to %q, want %q", input.String(), code)
	}
	last := deltas[len(deltas)-1].CodeInterpreter
	if last.Input != "" || len(last.Outputs) != 1 || last.Outputs[0].Type != "logs" || last.Outputs[0].Logs != "42\n" ||
		last.Outputs[0].Index == nil || *last.Outputs[0].Index != 0 {
		t.Fatalf("last delta %+v", last)
	}

	// The completed step holds the whole call.
	i := slices.IndexFunc(evs, func(ev apitype.Event) bool { return ev.Event == apitype.EventRunStepCompleted })
	done := evs[i].Step
	tc := done.StepDetails.ToolCalls
	if done.Status != apitype.StepCompleted || len(tc) != 1 || tc[0].ID != deltas[0].ID || tc[0].CodeInterpreter.Input != code ||
		tc[0].CodeInterpreter.Outputs[0].Logs != "42\n" || done.Usage == nil {
		t.Fatalf("completed step %+v", done)
	}
	if m := lastMessage(t, e, th.ID); m.Text() != "It is 42." {
		t.Fatalf("answer %q", m.Text())
	}
	// The model saw the logs as the tool result.
	if res, ok := scripted.LastToolResult(&m.Requests()[1]); !ok || res != "42\n" {
		t.Fatalf("tool result %q %v", res, ok)
	}
}

// TestStreamCancelMidAnswer cancels while the model is writing: the stream
// ends with the partial message incomplete, its step cancelled, the run
// cancelled.
func TestStreamCancelMidAnswer(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, scripted.New(scripted.Turn{Text: "The answer is", Pieces: 2, Block: true}))
	a, th := mustAssistant(t, e), mustThread(t, e, "hi")
	deltas := 0
	evs := collect(t, e.Runs.CreateStream(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID}), func(ev apitype.Event) {
		if ev.Event == apitype.EventMessageDelta {
			if deltas++; deltas == 2 {
				if _, err := e.Runs.Cancel(ctx, th.ID, runIDOf(t, e, th.ID)); err != nil {
					t.Error(err)
				}
			}
		}
	})
	want := []string{"thread.run.created", "thread.run.queued", "thread.run.in_progress",
		"thread.run.step.created", "thread.run.step.in_progress", "thread.message.created", "thread.message.in_progress",
		"thread.message.delta", "thread.message.delta", "thread.run.cancelling",
		"thread.message.incomplete", "thread.run.step.cancelled", "thread.run.cancelled"}
	if got := names(evs); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
	msg := evs[10].Message
	if msg.Status != apitype.MessageIncomplete || msg.IncompleteDetails.Reason != apitype.IncompleteRunCancelled || msg.Text() != "The answer is" {
		t.Fatalf("message %+v", msg)
	}
	if stored := lastMessage(t, e, th.ID); stored.Text() != "The answer is" || stored.Status != apitype.MessageIncomplete {
		t.Fatalf("stored message %+v", stored)
	}
	if r := evs[len(evs)-1].Run; r.Status != apitype.RunCancelled || r.CancelledAt == nil {
		t.Fatalf("run %+v", r)
	}
}

func runIDOf(t testing.TB, e *engine.Engine, threadID string) string {
	t.Helper()
	page, err := e.Runs.List(context.Background(), threadID, apitype.ListParams{Limit: 1})
	if err != nil || len(page.Data) == 0 {
		t.Fatalf("runs: %v", err)
	}
	return page.Data[0].ID
}

// TestStreamModelErrorMidAnswer breaks the model's reply halfway: the
// partial message is kept incomplete, its step failed, the run failed with
// a server_error naming the cause.
func TestStreamModelErrorMidAnswer(t *testing.T) {
	e := openEngine(t, scripted.New(scripted.Turn{Text: "Half of an", Pieces: 2, Err: errors.New("connection reset by peer")}))
	a, th := mustAssistant(t, e), mustThread(t, e, "hi")
	evs := collect(t, e.Runs.CreateStream(context.Background(), th.ID, apitype.RunCreateParams{AssistantID: a.ID}), nil)
	want := []string{"thread.run.created", "thread.run.queued", "thread.run.in_progress",
		"thread.run.step.created", "thread.run.step.in_progress", "thread.message.created", "thread.message.in_progress",
		"thread.message.delta", "thread.message.delta",
		"thread.message.incomplete", "thread.run.step.failed", "thread.run.failed"}
	if got := names(evs); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
	msg := evs[9].Message
	if msg.Status != apitype.MessageIncomplete || msg.IncompleteDetails.Reason != apitype.IncompleteRunFailed || msg.Text() != "Half of an" {
		t.Fatalf("message %+v", msg)
	}
	step := evs[10].Step
	if step.Status != apitype.StepFailed || step.LastError == nil || step.LastError.Code != apitype.ErrorCodeServer || step.FailedAt == nil {
		t.Fatalf("step %+v", step)
	}
	r := evs[11].Run
	if r.Status != apitype.RunFailed || r.LastError == nil || r.LastError.Code != apitype.ErrorCodeServer ||
		!strings.Contains(r.LastError.Message, "connection reset by peer") {
		t.Fatalf("run %+v", r)
	}
	// The thread is free again.
	if _, err := e.Messages.Create(context.Background(), th.ID, userMsg("again")); err != nil {
		t.Fatal(err)
	}
}
