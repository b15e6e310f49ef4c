package engine

import (
	"errors"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm"
)

// decide is the run's state machine after a reply, tested as a pure
// function: no engine, no store, no model.
func TestDecide(t *testing.T) {
	weather := llm.ToolCall{Name: "get_weather"}
	search := llm.ToolCall{Name: "file_search"}
	fn := func(name string) *apitype.ToolChoice {
		return &apitype.ToolChoice{Type: apitype.ToolTypeFunction, Function: &apitype.ToolChoiceTarget{Name: name}}
	}
	badJSON := func() string { return "The answer is not valid JSON." }
	for _, c := range []struct {
		name    string
		st      turnState
		r       reply
		next    next
		calls   int    // nextTools
		nudge   string // nextRetry: a part of it
		failure string // nextFail: a part of last_error
	}{
		{name: "text completes", r: reply{finish: llm.FinishStop}, next: nextComplete},
		{name: "calls are recorded", st: turnState{parallelToolCalls: true}, r: reply{calls: []llm.ToolCall{weather, search}}, next: nextTools, calls: 2},
		{name: "parallel_tool_calls false keeps the first", r: reply{calls: []llm.ToolCall{weather, search}}, next: nextTools, calls: 1},
		{name: "tool_choice none drops calls", st: turnState{toolsOff: true}, r: reply{calls: []llm.ToolCall{weather}}, next: nextComplete},
		{name: "cut for length", r: reply{finish: llm.FinishLength}, next: nextIncomplete},
		{name: "calls win over length", r: reply{calls: []llm.ToolCall{weather}, finish: llm.FinishLength}, next: nextTools, calls: 1},
		{name: "required, no call: nudge", st: turnState{toolChoice: &apitype.ToolChoice{Mode: apitype.ToolChoiceRequired}}, next: nextRetry, nudge: "call one of the tools"},
		{name: "required, no call after a nudge: fail", st: turnState{toolChoice: &apitype.ToolChoice{Mode: apitype.ToolChoiceRequired}, nudged: true}, next: nextFail, failure: "tool_choice was not followed"},
		{name: "named function called", st: turnState{toolChoice: fn("get_weather")}, r: reply{calls: []llm.ToolCall{weather}}, next: nextTools, calls: 1},
		{name: "named function missed", st: turnState{toolChoice: fn("get_weather")}, r: reply{calls: []llm.ToolCall{search}}, next: nextRetry, nudge: "function get_weather"},
		{name: "built-in tool missed", st: turnState{toolChoice: &apitype.ToolChoice{Type: apitype.ToolTypeFileSearch}}, r: reply{calls: []llm.ToolCall{weather}}, next: nextRetry, nudge: "the file_search tool"},
		{name: "bad format: one retry", st: turnState{formatProblem: badJSON}, next: nextRetry, nudge: "only valid JSON"},
		{name: "bad format again: fail", st: turnState{formatProblem: badJSON, retriedFormat: true}, next: nextFail, failure: "after one corrective retry"},
		{name: "format not asked of calls", st: turnState{formatProblem: func() string { panic("asked") }}, r: reply{calls: []llm.ToolCall{weather}}, next: nextTools, calls: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := decide(c.st, c.r)
			if d.next != c.next {
				t.Fatalf("next = %d, want %d (%+v)", d.next, c.next, d)
			}
			switch d.next {
			case nextTools:
				if len(d.calls) != c.calls {
					t.Fatalf("%d calls, want %d", len(d.calls), c.calls)
				}
			case nextRetry:
				if !strings.Contains(d.nudge, c.nudge) || d.badFormat != (c.st.formatProblem != nil) {
					t.Fatalf("nudge %q (badFormat %v), want one saying %q", d.nudge, d.badFormat, c.nudge)
				}
			case nextFail:
				var f *runFailure
				if !errors.As(d.err, &f) || !strings.Contains(f.msg, c.failure) {
					t.Fatalf("err %v, want a failure saying %q", d.err, c.failure)
				}
			case nextIncomplete:
				var inc *runIncomplete
				if !errors.As(d.err, &inc) || inc.reason != apitype.IncompleteMaxCompletionTokens {
					t.Fatalf("err %v", d.err)
				}
			}
		})
	}
}
