package engine

import (
	"fmt"
	"slices"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm"
)

// reply is what one model call answered, once its stream has ended. Its
// text has already gone out as deltas; what happens next is decide's.
type reply struct {
	calls  []llm.ToolCall
	finish string // llm.FinishStop, llm.FinishToolCalls, llm.FinishLength …
}

// turnState is what decide needs to know of the run besides the reply.
type turnState struct {
	toolChoice        *apitype.ToolChoice // the run's
	parallelToolCalls bool
	toolsOff          bool // the request went out with tool_choice none
	nudged            bool // the request carried a corrective message already
	retriedFormat     bool // the answer's format was corrected once already
	// formatProblem says what is wrong with the answer against the run's
	// response_format ("" when nothing is); asked only of a final answer.
	formatProblem func() string
}

// next is what an execution does after a reply.
type next int

const (
	nextComplete   next = iota // store the answer; the run is completed
	nextTools                  // record the calls, run the built-in ones; functions wait for outputs
	nextRetry                  // close the answer and ask the model again with a corrective message
	nextIncomplete             // end the run incomplete (err is the *runIncomplete)
	nextFail                   // end the run failed (err is the *runFailure)
)

type decision struct {
	next  next
	calls []llm.ToolCall // nextTools: the calls to record
	// nextRetry: the corrective system message, and whether it is about
	// the answer's format (the answer is then kept incomplete).
	nudge     string
	badFormat bool
	err       error // nextIncomplete, nextFail
}

// decide is the run's state machine after a model call: a pure function of
// the reply and what the run allows — tool_choice, parallel_tool_calls,
// response_format and the corrections already made.
func decide(st turnState, r reply) decision {
	calls := r.calls
	if st.toolsOff {
		calls = nil
	}
	if len(calls) > 1 && !st.parallelToolCalls {
		calls = calls[:1]
	}
	if miss := toolChoiceMissed(st.toolChoice, calls); miss != "" {
		if !st.nudged {
			return decision{next: nextRetry, nudge: miss}
		}
		return decision{next: nextFail, err: failure(apitype.ErrorCodeServer, "tool_choice was not followed: %s The model did not comply after a corrective retry.", miss)}
	}
	if len(calls) > 0 {
		return decision{next: nextTools, calls: calls}
	}
	// A reply cut for length is incomplete whether max_completion_tokens or
	// the context window cut it: Ollama (shift off) stops with done_reason
	// "length" once the reply fills num_ctx.
	if r.finish == llm.FinishLength {
		return decision{next: nextIncomplete, err: &runIncomplete{apitype.IncompleteMaxCompletionTokens}}
	}
	if st.formatProblem != nil {
		if problem := st.formatProblem(); problem != "" {
			if !st.retriedFormat {
				return decision{next: nextRetry, nudge: problem + " Answer again with only valid JSON.", badFormat: true}
			}
			return decision{next: nextFail, err: failure(apitype.ErrorCodeServer, "%s (after one corrective retry)", problem)}
		}
	}
	return decision{next: nextComplete}
}

// toolChoiceMissed says what the reply failed to do that tool_choice
// required ("" when it complied).
func toolChoiceMissed(tc *apitype.ToolChoice, calls []llm.ToolCall) string {
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
