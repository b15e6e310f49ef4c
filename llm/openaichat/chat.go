package openaichat

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strings"

	"github.com/hearth-go/hearth/llm"
)

// Wire request types, as /v1/chat/completions takes them.
type (
	chatRequest struct {
		Model               string          `json:"model"`
		Messages            []wireMessage   `json:"messages"`
		Stream              bool            `json:"stream"`
		StreamOptions       *streamOptions  `json:"stream_options,omitempty"`
		Tools               []wireTool      `json:"tools,omitempty"`
		ToolChoice          any             `json:"tool_choice,omitempty"`
		ParallelToolCalls   *bool           `json:"parallel_tool_calls,omitempty"`
		ResponseFormat      *responseFormat `json:"response_format,omitempty"`
		MaxCompletionTokens int             `json:"max_completion_tokens,omitempty"`
		MaxTokens           int             `json:"max_tokens,omitempty"`
		Seed                *int            `json:"seed,omitempty"`
		Temperature         *float64        `json:"temperature,omitempty"`
		TopP                *float64        `json:"top_p,omitempty"`
	}
	streamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	}
	wireMessage struct {
		Role       string         `json:"role"`
		Content    any            `json:"content"` // string, []contentPart or nil
		ToolCalls  []wireToolCall `json:"tool_calls,omitempty"`
		ToolCallID string         `json:"tool_call_id,omitempty"`
		Name       string         `json:"name,omitempty"`
	}
	contentPart struct {
		Type     string    `json:"type"`
		Text     string    `json:"text,omitempty"`
		ImageURL *imageURL `json:"image_url,omitempty"`
	}
	imageURL struct {
		URL string `json:"url"`
	}
	wireToolCall struct {
		ID       string       `json:"id"`
		Type     string       `json:"type"`
		Function wireFunction `json:"function"`
	}
	wireFunction struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	}
	wireTool struct {
		Type     string      `json:"type"`
		Function wireFuncDef `json:"function"`
	}
	wireFuncDef struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters,omitempty"`
		Strict      bool            `json:"strict,omitempty"`
	}
	responseFormat struct {
		Type       string      `json:"type"`
		JSONSchema *jsonSchema `json:"json_schema,omitempty"`
	}
	jsonSchema struct {
		Name   string          `json:"name"`
		Schema json.RawMessage `json:"schema,omitempty"`
		Strict bool            `json:"strict,omitempty"`
	}
)

// buildRequest converts req to the wire request, encoded.
func buildRequest(req *llm.Request) ([]byte, error) {
	if req == nil || req.Model == "" {
		return nil, errors.New("openaichat: the request names no model")
	}
	w := chatRequest{Model: req.Model, Stream: true, StreamOptions: &streamOptions{IncludeUsage: true},
		Seed: req.Seed, Temperature: req.Temperature, TopP: req.TopP,
		Messages: make([]wireMessage, 0, len(req.Messages))}
	for _, m := range req.Messages {
		wm := wireMessage{Role: string(m.Role), Content: m.Content}
		if len(m.Images) > 0 {
			parts := []contentPart{}
			if m.Content != "" {
				parts = append(parts, contentPart{Type: "text", Text: m.Content})
			}
			for _, img := range m.Images {
				mime := http.DetectContentType(img)
				parts = append(parts, contentPart{Type: "image_url", ImageURL: &imageURL{URL: "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(img)}})
			}
			wm.Content = parts
		}
		for _, tc := range m.ToolCalls {
			args := string(tc.Arguments)
			if args == "" {
				args = "{}"
			}
			wm.ToolCalls = append(wm.ToolCalls, wireToolCall{ID: tc.ID, Type: "function", Function: wireFunction{Name: tc.Name, Arguments: args}})
		}
		if m.Role == llm.RoleAssistant && len(m.ToolCalls) > 0 && m.Content == "" {
			wm.Content = nil
		}
		if m.Role == llm.RoleTool {
			wm.ToolCallID = m.ToolCallID
		}
		w.Messages = append(w.Messages, wm)
	}
	for _, t := range req.Tools {
		w.Tools = append(w.Tools, wireTool{Type: "function", Function: wireFuncDef{Name: t.Name, Description: t.Description, Parameters: t.Parameters, Strict: t.Strict}})
	}
	if len(w.Tools) > 0 {
		switch req.ToolChoice.Mode {
		case llm.ToolChoiceNone, llm.ToolChoiceRequired:
			w.ToolChoice = req.ToolChoice.Mode
		case llm.ToolChoiceFunction:
			w.ToolChoice = map[string]any{"type": "function", "function": map[string]string{"name": req.ToolChoice.Name}}
		default:
			w.ToolChoice = llm.ToolChoiceAuto
		}
		p := req.ParallelToolCalls
		w.ParallelToolCalls = &p
	}
	if rf := req.ResponseFormat; rf != nil && rf.Type != "" && rf.Type != llm.FormatText {
		w.ResponseFormat = &responseFormat{Type: rf.Type}
		if rf.Type == llm.FormatJSONSchema {
			name := rf.Name
			if name == "" {
				name = "response"
			}
			w.ResponseFormat.JSONSchema = &jsonSchema{Name: name, Schema: rf.Schema}
		}
	}
	if req.MaxOutputTokens > 0 {
		// Both names: vLLM and SGLang read max_completion_tokens, llama.cpp
		// and older servers only max_tokens.
		w.MaxCompletionTokens, w.MaxTokens = req.MaxOutputTokens, req.MaxOutputTokens
	}
	return json.Marshal(&w)
}

// errStopped ends a stream when the consumer stops iterating.
var errStopped = errors.New("openaichat: consumer stopped")

// Chat streams the reply to req: text and reasoning_content (as Thinking)
// as they arrive, tool-call deltas as llm.ToolCallDelta, and a last chunk
// with the complete tool calls, Usage (from the include_usage chunk) and
// FinishReason. Calls that fail before any chunk was yielded are retried per
// Config.Retries (honouring Retry-After); a reply cut after output yields
// its chunks and then an error wrapping llm.ErrStreamCut.
func (c *Client) Chat(ctx context.Context, req *llm.Request) iter.Seq2[llm.Chunk, error] {
	return func(yield func(llm.Chunk, error) bool) {
		body, err := buildRequest(req)
		if err != nil {
			yield(llm.Chunk{}, err)
			return
		}
		delay := c.cfg.RetryBackoff
		for attempt := 0; ; attempt++ {
			st := &reply{yield: yield}
			err := c.postChat(ctx, body, st)
			if err == nil || errors.Is(err, errStopped) {
				return
			}
			var ce *cutError
			retryable := errors.As(err, &ce) && !ce.timeout || transient(ctx, err)
			if !st.yielded && retryable && attempt < c.cfg.Retries && ctx.Err() == nil {
				if c.wait(ctx, err, &delay) {
					continue
				}
			}
			yield(llm.Chunk{}, c.chatErr(ctx, err, req.Model, st, attempt+1))
			return
		}
	}
}

// chatErr explains why a reply did not finish after tries attempts.
func (c *Client) chatErr(ctx context.Context, err error, model string, st *reply, tries int) error {
	if ctx.Err() != nil {
		return c.mapErr(ctx, ctx.Err(), model, tries)
	}
	var ce *cutError
	if errors.As(err, &ce) {
		sentinel := llm.ErrStreamCut
		hint := ""
		if ce.timeout {
			hint = "; the server stopped sending: check its load, or raise --openai-idle-timeout (Config.IdleTimeout)"
		}
		if ce.malformed {
			hint = "; the server is not speaking OpenAI's streaming format, check --openai-url"
			return fmt.Errorf("openaichat: the reply from model %s at %s is malformed%s (%s)%s: %w: %w", model, c.base, afterTries(tries), ce.err, hint, ErrServer, sentinel)
		}
		if ce.timeout {
			return fmt.Errorf("openaichat: the reply from model %s at %s stopped before the model finished%s (%s)%s: %w: %w", model, c.base, afterTries(tries), ce.err, hint, sentinel, ErrTimeout)
		}
		return fmt.Errorf("openaichat: the reply from model %s at %s stopped before the model finished%s (%s); the server closed the connection mid-reply: check its log for a crash or restart, then run again: %w", model, c.base, afterTries(tries), ce.err, sentinel)
	}
	mapped := c.mapErr(ctx, err, model, tries)
	if st.yielded && !errors.Is(mapped, llm.ErrContextOverflow) {
		return fmt.Errorf("openaichat: the reply from model %s was cut: %w: %w", model, llm.ErrStreamCut, mapped)
	}
	return mapped
}

// pendingCall is a tool call being assembled from deltas.
type pendingCall struct {
	id, name string
	args     strings.Builder
	whole    bool // arguments arrived as a JSON object: complete
}

// reply follows one streamed reply.
type reply struct {
	yield    func(llm.Chunk, error) bool
	yielded  bool
	calls    []*pendingCall
	byIndex  map[int]int // wire index → position in calls, for the latest call at that index
	finish   string
	usage    *llm.Usage
	finished bool
}

// onChunk handles one decoded chunk.
func (st *reply) onChunk(ch *streamChunk) error {
	if ch.Usage != nil {
		st.usage = &llm.Usage{PromptTokens: ch.Usage.PromptTokens, CompletionTokens: ch.Usage.CompletionTokens}
	}
	var out llm.Chunk
	for i := range ch.Choices {
		c := &ch.Choices[i]
		if c.Index != 0 {
			continue // n > 1 is never asked for
		}
		out.Text += c.Delta.Content
		out.Thinking += c.Delta.ReasoningContent + c.Delta.Reasoning
		for j := range c.Delta.ToolCalls {
			if d, ok := st.toolDelta(&c.Delta.ToolCalls[j]); ok {
				out.ToolCallDeltas = append(out.ToolCallDeltas, d)
			}
		}
		if c.FinishReason != nil && *c.FinishReason != "" {
			st.finish = *c.FinishReason
			st.finished = true
		}
	}
	if out.Text == "" && out.Thinking == "" && len(out.ToolCallDeltas) == 0 {
		return nil
	}
	st.yielded = true
	if !st.yield(out, nil) {
		return errStopped
	}
	return nil
}

// toolDelta merges one tool-call delta. A delta that carries an id other
// than the current call's at its index starts a new call: servers that send
// parallel calls all on index 0 tell them apart only so.
func (st *reply) toolDelta(d *wireToolDelta) (llm.ToolCallDelta, bool) {
	if st.byIndex == nil {
		st.byIndex = map[int]int{}
	}
	idx := len(st.calls)
	if d.Index != nil {
		idx = *d.Index
	}
	pos, ok := st.byIndex[idx]
	if ok {
		cur := st.calls[pos]
		if (d.ID != "" && cur.id != "" && d.ID != cur.id) || (d.Function.Name != "" && cur.name != "" && (d.ID != "" || cur.whole)) {
			ok = false
		}
	}
	if !ok {
		pos = len(st.calls)
		st.calls = append(st.calls, &pendingCall{})
		st.byIndex[idx] = pos
	}
	pc := st.calls[pos]
	if pc.id == "" {
		pc.id = d.ID
	}
	if d.Function.Name != "" {
		pc.name = d.Function.Name
	}
	frag := ""
	if a := d.Function.Arguments; len(a) > 0 && string(a) != "null" {
		if a[0] == '"' {
			_ = json.Unmarshal(a, &frag)
			pc.args.WriteString(frag)
		} else {
			// An object instead of a string: the whole arguments at once.
			frag = string(a)
			pc.args.Reset()
			pc.args.WriteString(frag)
			pc.whole = true
		}
	}
	if frag == "" && d.Function.Name == "" && d.ID == "" {
		return llm.ToolCallDelta{}, false
	}
	return llm.ToolCallDelta{Index: pos, ID: callID(pc), Name: d.Function.Name, ArgumentsDelta: frag}, true
}

// callID is the server's id (with OpenAI's "call_" prefix), or one made up
// when the server sent none, fixed for the call once chosen.
func callID(pc *pendingCall) string {
	switch {
	case pc.id == "":
		var b [12]byte
		_, _ = rand.Read(b[:])
		pc.id = "call_" + hex.EncodeToString(b[:])
	case !strings.HasPrefix(pc.id, "call_"):
		pc.id = "call_" + pc.id
	}
	return pc.id
}

// end yields the last chunk: complete calls, usage and finish reason.
func (st *reply) end() error {
	out := llm.Chunk{Usage: st.usage}
	if out.Usage == nil {
		out.Usage = &llm.Usage{} // llama-server before include_usage, or a server that ignores it
	}
	for _, pc := range st.calls {
		if pc.name == "" {
			continue
		}
		args := strings.TrimSpace(pc.args.String())
		if args == "" {
			args = "{}"
		}
		out.ToolCalls = append(out.ToolCalls, llm.ToolCall{ID: callID(pc), Name: pc.name, Arguments: json.RawMessage(args)})
	}
	switch {
	case st.finish == "length":
		out.FinishReason = llm.FinishLength
	case len(out.ToolCalls) > 0:
		out.FinishReason = llm.FinishToolCalls
	default:
		out.FinishReason = llm.FinishStop
	}
	st.yielded = true
	if !st.yield(out, nil) {
		return errStopped
	}
	return nil
}
