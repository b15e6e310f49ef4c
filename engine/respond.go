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
	"github.com/hearth-go/hearth/truncate"
)

// A response executes on the run executor's loop (loop.go: prompt, model
// call, decide, act) with responseRun as its runAPI. What differs from a
// run is what is written: a response's output items grow in memory as the
// model streams, each change published as a response.* event, and the
// finished response, its output and its conversation's new items are
// written in one transaction when it ends — so a crash never leaves half a
// turn in a conversation, and a background response the crash interrupted
// is run again from its input.

// respJob is a response queued for the worker pool.
type respJob struct {
	id string
	// A new response: what Create made (the store may not hold it:
	// store:false). Nil when resuming one the last process left.
	resp  *apitype.Response
	input []apitype.Item
	// tokens counts input.
	tokens    []int
	requestID string
	// unstored: a response to be stored (store true) that is not yet; the
	// transaction that ends it creates it (see createResponse).
	unstored bool
}

// responseRun is one execution of a response.
type responseRun struct {
	*runner
	resp   *apitype.Response // the response as it grows
	input  []apitype.Item
	tokens []int
	// create: end creates the stored response (respJob.unstored).
	create bool
	log    *respLog
	// msg is the output index of the message the model is writing, -1 when
	// none is open; calls maps a streamed call's index to its output index.
	msg   int
	calls map[int]int
	// reasoning is the output index of the reasoning item being written
	// (-1: none), thought its text so far.
	reasoning int
	thought   strings.Builder
	// builtin marks the streamed calls (by index) of built-in tools, which
	// are items of their own, not function calls; builtinCalls counts the
	// built-in calls run, against max_tool_calls.
	builtin      map[int]bool
	builtinCalls int
	usage        apitype.ResponseUsage
	tools        []llm.Tool
	// code is the code_interpreter's state (respcode.go), nil until used.
	code *respCode
}

var _ runAPI = (*responseRun)(nil)

// errResponseDeleted stops the execution of a response deleted meanwhile.
var errResponseDeleted = errors.New("response deleted")

func (e *Engine) executeResponse(j *respJob) {
	ctx, cancel := context.WithCancelCause(e.ctx)
	defer cancel(nil)
	e.mu.Lock()
	if _, busy := e.inflight[j.id]; busy || e.closed {
		e.mu.Unlock()
		return
	}
	e.inflight[j.id] = cancel
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.inflight, j.id)
		e.mu.Unlock()
		select {
		case e.settled <- struct{}{}:
		default:
		}
	}()
	x := &responseRun{runner: &runner{e: e, ctx: ctx, cancel: cancel, requestID: j.requestID, execID: j.id,
		streamed: map[int]*streamedCall{}, sandboxFiles: map[string]string{}}, msg: -1, reasoning: -1, calls: map[int]int{}, builtin: map[int]bool{}}
	x.api = x
	x.log = e.responseLog(j.id)
	if err := x.claim(j); err != nil {
		if errors.Is(err, errNoChange) {
			x.log.close(nil) // cancelled while queued: Cancel published its end
			return
		}
		e.log.Warn("claim response", "response", j.id, "err", err)
		x.log.close(err)
		return
	}
	x.model = x.resp.Model
	x.logIDs = []slog.Attr{slog.String("response", x.resp.ID), slog.String("model", x.resp.Model)}
	if x.requestID != "" {
		x.logIDs = append(x.logIDs, slog.String("request_id", x.requestID))
	}
	x.tools = x.withCodeFiles(responseTools(x.resp))
	start := time.Now()
	e.log.LogAttrs(ctx, slog.LevelInfo, "response started", x.ids()...)
	err := e.protect(ctx, "the response's execution (model backend or tool)", x.ids(), x.loop)
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errCancelled), errors.Is(cause, errResponseDeleted):
		err = cause
	case e.ctx.Err() != nil:
		// Closing: a stored background response resumes on the next Open;
		// the others are ended by that Open's recovery.
		x.log.close(ErrClosed)
		return
	}
	x.end(err, start)
}

// claim loads the response and moves it to in_progress.
func (x *responseRun) claim(j *respJob) error {
	e := x.e
	if j.resp != nil {
		r := *j.resp
		x.resp, x.input, x.tokens = &r, j.input, j.tokens
	}
	stored := j.resp == nil || j.resp.Store && !j.unstored
	x.create = j.unstored
	if !stored {
		x.resp.Status = apitype.ResponseInProgress
		x.log.publish(apitype.ResponseStreamEvent{Type: apitype.EventResponseInProgress, Response: x.snapshot()})
		return nil
	}
	if j.resp != nil && j.resp.Status == apitype.ResponseInProgress {
		// A new foreground response was stored in progress, with its input,
		// by the transaction that created it: there is nothing to change,
		// and a commit (an fsync) less per response. It is only checked to
		// be still there (Delete may have come first).
		err := e.store.View(context.WithoutCancel(x.ctx), func(tx store.Tx) error {
			if ok, err := tx.HasResponse(j.id); err != nil {
				return err
			} else if !ok {
				return apitype.NotFound("response", j.id)
			}
			return nil
		})
		if err != nil {
			return err
		}
		x.log.publish(apitype.ResponseStreamEvent{Type: apitype.EventResponseInProgress, Response: x.snapshot()})
		return nil
	}
	var r *apitype.Response
	err := e.store.Update(context.WithoutCancel(x.ctx), func(tx store.Tx) error {
		var err error
		if r, err = tx.GetResponse(j.id); err != nil {
			return err
		}
		if r.Status != apitype.ResponseQueued && r.Status != apitype.ResponseInProgress {
			return errNoChange // cancelled before it started
		}
		if x.input == nil {
			x.input, x.tokens = nil, nil
			if err := tx.ResponseInput(j.id, false, func(it *apitype.Item, n int) (bool, error) {
				x.input, x.tokens = append(x.input, *it), append(x.tokens, n)
				return true, nil
			}); err != nil {
				return err
			}
		}
		r.Status, r.Output, r.Usage, r.Error, r.IncompleteDetails = apitype.ResponseInProgress, []apitype.Item{}, nil, nil, nil
		return tx.PutResponse(r, []int{})
	})
	if err != nil {
		return err
	}
	x.resp = r
	x.log.publish(apitype.ResponseStreamEvent{Type: apitype.EventResponseInProgress, Response: x.snapshot()})
	return nil
}

// snapshot is a copy of the response as it stands, for an event.
func (x *responseRun) snapshot() *apitype.Response {
	r := *x.resp
	r.Output = cloneItems(x.resp.Output)
	return &r
}

func cloneItems(items []apitype.Item) []apitype.Item {
	out := make([]apitype.Item, len(items))
	for i, it := range items {
		out[i] = cloneItem(it)
	}
	return out
}

// cloneItem copies an item deeply enough that the executor's later edits
// (text appended, status changed) do not show in an event already sent.
func cloneItem(it apitype.Item) apitype.Item {
	switch v := it.AsAny().(type) {
	case *apitype.MessageItem:
		m := *v
		m.Content = append([]apitype.ContentPart(nil), v.Content...)
		return apitype.ItemOf(&m)
	case *apitype.FunctionCallItem:
		c := *v
		return apitype.ItemOf(&c)
	case *apitype.CodeInterpreterCallItem:
		c := *v
		if v.Code != nil {
			code := *v.Code
			c.Code = &code
		}
		c.Outputs = slices.Clone(v.Outputs)
		return apitype.ItemOf(&c)
	case *apitype.FileSearchCallItem:
		c := *v // its status and results are set after the added event
		return apitype.ItemOf(&c)
	}
	return it
}

func (x *responseRun) policy() turnState {
	st := turnState{toolChoice: responseToolChoice(x.resp.ToolChoice), parallelToolCalls: x.resp.ParallelToolCalls,
		formatProblem: x.formatProblem}
	if x.choiceMet() {
		st.toolChoice = nil
	}
	return st
}

// choiceMet reports whether a tool_choice that forces a built-in tool (or
// any tool) was followed by a built-in call already run: the model is then
// free to answer with what it found, instead of being made to call again.
func (x *responseRun) choiceMet() bool {
	tc := x.resp.ToolChoice
	return x.builtinCalls > 0 && (tc.Type == string(apitype.ToolTypeFileSearch) || tc.Type == string(apitype.ToolTypeCodeInterpreter) ||
		tc.Mode == apitype.ToolChoiceRequired)
}

// responseToolChoice is a response's tool_choice as decide reads it.
func responseToolChoice(c apitype.ResponseToolChoice) *apitype.ToolChoice {
	switch {
	case c.Type == string(apitype.ToolTypeFunction):
		return &apitype.ToolChoice{Type: apitype.ToolTypeFunction, Function: &apitype.ToolChoiceTarget{Name: c.Name}}
	case c.Type == string(apitype.ToolTypeFileSearch):
		return &apitype.ToolChoice{Type: apitype.ToolTypeFileSearch}
	case c.Type == string(apitype.ToolTypeCodeInterpreter):
		return &apitype.ToolChoice{Type: apitype.ToolTypeCodeInterpreter}
	case c.Type == "allowed_tools" && c.Mode == apitype.ToolChoiceRequired, c.Type == "" && c.Mode == apitype.ToolChoiceRequired:
		return &apitype.ToolChoice{Mode: apitype.ToolChoiceRequired}
	case c.Type == "" && c.Mode == apitype.ToolChoiceNone:
		return &apitype.ToolChoice{Mode: apitype.ToolChoiceNone}
	}
	return nil
}

// responseTools are the function tools the model may call, narrowed to
// tool_choice's allowed_tools when it names some.
func responseTools(r *apitype.Response) []llm.Tool {
	allowed := map[string]bool{}
	if r.ToolChoice.Type == "allowed_tools" {
		for _, t := range r.ToolChoice.Tools {
			allowed[t.Name] = true // a built-in tool's name is ""
		}
	}
	var out []llm.Tool
	for _, t := range r.Tools {
		if t.Type == apitype.ToolTypeFileSearch && (len(allowed) == 0 || allowed[""]) {
			out = append(out, fileSearchTool)
			continue
		}
		if t.Type == apitype.ToolTypeCodeInterpreter && (len(allowed) == 0 || allowed[""]) {
			out = append(out, codeInterpreterTool)
			continue
		}
		if t.Type != apitype.ToolTypeFunction || len(allowed) > 0 && !allowed[t.Name] {
			continue
		}
		lt := llm.Tool{Name: t.Name, Parameters: t.Parameters, Strict: t.Strict == nil || *t.Strict}
		if t.Description != nil {
			lt.Description = *t.Description
		}
		if len(lt.Parameters) == 0 {
			lt.Parameters = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		out = append(out, lt)
	}
	return out
}

// formatProblem says what is wrong with the open message for text.format.
func (x *responseRun) formatProblem() string {
	f := x.resp.Text.Format
	if f == nil || (f.Type != apitype.ResponseFormatJSONObject && f.Type != apitype.ResponseFormatJSONSchema) {
		return ""
	}
	text := strings.TrimSpace(x.runner.text.String())
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return fmt.Sprintf("The reply is not valid JSON as text.format %s requires (%v).", f.Type, err)
	}
	if _, ok := v.(map[string]any); !ok && f.Type == apitype.ResponseFormatJSONObject {
		return "The reply is JSON but not an object, as text.format json_object requires."
	}
	if f.Type == apitype.ResponseFormatJSONSchema && len(f.Schema) > 0 {
		if err := x.e.validateJSON(f.Schema, []byte(text)); err != nil {
			return fmt.Sprintf("The reply does not match the json_schema %q: %v.", f.Name, err)
		}
	}
	return ""
}

func (x *responseRun) prompt() (*llm.Request, error) {
	var req *llm.Request
	err := x.e.store.View(x.ctx, func(tx store.Tx) error {
		var err error
		tools := x.tools
		if m := x.resp.MaxToolCalls; m != nil && x.builtinCalls >= *m {
			// max_tool_calls reached: the built-in tools are withdrawn.
			tools = slices.DeleteFunc(slices.Clone(tools), func(t llm.Tool) bool {
				return t.Name == fileSearchTool.Name || t.Name == codeInterpreterTool.Name
			})
		}
		r := x.resp
		if x.choiceMet() {
			free := *r
			free.ToolChoice = apitype.ResponseToolChoice{}
			r = &free
		}
		req, x.estimate, err = x.e.responsePrompt(x.ctx, tx, r, x.input, x.tokens, x.resp.Output, x.nudges, tools, x.contextWindow())
		return err
	})
	return req, err
}

// thinking streams a thinking model's reasoning as a reasoning item's
// summary when the request asked for one (reasoning.summary); otherwise
// the thoughts stay hidden, as the hosted API keeps them.
func (x *responseRun) thinking(delta string) error {
	if x.resp.Reasoning == nil || x.resp.Reasoning.Summary == nil {
		return nil
	}
	if x.reasoning < 0 {
		x.closeMessage("completed")
		r := &apitype.ReasoningItem{ID: x.e.newID(store.PrefixReasoning), Summary: []apitype.ContentPart{}}
		x.reasoning = len(x.resp.Output)
		x.resp.Output = append(x.resp.Output, apitype.ItemOf(r))
		x.thought.Reset()
		added := x.resp.Output[x.reasoning]
		part := apitype.ContentPart{Type: apitype.PartSummaryText}
		x.log.publish(
			apitype.ResponseStreamEvent{Type: apitype.EventOutputItemAdded, OutputIndex: x.reasoning, Item: &added},
			apitype.ResponseStreamEvent{Type: apitype.EventReasoningSummaryPartAdded, ItemID: r.ID, OutputIndex: x.reasoning, Part: &part})
	}
	x.thought.WriteString(delta)
	x.log.publish(apitype.ResponseStreamEvent{Type: apitype.EventReasoningSummaryTextDelta, ItemID: x.resp.Output[x.reasoning].ID(),
		OutputIndex: x.reasoning, Delta: delta})
	return nil
}

// closeReasoning ends the reasoning item being written, if any.
func (x *responseRun) closeReasoning() {
	if x.reasoning < 0 {
		return
	}
	idx := x.reasoning
	r := *x.resp.Output[idx].Reasoning
	part := apitype.ContentPart{Type: apitype.PartSummaryText, Text: x.thought.String()}
	r.Summary = []apitype.ContentPart{part}
	x.resp.Output[idx] = apitype.ItemOf(&r)
	done := x.resp.Output[idx]
	x.log.publish(
		apitype.ResponseStreamEvent{Type: apitype.EventReasoningSummaryTextDone, ItemID: r.ID, OutputIndex: idx, Text: part.Text},
		apitype.ResponseStreamEvent{Type: apitype.EventReasoningSummaryPartDone, ItemID: r.ID, OutputIndex: idx, Part: &part},
		apitype.ResponseStreamEvent{Type: apitype.EventOutputItemDone, OutputIndex: idx, Item: &done})
	x.reasoning = -1
	x.thought.Reset()
}

// text streams a text delta, opening the output message on the first.
func (x *responseRun) text(delta string) error {
	if x.msg < 0 {
		x.closeReasoning()
		m := &apitype.MessageItem{ID: x.e.newID(store.PrefixMessage), Role: apitype.RoleAssistant, Status: "in_progress", Content: []apitype.ContentPart{}}
		x.msg = len(x.resp.Output)
		x.resp.Output = append(x.resp.Output, apitype.ItemOf(m))
		x.runner.text.Reset()
		added := cloneItem(x.resp.Output[x.msg])
		part := apitype.OutputText("")
		x.log.publish(
			apitype.ResponseStreamEvent{Type: apitype.EventOutputItemAdded, OutputIndex: x.msg, Item: &added},
			apitype.ResponseStreamEvent{Type: apitype.EventContentPartAdded, ItemID: m.ID, OutputIndex: x.msg, Part: &part})
	}
	x.runner.text.WriteString(delta)
	x.log.publish(apitype.ResponseStreamEvent{Type: apitype.EventOutputTextDelta, ItemID: x.resp.Output[x.msg].ID(),
		OutputIndex: x.msg, Delta: delta})
	return nil
}

// closeMessage ends the open message with status ("completed" or
// "incomplete") and publishes its done events.
func (x *responseRun) closeMessage(status string) {
	x.closeReasoning()
	if x.msg < 0 {
		return
	}
	m := *x.resp.Output[x.msg].Message
	part := apitype.OutputText(x.runner.text.String())
	part.Annotations = append(x.outputCitations(part.Text), x.containerCitations(part.Text)...)
	for i := range part.Annotations {
		a := part.Annotations[i]
		x.log.publish(apitype.ResponseStreamEvent{Type: apitype.EventOutputTextAnnotationAdded, ItemID: m.ID, OutputIndex: x.msg,
			AnnotationIndex: i, Annotation: &a})
	}
	m.Content, m.Status = []apitype.ContentPart{part}, status
	x.resp.Output[x.msg] = apitype.ItemOf(&m)
	done := cloneItem(x.resp.Output[x.msg])
	x.log.publish(
		apitype.ResponseStreamEvent{Type: apitype.EventOutputTextDone, ItemID: m.ID, OutputIndex: x.msg, Text: part.Text},
		apitype.ResponseStreamEvent{Type: apitype.EventContentPartDone, ItemID: m.ID, OutputIndex: x.msg, Part: &part},
		apitype.ResponseStreamEvent{Type: apitype.EventOutputItemDone, OutputIndex: x.msg, Item: &done})
	x.msg = -1
	x.runner.text.Reset()
}

// callDelta streams a function call being written.
func (x *responseRun) callDelta(d llm.ToolCallDelta) error {
	if x.codeDelta(d) {
		return nil // a code_interpreter_call item, streamed by respcode.go
	}
	if x.builtin[d.Index] || d.Name == fileSearchTool.Name && fileSearchToolOf(x.resp) != nil {
		x.builtin[d.Index] = true // a file_search_call item is made when the call is whole
		return nil
	}
	idx, ok := x.calls[d.Index]
	if !ok {
		x.closeMessage("completed")
		idx = x.openCall(d.ID, d.Name)
		x.calls[d.Index] = idx
	}
	c := x.resp.Output[idx].FunctionCall
	if c.Name == "" {
		c.Name = d.Name
	}
	if d.ArgumentsDelta != "" {
		c.Arguments += d.ArgumentsDelta
		x.log.publish(apitype.ResponseStreamEvent{Type: apitype.EventFunctionCallArgumentsDelta, ItemID: c.ID, OutputIndex: idx, Delta: d.ArgumentsDelta})
	}
	return nil
}

// openCall adds a function_call item in progress to the output and
// returns its index; callID is the backend's, or a new one.
func (x *responseRun) openCall(callID, name string) int {
	if callID == "" {
		callID = x.e.newID(store.PrefixToolCall)
	}
	c := &apitype.FunctionCallItem{ID: x.e.newID(store.PrefixFunctionCall), CallID: callID, Name: name, Status: "in_progress"}
	idx := len(x.resp.Output)
	x.resp.Output = append(x.resp.Output, apitype.ItemOf(c))
	added := cloneItem(x.resp.Output[idx])
	x.log.publish(apitype.ResponseStreamEvent{Type: apitype.EventOutputItemAdded, OutputIndex: idx, Item: &added})
	return idx
}

func (x *responseRun) addUsage() {
	p := x.pending
	x.usage = x.usage.Add(apitype.ResponseUsage{InputTokens: p.PromptTokens, OutputTokens: p.CompletionTokens,
		TotalTokens: p.PromptTokens + p.CompletionTokens})
	x.pending = llm.Usage{}
}

// retry keeps the answer so far when tool_choice was missed; an answer
// whose format was wrong is closed incomplete on the stream and left out
// of the response, whose output_text must parse. The streamed calls of a
// refused reply are dropped from the output.
func (x *responseRun) retry(badFormat bool) error {
	x.addUsage()
	if badFormat && x.msg >= 0 {
		idx := x.msg
		x.closeMessage("incomplete")
		x.resp.Output = slices.Delete(x.resp.Output, idx, idx+1)
	} else {
		x.closeMessage("completed")
	}
	x.dropOpenCalls()
	return nil
}

// dropOpenCalls removes the calls still in progress from the output.
func (x *responseRun) dropOpenCalls() {
	out := x.resp.Output[:0]
	for _, it := range x.resp.Output {
		if it.FunctionCall != nil && it.FunctionCall.Status == "in_progress" {
			continue
		}
		out = append(out, it)
	}
	x.resp.Output = out
	x.calls = map[int]int{}
	x.dropOpenCode()
}

// toolCalls ends the response with the reply's function calls: the caller
// runs them and answers with function_call_output items in the next
// response (there is no requires_action state in this API).
func (x *responseRun) toolCalls(calls []llm.ToolCall) (bool, error) {
	x.addUsage()
	x.closeMessage("completed")
	// Built-in calls run now, each an item of its own; if the reply made
	// no function call, the model is asked again with their results.
	functions, ran := 0, 0
	for i, call := range calls {
		code := x.isCodeCall(call.Name)
		if !code && (call.Name != fileSearchTool.Name || fileSearchToolOf(x.resp) == nil) {
			functions++
			continue
		}
		calls[i].Name = "" // handled
		if m := x.resp.MaxToolCalls; m != nil && x.builtinCalls >= *m {
			continue // over max_tool_calls: not run (the tool was withdrawn from the prompt)
		}
		run := x.runFileSearch
		if code {
			run = func(call llm.ToolCall) error { return x.runCodeCall(i, call) }
		}
		if err := run(call); err != nil {
			return false, err
		}
		ran++
	}
	x.builtin = map[int]bool{}
	defer x.dropOpenCode() // streamed code calls over max_tool_calls
	if functions == 0 {
		x.calls = map[int]int{}
		return ran == 0, nil // nothing more to ask the model when nothing ran
	}
	kept := map[int]bool{}
	for i, call := range calls {
		if call.Name == "" {
			continue
		}
		idx, ok := x.calls[i]
		if !ok || x.resp.Output[idx].FunctionCall.Name != call.Name {
			idx = x.openCall(call.ID, call.Name)
		}
		kept[idx] = true
		c := x.resp.Output[idx].FunctionCall
		streamed := c.Arguments
		c.Arguments, c.Status = orJSON(string(call.Arguments)), "completed"
		if rest, ok := strings.CutPrefix(c.Arguments, streamed); ok && rest != "" {
			// Backends that send a call whole (Ollama) stream nothing: the
			// deltas still add up to the arguments, as the API's always do.
			x.log.publish(apitype.ResponseStreamEvent{Type: apitype.EventFunctionCallArgumentsDelta, ItemID: c.ID, OutputIndex: idx, Delta: rest})
		}
		done := cloneItem(x.resp.Output[idx])
		x.log.publish(
			apitype.ResponseStreamEvent{Type: apitype.EventFunctionCallArgumentsDone, ItemID: c.ID, OutputIndex: idx, Arguments: c.Arguments},
			apitype.ResponseStreamEvent{Type: apitype.EventOutputItemDone, OutputIndex: idx, Item: &done})
	}
	// Streamed calls the decision did not keep (parallel_tool_calls false).
	out := x.resp.Output[:0]
	for i, it := range x.resp.Output {
		if it.FunctionCall == nil || kept[i] {
			out = append(out, it)
		}
	}
	x.resp.Output, x.calls = out, map[int]int{}
	return true, nil
}

func (x *responseRun) complete() error {
	x.addUsage()
	answered := slices.ContainsFunc(x.resp.Output, func(it apitype.Item) bool { return it.Message != nil || it.FunctionCall != nil })
	if x.msg < 0 && !answered {
		// An empty reply is still one (empty) message.
		if err := x.text(""); err != nil {
			return err
		}
	}
	x.closeMessage("completed")
	return nil
}

// end writes the response's final state, and the conversation's new
// items, in one transaction, then publishes its last event.
func (x *responseRun) end(err error, start time.Time) {
	e := x.e
	r := x.resp
	now := e.now()
	var fail *runFailure
	var inc *runIncomplete
	switch {
	case err == nil:
		r.Status, r.CompletedAt = apitype.ResponseCompleted, &now
	case errors.Is(err, errCancelled):
		r.Status = apitype.ResponseCancelled
	case errors.Is(err, errResponseDeleted):
		x.log.close(apitype.NotFound("response", r.ID))
		return
	case errors.As(err, &inc):
		r.Status, r.IncompleteDetails = apitype.ResponseIncomplete, &apitype.ResponseIncompleteDetails{Reason: responseIncompleteReason(inc.reason)}
	case errors.As(err, &fail):
		r.Status, r.Error = apitype.ResponseFailed, &apitype.ResponseError{Code: fail.code, Message: fail.msg}
	default:
		r.Status, r.Error = apitype.ResponseFailed, &apitype.ResponseError{Code: apitype.ErrorCodeServer, Message: err.Error()}
	}
	if r.Status != apitype.ResponseCompleted {
		x.closeMessage("incomplete")
		for i := range r.Output {
			if c := r.Output[i].FunctionCall; c != nil && c.Status == "in_progress" {
				c.Status = "incomplete"
			}
		}
		endCode(r)
	}
	u := x.usage
	r.Usage = &u
	tokens := make([]int, len(r.Output))
	for i, it := range r.Output {
		tokens[i] = itemTokens(it)
	}
	appendTurn := r.Conversation != nil && (r.Status == apitype.ResponseCompleted || r.Status == apitype.ResponseIncomplete)
	werr := e.store.Update(context.WithoutCancel(x.ctx), func(tx store.Tx) error {
		switch {
		case x.create:
			if err := tx.CreateResponseOutput(r, x.input, x.tokens, tokens); err != nil {
				return err
			}
		case r.Store:
			cur, err := tx.GetResponse(r.ID)
			if err != nil {
				return err // deleted meanwhile
			}
			if cur.Status.Terminal() {
				*r = *cur // cancelled while the reply was being written
				return errNoChange
			}
			if err := tx.PutResponse(r, tokens); err != nil {
				return err
			}
		}
		if appendTurn {
			return e.appendTurn(tx, r.Conversation.ID, x.input, x.tokens, r.Output, tokens)
		}
		return nil
	})
	if werr != nil && !errors.Is(werr, errNoChange) {
		e.log.LogAttrs(context.WithoutCancel(x.ctx), slog.LevelError, "response could not be recorded as finished", x.ids(slog.Any("err", werr))...)
		x.log.close(serverError(werr, "response %s could not be recorded as finished", r.ID))
		return
	}
	level, attrs := slog.LevelInfo, []slog.Attr{slog.String("status", string(r.Status)), slog.Duration("duration", time.Since(start)),
		slog.Int("input_tokens", u.InputTokens), slog.Int("output_tokens", u.OutputTokens)}
	if r.Error != nil {
		level, attrs = slog.LevelWarn, append(attrs, slog.String("error_code", r.Error.Code), slog.String("error", r.Error.Message))
	}
	e.log.LogAttrs(context.WithoutCancel(x.ctx), level, "response finished", x.ids(attrs...)...)
	x.log.publish(apitype.ResponseStreamEvent{Type: apitype.ResponseEventFor(r.Status), Response: x.snapshot()})
	x.log.close(nil)
}

// responseIncompleteReason maps the run's incomplete reasons to the
// Responses API's: both budgets are the output's here.
func responseIncompleteReason(reason string) string {
	if reason == apitype.IncompleteContentFilter {
		return reason
	}
	return apitype.IncompleteMaxOutputTokens
}

// appendTurn adds a turn's input and output to a conversation; items the
// conversation holds already (sent again by id) are not added twice. A
// conversation deleted while the response ran gets nothing, and the
// response is still recorded.
func (e *Engine) appendTurn(tx store.Tx, convID string, input []apitype.Item, inTokens []int, output []apitype.Item, outTokens []int) error {
	if _, err := tx.GetConversation(convID); errors.Is(err, apitype.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	var items []apitype.Item
	var tokens []int
	add := func(its []apitype.Item, ns []int) {
		for i, it := range its {
			if it.Reference != nil {
				continue
			}
			if _, err := tx.GetConversationItem(convID, it.ID()); err == nil {
				continue
			}
			items, tokens = append(items, it), append(tokens, ns[i])
		}
	}
	add(input, inTokens)
	add(output, outTokens)
	if len(items) == 0 {
		return nil
	}
	return tx.AppendConversationItems(convID, items, tokens)
}

// responsePrompt builds the model request for a response: instructions,
// then its history (the conversation's items, or the previous responses'
// inputs and outputs) and its input, fitted to the window newest first by
// truncate.Fit when truncation is auto, refused when it is disabled and
// they do not fit; then own, the output so far, and the nudges.
func (e *Engine) responsePrompt(ctx context.Context, tx store.Tx, r *apitype.Response, input []apitype.Item, inTokens []int,
	own []apitype.Item, nudges []string, tools []llm.Tool, window int) (*llm.Request, int, error) {
	enc, err := truncate.Default()
	if err != nil {
		return nil, 0, failure(apitype.ErrorCodeServer, "token counting is unavailable: %v", err)
	}
	system := ""
	if r.Instructions != nil {
		system = *r.Instructions
	}
	fixed := fixedTokens(enc, system, tools, nudges)
	maxOut := 0
	if r.MaxOutputTokens != nil {
		maxOut = *r.MaxOutputTokens
	}
	reserve := maxOut
	if reserve == 0 {
		reserve = min(1024, window/4)
	}
	scale := e.calib.Ratio(r.Model) * 1.1
	b := truncate.Budget{ContextWindow: int(float64(window) / scale), ReservedOutput: int(float64(reserve) / scale), Fixed: fixed}
	stopped := false // Fit left candidates unread
	candidates := func(fitYield func(truncate.Item, error) bool) {
		yield := func(it truncate.Item, err error) bool {
			ok := fitYield(it, err)
			stopped = stopped || !ok
			return ok
		}
		searches := 0
		for _, it := range own {
			if it.FileSearchCall != nil {
				searches++
			}
		}
		for i := len(own) - 1; i >= 0; i-- {
			ordinal := -1
			if own[i].FileSearchCall != nil {
				searches--
				ordinal = searches
			}
			if !yield(promptItem(&own[i], 0, false, ordinal), nil) {
				return
			}
		}
		candidate := func(it *apitype.Item, n int, history bool) (truncate.Item, error) {
			t := promptItem(it, n, history, -1)
			if hasInputFiles(it) {
				return e.withInputFiles(tx, t, it.Message)
			}
			return t, nil
		}
		for i := len(input) - 1; i >= 0; i-- {
			if input[i].Reference != nil {
				continue
			}
			t, err := candidate(&input[i], inTokens[i], false)
			if !yield(t, err) || err != nil {
				return
			}
		}
		// The history is lent (the store's scratch, its texts the stored
		// bytes): a text message — nearly all of it — is kept as its text,
		// copied, and a bare message of its role standing for it, which is
		// all itemMessages reads of one; anything else is the caller's.
		roles := map[apitype.Role]*apitype.Item{}
		history := func(it *apitype.Item, n int) (bool, error) {
			if m := it.Message; m != nil && textOnly(m) {
				t := promptItem(it, n, true, -1)
				t.ID, t.Text = "", strings.Clone(t.Text)
				bare := roles[m.Role]
				if bare == nil {
					b := apitype.ItemOf(&apitype.MessageItem{Type: apitype.ItemMessage, Role: m.Role, Status: apitype.ItemCompleted})
					bare = &b
					roles[m.Role] = bare
				}
				t.Ref = bare
				return yield(t, nil), nil
			}
			t, err := candidate(it, n, true)
			if err != nil {
				return false, err
			}
			return yield(t, nil), nil
		}
		var err error
		switch {
		case r.Conversation != nil:
			err = tx.LendConversationItems(r.Conversation.ID, true, history)
		case r.PreviousResponseID != nil:
			err = tx.LendResponseHistory(*r.PreviousResponseID, history)
		}
		if err != nil {
			yield(truncate.Item{}, err)
		}
	}
	var f truncate.Fitter
	res, err := f.Fit(ctx, candidates, b, truncate.Strategy{Type: truncate.Auto})
	if errors.Is(err, truncate.ErrDoesNotFit) {
		return nil, 0, contextTooLong(err)
	}
	if err != nil {
		return nil, 0, err
	}
	if r.Truncation != apitype.TruncationAuto && !res.Complete && (stopped || res.Dropped > 0 || shortenedInput(res.Kept, own)) {
		return nil, 0, contextTooLong(fmt.Errorf("the input and its history come to more than the %d tokens the context window leaves", b.Available()))
	}
	msgs, err := e.itemMessages(res.Kept)
	if err != nil {
		return nil, 0, err
	}
	req := &llm.Request{Model: r.Model, ParallelToolCalls: r.ParallelToolCalls, Temperature: r.Temperature, TopP: r.TopP,
		ContextWindow: window, MaxOutputTokens: maxOut, Tools: tools}
	if system != "" {
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleSystem, Content: system})
	}
	req.Messages = append(req.Messages, msgs...)
	for _, n := range nudges {
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleSystem, Content: n})
	}
	switch tc := r.ToolChoice; {
	case tc.Type == string(apitype.ToolTypeFunction):
		req.ToolChoice = llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: tc.Name}
	case tc.Type == string(apitype.ToolTypeFileSearch):
		req.ToolChoice = llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: fileSearchTool.Name}
	case tc.Type == string(apitype.ToolTypeCodeInterpreter):
		req.ToolChoice = llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: codeInterpreterTool.Name}
	case tc.Mode == apitype.ToolChoiceNone:
		req.ToolChoice, req.Tools = llm.ToolChoice{Mode: llm.ToolChoiceNone}, nil
	case tc.Mode == apitype.ToolChoiceRequired:
		req.ToolChoice = llm.ToolChoice{Mode: llm.ToolChoiceRequired}
	}
	if len(req.Tools) == 0 {
		req.ToolChoice = llm.ToolChoice{}
	}
	if f := r.Text.Format; f != nil {
		switch f.Type {
		case apitype.ResponseFormatJSONObject:
			req.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONObject}
		case apitype.ResponseFormatJSONSchema:
			req.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: f.Name, Schema: f.Schema}
		}
	}
	return req, res.Tokens + fixed, nil
}

// shortenedInput reports whether Fit shortened anything but the
// response's own file_search results: truncation "disabled" refuses an
// input and history that do not fit whole, but a search's results are
// fitted to the window whatever it says, as a run's are (the stored item
// keeps them whole).
func shortenedInput(kept []truncate.Item, own []apitype.Item) bool {
	ownSearch := func(ref any) bool {
		for i := range own {
			if ref == any(&own[i]) {
				return own[i].FileSearchCall != nil
			}
		}
		return false
	}
	for _, k := range kept {
		if k.Shortened && !ownSearch(k.Ref) {
			return true
		}
	}
	return false
}

// contextTooLong is the API's context_length_exceeded failure.
func contextTooLong(err error) error {
	return failure(codeContextLengthExceeded, "Your input exceeds the context window of this model: %v. Please adjust your input and try again, or use truncation 'auto'.", err)
}

const codeContextLengthExceeded = "context_length_exceeded"
