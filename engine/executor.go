package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/store"
)

// Causes that stop an executor; context.Cause tells which.
var (
	errCancelled     = errors.New("run cancelled")
	errExpired       = errors.New("run expired")
	errThreadDeleted = errors.New("thread deleted")
	// errRunMoved: the run left in_progress under the executor (cancelled,
	// expired); the executor stops without writing.
	errRunMoved = errors.New("run is no longer in progress")
	errNoChange = errors.New("no change")
)

// maxModelCalls bounds the model calls of one run execution, so a model
// that keeps calling tools cannot loop forever.
const maxModelCalls = 32

// runFailure ends a run failed with last_error.
type runFailure struct{ code, msg string }

func (f *runFailure) Error() string { return f.code + ": " + f.msg }

// runIncomplete ends a run incomplete with incomplete_details.reason.
type runIncomplete struct{ reason string }

func (r *runIncomplete) Error() string { return "incomplete: " + r.reason }

func failure(code, format string, args ...any) error {
	return &runFailure{code, fmt.Sprintf(format, args...)}
}

// schedule queues the run for the worker pool. Runs start in the order
// they were queued, as MaxConcurrentRuns workers free up.
// ctx's request id (WithRequestID) goes on the execution's log lines.
func (e *Engine) schedule(ctx context.Context, threadID, runID string, resume bool) {
	e.queue.push(queuedRun{threadID: threadID, runID: runID, resume: resume, requestID: RequestID(ctx)})
}

type queuedRun struct {
	threadID, runID string
	resume          bool
	// requestID is the API request that queued the run, for its log lines.
	requestID string
	// A run queued by Runs.Create before its write committed: the write,
	// and the run it stores (the executor's own copy).
	created     *store.Pending
	run         *apitype.Run
	waitCreated bool // its prompt needs what the write adds (additional_messages)
	// A resumed run the last process stopped by shutting down cleanly: it
	// does not count against maxResumes.
	cleanClose bool
}

// runQueue is the FIFO the workers take runs from; unbounded, since a
// queued run is small.
type runQueue struct {
	mu     sync.Mutex
	items  []queuedRun
	notify chan struct{}
}

func newRunQueue() *runQueue { return &runQueue{notify: make(chan struct{}, 1)} }

func (q *runQueue) push(r queuedRun) {
	q.mu.Lock()
	q.items = append(q.items, r)
	q.mu.Unlock()
	q.signal()
}

func (q *runQueue) signal() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

func (q *runQueue) pop() (queuedRun, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return queuedRun{}, false
	}
	r := q.items[0]
	q.items[0] = queuedRun{}
	q.items = q.items[1:]
	if len(q.items) > 0 {
		q.signal() // wake another idle worker for the rest
	}
	return r, true
}

// worker executes queued runs one at a time until the engine closes.
func (e *Engine) worker() {
	defer e.wg.Done()
	for {
		if e.isDraining() {
			e.queue.signal() // pass the word on to the next idle worker
			return
		}
		r, ok := e.queue.pop()
		if !ok {
			select {
			case <-e.queue.notify:
				continue
			case <-e.ctx.Done():
				return
			}
		}
		if e.ctx.Err() != nil {
			return
		}
		e.execute(r)
	}
}

// stopExecutor cancels the executor holding the run, if any.
func (e *Engine) stopExecutor(runID string, cause error) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if cancel, ok := e.inflight[runID]; ok {
		cancel(cause)
		return true
	}
	return false
}

// updateRun reads a run, lets fn change it, and stores it, in one transaction.
func (e *Engine) updateRun(ctx context.Context, threadID, runID string, fn func(*store.Tx, *apitype.Run) error) (*apitype.Run, error) {
	var out *apitype.Run
	err := e.store.Update(ctx, func(tx *store.Tx) error {
		r, err := tx.GetRun(threadID, runID)
		if err != nil {
			return err
		}
		if err := fn(tx, r); err != nil {
			return err
		}
		out = r
		return tx.PutRun(r)
	})
	return out, err
}

func (e *Engine) overdue(r *apitype.Run) bool {
	return r.ExpiresAt != nil && r.Status.Active() && r.Status != apitype.RunCancelling && e.now() >= *r.ExpiresAt
}

// expire moves an overdue run to expired and returns it (nil when its
// executor was told to, or it was no longer overdue).
func (e *Engine) expire(ctx context.Context, threadID, runID string) (*apitype.Run, error) {
	if e.stopExecutor(runID, errExpired) {
		return e.waitFor(ctx, runID, func() (string, error) { return threadID, nil })
	}
	return e.finish(context.WithoutCancel(ctx), threadID, runID, errExpired, nil)
}

func (e *Engine) expirer() {
	defer e.wg.Done()
	t := time.NewTicker(e.cfg.ExpiryInterval)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
			e.expireDue(e.ctx)
		}
	}
}

// expireDue expires every overdue live run.
func (e *Engine) expireDue(ctx context.Context) {
	var due [][2]string
	_ = e.store.View(ctx, func(tx *store.Tx) error {
		return tx.LiveRuns(func(threadID, runID string) error {
			if r, err := tx.GetRun(threadID, runID); err == nil && e.overdue(r) {
				due = append(due, [2]string{threadID, runID})
			}
			return nil
		})
	})
	for _, d := range due {
		if _, err := e.expire(ctx, d[0], d[1]); err != nil && ctx.Err() == nil {
			e.log.Warn("expire run", "run", d[1], "err", err)
		}
	}
}

// recover resumes what a previous process left: queued runs are queued
// again; in_progress runs resume from their last committed step (steps that
// were in progress are marked failed, their partial messages incomplete, and
// the model is asked again); cancelling runs are cancelled. Runs waiting
// for tool outputs keep waiting until they expire.
func (e *Engine) recover(ctx context.Context) error {
	type live struct{ thread, run string }
	var runs []live
	var clean bool
	err := e.store.Update(ctx, func(tx *store.Tx) error {
		var err error
		if clean, err = tx.TakeCleanClose(); err != nil {
			return err
		}
		runs = nil
		return tx.LiveRuns(func(threadID, runID string) error {
			runs = append(runs, live{threadID, runID})
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, l := range runs {
		r, err := e.Runs.Retrieve(ctx, l.thread, l.run)
		if err != nil {
			return err
		}
		switch r.Status {
		case apitype.RunQueued:
			e.schedule(ctx, l.thread, l.run, false)
		case apitype.RunInProgress:
			e.log.Info("resuming run left in progress", "run", l.run, "thread", l.thread, "after_clean_close", clean)
			e.queue.push(queuedRun{threadID: l.thread, runID: l.run, resume: true, cleanClose: clean})
		case apitype.RunCancelling:
			if _, err := e.finish(ctx, l.thread, l.run, errCancelled, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

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
	r, err := e.updateRun(ctx, threadID, runID, func(tx *store.Tx, r *apitype.Run) error {
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
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.bus.publish(runID,
		apitype.Event{Event: apitype.EventRunStepCompleted, Step: step},
		apitype.Event{Event: apitype.EventRunQueued, Run: r})
	e.schedule(ctx, threadID, runID, false)
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
func openToolStep(tx *store.Tx, r *apitype.Run) (*apitype.RunStep, error) {
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

// finish ends a run for cause — errCancelled, errExpired, a *runFailure or a
// *runIncomplete — closing its open steps and messages in the same
// transaction. x, when set, is the executor's state (its partial text is
// kept on the open message). It returns nil, nil when the run had already
// left the statuses the cause applies to.
func (e *Engine) finish(ctx context.Context, threadID, runID string, cause error, x *runner) (*apitype.Run, error) {
	if errors.Is(cause, errCancelled) {
		// Wait for a Cancel in flight to publish thread.run.cancelling.
		e.cancelMu.Lock()
		defer e.cancelMu.Unlock()
	}
	now := e.now()
	var events []apitype.Event
	r, err := e.updateRun(ctx, threadID, runID, func(tx *store.Tx, r *apitype.Run) error {
		events = events[:0]
		var stepStatus apitype.StepStatus
		var msgReason string
		var stepErr *apitype.LastError
		var inc *runIncomplete
		var fail *runFailure
		switch {
		case errors.Is(cause, errCancelled):
			if !r.Status.Active() {
				return errNoChange
			}
			r.Status, r.CancelledAt = apitype.RunCancelled, &now
			stepStatus, msgReason = apitype.StepCancelled, apitype.IncompleteRunCancelled
		case errors.Is(cause, errExpired):
			if !r.Status.Active() || r.Status == apitype.RunCancelling {
				return errNoChange
			}
			r.Status = apitype.RunExpired
			stepStatus, msgReason = apitype.StepExpired, apitype.IncompleteRunExpired
		case errors.As(cause, &inc):
			if r.Status != apitype.RunInProgress {
				return errNoChange
			}
			r.Status, r.IncompleteDetails = apitype.RunIncomplete, &apitype.IncompleteDetails{Reason: inc.reason}
			// The run says which limit cut it; its message only that a
			// token limit did (a message has no max_completion_tokens).
			stepStatus, msgReason = apitype.StepCompleted, apitype.IncompleteMaxTokens
		default:
			if r.Status != apitype.RunInProgress {
				return errNoChange
			}
			if !errors.As(cause, &fail) {
				fail = &runFailure{apitype.ErrorCodeServer, cause.Error()}
			}
			r.Status, r.FailedAt = apitype.RunFailed, &now
			r.LastError = &apitype.LastError{Code: fail.code, Message: fail.msg}
			stepStatus, msgReason, stepErr = apitype.StepFailed, apitype.IncompleteRunFailed, r.LastError
		}
		r.RequiredAction = nil
		r.ExpiresAt = nil // as the API: a run that is over no longer expires
		if x != nil {
			r.Usage = addUsage(r.Usage, x.pending)
		}
		evs, err := e.closeOpen(tx, r, x, stepStatus, stepErr, msgReason, now)
		events = append(evs, apitype.Event{Event: apitype.RunEventFor(r.Status), Run: r})
		return err
	})
	if errors.Is(err, errNoChange) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	e.bus.publish(runID, events...)
	return r, nil
}

// closeOpen gives every in-progress step of r stepStatus and every
// in-progress message of r the incomplete reason, returning their events.
func (e *Engine) closeOpen(tx *store.Tx, r *apitype.Run, x *runner, stepStatus apitype.StepStatus, stepErr *apitype.LastError, msgReason string, now int64) ([]apitype.Event, error) {
	var events []apitype.Event
	after := ""
	for {
		page, err := tx.ListSteps(r.ThreadID, r.ID, apitype.ListParams{Limit: apitype.MaxListLimit, Order: apitype.OrderAsc, After: after})
		if err != nil {
			return nil, err
		}
		for i := range page.Data {
			s := &page.Data[i]
			if s.Status != apitype.StepInProgress {
				continue
			}
			if s.Type == apitype.StepMessageCreation {
				m, err := tx.GetMessage(r.ThreadID, s.StepDetails.MessageCreation.MessageID)
				if err == nil && m.Status == apitype.MessageInProgress {
					if x != nil && x.msg != nil && x.msg.ID == m.ID {
						m.Content = []apitype.MessageContent{textPart(x.text.String())}
					}
					m.Status, m.IncompleteAt = apitype.MessageIncomplete, &now
					m.IncompleteDetails = &apitype.IncompleteDetails{Reason: msgReason}
					if err := tx.PutMessage(m, e.countTokens(m)); err != nil {
						return nil, err
					}
					events = append(events, apitype.Event{Event: apitype.EventMessageIncomplete, Message: m})
				}
			}
			if x != nil && x.pending != (llm.Usage{}) && s.Usage == nil {
				s.Usage = usageOf(x.pending)
			}
			s.Status = stepStatus
			switch stepStatus {
			case apitype.StepCancelled:
				s.CancelledAt = &now
			case apitype.StepExpired:
				s.ExpiredAt = &now
			case apitype.StepFailed:
				s.FailedAt, s.LastError = &now, stepErr
			case apitype.StepCompleted:
				s.CompletedAt = &now
			}
			if err := tx.PutStep(s); err != nil {
				return nil, err
			}
			events = append(events, apitype.Event{Event: apitype.StepEventFor(stepStatus), Step: s})
		}
		if !page.HasMore {
			return events, nil
		}
		after = *page.LastID
	}
}

func addUsage(u *apitype.Usage, add llm.Usage) *apitype.Usage {
	if add == (llm.Usage{}) {
		return u
	}
	var base apitype.Usage
	if u != nil {
		base = *u
	}
	out := base.Add(*usageOf(add))
	return &out
}

func usageOf(u llm.Usage) *apitype.Usage {
	return &apitype.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.PromptTokens + u.CompletionTokens}
}

// llmSentinels are the llm errors a backend wraps for the engine to branch
// on; their texts ("llm: backend unreachable") mean nothing to a user.
var llmSentinels = []error{llm.ErrUnreachable, llm.ErrModelNotFound, llm.ErrContextOverflow,
	llm.ErrRateLimited, llm.ErrStreamCut, llm.ErrNoVision}

// lastErrorFor maps a model backend error to a run's last_error: the
// backend's explanation without the llm sentinels' texts, coded
// rate_limit_exceeded when the backend is busy and invalid_prompt when the
// prompt itself cannot be served (too long, images for a model without
// vision), which the user fixes by changing the prompt or the model.
func lastErrorFor(err error) error {
	var f *runFailure
	if errors.As(err, &f) {
		return f
	}
	code := apitype.ErrorCodeServer
	switch {
	case errors.Is(err, llm.ErrRateLimited):
		code = apitype.ErrorCodeRateLimit
	case errors.Is(err, llm.ErrContextOverflow), errors.Is(err, llm.ErrNoVision):
		code = apitype.ErrorCodeInvalidPrompt
	}
	msg := err.Error()
	for _, s := range llmSentinels {
		if errors.Is(err, s) {
			msg = strings.ReplaceAll(msg, ": "+s.Error(), "")
		}
	}
	return &runFailure{code, msg}
}

// decodeArgs reads a JSON object of string fields, tolerating models that
// send something else (the raw text is then the value of key).
func decodeArgs(raw json.RawMessage, key string) string {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err == nil {
		if v, ok := m[key].(string); ok {
			return v
		}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	return string(raw)
}
