package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/store"
)

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
	err := x.write(func(tx store.Tx, _ *apitype.Run) ([]apitype.Event, error) {
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
	err := x.write(func(tx store.Tx, r *apitype.Run) ([]apitype.Event, error) {
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
	err := x.e.store.View(context.WithoutCancel(x.ctx), func(tx store.Tx) error {
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
