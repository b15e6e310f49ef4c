package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/store"
)

// runner is one execution of a run: from claiming it in_progress to
// requires_action or a terminal status. Its writes are compare-and-set on
// the run being in_progress, each one transaction, with events published
// after the commit.
type runner struct {
	e      *Engine
	ctx    context.Context // cancelled with a cause by Cancel, expiry, thread deletion or Close
	cancel context.CancelCauseFunc
	out    *outbox // the execution's events, in order, each write's after its commit
	run    *apitype.Run
	thread *apitype.Thread
	asst   *apitype.Assistant
	// requestID is the API request that queued this execution (log lines).
	requestID string

	// The open message (while the model writes text) and its step.
	msg     *apitype.Message
	msgStep *apitype.RunStep
	text    strings.Builder
	// The open tool_calls step and the calls streaming into it.
	toolStep *apitype.RunStep
	streamed map[int]*streamedCall
	// pending is usage of the current model call not yet added to the run.
	pending llm.Usage
	// nudges are corrective system messages for the next model call.
	nudges        []string
	retriedFormat bool
	// searches are the run's file_search results so far, by call ordinal
	// (loaded from the steps on first use), for citations.
	searches       [][]apitype.FileSearchResult
	searchesLoaded bool
	// cited is how many citations of the open message have gone out in
	// its deltas.
	cited int
	// sandboxFiles maps /mnt/data paths the run's code wrote to their
	// files; images are those that are images, for the answer's content.
	sandboxFiles map[string]string
	images       []string
	// outFiles and outBytes are what this execution stored of the code's
	// output files, against Config.MaxCodeOutputFiles / MaxCodeOutputBytes.
	outFiles int
	outBytes int64
	// threadFiles and threadBytes are the thread's stored output files,
	// read from the store at the first code call that wrote any
	// (threadLoaded), against Config.MaxThreadCodeOutputFiles / Bytes.
	threadFiles  int
	threadBytes  int64
	threadLoaded bool
	// badArgs counts strict function calls refused for their arguments.
	badArgs int
	// estimate is the prompt's estimated tokens, for calibration; truncation
	// is what truncation did to it, recorded on the call's steps.
	estimate    int
	truncation  apitype.Metadata
	ownMessages int
}

type streamedCall struct {
	id, name string
	args     strings.Builder
	sent     int // bytes of decoded input already sent (code_interpreter)
}

func (e *Engine) execute(q queuedRun) {
	threadID, runID := q.threadID, q.runID
	ctx, cancel := context.WithCancelCause(e.ctx)
	defer cancel(nil)
	e.mu.Lock()
	if _, busy := e.inflight[runID]; busy || e.closed {
		if busy && !e.closed {
			e.again[runID] = q
		}
		e.mu.Unlock()
		return
	}
	e.inflight[runID] = cancel
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.inflight, runID)
		next, again := e.again[runID]
		delete(e.again, runID)
		e.mu.Unlock()
		select {
		case e.settled <- struct{}{}: // Shutdown counts what is left
		default:
		}
		if again {
			e.queue.push(next)
		}
	}()

	x := &runner{e: e, ctx: ctx, cancel: cancel, out: &outbox{bus: e.bus, runID: runID}, requestID: q.requestID,
		streamed: map[int]*streamedCall{}, sandboxFiles: map[string]string{}}
	wctx := context.WithoutCancel(ctx)
	start := time.Now()
	err := x.claim(q)
	if err == nil {
		x.started()
		err = e.protect(ctx, "the run's execution (model backend or tool)", x.ids(), x.loop)
	}
	if serr := x.out.settle(); serr != nil {
		// A write made in the background failed (the claim lost to a
		// Cancel, say) and cancelled the execution: that is why it ended.
		err = serr
	}
	if q.created != nil && q.created.Wait() != nil {
		return // the run was never stored; Create told its caller why
	}
	if err == nil {
		x.ended(x.run, start)
		if errors.Is(context.Cause(ctx), errCancelled) {
			// Cancelled just after pausing at requires_action, before this
			// execution left: Cancel found it still held and left the
			// finishing to it, so finish here or the run stays cancelling.
			e.finish(wctx, threadID, runID, errCancelled, nil)
		}
		return
	}
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errCancelled), errors.Is(cause, errExpired):
		err = cause
	case errors.Is(cause, errThreadDeleted), e.ctx.Err() != nil:
		return // deleted (streams were told), or closing: the next Open resumes it
	}
	if errors.Is(err, errRunMoved) {
		// Cancel or expiry changed the status under us; whoever did decides.
		r, rerr := e.Runs.Retrieve(wctx, threadID, runID)
		if rerr != nil || r.Status != apitype.RunCancelling {
			return
		}
		err = errCancelled
	}
	r, ferr := e.finish(wctx, threadID, runID, err, x)
	if r != nil && x.run != nil {
		x.ended(r, start)
	}
	if ferr != nil {
		// The store refused even the final write (disk full, I/O error): end
		// the streams with an error event; the run is left for the next
		// Open's recovery to resume or end.
		e.log.Error("finish run", "run", runID, "cause", err, "err", ferr)
		e.bus.publish(runID, apitype.Event{Event: apitype.EventError,
			Error: apitype.ServerError("run %s could not be recorded as finished: %v", runID, ferr)})
	}
}

// maxResumes is how many restarts may resume one run before it is failed.
const maxResumes = 3

// claim moves the run from queued to in_progress (or, resuming after a
// restart, closes the steps the dead process left open).
func (x *runner) claim(q queuedRun) error {
	threadID, runID, resume := q.threadID, q.runID, q.resume
	if !resume {
		if ok, err := x.claimAsync(q); ok || err != nil {
			return err
		}
	}
	e := x.e
	var events []apitype.Event
	err := e.store.Update(context.WithoutCancel(x.ctx), func(tx *store.Tx) error {
		events = nil
		r, err := tx.GetRun(threadID, runID)
		if err != nil {
			return err
		}
		if e.overdue(r) {
			return errExpired
		}
		now := e.now()
		switch {
		case r.Status == apitype.RunQueued:
			r.Status = apitype.RunInProgress
			if r.StartedAt == nil {
				r.StartedAt = &now
			}
			events = append(events, apitype.Event{Event: apitype.EventRunInProgress, Run: r})
		case r.Status == apitype.RunInProgress && resume:
			n := 0
			if !q.cleanClose {
				var err error
				if n, err = tx.CountResume(r.ID); err != nil {
					return err
				}
			}
			if n > maxResumes {
				// The run was in progress at every one of the last restarts:
				// likely what it does brings the process down. End it.
				return failure(apitype.ErrorCodeServer, "Hearth restarted %d times after stopping uncleanly while this run was in progress; it was ended so that it cannot crash the engine again", n-1)
			}
			evs, err := e.closeOpen(tx, r, nil, apitype.StepFailed, &apitype.LastError{Code: apitype.ErrorCodeServer,
				Message: "Hearth restarted while this step was in progress; the run resumed from its last completed step."},
				apitype.IncompleteRunFailed, now)
			if err != nil {
				return err
			}
			events = evs
		case r.Status == apitype.RunCancelling:
			return errCancelled
		default:
			return errNoChange
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
	err := e.store.View(context.WithoutCancel(x.ctx), func(tx *store.Tx) error {
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
			err = e.store.View(context.WithoutCancel(x.ctx), func(tx *store.Tx) (err error) {
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
	x.async(func(tx *store.Tx) ([]apitype.Event, error) {
		r, err := tx.GetRun(threadID, runID)
		if err != nil {
			return nil, err
		}
		if e.overdue(r) {
			return nil, errExpired
		}
		switch r.Status {
		case apitype.RunQueued:
		case apitype.RunCancelling:
			return nil, errCancelled
		default:
			return nil, errRunMoved
		}
		r.Status = apitype.RunInProgress
		if r.StartedAt == nil {
			r.StartedAt = &startedAt
		}
		return []apitype.Event{{Event: apitype.EventRunInProgress, Run: r}}, tx.PutRun(r)
	}, nil)
}

// async queues a write of the current execution without waiting for it:
// its events go out when it commits; if it fails, the execution is
// cancelled with the error as cause, undo runs on the executor's goroutine
// when it settles, and settle returns the error.
func (x *runner) async(fn func(*store.Tx) ([]apitype.Event, error), undo func()) {
	p := x.out.submit(x.e.store, fn, func(err error) {
		if err != nil {
			x.cancel(err)
		}
	})
	x.out.pending = append(x.out.pending, asyncWrite{p: p, undo: undo})
}

// write runs fn on the current run in one transaction, failing with
// errRunMoved when the run is no longer in_progress, then publishes events.
func (x *runner) write(fn func(tx *store.Tx, r *apitype.Run) ([]apitype.Event, error)) error {
	threadID, runID := x.run.ThreadID, x.run.ID
	var out *apitype.Run
	// Queued behind the background writes, not after them: when the disk
	// is busy they share one commit. It builds on them, so it refuses to
	// apply if one of them failed.
	err := x.out.submit(x.e.store, func(tx *store.Tx) ([]apitype.Event, error) {
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

func (x *runner) loop() error {
	if x.e.cfg.Model == nil {
		return failure(apitype.ErrorCodeServer, "no model backend is configured (set engine.Config.Model, e.g. to an Ollama client)")
	}
	for calls := 0; ; calls++ {
		if calls == maxModelCalls {
			return failure(apitype.ErrorCodeServer, "the model made %d calls in one run without finishing; stopped to avoid a loop", maxModelCalls)
		}
		if err := x.ctx.Err(); err != nil {
			return err
		}
		req, err := x.prompt()
		if err != nil {
			return err
		}
		done, err := x.turn(req)
		if err != nil || done {
			return err
		}
	}
}

// turn makes one model call and acts on the reply. It reports whether the
// execution is over (completed or waiting for tool outputs).
func (x *runner) turn(req *llm.Request) (bool, error) {
	x.pending = llm.Usage{}
	var calls []llm.ToolCall
	finish := ""
	call := ModelCallEvent{RunID: x.run.ID, Model: req.Model}
	start := time.Now()
	defer func() {
		call.Duration = time.Since(start)
		call.PromptTokens, call.CompletionTokens = x.pending.PromptTokens, x.pending.CompletionTokens
		x.e.obs.ModelCall(x.ctx, call)
	}()
	callCtx, watch := x.e.watchCall(x.ctx, req.Model)
	defer watch.stop()
	for chunk, err := range x.e.cfg.Model.Chat(callCtx, req) {
		if err != nil {
			call.Err = err
			if t := watch.timedOut(); t != nil && x.ctx.Err() == nil {
				x.e.log.LogAttrs(x.ctx, slog.LevelWarn, "model call timed out", x.ids(slog.String("model", req.Model), slog.Any("err", t))...)
				return false, t
			}
			if x.ctx.Err() != nil {
				return false, x.ctx.Err()
			}
			x.e.log.LogAttrs(x.ctx, slog.LevelWarn, "model call failed", x.ids(slog.String("model", req.Model), slog.Any("err", err))...)
			return false, lastErrorFor(err)
		}
		watch.chunk()
		if call.FirstToken == 0 && (chunk.Text != "" || len(chunk.ToolCallDeltas) > 0 || len(chunk.ToolCalls) > 0) {
			call.FirstToken = time.Since(start)
		}
		if chunk.Text != "" {
			if err := x.appendText(chunk.Text); err != nil {
				return false, err
			}
		}
		for _, d := range chunk.ToolCallDeltas {
			if err := x.streamCall(d); err != nil {
				return false, err
			}
		}
		calls = append(calls, chunk.ToolCalls...)
		if chunk.Usage != nil {
			x.pending = *chunk.Usage
			x.e.calib.Observe(x.run.Model, x.estimate, chunk.Usage.PromptTokens)
		}
		if chunk.FinishReason != "" {
			finish = chunk.FinishReason
		}
	}
	if err := x.ctx.Err(); err != nil {
		return false, err
	}
	if t := watch.timedOut(); t != nil {
		call.Err = t // the backend ended its stream quietly when cancelled
		x.e.log.LogAttrs(x.ctx, slog.LevelWarn, "model call timed out", x.ids(slog.String("model", req.Model), slog.Any("err", t))...)
		return false, t
	}
	if req.ToolChoice.Mode == llm.ToolChoiceNone {
		calls = nil
	}
	if len(calls) > 1 && !x.run.ParallelToolCalls {
		calls = calls[:1]
	}
	if miss := x.toolChoiceMissed(calls); miss != "" {
		if len(x.nudges) == 0 {
			x.nudges = append(x.nudges, miss)
			return false, x.closeMessage(apitype.MessageCompleted, "")
		}
		return false, failure(apitype.ErrorCodeServer, "tool_choice was not followed: %s The model did not comply after a corrective retry.", miss)
	}
	x.nudges = nil
	if len(calls) > 0 {
		return x.toolCalls(calls)
	}
	// A reply cut for length is incomplete whether max_completion_tokens or
	// the context window cut it: Ollama (shift off) stops with done_reason
	// "length" once the reply fills num_ctx.
	if finish == llm.FinishLength {
		return false, &runIncomplete{apitype.IncompleteMaxCompletionTokens}
	}
	if problem := x.checkFormat(); problem != "" {
		if !x.retriedFormat {
			x.retriedFormat = true
			x.nudges = append(x.nudges, problem+" Answer again with only valid JSON.")
			return false, x.closeMessage(apitype.MessageIncomplete, apitype.IncompleteRunFailed)
		}
		return false, failure(apitype.ErrorCodeServer, "%s (after one corrective retry)", problem)
	}
	return true, x.complete()
}

// appendText streams a text delta, opening the message (and its step) on
// the first one.
func (x *runner) appendText(delta string) error {
	if x.toolStep != nil {
		// Text after tool calls in one reply: keep it with the next message.
		x.e.log.Debug("text after tool calls", "run", x.run.ID)
	}
	if x.msg == nil {
		if err := x.openMessage(); err != nil {
			return err
		}
	}
	x.text.WriteString(delta)
	x.out.publish(apitype.Event{Event: apitype.EventMessageDelta, MessageDelta: &apitype.MessageDeltaEvent{
		ID: x.msg.ID, Object: apitype.ObjectMessageDelta,
		Delta: apitype.MessageDelta{Content: []apitype.MessageContent{{Index: apitype.Ptr(0), Type: apitype.ContentText,
			Text: &apitype.TextContent{Value: delta, Annotations: x.newCitations(delta)}}}},
	}})
	return nil
}

// newCitations are the citations whose marker the delta just appended
// completes, numbered on from those already sent, as the hosted API put
// each in the delta that carried its marker. They are computed as the
// finished message's are, so the streamed ones are exactly its citations.
func (x *runner) newCitations(delta string) []apitype.Annotation {
	out := []apitype.Annotation{}
	if !strings.Contains(delta, "】") || !x.hasTool(apitype.ToolTypeFileSearch) {
		return out
	}
	searches, err := x.searchesSoFar()
	if err != nil || len(searches) == 0 {
		return out
	}
	all := citations(x.text.String(), searches)
	for _, a := range all[min(x.cited, len(all)):] {
		a.Index = apitype.Ptr(x.cited)
		x.cited++
		out = append(out, a)
	}
	return out
}

func (x *runner) openMessage() error {
	e := x.e
	now := e.now()
	m := &apitype.Message{ID: e.newID(store.PrefixMessage), Object: apitype.ObjectMessage, CreatedAt: now,
		ThreadID: x.run.ThreadID, Status: apitype.MessageInProgress, Role: apitype.RoleAssistant,
		Content: []apitype.MessageContent{}, AssistantID: apitype.Ptr(x.run.AssistantID), RunID: apitype.Ptr(x.run.ID),
		Attachments: []apitype.Attachment{}, Metadata: apitype.Metadata{}}
	s := x.newStep(apitype.StepDetails{Type: apitype.StepMessageCreation, MessageCreation: &apitype.MessageCreation{MessageID: m.ID}})
	// Committed in the background: the reply keeps streaming in while it
	// syncs, and its deltas go out right after the message's creation.
	threadID, runID := x.run.ThreadID, x.run.ID
	x.async(func(tx *store.Tx) ([]apitype.Event, error) {
		r, err := tx.GetRun(threadID, runID)
		if err != nil {
			return nil, err
		}
		if r.Status != apitype.RunInProgress {
			return nil, errRunMoved
		}
		if err := tx.PutStep(s); err != nil {
			return nil, err
		}
		if err := tx.PutMessage(m, 0); err != nil {
			return nil, err
		}
		return []apitype.Event{
			{Event: apitype.EventRunStepCreated, Step: s},
			{Event: apitype.EventRunStepInProgress, Step: s},
			{Event: apitype.EventMessageCreated, Message: m},
			{Event: apitype.EventMessageInProgress, Message: m},
		}, nil
	}, func() { x.msg, x.msgStep = nil, nil })
	x.msg, x.msgStep = m, s
	x.text.Reset()
	x.cited = 0
	return nil
}

func (x *runner) newStep(d apitype.StepDetails) *apitype.RunStep {
	return &apitype.RunStep{ID: x.e.newID(store.PrefixStep), Object: apitype.ObjectRunStep, CreatedAt: x.e.now(),
		AssistantID: x.run.AssistantID, ThreadID: x.run.ThreadID, RunID: x.run.ID, Type: d.Type,
		Status: apitype.StepInProgress, StepDetails: d, Metadata: orMeta(x.truncation)}
}

// finalMessage fills the open message with its text and status.
func (x *runner) finalMessage(status apitype.MessageStatus, reason string, now int64) *apitype.Message {
	m := *x.msg
	m.Content = []apitype.MessageContent{textPart(x.text.String())}
	if x.hasTool(apitype.ToolTypeFileSearch) {
		if searches, err := x.searchesSoFar(); err == nil && len(searches) > 0 {
			m.Content[0].Text.Annotations = citations(x.text.String(), searches)
		}
	}
	if len(x.sandboxFiles) > 0 {
		m.Content[0].Text.Annotations = append(m.Content[0].Text.Annotations, filePaths(x.text.String(), x.sandboxFiles)...)
	}
	if status == apitype.MessageCompleted {
		for _, id := range x.images {
			m.Content = append(m.Content, apitype.MessageContent{Type: apitype.ContentImageFile, ImageFile: &apitype.ImageFile{FileID: id}})
		}
		x.images = nil
	}
	m.Status = status
	if status == apitype.MessageCompleted {
		m.CompletedAt = &now
	} else {
		m.IncompleteAt = &now
		m.IncompleteDetails = &apitype.IncompleteDetails{Reason: reason}
	}
	return &m
}

// closing is the open message as it will be stored, made before its write:
// the write's transaction then counts no tokens (it runs on the committer,
// which every writer waits for), and a write that is retried stores the
// same message.
type closing struct {
	m      *apitype.Message
	tokens int
	now    int64
}

func (x *runner) closing(status apitype.MessageStatus, reason string) closing {
	now := x.e.now()
	m := x.finalMessage(status, reason, now)
	return closing{m: m, tokens: x.e.countTokens(m), now: now}
}

// closeMessage completes (or leaves incomplete) the open message and its
// step, if one is open; the call's usage goes on that step.
func (x *runner) closeMessage(status apitype.MessageStatus, reason string) error {
	if x.msg == nil {
		return nil
	}
	c := x.closing(status, reason)
	err := x.write(func(tx *store.Tx, r *apitype.Run) ([]apitype.Event, error) {
		return x.closeMessageTx(tx, r, c)
	})
	if err == nil {
		x.msg, x.msgStep = nil, nil
	}
	return err
}

func (x *runner) closeMessageTx(tx *store.Tx, r *apitype.Run, c closing) ([]apitype.Event, error) {
	s := *x.msgStep
	s.Status, s.CompletedAt = apitype.StepCompleted, &c.now
	if x.toolStep == nil {
		s.Usage = usageOf(x.pending)
		r.Usage = addUsage(r.Usage, x.pending)
	}
	if err := tx.PutMessage(c.m, c.tokens); err != nil {
		return nil, err
	}
	if err := tx.PutStep(&s); err != nil {
		return nil, err
	}
	ev := apitype.EventMessageCompleted
	if c.m.Status != apitype.MessageCompleted {
		ev = apitype.EventMessageIncomplete
	}
	return []apitype.Event{{Event: ev, Message: c.m}, {Event: apitype.EventRunStepCompleted, Step: &s}}, nil
}

// complete writes the final message, its step and the completed run in one
// transaction.
func (x *runner) complete() error {
	if x.msg == nil {
		// An empty reply still gets its message_creation step and (empty)
		// message, as every completed run has on the hosted API.
		if err := x.openMessage(); err != nil {
			return err
		}
	}
	var c *closing
	if x.msg != nil {
		cl := x.closing(apitype.MessageCompleted, "")
		c = &cl
	}
	return x.write(func(tx *store.Tx, r *apitype.Run) ([]apitype.Event, error) {
		var events []apitype.Event
		if c != nil {
			evs, err := x.closeMessageTx(tx, r, *c)
			if err != nil {
				return nil, err
			}
			events = evs
		} else {
			r.Usage = addUsage(r.Usage, x.pending)
		}
		now := x.e.now()
		r.Status, r.CompletedAt, r.ExpiresAt = apitype.RunCompleted, &now, nil
		if r.Usage == nil {
			r.Usage = &apitype.Usage{}
		}
		return append(events, apitype.Event{Event: apitype.EventRunCompleted, Run: r}), nil
	})
}

// streamCall streams a tool call being written as step deltas.
func (x *runner) streamCall(d llm.ToolCallDelta) error {
	if err := x.closeMessage(apitype.MessageCompleted, ""); err != nil {
		return err
	}
	if x.toolStep == nil {
		if err := x.openToolStep(); err != nil {
			return err
		}
	}
	sc := x.streamed[d.Index]
	first := sc == nil
	if first {
		sc = &streamedCall{id: d.ID, name: d.Name}
		if sc.id == "" {
			sc.id = x.e.newID(store.PrefixToolCall)
		}
		x.streamed[d.Index] = sc
	}
	sc.args.WriteString(d.ArgumentsDelta)
	typ := x.toolType(sc.name)
	if first {
		// The first delta names the call with an empty input, as the
		// hosted API's did: SDKs hand it to tool_call_created and only the
		// following deltas to tool_call_delta.
		x.publishStepDelta(callHeader(d.Index, sc.id, typ, sc.name))
	}
	call := apitype.ToolCallDelta{Index: d.Index, Type: typ}
	switch typ {
	case apitype.ToolTypeCodeInterpreter:
		code := partialString(sc.args.String(), "code")
		if len(code) <= sc.sent {
			return nil
		}
		call.CodeInterpreter = &apitype.CodeInterpreterDelta{Input: code[sc.sent:]}
		sc.sent = len(code)
	case apitype.ToolTypeFileSearch:
		return nil
	default:
		if d.ArgumentsDelta == "" {
			return nil
		}
		call.Function = &apitype.FunctionDelta{Arguments: d.ArgumentsDelta}
	}
	x.publishStepDelta(call)
	return nil
}

// callHeader is a tool call's first delta: its id and type, input empty.
func callHeader(index int, id string, typ apitype.ToolType, name string) apitype.ToolCallDelta {
	h := apitype.ToolCallDelta{Index: index, ID: id, Type: typ}
	switch typ {
	case apitype.ToolTypeCodeInterpreter:
		h.CodeInterpreter = &apitype.CodeInterpreterDelta{}
	case apitype.ToolTypeFileSearch:
		h.FileSearch = &apitype.FileSearchCall{}
	default:
		h.Function = &apitype.FunctionDelta{Name: name}
	}
	return h
}

func (x *runner) publishStepDelta(calls ...apitype.ToolCallDelta) {
	x.out.publish(apitype.Event{Event: apitype.EventRunStepDelta, StepDelta: &apitype.RunStepDeltaEvent{
		ID: x.toolStep.ID, Object: apitype.ObjectRunStepDelta,
		Delta: apitype.RunStepDelta{StepDetails: apitype.StepDeltaDetails{Type: apitype.StepToolCalls, ToolCalls: calls}},
	}})
}

func (x *runner) openToolStep() error {
	s := x.newStep(apitype.StepDetails{Type: apitype.StepToolCalls, ToolCalls: []apitype.ToolCall{}})
	// The events get their own copy: the runner fills x.toolStep's calls
	// later, and subscribers read events after that.
	pub := *s
	err := x.write(func(tx *store.Tx, _ *apitype.Run) ([]apitype.Event, error) {
		return []apitype.Event{{Event: apitype.EventRunStepCreated, Step: &pub}, {Event: apitype.EventRunStepInProgress, Step: &pub}}, tx.PutStep(s)
	})
	if err == nil {
		x.toolStep = s
	}
	return err
}

func (x *runner) toolType(name string) apitype.ToolType {
	switch name {
	case string(apitype.ToolTypeCodeInterpreter), string(apitype.ToolTypeFileSearch):
		if x.hasTool(apitype.ToolType(name)) {
			return apitype.ToolType(name)
		}
	}
	return apitype.ToolTypeFunction
}

func (x *runner) hasTool(t apitype.ToolType) bool {
	return slices.ContainsFunc(x.run.Tools, func(tool apitype.Tool) bool { return tool.Type == t })
}

// toolCalls records the reply's calls on a tool_calls step, runs the
// built-in ones, and either continues (all answered) or moves the run to
// requires_action for the functions.
func (x *runner) toolCalls(calls []llm.ToolCall) (bool, error) {
	if err := x.closeMessage(apitype.MessageCompleted, ""); err != nil {
		return false, err
	}
	recorded := make([]apitype.ToolCall, len(calls))
	for i, c := range calls {
		id := c.ID
		if sc := x.streamed[i]; sc != nil {
			id = sc.id
		}
		if id == "" {
			id = x.e.newID(store.PrefixToolCall)
		}
		calls[i].ID = id
		args := string(c.Arguments)
		if args == "" {
			args = "{}"
		}
		rc := apitype.ToolCall{ID: id, Type: x.toolType(c.Name)}
		switch rc.Type {
		case apitype.ToolTypeCodeInterpreter:
			rc.CodeInterpreter = &apitype.CodeInterpreterCall{Input: decodeArgs(c.Arguments, "code"), Outputs: []apitype.CodeInterpreterOutput{}}
		case apitype.ToolTypeFileSearch:
			rc.FileSearch = &apitype.FileSearchCall{RankingOptions: x.rankingOptions(), Results: []apitype.FileSearchResult{}}
		default:
			rc.Function = &apitype.FunctionCall{Name: c.Name, Arguments: args}
			if !x.isFunction(c.Name) {
				rc.Function.Output = apitype.Ptr(fmt.Sprintf("error: there is no tool named %q; available tools: %s", c.Name, x.toolNames()))
			} else if problem := x.checkArgs(c.Name, args); problem != "" {
				// A strict function never sees arguments that break its
				// schema: the model is told why and gets one more try.
				if x.badArgs++; x.badArgs > 1 {
					return false, failure(apitype.ErrorCodeServer, "the model called %s with arguments that do not match its strict schema twice: %s", c.Name, problem)
				}
				rc.Function.Output = apitype.Ptr("error: the arguments do not match the function's schema: " + problem + ". Call it again with valid arguments.")
			}
		}
		recorded[i] = rc
	}
	if x.toolStep == nil {
		// Created empty, as the hosted API did: SDKs build the calls from
		// the indexed deltas and would double anything already in the step.
		if err := x.openToolStep(); err != nil {
			return false, err
		}
		// A backend that returns whole calls is streamed in the hosted
		// shape all the same: the call, then its input.
		for i, c := range recorded {
			name := ""
			if c.Function != nil {
				name = c.Function.Name
			}
			x.publishStepDelta(callHeader(i, c.ID, c.Type, name))
			if d, ok := callInput(i, c); ok {
				x.publishStepDelta(d)
			}
		}
	}
	x.toolStep.StepDetails.ToolCalls = recorded
	// Built-in tools run now, one at a time, their outputs streamed.
	for i := range recorded {
		c := &recorded[i]
		if c.Type == apitype.ToolTypeFunction {
			continue
		}
		if err := x.runBuiltin(i, c, calls[i].Arguments); err != nil {
			return false, err
		}
	}
	var pending []apitype.FunctionToolCall
	for _, c := range recorded {
		if c.Function != nil && c.Function.Output == nil {
			pending = append(pending, apitype.FunctionToolCall{ID: c.ID, Type: apitype.ToolTypeFunction,
				Function: apitype.FunctionCall{Name: c.Function.Name, Arguments: c.Function.Arguments}})
		}
	}
	step := *x.toolStep
	err := x.write(func(tx *store.Tx, r *apitype.Run) ([]apitype.Event, error) {
		s := step
		s.Usage = usageOf(x.pending)
		r.Usage = addUsage(r.Usage, x.pending)
		if len(pending) > 0 {
			r.Status = apitype.RunRequiresAction
			r.RequiredAction = &apitype.RequiredAction{Type: "submit_tool_outputs", SubmitToolOutputs: apitype.SubmitToolOutputs{ToolCalls: pending}}
			return []apitype.Event{{Event: apitype.EventRunRequiresAction, Run: r}}, tx.PutStep(&s)
		}
		now := x.e.now()
		s.Status, s.CompletedAt = apitype.StepCompleted, &now
		return []apitype.Event{{Event: apitype.EventRunStepCompleted, Step: &s}}, tx.PutStep(&s)
	})
	x.toolStep = nil
	x.streamed = map[int]*streamedCall{}
	x.pending = llm.Usage{}
	return len(pending) > 0, err
}

func (x *runner) runBuiltin(index int, c *apitype.ToolCall, args json.RawMessage) error {
	tool := apitype.Tool{Type: c.Type}
	for _, t := range x.run.Tools {
		if t.Type == c.Type {
			tool = t
		}
	}
	call := &ToolCall{ID: c.ID, Type: c.Type, Arguments: args, Tool: tool, Run: x.run, Thread: x.thread, Assistant: x.asst}
	var res *ToolResult
	var err error
	switch {
	case x.e.cfg.Tools != nil:
		res, err = x.e.cfg.Tools.RunTool(x.ctx, call)
	case c.Type == apitype.ToolTypeCodeInterpreter && x.e.cfg.CodeInterpreter != nil:
		res, err = x.runCode(x.ctx, call)
	case c.Type == apitype.ToolTypeFileSearch && x.e.cfg.FileIndex != nil:
		var searches [][]apitype.FileSearchResult
		if searches, err = x.searchesSoFar(); err == nil {
			res, err = x.e.runFileSearch(x.ctx, call, len(searches))
		}
	default:
		res, err = noTools{}.RunTool(x.ctx, call)
	}
	if err != nil {
		if x.ctx.Err() != nil {
			return x.ctx.Err()
		}
		res = &ToolResult{Output: "error: " + err.Error(), Logs: "error: " + err.Error()}
	}
	delta := apitype.ToolCallDelta{Index: index, Type: c.Type} // type is required in every SDK's delta type
	switch c.Type {
	case apitype.ToolTypeCodeInterpreter:
		var outs []apitype.CodeInterpreterOutput
		if res.Logs != "" || len(res.ImageFileIDs) == 0 {
			outs = append(outs, apitype.CodeInterpreterOutput{Type: "logs", Logs: res.Logs})
		}
		for _, id := range res.ImageFileIDs {
			outs = append(outs, apitype.CodeInterpreterOutput{Type: "image", Image: &apitype.ImageFile{FileID: id}})
		}
		c.CodeInterpreter.Outputs = outs
		d := make([]apitype.CodeInterpreterOutput, len(outs))
		for i, o := range outs {
			o.Index = apitype.Ptr(i)
			d[i] = o
		}
		delta.CodeInterpreter = &apitype.CodeInterpreterDelta{Outputs: d}
	case apitype.ToolTypeFileSearch:
		if res.FileSearch != nil {
			c.FileSearch.Results = res.FileSearch.Results
		}
		x.searches = append(x.searches, c.FileSearch.Results)
		delta.FileSearch = &apitype.FileSearchCall{}
	}
	x.publishStepDelta(delta)
	return nil
}

func (x *runner) rankingOptions() *apitype.RankingOptions {
	for _, t := range x.run.Tools {
		if t.Type == apitype.ToolTypeFileSearch && t.FileSearch != nil && t.FileSearch.RankingOptions != nil {
			return t.FileSearch.RankingOptions
		}
	}
	return &apitype.RankingOptions{Ranker: apitype.RankerAuto, ScoreThreshold: 0}
}

func (x *runner) isFunction(name string) bool {
	return slices.ContainsFunc(x.run.Tools, func(t apitype.Tool) bool {
		return t.Type == apitype.ToolTypeFunction && t.Function != nil && t.Function.Name == name
	})
}

func (x *runner) toolNames() string {
	var names []string
	for _, t := range x.run.Tools {
		if t.Function != nil {
			names = append(names, t.Function.Name)
		} else {
			names = append(names, string(t.Type))
		}
	}
	return strings.Join(names, ", ")
}

// toolChoiceMissed says what the reply failed to do that tool_choice
// required ("" when it complied).
func (x *runner) toolChoiceMissed(calls []llm.ToolCall) string {
	tc := x.run.ToolChoice
	if tc == nil {
		return ""
	}
	switch {
	case tc.Type == apitype.ToolTypeFunction && tc.Function != nil:
		if !slices.ContainsFunc(calls, func(c llm.ToolCall) bool { return c.Name == tc.Function.Name }) {
			return fmt.Sprintf("You must call the function %s now.", tc.Function.Name)
		}
	case tc.Type != "":
		if !slices.ContainsFunc(calls, func(c llm.ToolCall) bool { return c.Name == string(tc.Type) }) {
			return fmt.Sprintf("You must call the %s tool now.", tc.Type)
		}
	case tc.Mode == apitype.ToolChoiceRequired:
		if len(calls) == 0 {
			return "You must call one of the tools now."
		}
	}
	return ""
}

// partialString extracts the value of key from a JSON object that may still
// be incomplete, as far as it has been written.
func partialString(doc, key string) string {
	i := strings.Index(doc, `"`+key+`"`)
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(doc[i+len(key)+2:], " \t\r\n")
	if !strings.HasPrefix(rest, ":") {
		return ""
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	if !strings.HasPrefix(rest, `"`) {
		return ""
	}
	var b strings.Builder
	for j := 1; j < len(rest); j++ {
		c := rest[j]
		switch {
		case c == '"':
			return b.String()
		case c == '\\':
			end := j + 2
			if j+1 < len(rest) && rest[j+1] == 'u' {
				end = j + 6
			}
			if end > len(rest) {
				return b.String() // an escape still being written
			}
			var s string
			if err := json.Unmarshal([]byte(`"`+rest[j:end]+`"`), &s); err == nil {
				b.WriteString(s)
			}
			j = end - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// callInput is the delta after a whole call's header: its input (and the
// output of a call answered at once, such as an unknown tool's error).
func callInput(index int, c apitype.ToolCall) (apitype.ToolCallDelta, bool) {
	d := apitype.ToolCallDelta{Index: index, Type: c.Type}
	switch {
	case c.CodeInterpreter != nil && c.CodeInterpreter.Input != "":
		d.CodeInterpreter = &apitype.CodeInterpreterDelta{Input: c.CodeInterpreter.Input}
	case c.Function != nil && (c.Function.Arguments != "" || c.Function.Output != nil):
		d.Function = &apitype.FunctionDelta{Arguments: c.Function.Arguments, Output: c.Function.Output}
	default:
		return d, false
	}
	return d, true
}

// searchesSoFar returns the results of the run's file_search calls so far.
func (x *runner) searchesSoFar() ([][]apitype.FileSearchResult, error) {
	if x.searchesLoaded {
		return x.searches, nil
	}
	err := x.e.store.View(context.WithoutCancel(x.ctx), func(tx *store.Tx) error {
		var err error
		x.searches, err = runSearches(tx, x.run)
		return err
	})
	x.searchesLoaded = err == nil
	return x.searches, err
}

// checkArgs validates a strict function's arguments against its schema and
// says what is wrong ("" when they match, or the function is not strict:
// those pass through as the hosted API passed them).
func (x *runner) checkArgs(name, args string) string {
	for _, t := range x.run.Tools {
		f := t.Function
		if t.Type != apitype.ToolTypeFunction || f == nil || f.Name != name || f.Strict == nil || !*f.Strict || len(f.Parameters) == 0 {
			continue
		}
		if err := x.e.validateJSON(f.Parameters, []byte(args)); err != nil {
			return err.Error()
		}
	}
	return ""
}

// ids are the attributes that tie a log line to the run.
func (x *runner) ids(attrs ...slog.Attr) []slog.Attr {
	ids := []slog.Attr{slog.String("run", x.run.ID), slog.String("thread", x.run.ThreadID), slog.String("assistant", x.run.AssistantID)}
	if x.requestID != "" {
		ids = append(ids, slog.String("request_id", x.requestID))
	}
	return append(ids, attrs...)
}

func (x *runner) event(r *apitype.Run) RunEvent {
	ev := RunEvent{RunID: r.ID, ThreadID: r.ThreadID, AssistantID: r.AssistantID, Model: r.Model, Status: string(r.Status)}
	if r.Usage != nil {
		ev.PromptTokens, ev.CompletionTokens = r.Usage.PromptTokens, r.Usage.CompletionTokens
	}
	if r.LastError != nil {
		ev.LastError = r.LastError.Message
	}
	return ev
}

// started logs and observes the claim.
func (x *runner) started() {
	ev := x.event(x.run)
	ev.Status = ""
	x.e.log.LogAttrs(x.ctx, slog.LevelInfo, "run started", x.ids(slog.String("model", x.run.Model))...)
	x.e.obs.RunStarted(x.ctx, ev)
}

// ended logs and observes where the execution stopped.
func (x *runner) ended(r *apitype.Run, start time.Time) {
	ev := x.event(r)
	ev.Duration = time.Since(start)
	attrs := []slog.Attr{slog.String("status", ev.Status), slog.Duration("duration", ev.Duration),
		slog.Int("prompt_tokens", ev.PromptTokens), slog.Int("completion_tokens", ev.CompletionTokens)}
	level, msg := slog.LevelInfo, "run finished"
	switch r.Status {
	case apitype.RunRequiresAction:
		msg = "run requires action"
		if r.RequiredAction != nil {
			attrs = append(attrs, slog.Int("tool_calls", len(r.RequiredAction.SubmitToolOutputs.ToolCalls)))
		}
	case apitype.RunFailed:
		level = slog.LevelWarn
		if r.LastError != nil {
			attrs = append(attrs, slog.String("last_error_code", string(r.LastError.Code)), slog.String("last_error", r.LastError.Message))
		}
	case apitype.RunIncomplete:
		if r.IncompleteDetails != nil {
			attrs = append(attrs, slog.String("incomplete_reason", string(r.IncompleteDetails.Reason)))
		}
	}
	ctx := context.WithoutCancel(x.ctx)
	x.e.log.LogAttrs(ctx, level, msg, x.ids(attrs...)...)
	x.e.obs.RunEnded(ctx, ev)
}
