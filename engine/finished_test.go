package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

// A run that is over has expires_at null, whichever way it ended, as the
// hosted API answers; a queued or active run keeps it.
func TestFinishedRunHasNoExpiresAt(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		turn scripted.Turn
		want apitype.RunStatus
	}{
		{"completed", scripted.Turn{Text: "Done."}, apitype.RunCompleted},
		{"failed", scripted.Turn{Err: errors.New("backend broke")}, apitype.RunFailed},
		{"incomplete", scripted.Turn{Text: "cut", FinishReason: llm.FinishLength}, apitype.RunIncomplete},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := openEngine(t, scripted.New(c.turn))
			a, th := mustAssistant(t, e), mustThread(t, e, "Go.")
			r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
			if err != nil || r.Status != c.want {
				t.Fatalf("%v %+v", err, r)
			}
			if r.ExpiresAt != nil {
				t.Fatalf("%s run has expires_at %d, want null", r.Status, *r.ExpiresAt)
			}
		})
	}
	t.Run("cancelled and expired", func(t *testing.T) {
		clock := newFakeClock()
		e := openEngine(t, scripted.New(scripted.Turn{Block: true}, scripted.Turn{Block: true}), func(c *engine.Config) {
			c.Clock, c.RunTimeout, c.ExpiryInterval = clock.Now, 10*time.Second, 2*time.Millisecond
		})
		a := mustAssistant(t, e)
		th1, th2 := mustThread(t, e, "Go."), mustThread(t, e, "Go.")
		r1, err := e.Runs.Create(ctx, th1.ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil || r1.ExpiresAt == nil {
			t.Fatalf("queued run: %v %+v", err, r1)
		}
		if _, err := e.Runs.Cancel(ctx, th1.ID, r1.ID); err != nil {
			t.Fatal(err)
		}
		r2, err := e.Runs.Create(ctx, th2.ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(11 * time.Second)
		for _, r := range []*apitype.Run{r1, r2} {
			got, err := e.Runs.Wait(ctx, r.ThreadID, r.ID)
			if err != nil || !got.Status.Terminal() {
				t.Fatalf("%v %+v", err, got)
			}
			if got.ExpiresAt != nil {
				t.Fatalf("%s run has expires_at %d, want null", got.Status, *got.ExpiresAt)
			}
		}
	})
}

// A model that answers nothing still leaves a completed run with its
// message_creation step and an empty assistant message, as the hosted API.
func TestEmptyReplyLeavesMessageAndStep(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, scripted.New(scripted.Turn{Text: ""}))
	a, th := mustAssistant(t, e), mustThread(t, e, "Say nothing.")
	r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("%v %+v", err, r)
	}
	steps := stepsOf(t, e, th.ID, r.ID)
	if len(steps) != 1 || steps[0].Type != apitype.StepMessageCreation || steps[0].Status != apitype.StepCompleted {
		t.Fatalf("steps %+v", steps)
	}
	m := lastMessage(t, e, th.ID)
	if m.Role != apitype.RoleAssistant || m.Status != apitype.MessageCompleted || m.RunID == nil || *m.RunID != r.ID ||
		steps[0].StepDetails.MessageCreation.MessageID != m.ID {
		t.Fatalf("message %+v", m)
	}
}
