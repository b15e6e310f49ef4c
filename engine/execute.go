package engine

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm"
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
	// api writes and publishes what the model answers (assistantsRun,
	// responseRun).
	api runAPI
	// execID and model name the execution (the run's or response's id) in
	// model call events and calibrate token counts per model.
	execID, model string
	// logIDs tie a Responses execution's log lines to it (x.run is nil).
	logIDs []slog.Attr

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
	x.api = assistantsRun{x}
	wctx := context.WithoutCancel(ctx)
	start := time.Now()
	err := x.claim(q)
	if err == nil {
		x.execID, x.model = x.run.ID, x.run.Model
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
		e.bus.Publish(runID, apitype.Event{Event: apitype.EventError,
			Error: apitype.ServerError("run %s could not be recorded as finished: %v", runID, ferr)})
	}
}

// ids are the attributes that tie a log line to the run.
func (x *runner) ids(attrs ...slog.Attr) []slog.Attr {
	if x.run == nil {
		return append(slices.Clip(x.logIDs), attrs...)
	}
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
