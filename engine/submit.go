package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// submit records tool outputs and sends the run back to the queue.
func (e *Engine) submit(ctx context.Context, threadID, runID string, p apitype.SubmitToolOutputsParams) (*apitype.Run, error) {
	if len(p.ToolOutputs) == 0 {
		return nil, apitype.Invalid("tool_outputs", "'tool_outputs' must answer every pending tool call.")
	}
	outputs := map[string]string{}
	for i, o := range p.ToolOutputs {
		param := fmt.Sprintf("tool_outputs[%d]", i)
		if o.ToolCallID == "" {
			return nil, apitype.Invalid(param+".tool_call_id", "'tool_call_id' is required.")
		}
		if _, dup := outputs[o.ToolCallID]; dup {
			return nil, apitype.Invalid(param+".tool_call_id", "tool call %s is answered twice.", truncateForError(o.ToolCallID))
		}
		if err := checkText(param+".output", o.Output, MaxMessageChars*2, false); err != nil {
			return nil, err
		}
		outputs[o.ToolCallID] = o.Output
	}
	if r, err := e.Runs.Retrieve(ctx, threadID, runID); err != nil {
		return nil, err
	} else if r.Status == apitype.RunExpired {
		return nil, apitype.InvalidState("Run %s expired before its tool outputs were submitted.", runID)
	}
	var step *apitype.RunStep
	r, err := e.updateRun(ctx, threadID, runID, func(tx store.Tx, r *apitype.Run) error {
		if r.Status != apitype.RunRequiresAction || r.RequiredAction == nil {
			return apitype.InvalidState("Runs in status \"%s\" do not accept tool outputs.", r.Status)
		}
		pending := r.RequiredAction.SubmitToolOutputs.ToolCalls
		for _, c := range pending {
			if _, ok := outputs[c.ID]; !ok {
				return apitype.Invalid("tool_outputs", "Expected tool outputs for call ids %s; missing %s.", callIDs(pending), c.ID)
			}
		}
		if len(outputs) != len(pending) {
			for i, o := range p.ToolOutputs {
				if !slices.ContainsFunc(pending, func(c apitype.FunctionToolCall) bool { return c.ID == o.ToolCallID }) {
					return apitype.Invalid(fmt.Sprintf("tool_outputs[%d].tool_call_id", i), "No tool call found with id '%s'; pending are %s.", truncateForError(o.ToolCallID), callIDs(pending))
				}
			}
		}
		s, err := openToolStep(tx, r)
		if err != nil {
			return err
		}
		for i := range s.StepDetails.ToolCalls {
			c := &s.StepDetails.ToolCalls[i]
			if out, ok := outputs[c.ID]; ok && c.Function != nil {
				c.Function.Output = apitype.Ptr(out)
			}
		}
		now := e.now()
		s.Status, s.CompletedAt = apitype.StepCompleted, &now
		if err := tx.PutStep(s); err != nil {
			return err
		}
		step = s
		r.Status, r.RequiredAction = apitype.RunQueued, nil
		_, err = e.enqueue(ctx, tx, Job{ThreadID: threadID, ID: runID})
		return err
	})
	if err != nil {
		return nil, err
	}
	e.bus.Publish(runID,
		apitype.Event{Event: apitype.EventRunStepCompleted, Step: step},
		apitype.Event{Event: apitype.EventRunQueued, Run: r})
	if e.jobs == nil {
		e.schedule(ctx, threadID, runID, false)
	}
	return r, nil
}

func callIDs(calls []apitype.FunctionToolCall) string {
	ids := make([]string, len(calls))
	for i, c := range calls {
		ids[i] = c.ID
	}
	return "[" + strings.Join(ids, ", ") + "]"
}

// openToolStep finds the run's tool_calls step that waits for outputs.
func openToolStep(tx store.Tx, r *apitype.Run) (*apitype.RunStep, error) {
	page, err := tx.ListSteps(r.ThreadID, r.ID, apitype.ListParams{Limit: apitype.MaxListLimit})
	if err != nil {
		return nil, err
	}
	for i := range page.Data {
		s := &page.Data[i]
		if s.Type == apitype.StepToolCalls && s.Status == apitype.StepInProgress {
			return s, nil
		}
	}
	return nil, fmt.Errorf("engine: run %s waits for tool outputs but has no open tool_calls step", r.ID)
}
