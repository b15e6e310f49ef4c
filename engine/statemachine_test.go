package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

// fakeClock is a settable engine.Config.Clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// collect drains a stream, calling on (when set) for each event, and
// returns the events.
func collect(t testing.TB, seq func(func(apitype.Event, error) bool), on func(apitype.Event)) []apitype.Event {
	t.Helper()
	var evs []apitype.Event
	for ev, err := range seq {
		if err != nil {
			t.Fatalf("stream error after %v: %v", names(evs), err)
		}
		evs = append(evs, ev)
		if on != nil {
			on(ev)
		}
	}
	return evs
}

func names(evs []apitype.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = string(ev.Event)
	}
	return out
}

// runStatuses returns the run status events of a stream, in order.
func runStatuses(evs []apitype.Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.Run != nil {
			out = append(out, strings.TrimPrefix(string(ev.Event), "thread.run."))
		}
	}
	return out
}

func wantStatuses(t testing.TB, evs []apitype.Event, want ...string) {
	t.Helper()
	if got := runStatuses(evs); !slices.Equal(got, want) {
		t.Fatalf("run statuses %v, want %v\nevents %v", got, want, names(evs))
	}
}

var weatherTool = fnTool("get_weather", `{"type":"object","properties":{"city":{"type":"string"}}}`)

func TestRunTransitions(t *testing.T) {
	ctx := context.Background()

	t.Run("queued→in_progress→completed", func(t *testing.T) {
		e := openEngine(t, scripted.New(scripted.Turn{Text: "done"}))
		a, th := mustAssistant(t, e), mustThread(t, e, "hi")
		evs := collect(t, e.Runs.CreateStream(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID}), nil)
		wantStatuses(t, evs, "created", "queued", "in_progress", "completed")
		r := evs[len(evs)-1].Run
		if r.StartedAt == nil || r.CompletedAt == nil || r.Usage == nil || r.LastError != nil {
			t.Fatalf("completed run %+v", r)
		}
	})

	t.Run("requires_action→submit→queued→in_progress→completed", func(t *testing.T) {
		e := openEngine(t, scripted.New(
			scripted.Turn{Calls: []scripted.Call{{Name: "get_weather", Arguments: `{"city":"Oslo"}`}}},
			scripted.Turn{Match: scripted.HasToolResult, Text: "Cold."}))
		a, th := mustAssistant(t, e, weatherTool), mustThread(t, e, "Weather?")
		evs := collect(t, e.Runs.CreateStream(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID}), nil)
		wantStatuses(t, evs, "created", "queued", "in_progress", "requires_action")
		r := evs[len(evs)-1].Run
		call := r.RequiredAction.SubmitToolOutputs.ToolCalls[0]
		evs = collect(t, e.Runs.SubmitToolOutputsStream(ctx, th.ID, r.ID, apitype.SubmitToolOutputsParams{
			ToolOutputs: []apitype.ToolOutput{{ToolCallID: call.ID, Output: "-3C"}}}), nil)
		wantStatuses(t, evs, "queued", "in_progress", "completed")
		if r := evs[len(evs)-1].Run; r.RequiredAction != nil {
			t.Fatalf("required_action left on %+v", r)
		}
	})

	t.Run("incomplete: max_completion_tokens", func(t *testing.T) {
		e := openEngine(t, scripted.New(scripted.Turn{Text: "a long answer that was cut", FinishReason: llm.FinishLength}))
		a, th := mustAssistant(t, e), mustThread(t, e, "Tell me everything")
		evs := collect(t, e.Runs.CreateStream(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID, MaxCompletionTokens: apitype.Ptr(256)}), nil)
		wantStatuses(t, evs, "created", "queued", "in_progress", "incomplete")
		r := evs[len(evs)-1].Run
		if r.IncompleteDetails == nil || r.IncompleteDetails.Reason != apitype.IncompleteMaxCompletionTokens {
			t.Fatalf("incomplete_details %+v", r.IncompleteDetails)
		}
		m := lastMessage(t, e, th.ID)
		if m.Status != apitype.MessageIncomplete || m.IncompleteDetails.Reason != apitype.IncompleteMaxTokens || m.Text() != "a long answer that was cut" {
			t.Fatalf("message %+v", m)
		}
	})

	t.Run("incomplete: max_prompt_tokens", func(t *testing.T) {
		// The first call uses 300 prompt tokens; the second would exceed 256.
		e := openEngine(t, scripted.New(
			scripted.Turn{Calls: []scripted.Call{{Name: "code_interpreter", Arguments: `{"code":"print(1)"}`}}, Usage: &llm.Usage{PromptTokens: 300, CompletionTokens: 5}},
			scripted.Turn{Text: "never sent"}))
		a, th := mustAssistant(t, e, apitype.Tool{Type: apitype.ToolTypeCodeInterpreter}), mustThread(t, e, "Compute")
		r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID, MaxPromptTokens: apitype.Ptr(256)})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != apitype.RunIncomplete || r.IncompleteDetails == nil || r.IncompleteDetails.Reason != apitype.IncompleteMaxPromptTokens {
			t.Fatalf("run %s %+v %+v", r.Status, r.IncompleteDetails, r.LastError)
		}
		if r.Usage == nil || r.Usage.PromptTokens != 300 {
			t.Fatalf("usage %+v", r.Usage)
		}
	})

	t.Run("failed: model error", func(t *testing.T) {
		e := openEngine(t, scripted.New(scripted.Turn{Err: errors.New("backend exploded")}))
		a, th := mustAssistant(t, e), mustThread(t, e, "hi")
		evs := collect(t, e.Runs.CreateStream(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID}), nil)
		wantStatuses(t, evs, "created", "queued", "in_progress", "failed")
		r := evs[len(evs)-1].Run
		if r.LastError == nil || r.LastError.Code != apitype.ErrorCodeServer || !strings.Contains(r.LastError.Message, "backend exploded") || r.FailedAt == nil {
			t.Fatalf("last_error %+v", r.LastError)
		}
	})

	t.Run("failed: rate limited", func(t *testing.T) {
		e := openEngine(t, scripted.New(scripted.Turn{Err: fmt.Errorf("%w: 3 requests queued", llm.ErrRateLimited)}))
		a, th := mustAssistant(t, e), mustThread(t, e, "hi")
		r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != apitype.RunFailed || r.LastError == nil || r.LastError.Code != apitype.ErrorCodeRateLimit {
			t.Fatalf("run %s last_error %+v", r.Status, r.LastError)
		}
	})

	t.Run("queued→cancelling→cancelled", func(t *testing.T) {
		// One run slot, held by a blocked run on another thread, keeps the
		// second run queued.
		e := openEngine(t, scripted.New(scripted.Turn{Block: true}), func(c *engine.Config) { c.MaxConcurrentRuns = 1 })
		a := mustAssistant(t, e)
		blocker := mustThread(t, e, "block")
		b := startAndWaitFor(t, e, blocker.ID, a.ID, apitype.EventRunInProgress)
		th := mustThread(t, e, "hi")
		var evs []apitype.Event
		evs = collect(t, e.Runs.CreateStream(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID}), func(ev apitype.Event) {
			if ev.Event == apitype.EventRunQueued {
				r, err := e.Runs.Cancel(ctx, th.ID, ev.Run.ID)
				if err != nil || r.Status != apitype.RunCancelling {
					t.Errorf("cancel: %v %+v", err, r)
				}
			}
		})
		wantStatuses(t, evs, "created", "queued", "cancelling", "cancelled")
		if r := evs[len(evs)-1].Run; r.CancelledAt == nil {
			t.Fatalf("cancelled_at unset: %+v", r)
		}
		if _, err := e.Runs.Cancel(ctx, blocker.ID, b); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("in_progress→cancelling→cancelled", func(t *testing.T) {
		e := openEngine(t, scripted.New(scripted.Turn{Text: "partial answer", Block: true}))
		a, th := mustAssistant(t, e), mustThread(t, e, "hi")
		cancelled := false
		evs := collect(t, e.Runs.CreateStream(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID}), func(ev apitype.Event) {
			if ev.Event == apitype.EventMessageDelta && !cancelled {
				cancelled = true
				runs, _ := e.Runs.List(ctx, th.ID, apitype.ListParams{})
				if _, err := e.Runs.Cancel(ctx, th.ID, runs.Data[0].ID); err != nil {
					t.Error(err)
				}
			}
		})
		wantStatuses(t, evs, "created", "queued", "in_progress", "cancelling", "cancelled")
		m := lastMessage(t, e, th.ID)
		if m.Status != apitype.MessageIncomplete || m.IncompleteDetails.Reason != apitype.IncompleteRunCancelled || m.Text() == "" {
			t.Fatalf("message %+v", m)
		}
		steps := stepsOf(t, e, th.ID, evs[0].Run.ID)
		if len(steps) != 1 || steps[0].Status != apitype.StepCancelled || steps[0].CancelledAt == nil {
			t.Fatalf("steps %+v", steps)
		}
	})

	t.Run("requires_action→cancelling→cancelled", func(t *testing.T) {
		e := openEngine(t, scripted.New(scripted.Turn{Calls: []scripted.Call{{Name: "get_weather", Arguments: `{}`}}}))
		a, th := mustAssistant(t, e, weatherTool), mustThread(t, e, "Weather?")
		r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil || r.Status != apitype.RunRequiresAction {
			t.Fatalf("%v %+v", err, r)
		}
		c, err := e.Runs.Cancel(ctx, th.ID, r.ID)
		if err != nil || c.Status != apitype.RunCancelling {
			t.Fatalf("cancel: %v %+v", err, c)
		}
		r, err = e.Runs.Wait(ctx, th.ID, r.ID)
		if err != nil || r.Status != apitype.RunCancelled || r.RequiredAction != nil {
			t.Fatalf("after cancel: %v %+v", err, r)
		}
		if steps := stepsOf(t, e, th.ID, r.ID); steps[0].Status != apitype.StepCancelled {
			t.Fatalf("tool step %s", steps[0].Status)
		}
	})

	expiring := func(t *testing.T, model llm.Model, mod ...func(*engine.Config)) (*engine.Engine, *fakeClock) {
		clock := newFakeClock()
		e := openEngine(t, model, append([]func(*engine.Config){func(c *engine.Config) {
			c.Clock, c.RunTimeout, c.ExpiryInterval = clock.Now, 10*time.Second, 2*time.Millisecond
		}}, mod...)...)
		return e, clock
	}

	t.Run("queued→expired", func(t *testing.T) {
		e, clock := expiring(t, scripted.New(scripted.Turn{Block: true}, scripted.Turn{Block: true}), func(c *engine.Config) { c.MaxConcurrentRuns = 1 })
		a := mustAssistant(t, e)
		startAndWaitFor(t, e, mustThread(t, e, "block").ID, a.ID, apitype.EventRunInProgress)
		th := mustThread(t, e, "hi")
		evs := collect(t, e.Runs.CreateStream(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID}), func(ev apitype.Event) {
			if ev.Event == apitype.EventRunQueued {
				clock.Advance(11 * time.Second)
			}
		})
		wantStatuses(t, evs, "created", "queued", "expired")
	})

	t.Run("in_progress→expired", func(t *testing.T) {
		e, clock := expiring(t, scripted.New(scripted.Turn{Text: "thinking…", Block: true}))
		a, th := mustAssistant(t, e), mustThread(t, e, "hi")
		evs := collect(t, e.Runs.CreateStream(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID}), func(ev apitype.Event) {
			if ev.Event == apitype.EventMessageDelta {
				clock.Advance(11 * time.Second)
			}
		})
		wantStatuses(t, evs, "created", "queued", "in_progress", "expired")
		if m := lastMessage(t, e, th.ID); m.Status != apitype.MessageIncomplete || m.IncompleteDetails.Reason != apitype.IncompleteRunExpired {
			t.Fatalf("message %+v", m)
		}
		if s := stepsOf(t, e, th.ID, evs[0].Run.ID); s[0].Status != apitype.StepExpired || s[0].ExpiredAt == nil {
			t.Fatalf("step %+v", s[0])
		}
	})

	t.Run("requires_action→expired", func(t *testing.T) {
		e, clock := expiring(t, scripted.New(scripted.Turn{Calls: []scripted.Call{{Name: "get_weather"}}}))
		a, th := mustAssistant(t, e, weatherTool), mustThread(t, e, "Weather?")
		r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil || r.Status != apitype.RunRequiresAction {
			t.Fatalf("%v %+v", err, r)
		}
		clock.Advance(11 * time.Second)
		r, err = e.Runs.Wait(ctx, th.ID, r.ID)
		if err != nil || r.Status != apitype.RunExpired {
			t.Fatalf("%v %+v", err, r)
		}
		_, err = e.Runs.SubmitToolOutputs(ctx, th.ID, r.ID, apitype.SubmitToolOutputsParams{ToolOutputs: []apitype.ToolOutput{{ToolCallID: "call_x", Output: "1"}}})
		if !errors.Is(err, apitype.ErrInvalidState) {
			t.Fatalf("submit after expiry: %v", err)
		}
	})
}

// startAndWaitFor starts a run and returns its id once ev was published.
func startAndWaitFor(t testing.TB, e *engine.Engine, threadID, assistantID string, want apitype.EventType) string {
	t.Helper()
	for ev, err := range e.Runs.CreateStream(context.Background(), threadID, apitype.RunCreateParams{AssistantID: assistantID}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Event == want {
			return ev.Run.ID
		}
	}
	t.Fatalf("stream ended before %s", want)
	return ""
}

func lastMessage(t testing.TB, e *engine.Engine, threadID string) *apitype.Message {
	t.Helper()
	page, err := e.Messages.List(context.Background(), threadID, apitype.MessageListParams{ListParams: apitype.ListParams{Limit: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return &page.Data[0]
}

func stepsOf(t testing.TB, e *engine.Engine, threadID, runID string) []apitype.RunStep {
	t.Helper()
	page, err := e.Steps.List(context.Background(), threadID, runID, apitype.StepListParams{ListParams: apitype.ListParams{Order: apitype.OrderAsc}})
	if err != nil {
		t.Fatal(err)
	}
	return page.Data
}

// TestIllegalTransitions tries what the state machine forbids: each fails
// with a clear typed error and writes nothing.
func TestIllegalTransitions(t *testing.T) {
	ctx := context.Background()
	m := scripted.New(
		scripted.Turn{Text: "first"},
		scripted.Turn{Calls: []scripted.Call{{Name: "get_weather", Arguments: `{"city":"A"}`}, {Name: "get_weather", Arguments: `{"city":"B"}`}}},
	)
	e := openEngine(t, m)
	a := mustAssistant(t, e, weatherTool)
	th := mustThread(t, e, "hi")
	done, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil || done.Status != apitype.RunCompleted {
		t.Fatalf("%v %+v", err, done)
	}
	waiting, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil || waiting.Status != apitype.RunRequiresAction {
		t.Fatalf("%v %+v", err, waiting)
	}
	calls := waiting.RequiredAction.SubmitToolOutputs.ToolCalls
	if len(calls) != 2 {
		t.Fatalf("calls %+v", calls)
	}
	c0, c1 := calls[0].ID, calls[1].ID
	out := func(ids ...string) apitype.SubmitToolOutputsParams {
		var p apitype.SubmitToolOutputsParams
		for _, id := range ids {
			p.ToolOutputs = append(p.ToolOutputs, apitype.ToolOutput{ToolCallID: id, Output: "ok"})
		}
		return p
	}
	submit := func(runID string, p apitype.SubmitToolOutputsParams) func() error {
		return func() error { _, err := e.Runs.SubmitToolOutputs(ctx, th.ID, runID, p); return err }
	}
	cases := []struct {
		name    string
		call    func() error
		want    error
		param   string
		message string // exact, when set
	}{
		{"cancel a completed run", func() error { _, err := e.Runs.Cancel(ctx, th.ID, done.ID); return err },
			apitype.ErrInvalidState, "", "Cannot cancel run with status 'completed'."},
		{"submit to a completed run", submit(done.ID, out("call_x")), apitype.ErrInvalidState, "", ""},
		{"submit missing a call id", submit(waiting.ID, out(c0)), apitype.ErrInvalidRequest, "tool_outputs", ""},
		{"submit a call id twice", submit(waiting.ID, out(c0, c0, c1)), apitype.ErrInvalidRequest, "tool_outputs[1].tool_call_id", ""},
		{"submit an unknown call id", submit(waiting.ID, out(c0, c1, "call_unknown")), apitype.ErrInvalidRequest, "tool_outputs[2].tool_call_id", ""},
		{"submit an empty call id", submit(waiting.ID, out(c0, "")), apitype.ErrInvalidRequest, "tool_outputs[1].tool_call_id", ""},
		{"new message while a run is active", func() error {
			_, err := e.Messages.Create(ctx, th.ID, userMsg("more"))
			return err
		}, apitype.ErrActiveRun, "", fmt.Sprintf("Can't add messages to %s while a run %s is active.", th.ID, waiting.ID)},
		{"second run while a run is active", func() error {
			_, err := e.Runs.Create(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
			return err
		}, apitype.ErrActiveRun, "", fmt.Sprintf("Thread %s already has an active run %s.", th.ID, waiting.ID)},
		{"second run with additional messages", func() error {
			_, err := e.Runs.Create(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID, AdditionalMessages: []apitype.MessageCreateParams{userMsg("x")}})
			return err
		}, apitype.ErrActiveRun, "", fmt.Sprintf("Thread %s already has an active run %s.", th.ID, waiting.ID)},
		{"update an unknown run", func() error {
			_, err := e.Runs.Update(ctx, th.ID, "run_unknown", apitype.RunUpdateParams{Metadata: meta(1)})
			return err
		}, apitype.ErrNotFound, "", "No run found with id 'run_unknown'."},
		{"retrieve an unknown run", func() error { _, err := e.Runs.Retrieve(ctx, th.ID, "run_unknown"); return err },
			apitype.ErrNotFound, "", "No run found with id 'run_unknown'."},
		{"retrieve a run on an unknown thread", func() error { _, err := e.Runs.Retrieve(ctx, "thread_unknown", done.ID); return err },
			apitype.ErrNotFound, "", ""},
		{"cancel on the wrong thread", func() error { _, err := e.Runs.Cancel(ctx, "thread_unknown", waiting.ID); return err },
			apitype.ErrNotFound, "", ""},
	}
	before := backup(t, e)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			var ae *apitype.Error
			if !errors.As(err, &ae) || !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if ae.Param != c.param {
				t.Fatalf("param %q, want %q (%v)", ae.Param, c.param, err)
			}
			if c.message != "" && ae.Message != c.message {
				t.Fatalf("message %q, want %q", ae.Message, c.message)
			}
			if !bytes.Equal(before, backup(t, e)) {
				t.Fatal("the database changed")
			}
		})
	}
	// The waiting run is untouched and still accepts its outputs.
	r, err := e.Runs.SubmitToolOutputs(ctx, th.ID, waiting.ID, out(c1, c0))
	if err != nil || r.Status != apitype.RunQueued {
		t.Fatalf("valid submit: %v %+v", err, r)
	}
}
