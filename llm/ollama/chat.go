package ollama

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/ollama/ollama/api"

	"github.com/hearth-go/hearth/llm"
)

// errStopped ends postChat when the consumer stops iterating.
var errStopped = errors.New("ollama: consumer stopped")

// Chat streams the model's reply to req: text and thinking deltas as they
// arrive, each tool call whole, and a last chunk with Usage
// (prompt_eval_count, eval_count) and FinishReason (stop, length or
// tool_calls).
//
// Tool call ids: Ollama's own when it sends one (prefixed "call_" if it
// lacks it); otherwise "call_" + 24 hex digits of SHA-256 over the prompt's
// run-independent content (model, roles, texts, tool traffic, image sizes),
// the call's index in the reply, its name and arguments. The same prompt and
// reply give the same ids on every run; the same call in a later turn does
// not collide. Arguments are reported as the model wrote them (in its key
// order); checking them against the tool's schema is the caller's job.
//
// The request always carries num_ctx (req.ContextWindow, or the smaller of
// the model's trained context and Config.MaxContext) and truncate=false, so
// Ollama never drops prompt text silently. Keep req.ContextWindow stable per
// model: num_ctx is a load-time option, and Ollama reloads the model (seconds)
// whenever a request asks for a different one. Calls that fail before any chunk
// was yielded are retried per Config.Retries; a reply cut after output ends
// with an error wrapping llm.ErrStreamCut after the partial chunks.
func (c *Client) Chat(ctx context.Context, req *llm.Request) iter.Seq2[llm.Chunk, error] {
	return func(yield func(llm.Chunk, error) bool) {
		areq, err := c.chatRequest(ctx, req)
		if err != nil {
			yield(llm.Chunk{}, err)
			return
		}
		c.stream(ctx, req, areq, yield)
	}
}

// replyState follows one streamed reply.
type replyState struct {
	req     *llm.Request
	yield   func(llm.Chunk, error) bool
	yielded bool // something reached the consumer: no more retries
	done    bool
	calls   int
	prompt  []byte // hash input for call ids, computed on first need
	think   thinkFilter
}

func (c *Client) stream(ctx context.Context, req *llm.Request, areq *api.ChatRequest, yield func(llm.Chunk, error) bool) {
	delay := c.cfg.RetryBackoff
	for attempt := 0; ; attempt++ {
		st := &replyState{req: req, yield: yield}
		err := c.postChat(ctx, areq, st.onResponse)
		if errors.Is(err, errStopped) {
			return
		}
		if err == nil && st.done {
			return
		}
		var ce *cutError
		cut := err == nil || errors.As(err, &ce)
		retryable := cut || transient(ctx, err)
		if !st.yielded && retryable && attempt < c.cfg.Retries && ctx.Err() == nil {
			reason := error(err)
			if err == nil {
				reason = errors.New("the reply stream ended before the model finished")
			}
			c.log.WarnContext(ctx, "ollama: retrying chat", "model", req.Model, "attempt", attempt+1, "delay", delay, "reason", reason)
			if sleep(ctx, delay) {
				delay *= 2
				continue
			}
		}
		yield(llm.Chunk{}, c.chatErr(ctx, err, req.Model, st, attempt+1))
		return
	}
}

// chatErr explains why a reply did not finish after tries attempts.
func (c *Client) chatErr(ctx context.Context, err error, model string, st *replyState, tries int) error {
	if ctx.Err() != nil {
		return c.mapErr(ctx, ctx.Err(), model, tries)
	}
	var ce *cutError
	if err == nil || errors.As(err, &ce) {
		why := "the stream ended without its last line"
		if ce != nil {
			why = ce.Error()
		}
		return fmt.Errorf("ollama: the reply from model %s at %s stopped before the model finished%s (%s): %w", model, c.URL(), afterTries(tries), why, llm.ErrStreamCut)
	}
	mapped := c.mapErr(ctx, err, model, tries)
	if st.yielded && !errors.Is(mapped, llm.ErrContextOverflow) {
		return fmt.Errorf("ollama: the reply from model %s was cut: %w: %w", model, llm.ErrStreamCut, mapped)
	}
	return mapped
}

func (st *replyState) onResponse(resp api.ChatResponse) error {
	if st.done {
		return nil // nothing follows the last chunk
	}
	text, thinking := st.think.add(resp.Message.Content)
	if resp.Done {
		t2, th2 := st.think.flush()
		text, thinking = text+t2, thinking+th2
	}
	ch := llm.Chunk{Text: text, Thinking: resp.Message.Thinking + thinking}
	for _, tc := range resp.Message.ToolCalls {
		ch.ToolCalls = append(ch.ToolCalls, st.toolCall(tc))
	}
	if resp.Done {
		st.done = true
		ch.Usage = &llm.Usage{PromptTokens: resp.PromptEvalCount, CompletionTokens: resp.EvalCount}
		switch {
		case resp.DoneReason == "length":
			ch.FinishReason = llm.FinishLength
		case st.calls > 0:
			ch.FinishReason = llm.FinishToolCalls
		default:
			ch.FinishReason = llm.FinishStop
		}
	} else if ch.Text == "" && ch.Thinking == "" && len(ch.ToolCalls) == 0 {
		return nil
	}
	st.yielded = true
	if !st.yield(ch, nil) {
		return errStopped
	}
	return nil
}

func (st *replyState) toolCall(tc api.ToolCall) llm.ToolCall {
	args, err := json.Marshal(tc.Function.Arguments)
	if err != nil || len(args) == 0 || string(args) == "null" {
		args = []byte("{}")
	}
	idx := st.calls
	st.calls++
	id := tc.ID
	switch {
	case id == "":
		if st.prompt == nil {
			st.prompt = promptDigest(st.req)
		}
		id = callID(st.prompt, idx, tc.Function.Name, args)
	case !strings.HasPrefix(id, "call_"):
		id = "call_" + id
	}
	return llm.ToolCall{ID: id, Name: tc.Function.Name, Arguments: args}
}

// chatRequest converts req to Ollama's wire request.
func (c *Client) chatRequest(ctx context.Context, req *llm.Request) (*api.ChatRequest, error) {
	if req == nil || req.Model == "" {
		return nil, errors.New("ollama: the request names no model")
	}
	hasImages := false
	msgs := make([]api.Message, 0, len(req.Messages))
	for i, m := range req.Messages {
		am, err := c.message(m)
		if err != nil {
			return nil, fmt.Errorf("ollama: message %d: %w", i, err)
		}
		hasImages = hasImages || len(m.Images) > 0
		msgs = append(msgs, am)
	}

	wantThink := c.cfg.Think != nil && *c.cfg.Think
	numCtx := req.ContextWindow
	var info modelInfo
	if numCtx <= 0 || hasImages || wantThink {
		var err error
		info, err = c.show(ctx, req.Model)
		if err != nil {
			return nil, err
		}
		if hasImages && info.capabilities != nil && !info.hasCapability("vision") {
			return nil, fmt.Errorf("ollama: model %s cannot read images (its capabilities: %s); use a vision model such as llava or qwen2.5vl: %w",
				req.Model, strings.Join(info.capabilities, ", "), llm.ErrNoVision)
		}
		if numCtx <= 0 {
			numCtx = c.cfg.MaxContext
			if info.contextLength > 0 {
				numCtx = min(info.contextLength, c.cfg.MaxContext)
			}
		}
	}

	no := false
	stream := true
	areq := &api.ChatRequest{
		Model:    req.Model,
		Messages: msgs,
		Stream:   &stream,
		Truncate: &no,
		// Shift would also drop context silently once the reply fills the
		// window; without it the reply ends with done_reason "length".
		Shift:   &no,
		Options: map[string]any{"num_ctx": numCtx},
	}
	if req.MaxOutputTokens > 0 {
		areq.Options["num_predict"] = req.MaxOutputTokens
	}
	if req.Temperature != nil {
		areq.Options["temperature"] = *req.Temperature
	}
	if req.TopP != nil {
		areq.Options["top_p"] = *req.TopP
	}
	if req.Seed != nil {
		areq.Options["seed"] = *req.Seed
	}
	if c.cfg.KeepAlive != nil {
		areq.KeepAlive = &api.Duration{Duration: *c.cfg.KeepAlive}
	}
	// Ollama refuses think=true for a model that cannot think: ask only
	// models that can (or that the server says nothing about).
	if c.cfg.Think != nil && (!wantThink || info.capabilities == nil || info.hasCapability("thinking")) {
		areq.Think = &api.ThinkValue{Value: *c.cfg.Think}
	}
	if f := req.ResponseFormat; f != nil {
		switch f.Type {
		case llm.FormatJSONObject:
			areq.Format = json.RawMessage(`"json"`)
		case llm.FormatJSONSchema:
			if len(f.Schema) == 0 {
				areq.Format = json.RawMessage(`"json"`)
			} else if !json.Valid(f.Schema) {
				return nil, fmt.Errorf("ollama: response format %q: schema is not valid JSON", f.Name)
			} else {
				areq.Format = f.Schema
			}
		}
	}
	if req.ToolChoice.Mode != llm.ToolChoiceNone {
		tools, err := c.convertTools(req.Tools, req.ToolChoice)
		if err != nil {
			return nil, err
		}
		areq.Tools = tools
	}
	return areq, nil
}

func (c *Client) message(m llm.Message) (api.Message, error) {
	am := api.Message{
		Role:       string(m.Role),
		Content:    m.Content,
		ToolName:   m.ToolName,
		ToolCallID: m.ToolCallID,
	}
	for _, img := range m.Images {
		am.Images = append(am.Images, api.ImageData(img))
	}
	for i, tc := range m.ToolCalls {
		args := api.NewToolCallFunctionArguments()
		if len(tc.Arguments) > 0 {
			if err := json.Unmarshal(tc.Arguments, &args); err != nil {
				// The model wrote arguments that are not an object; the call
				// is history, so send it without them rather than fail.
				c.log.Warn("ollama: tool call arguments in history are not a JSON object; sending none", "call", tc.ID, "err", err)
				args = api.NewToolCallFunctionArguments()
			}
		}
		am.ToolCalls = append(am.ToolCalls, api.ToolCall{
			ID:       tc.ID,
			Function: api.ToolCallFunction{Index: i, Name: tc.Name, Arguments: args},
		})
	}
	return am, nil
}
