package engine

import (
	"log/slog"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm"
)

// maxModelCalls bounds the model calls of one run execution, so a model
// that keeps calling tools cannot loop forever.
const maxModelCalls = 32

// runAPI is the API-specific half of a run execution: what is written and
// published as the model answers. For the Assistants API (assistantsRun)
// that is a message and its message_creation step as text streams, a
// tool_calls step for calls, and the run's requires_action or completed
// status; a Responses execution would write response output items and
// publish response.* events behind the same loop.
type runAPI interface {
	// policy is what the execution allows the model: tool_choice,
	// parallel_tool_calls, and the check of the final answer's format.
	policy() turnState
	// prompt builds the next model request from what is stored.
	prompt() (*llm.Request, error)
	// text streams a text delta of the reply.
	text(delta string) error
	// callDelta streams a piece of a tool call being written.
	callDelta(d llm.ToolCallDelta) error
	// retry closes the answer so far before the model is asked again with
	// a corrective message (badFormat: about the answer's format).
	retry(badFormat bool) error
	// toolCalls records the reply's calls and runs the built-in ones; it
	// reports whether the run now waits for the caller's tool outputs.
	toolCalls(calls []llm.ToolCall) (waiting bool, err error)
	// complete stores the final answer and ends the run completed.
	complete() error
}

// loop asks the model, and decides and records what each reply means,
// until the run is completed, waits for tool outputs, or fails.
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
		req, err := x.api.prompt()
		if err != nil {
			return err
		}
		r, err := x.turn(req)
		if err != nil {
			return err
		}
		st := x.api.policy()
		st.toolsOff, st.nudged, st.retriedFormat = req.ToolChoice.Mode == llm.ToolChoiceNone, len(x.nudges) > 0, x.retriedFormat
		d := decide(st, r)
		done, err := x.act(d)
		if err != nil || done {
			return err
		}
	}
}

// act carries out a decision through the API's writes. It reports whether
// the execution is over (completed or waiting for tool outputs).
func (x *runner) act(d decision) (bool, error) {
	if d.next == nextRetry {
		x.nudges = []string{d.nudge}
		if d.badFormat {
			x.retriedFormat = true
		}
		return false, x.api.retry(d.badFormat)
	}
	x.nudges = nil
	switch d.next {
	case nextTools:
		return x.api.toolCalls(d.calls)
	case nextComplete:
		return true, x.api.complete()
	}
	return false, d.err
}

// turn makes one model call, streaming its text and calls out through the
// API as they come, and returns the reply.
func (x *runner) turn(req *llm.Request) (reply, error) {
	x.pending = llm.Usage{}
	var calls []llm.ToolCall
	finish := ""
	call := ModelCallEvent{RunID: x.execID, Model: req.Model}
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
				return reply{}, t
			}
			if x.ctx.Err() != nil {
				return reply{}, x.ctx.Err()
			}
			x.e.log.LogAttrs(x.ctx, slog.LevelWarn, "model call failed", x.ids(slog.String("model", req.Model), slog.Any("err", err))...)
			return reply{}, lastErrorFor(err)
		}
		watch.chunk()
		if call.FirstToken == 0 && (chunk.Text != "" || len(chunk.ToolCallDeltas) > 0 || len(chunk.ToolCalls) > 0) {
			call.FirstToken = time.Since(start)
		}
		if chunk.Text != "" {
			if err := x.api.text(chunk.Text); err != nil {
				return reply{}, err
			}
		}
		for _, d := range chunk.ToolCallDeltas {
			if err := x.api.callDelta(d); err != nil {
				return reply{}, err
			}
		}
		calls = append(calls, chunk.ToolCalls...)
		if chunk.Usage != nil {
			x.pending = *chunk.Usage
			x.e.calib.Observe(x.model, x.estimate, chunk.Usage.PromptTokens)
		}
		if chunk.FinishReason != "" {
			finish = chunk.FinishReason
		}
	}
	if err := x.ctx.Err(); err != nil {
		return reply{}, err
	}
	if t := watch.timedOut(); t != nil {
		call.Err = t // the backend ended its stream quietly when cancelled
		x.e.log.LogAttrs(x.ctx, slog.LevelWarn, "model call timed out", x.ids(slog.String("model", req.Model), slog.Any("err", t))...)
		return reply{}, t
	}
	return reply{calls: calls, finish: finish}, nil
}
