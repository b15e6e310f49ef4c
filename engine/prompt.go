package engine

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/truncate"
)

// contextWindow is the model's context in tokens: Config.ContextWindow, or
// less when the backend reports a smaller trained context.
func (x *runner) contextWindow() int {
	w := x.e.cfg.ContextWindow
	if cw, ok := x.e.cfg.Model.(llm.ContextWindower); ok {
		if v, ok := x.e.windows.Load(x.model); ok {
			return min(w, v.(int))
		}
		if n, err := cw.ContextWindow(x.ctx, x.model); err == nil && n > 0 {
			x.e.windows.Store(x.model, n)
			w = min(w, n)
		}
	}
	return w
}

// prompt builds the request for the next model call from the store: the
// instructions, then the thread's messages and this run's own steps, fitted
// to the budget by truncate.Fit (newest kept first, the current turn whole —
// earlier runs' outputs are history, not the turn — old tool outputs and
// long old messages shortened before the oldest are dropped). Rebuilding
// from committed state is what lets a resumed or continued run see exactly
// what was recorded. The arithmetic is promptBudget's and the request's
// shape promptRequest's, both pure; this reads and fits.
func (x *runner) prompt() (*llm.Request, error) {
	r := x.run
	enc, err := truncate.Default()
	if err != nil {
		return nil, failure(apitype.ErrorCodeServer, "token counting is unavailable: %v", err)
	}
	window := x.contextWindow()
	tools := x.tools()
	system := r.Instructions
	if note := x.codeFilesNote(); note != "" {
		system = strings.TrimSpace(system + "\n\n" + note)
	}
	fixed := fixedTokens(enc, system, tools, x.nudges)
	// The budget is in tiktoken units; the calibration says how the local
	// model's own count compares, with a margin.
	b, maxOut, err := promptBudget(r, window, fixed, x.e.calib.Ratio(r.Model)*1.1)
	if err != nil {
		return nil, err
	}
	strategy := truncate.Strategy{Type: truncate.Auto}
	if ts := r.TruncationStrategy; ts != nil && ts.Type == apitype.TruncationLastMessages && ts.LastMessages != nil {
		strategy = truncate.Strategy{Type: truncate.LastMessages, LastMessages: *ts.LastMessages}
	}
	var res truncate.Result
	var msgs []llm.Message
	total := 0
	err = x.e.store.View(x.ctx, func(tx store.Tx) error {
		own, err := x.runItems(tx)
		if err != nil {
			return err
		}
		if total, err = tx.CountMessages(r.ThreadID); err != nil {
			return err
		}
		var f truncate.Fitter // init mutates it: one per call
		res, err = f.Fit(x.ctx, x.candidates(tx, own), b, strategy)
		if err != nil {
			return err
		}
		msgs, err = x.promptMessages(res.Kept, own)
		return err
	})
	if errors.Is(err, truncate.ErrDoesNotFit) {
		if b.MaxPromptTokens > 0 && b.MaxPromptTokens-b.Fixed < b.ContextWindow-b.ReservedOutput-b.Fixed {
			return nil, &runIncomplete{apitype.IncompleteMaxPromptTokens}
		}
		return nil, failure(apitype.ErrorCodeInvalidPrompt, "%v; shorten the newest message, or raise engine.Config.ContextWindow (up to the model's trained context)", err)
	}
	if err != nil {
		return nil, err
	}
	x.estimate = res.Tokens + fixed
	left := total - x.ownMessages - (len(res.Kept) - x.ownKept(res.Kept))
	x.truncation = apitype.Metadata{}
	if left > 0 || res.Shortened > 0 {
		x.truncation = apitype.Metadata{
			"hearth.prompt_messages_dropped":   strconv.Itoa(max(left, 0)),
			"hearth.prompt_messages_shortened": strconv.Itoa(res.Shortened),
		}
		x.e.log.LogAttrs(x.ctx, slog.LevelInfo, "prompt truncated to fit the context", x.ids(slog.Int("dropped", max(left, 0)),
			slog.Int("shortened", res.Shortened), slog.Int("kept", len(res.Kept)), slog.Int("estimated_tokens", x.estimate), slog.Int("window", window))...)
	}
	return promptRequest(r, system, msgs, x.nudges, tools, window, maxOut), nil
}

// fixedTokens is what every prompt of the run spends before its messages:
// the system message, the tool definitions and the corrective messages.
func fixedTokens(enc *truncate.Encoding, system string, tools []llm.Tool, nudges []string) int {
	fixed := enc.CountMessage(system, 0)
	for _, t := range tools {
		fixed += enc.Count(t.Name) + enc.Count(t.Description) + enc.Count(string(t.Parameters)) + 8
	}
	for _, n := range nudges {
		fixed += enc.CountMessage(n, 0)
	}
	return fixed
}

// promptBudget is the budget the run's messages are fitted into, and the
// completion tokens the call may use (0: the backend's default), from the
// run's limits and usage so far, the context window, the fixed part of the
// prompt and scale (how much larger the model counts than tiktoken). It
// ends the run incomplete when a limit is already spent.
func promptBudget(r *apitype.Run, window, fixed int, scale float64) (truncate.Budget, int, error) {
	used := apitype.Usage{}
	if r.Usage != nil {
		used = *r.Usage
	}
	maxOut := 0
	if r.MaxCompletionTokens != nil {
		maxOut = *r.MaxCompletionTokens - used.CompletionTokens
		if maxOut <= 0 {
			return truncate.Budget{}, 0, &runIncomplete{apitype.IncompleteMaxCompletionTokens}
		}
	}
	reserve := maxOut
	if reserve == 0 {
		reserve = min(1024, window/4)
	}
	b := truncate.Budget{ContextWindow: int(float64(window) / scale), ReservedOutput: int(float64(reserve) / scale), Fixed: fixed}
	if r.MaxPromptTokens != nil {
		left := *r.MaxPromptTokens - used.PromptTokens
		if left <= fixed {
			return truncate.Budget{}, 0, &runIncomplete{apitype.IncompleteMaxPromptTokens}
		}
		b.MaxPromptTokens = left
	}
	return b, maxOut, nil
}

// promptRequest is the model request for the run: system, the fitted
// messages, the corrective messages last; tools, tool_choice and
// response_format mapped from the run's.
func promptRequest(r *apitype.Run, system string, msgs []llm.Message, nudges []string, tools []llm.Tool, window, maxOut int) *llm.Request {
	req := &llm.Request{Model: r.Model, ParallelToolCalls: r.ParallelToolCalls, Temperature: r.Temperature, TopP: r.TopP,
		ContextWindow: window, MaxOutputTokens: maxOut}
	if system != "" {
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleSystem, Content: system})
	}
	req.Messages = append(req.Messages, msgs...)
	for _, n := range nudges {
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleSystem, Content: n})
	}
	req.Tools = tools
	if tc := r.ToolChoice; tc != nil {
		switch {
		case tc.Type == apitype.ToolTypeFunction && tc.Function != nil:
			req.ToolChoice = llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: tc.Function.Name}
		case tc.Type != "":
			req.ToolChoice = llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: string(tc.Type)}
		case tc.Mode == apitype.ToolChoiceNone:
			req.ToolChoice = llm.ToolChoice{Mode: llm.ToolChoiceNone}
			req.Tools = nil
		case tc.Mode == apitype.ToolChoiceRequired:
			req.ToolChoice = llm.ToolChoice{Mode: llm.ToolChoiceRequired}
		}
	}
	if f := r.ResponseFormat; f != nil {
		switch f.Type {
		case apitype.ResponseFormatJSONObject:
			req.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONObject}
		case apitype.ResponseFormatJSONSchema:
			req.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: f.JSONSchema.Name, Schema: f.JSONSchema.Schema}
		}
	}
	return req
}

func (x *runner) tools() []llm.Tool {
	var out []llm.Tool
	for _, t := range x.run.Tools {
		switch t.Type {
		case apitype.ToolTypeCodeInterpreter:
			out = append(out, codeInterpreterTool)
		case apitype.ToolTypeFileSearch:
			out = append(out, fileSearchTool)
		case apitype.ToolTypeFunction:
			if t.Function != nil {
				params := t.Function.Parameters
				if len(params) == 0 {
					params = json.RawMessage(`{"type":"object","properties":{}}`)
				}
				out = append(out, llm.Tool{Name: t.Function.Name, Description: t.Function.Description, Parameters: params,
					Strict: t.Function.Strict != nil && *t.Function.Strict})
			}
		}
	}
	return out
}

// ownedRole is r as a string that outlives a lent message.
func ownedRole(r apitype.Role) string {
	switch r {
	case apitype.RoleUser:
		return string(apitype.RoleUser)
	case apitype.RoleAssistant:
		return string(apitype.RoleAssistant)
	}
	return strings.Clone(string(r))
}

// messageText renders a stored message for the model. (The common case
// returns the text part itself: the message's memory, lent or not.)
func messageText(m *apitype.Message) string {
	if len(m.Content) == 1 && m.Content[0].Text != nil && len(m.Attachments) == 0 {
		return m.Content[0].Text.Value // the common case, without a copy
	}
	var b strings.Builder
	for _, c := range m.Content {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		switch {
		case c.Text != nil:
			b.WriteString(c.Text.Value)
		case c.ImageFile != nil:
			fmt.Fprintf(&b, "[image %s]", c.ImageFile.FileID)
		case c.ImageURL != nil:
			b.WriteString("[image]")
		}
	}
	for _, a := range m.Attachments {
		fmt.Fprintf(&b, "\n[attached file %s]", a.FileID)
	}
	return b.String()
}

// toolMessages renders a tool_calls step: the assistant's calls, then one
// tool message per answered call.
func toolMessages(s apitype.RunStep) []llm.Message {
	call := llm.Message{Role: llm.RoleAssistant}
	var results []llm.Message
	for _, c := range s.StepDetails.ToolCalls {
		var name, args, output string
		answered := true
		switch {
		case c.CodeInterpreter != nil:
			name = string(apitype.ToolTypeCodeInterpreter)
			b, _ := json.Marshal(map[string]string{"code": c.CodeInterpreter.Input})
			args = string(b)
			var logs []string
			for _, o := range c.CodeInterpreter.Outputs {
				switch o.Type {
				case "logs":
					logs = append(logs, o.Logs)
				case "image":
					logs = append(logs, "[image "+o.Image.FileID+" was produced]")
				}
			}
			output = strings.Join(logs, "\n")
			answered = s.Status != apitype.StepInProgress
		case c.FileSearch != nil:
			name, args = string(apitype.ToolTypeFileSearch), `{}`
			output = formatResults(c.FileSearch.Results)
		case c.Function != nil:
			name, args = c.Function.Name, c.Function.Arguments
			answered = c.Function.Output != nil
			if answered {
				output = *c.Function.Output
			}
		}
		if !json.Valid([]byte(args)) {
			b, _ := json.Marshal(args)
			args = `{"input":` + string(b) + `}`
		}
		call.ToolCalls = append(call.ToolCalls, llm.ToolCall{ID: c.ID, Name: name, Arguments: json.RawMessage(args)})
		if s.Status == apitype.StepFailed && !answered {
			output, answered = "error: the tool did not finish: "+lastErrorText(s.LastError), true
		}
		if answered {
			results = append(results, llm.Message{Role: llm.RoleTool, Content: output, ToolCallID: c.ID, ToolName: name})
		}
	}
	return append([]llm.Message{call}, results...)
}

func lastErrorText(e *apitype.LastError) string {
	if e == nil {
		return "unknown error"
	}
	return e.Message
}

// formatResults renders file search results for the model, each behind the
// source marker the answer can cite.
func formatResults(results []apitype.FileSearchResult) string {
	if len(results) == 0 {
		return "No results."
	}
	var b strings.Builder
	for i, r := range results {
		fmt.Fprintf(&b, "【%d†%s】\n", i, r.FileName)
		for _, c := range r.Content {
			b.WriteString(c.Text)
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// checkFormat says what is wrong with the open message for the run's
// response_format ("" when it is fine).
func (x *runner) checkFormat() string {
	f := x.run.ResponseFormat
	if f == nil || (f.Type != apitype.ResponseFormatJSONObject && f.Type != apitype.ResponseFormatJSONSchema) {
		return ""
	}
	text := strings.TrimSpace(x.text.String())
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return fmt.Sprintf("The reply is not valid JSON as response_format %s requires (%v).", f.Type, err)
	}
	if _, ok := v.(map[string]any); !ok && f.Type == apitype.ResponseFormatJSONObject {
		return "The reply is JSON but not an object, as response_format json_object requires."
	}
	if f.Type == apitype.ResponseFormatJSONSchema && f.JSONSchema != nil && len(f.JSONSchema.Schema) > 0 {
		if err := x.e.validateJSON(f.JSONSchema.Schema, []byte(text)); err != nil {
			return fmt.Sprintf("The reply does not match the json_schema %q: %v.", f.JSONSchema.Name, err)
		}
	}
	return ""
}

func estimateTokens(s string) int { return (len(s) + 3) / 4 }

// maxImageBytes caps one image sent to a vision model.
const maxImageBytes = 20 << 20

// images loads a message's image parts: stored files, and data: URLs.
// Remote URLs cannot be fetched offline and fail the run with that reason.
func (e *Engine) images(m *apitype.Message) ([][]byte, error) {
	var out [][]byte
	for _, c := range m.Content {
		switch {
		case c.ImageFile != nil:
			b, err := e.readBytes(e.ctx, SpaceFiles, c.ImageFile.FileID, maxImageBytes)
			if err != nil {
				return nil, failure(apitype.ErrorCodeInvalidPrompt, "image file %s of message %s cannot be read: %v", c.ImageFile.FileID, m.ID, err)
			}
			out = append(out, b)
		case c.ImageURL != nil:
			b, err := decodeDataURL(c.ImageURL.URL)
			if err != nil {
				return nil, failure(apitype.ErrorCodeInvalidPrompt, "image_url of message %s: %v", m.ID, err)
			}
			out = append(out, b)
		}
	}
	return out, nil
}

// decodeDataURL decodes a data: URL (base64 or percent-encoded).
func decodeDataURL(u string) ([]byte, error) {
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return nil, fmt.Errorf("only data: URLs can be used offline; upload the image as a file (image_file) instead of linking %.60q", u)
	}
	meta, data, ok := strings.Cut(rest, ",")
	if !ok {
		return nil, fmt.Errorf("malformed data: URL (no comma)")
	}
	if strings.HasSuffix(meta, ";base64") {
		b, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			b, err = base64.RawStdEncoding.DecodeString(data)
		}
		if err != nil {
			return nil, fmt.Errorf("data: URL is not valid base64: %w", err)
		}
		return b, nil
	}
	s, err := url.PathUnescape(data)
	return []byte(s), err
}

// ownItem is a prompt message of this run's own steps.
type ownItem struct {
	item truncate.Item
	msg  llm.Message
}

// runItems replays this run's committed steps as prompt items, oldest
// first: an assistant message per completed message_creation step, and per
// tool_calls step the calls and their outputs as one group.
func (x *runner) runItems(tx store.Tx) ([]ownItem, error) {
	enc, _ := truncate.Default()
	var out []ownItem
	x.ownMessages = 0
	after := ""
	for {
		page, err := tx.ListSteps(x.run.ThreadID, x.run.ID, apitype.ListParams{Limit: apitype.MaxListLimit, Order: apitype.OrderAsc, After: after})
		if err != nil {
			return nil, err
		}
		for _, s := range page.Data {
			switch s.Type {
			case apitype.StepMessageCreation:
				id := s.StepDetails.MessageCreation.MessageID
				m, err := tx.GetMessage(x.run.ThreadID, id)
				if err != nil {
					continue // deleted by the user since
				}
				x.ownMessages++
				if s.Status != apitype.StepCompleted {
					continue
				}
				text := messageText(m)
				out = append(out, ownItem{truncate.Item{ID: "own:" + id, Role: "assistant", Text: text, Tokens: enc.CountMessage(text, 0)},
					llm.Message{Role: llm.RoleAssistant, Content: text}})
			case apitype.StepToolCalls:
				for i, m := range toolMessages(s) {
					role := "assistant"
					if m.Role == llm.RoleTool {
						role = "tool"
					}
					text := m.Content
					for _, c := range m.ToolCalls {
						text += " " + c.Name + string(c.Arguments)
					}
					out = append(out, ownItem{truncate.Item{ID: fmt.Sprintf("own:%s:%d", s.ID, i), Role: role, Text: m.Content,
						Tokens: enc.CountMessage(text, 0), Group: s.ID, ToolOutput: m.Role == llm.RoleTool}, m})
				}
			}
		}
		if !page.HasMore {
			return out, nil
		}
		after = *page.LastID
	}
}

// candidates yields the prompt candidates newest first: this run's own
// items, then the thread's other messages, read one by one as Fit pulls
// them (their cached counts, then their text).
func (x *runner) candidates(tx store.Tx, own []ownItem) iter.Seq2[truncate.Item, error] {
	return func(yield func(truncate.Item, error) bool) {
		for i := len(own) - 1; i >= 0; i-- {
			if !yield(own[i].item, nil) {
				return
			}
		}
		// Lent: each item copies what it keeps (id and text in one string),
		// and only a message with images is cloned whole, for promptMessages.
		err := tx.LendMessages(x.run.ThreadID, true, func(m *apitype.Message, tokens int) (bool, error) {
			if m.RunID != nil && *m.RunID == x.run.ID {
				return true, nil // this run's messages come from its steps
			}
			images := 0
			for _, c := range m.Content {
				if c.ImageFile != nil || c.ImageURL != nil {
					images++
				}
			}
			idText := m.ID + messageText(m) // one copy out of the transaction
			// An earlier run's output is history even when no user message
			// has come since: only this run's own items and what users added
			// (additional_messages too) make the current turn.
			it := truncate.Item{ID: idText[:len(m.ID)], Role: ownedRole(m.Role), Text: idText[len(m.ID):], Tokens: tokens, Images: images,
				History: m.RunID != nil}
			if images > 0 {
				it.Ref = m.Clone()
			}
			return yield(it, nil), nil
		})
		if err != nil {
			yield(truncate.Item{}, err)
		}
	}
}

// promptMessages turns the kept items back into prompt messages, loading
// images only for the messages kept.
func (x *runner) promptMessages(kept []truncate.Item, own []ownItem) ([]llm.Message, error) {
	byID := make(map[string]llm.Message, len(own))
	for _, o := range own {
		byID[o.item.ID] = o.msg
	}
	out := make([]llm.Message, 0, len(kept))
	for _, it := range kept {
		if m, ok := byID[it.ID]; ok {
			if it.Shortened {
				m.Content = it.Text
			}
			out = append(out, m)
			continue
		}
		role := llm.RoleUser
		if it.Role == string(apitype.RoleAssistant) {
			role = llm.RoleAssistant
		}
		var images [][]byte
		if it.Images > 0 {
			var err error
			if images, err = x.e.images(it.Ref.(*apitype.Message)); err != nil {
				return nil, err
			}
		}
		out = append(out, llm.Message{Role: role, Content: it.Text, Images: images})
	}
	return out, nil
}

// ownKept counts the kept items that came from this run's steps.
func (x *runner) ownKept(kept []truncate.Item) int {
	n := 0
	for _, it := range kept {
		if strings.HasPrefix(it.ID, "own:") {
			n++
		}
	}
	return n
}
