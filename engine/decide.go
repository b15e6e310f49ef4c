package engine

import (
	"fmt"
	"slices"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm"
)

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
