package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/ollama/ollamatest"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/ollama/ollama/api"
)

// TestCancelRacesBackgroundWrites cancels runs at every point of their
// first moments — while the claim and the message's opening are still
// syncing in the background, with the model call already under way — and
// checks each stream and what is stored: run statuses in a legal order,
// deltas only after their message's creation, a terminal run, no message
// left in progress, the thread free for the next run.
func TestCancelRacesBackgroundWrites(t *testing.T) {
	ctx := context.Background()
	// fsync on: commits take long enough for the races to happen.
	e := openEngine(t, scripted.Echo(), func(c *engine.Config) { c.NoSync = false })
	a := mustAssistant(t, e)
	legal := [][]string{
		{"created", "queued", "cancelling", "cancelled"},
		{"created", "queued", "in_progress", "cancelling", "cancelled"},
		{"created", "queued", "in_progress", "completed"},
	}
	cancelAt := []apitype.EventType{apitype.EventRunCreated, apitype.EventRunQueued, apitype.EventRunInProgress,
		apitype.EventMessageCreated, apitype.EventMessageDelta}
	for i := range 60 {
		th := mustThread(t, e, fmt.Sprintf("message number %d, long enough to stream in a few deltas", i))
		at := cancelAt[i%len(cancelAt)]
		cancelled := false
		var runID string
		evs := collect(t, e.Runs.CreateStream(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID}), func(ev apitype.Event) {
			if ev.Run != nil {
				runID = ev.Run.ID
			}
			if ev.Event == at && !cancelled {
				cancelled = true
				if _, err := e.Runs.Cancel(ctx, th.ID, runID); err != nil && !errors.Is(err, apitype.ErrInvalidRequest) {
					t.Errorf("cancel at %s: %v", at, err) // invalid only if the run finished first
				}
			}
		})
		if got := runStatuses(evs); !slices.ContainsFunc(legal, func(l []string) bool { return slices.Equal(l, got) }) {
			t.Fatalf("run %d (cancel at %s): statuses %v\nevents %v", i, at, got, names(evs))
		}
		created := map[string]bool{}
		for _, ev := range evs {
			switch {
			case ev.Event == apitype.EventMessageCreated:
				created[ev.Message.ID] = true
			case ev.MessageDelta != nil && !created[ev.MessageDelta.ID]:
				t.Fatalf("run %d: delta before its message was created: %v", i, names(evs))
			}
		}
		r, err := e.Runs.Retrieve(ctx, th.ID, runID)
		if err != nil || r.Status != evs[len(evs)-1].Run.Status {
			t.Fatalf("run %d: stored %+v (%v), stream ended %s", i, r, err, evs[len(evs)-1].Event)
		}
		page, err := e.Messages.List(ctx, th.ID, apitype.MessageListParams{})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Data {
			if m.Status == apitype.MessageInProgress {
				t.Fatalf("run %d: message %s left in_progress", i, m.ID)
			}
		}
		if _, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID}); err != nil {
			t.Fatalf("run %d: thread not free after the run: %v", i, err)
		}
	}
}

// TestConcurrentCreatesOneWins: two Creates on one thread both pass the
// read that makes their run, and both runs are queued for execution while
// their writes sync; the write of one fails (the thread has an active run).
// Its caller gets ErrActiveRun, its execution ends without a trace (no
// events, nothing stored), and the other run completes.
func TestConcurrentCreatesOneWins(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, scripted.Echo(), func(c *engine.Config) { c.NoSync = false })
	a := mustAssistant(t, e)
	for i := range 30 {
		th := mustThread(t, e, fmt.Sprintf("race %d", i))
		type result struct {
			evs []apitype.Event
			err error
		}
		results := make(chan result, 2)
		for range 2 {
			go func() {
				var res result
				for ev, err := range e.Runs.CreateStream(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID}) {
					if err != nil {
						res.err = err
						break
					}
					res.evs = append(res.evs, ev)
				}
				results <- res
			}()
		}
		won, lost := 0, 0
		for range 2 {
			res := <-results
			switch {
			case res.err == nil && runStatuses(res.evs)[len(runStatuses(res.evs))-1] == "completed":
				won++
			case errors.Is(res.err, apitype.ErrActiveRun) && len(res.evs) == 0:
				lost++
			default:
				t.Fatalf("round %d: %v after %v", i, res.err, names(res.evs))
			}
		}
		if won+lost != 2 || won < 1 {
			t.Fatalf("round %d: %d completed, %d refused", i, won, lost)
		}
		page, err := e.Runs.List(ctx, th.ID, apitype.ListParams{})
		if err != nil || len(page.Data) != won {
			t.Fatalf("round %d: %d runs stored, want %d (%v)", i, len(page.Data), won, err)
		}
	}
}

// TestSubmitRightAfterRequiresAction submits tool outputs the moment
// requires_action is heard, many times over. That event goes out from the
// store's committer, so the submit can schedule the run again before the
// execution that paused it has ended; the new execution must then run after
// it, not be dropped (which left the run queued forever).
func TestSubmitRightAfterRequiresAction(t *testing.T) {
	// Against the fake Ollama: its HTTP round trips give the paused
	// execution's goroutine the time to still be ending (the scripted
	// model answers too fast to show it).
	e, _ := ollamaEngine(t, []ollamatest.Option{ollamatest.WithHandler(func(req *api.ChatRequest) ollamatest.Reply {
		if last := req.Messages[len(req.Messages)-1]; last.Role == "tool" {
			return ollamatest.Reply{Text: "Cold."}
		}
		return ollamatest.Reply{ToolCalls: []ollamatest.ToolCall{{Name: "get_weather", Arguments: `{"city":"Oslo"}`}}}
	})})
	a := ollamaAssistant(t, e, "llama3.2", weatherTool)
	for i := range 150 {
		// A run that hangs fails the test instead of the whole package.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		th := mustThread(t, e, "Weather?")
		r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil || r.Status != apitype.RunRequiresAction {
			cancel()
			t.Fatalf("round %d: %v %+v", i, err, r)
		}
		call := r.RequiredAction.SubmitToolOutputs.ToolCalls[0]
		r, err = e.Runs.SubmitToolOutputsAndWait(ctx, th.ID, r.ID, apitype.SubmitToolOutputsParams{
			ToolOutputs: []apitype.ToolOutput{{ToolCallID: call.ID, Output: "-3C"}}})
		cancel()
		if err != nil || r.Status != apitype.RunCompleted {
			t.Fatalf("round %d: after submitting outputs: %v %+v", i, err, r)
		}
	}
}
