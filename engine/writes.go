package engine

import (
	"context"
	"errors"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/store"
)

// updateRun reads a run, lets fn change it, and stores it, in one transaction.
func (e *Engine) updateRun(ctx context.Context, threadID, runID string, fn func(store.Tx, *apitype.Run) error) (*apitype.Run, error) {
	var out *apitype.Run
	err := e.store.Update(ctx, func(tx store.Tx) error {
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
	r, err := e.updateRun(ctx, threadID, runID, func(tx store.Tx, r *apitype.Run) error {
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
	e.bus.Publish(runID, events...)
	return r, nil
}

// closeOpen gives every in-progress step of r stepStatus and every
// in-progress message of r the incomplete reason, returning their events.
func (e *Engine) closeOpen(tx store.Tx, r *apitype.Run, x *runner, stepStatus apitype.StepStatus, stepErr *apitype.LastError, msgReason string, now int64) ([]apitype.Event, error) {
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

// claim moves the run from queued to in_progress (or, resuming after a
// restart, closes the steps the dead process left open). There is one claim,
// claimTx; a plainly queued run gets it in the background (claimAsync) so
// the model call starts while it syncs, any other waits for its commit here.
func (x *runner) claim(q queuedRun) error {
	threadID, runID, resume := q.threadID, q.runID, q.resume
	if !resume {
		if ok, err := x.claimAsync(q); ok || err != nil {
			return err
		}
	}
	e := x.e
	var events []apitype.Event
	err := e.store.Update(context.WithoutCancel(x.ctx), func(tx store.Tx) error {
		r, err := tx.GetRun(threadID, runID)
		if err != nil {
			return err
		}
		if events, err = e.claimTx(tx, r, q, e.now()); err != nil {
			return err
		}
		x.run = r
		if x.thread, err = tx.GetThread(threadID); err != nil {
			return err
		}
		x.asst, _ = tx.GetAssistant(r.AssistantID) // may be deleted since; the run carries what it needs
		return tx.PutRun(r)
	})
	if errors.Is(err, errNoChange) {
		return errRunMoved
	}
	if err != nil {
		return err
	}
	x.out.publish(events...)
	return nil
}

// claimAsync claims a queued run without waiting for the commit: the model
// call starts while the claim syncs (its thread.run.in_progress goes out
// when it is durable, before anything the execution streams). A run that
// Runs.Create queued while its write was still syncing is claimed the same
// way, the claim queued behind that write. If the claim then fails — a
// Cancel or expiry got there first, or the run was never stored — the
// execution is cancelled with that cause. It reports false, nil when the
// run is not plainly queued, for claim's transactional path to decide.
func (x *runner) claimAsync(q queuedRun) (bool, error) {
	e := x.e
	fast, early := false, false
	err := e.store.View(context.WithoutCancel(x.ctx), func(tx store.Tx) error {
		r, err := tx.GetRun(q.threadID, q.runID)
		if q.created != nil && errors.Is(err, apitype.ErrNotFound) {
			r, err, early = q.run, nil, true // its write is still syncing
		}
		if err != nil || r.Status != apitype.RunQueued || e.overdue(r) {
			return err
		}
		if x.thread, err = tx.GetThread(q.threadID); err != nil {
			return err
		}
		x.asst, _ = tx.GetAssistant(r.AssistantID)
		x.run, fast = r, true
		return nil
	})
	if err == nil && early && q.waitCreated {
		err = q.created.Wait() // the prompt needs its additional_messages
		if err == nil && fast {
			// Their attachments may have added files to the thread's
			// tool resources: read it again now that the write is in.
			err = e.store.View(context.WithoutCancel(x.ctx), func(tx store.Tx) (err error) {
				x.thread, err = tx.GetThread(q.threadID)
				return err
			})
		}
	}
	if err != nil || !fast {
		return false, err
	}
	x.submitClaim()
	return true, nil
}

// submitClaim moves x.run to in_progress and queues the compare-and-set
// that stores it.
func (x *runner) submitClaim() {
	e := x.e
	threadID, runID := x.run.ThreadID, x.run.ID
	now := e.now()
	if x.run.StartedAt == nil {
		x.run.StartedAt = &now
	}
	x.run.Status = apitype.RunInProgress
	startedAt := *x.run.StartedAt
	x.async(func(tx store.Tx) ([]apitype.Event, error) {
		r, err := tx.GetRun(threadID, runID)
		if err != nil {
			return nil, err
		}
		events, err := e.claimTx(tx, r, queuedRun{}, startedAt)
		if errors.Is(err, errNoChange) {
			err = errRunMoved
		}
		if err != nil {
			return nil, err
		}
		return events, tx.PutRun(r)
	}, nil)
}

// claimTx is the claim itself, the one state change both paths make in
// their transaction: a queued run moves to in_progress (started now unless
// it started before); an in_progress run being resumed (q.resume) gets the
// steps the dead process left open closed, unless it has been resumed too
// often; an overdue run is errExpired, a cancelling one errCancelled, any
// other errNoChange. r is changed in place for the caller to store.
func (e *Engine) claimTx(tx store.Tx, r *apitype.Run, q queuedRun, now int64) ([]apitype.Event, error) {
	if e.overdue(r) {
		return nil, errExpired
	}
	switch {
	case r.Status == apitype.RunQueued:
		r.Status = apitype.RunInProgress
		if r.StartedAt == nil {
			r.StartedAt = &now
		}
		return []apitype.Event{{Event: apitype.EventRunInProgress, Run: r}}, nil
	case r.Status == apitype.RunInProgress && q.resume:
		n := 0
		if !q.cleanClose {
			var err error
			if n, err = tx.CountResume(r.ID); err != nil {
				return nil, err
			}
		}
		if n > maxResumes {
			// The run was in progress at every one of the last restarts:
			// likely what it does brings the process down. End it.
			return nil, failure(apitype.ErrorCodeServer, "Hearth restarted %d times after stopping uncleanly while this run was in progress; it was ended so that it cannot crash the engine again", n-1)
		}
		return e.closeOpen(tx, r, nil, apitype.StepFailed, &apitype.LastError{Code: apitype.ErrorCodeServer,
			Message: "Hearth restarted while this step was in progress; the run resumed from its last completed step."},
			apitype.IncompleteRunFailed, now)
	case r.Status == apitype.RunCancelling:
		return nil, errCancelled
	}
	return nil, errNoChange
}

// async queues a write of the current execution without waiting for it:
// its events go out when it commits; if it fails, the execution is
// cancelled with the error as cause, undo runs on the executor's goroutine
// when it settles, and settle returns the error.
func (x *runner) async(fn func(store.Tx) ([]apitype.Event, error), undo func()) {
	p := x.out.submit(x.e.store, fn, func(err error) {
		if err != nil {
			x.cancel(err)
		}
	})
	x.out.pending = append(x.out.pending, asyncWrite{p: p, undo: undo})
}

// write runs fn on the current run in one transaction, failing with
// errRunMoved when the run is no longer in_progress, then publishes events.
func (x *runner) write(fn func(tx store.Tx, r *apitype.Run) ([]apitype.Event, error)) error {
	threadID, runID := x.run.ThreadID, x.run.ID
	var out *apitype.Run
	// Queued behind the background writes, not after them: when the disk
	// is busy they share one commit. It builds on them, so it refuses to
	// apply if one of them failed.
	err := x.out.submit(x.e.store, func(tx store.Tx) ([]apitype.Event, error) {
		if x.out.failed() {
			return nil, errEarlierWriteFailed
		}
		r, err := tx.GetRun(threadID, runID)
		if err != nil {
			return nil, err
		}
		if r.Status != apitype.RunInProgress {
			return nil, errRunMoved
		}
		events, err := fn(tx, r)
		if err != nil {
			return nil, err
		}
		out = r
		return events, tx.PutRun(r)
	}, nil).Wait()
	if serr := x.out.settle(); serr != nil {
		return serr // decided before this one: the real reason
	}
	if err != nil {
		return err
	}
	x.run = out
	return nil
}
