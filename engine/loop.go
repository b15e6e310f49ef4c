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
