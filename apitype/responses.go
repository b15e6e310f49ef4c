package apitype

// The Responses API: the Response object, its request, its items
// (responses_items.go), tools (responses_tools.go) and streaming events
// (responses_events.go).
//
// Request fields, as DecodeResponseCreateParams and Validate treat them:
//
//	accepted and used:  model, input, instructions, previous_response_id,
//	                    conversation, store, background, stream, tools
//	                    (function, file_search, code_interpreter), tool_choice,
//	                    parallel_tool_calls, max_tool_calls, max_output_tokens,
//	                    temperature, top_p, text.format, truncation, metadata,
//	                    include, reasoning (effort, summary)
//	accepted, echoed:   text.verbosity, service_tier (echoed as "default", as
//	                    the API reports the tier it used), user,
//	                    safety_identifier, prompt_cache_key,
//	                    prompt_cache_retention, stream_options.include_obfuscation
//	                    (streams carry no obfuscation padding), top_logprobs 0
//	refused with 400:   prompt, moderation, context_management (non-empty),
//	                    access_programs, image, prompt_cache_options,
//	                    top_logprobs > 0, include message.output_text.logprobs /
//	                    web_search_call.* / computer_call_output.*, the other
//	                    tool types (web_search, mcp, computer, shell, …) and
//	                    their items, function tools' defer_loading / async /
//	                    output_schema / programmatic callers, reasoning.mode
//	                    other than standard, reasoning.context other than
//	                    auto, input parts' prompt_cache_breakpoint
//	unknown fields:     400 unknown_parameter, as on the hosted API.
//
// Every refusal is a *Error (400 invalid_request_error) whose Param is the
// exact path of the field ("input[1].content[0].type") and whose Code is the
// API's (unknown_parameter, invalid_type, invalid_value,
// missing_required_parameter, …; unsupported_parameter for what Hearth does
// not implement).

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Object names of the Responses and Conversations APIs.
const (
	ObjectResponse            = "response"
	ObjectConversation        = "conversation"
	ObjectConversationDeleted = "conversation.deleted"
)

// ResponseStatus is a response's status.
type ResponseStatus string

// Response statuses.
const (
	ResponseQueued     ResponseStatus = "queued"
	ResponseInProgress ResponseStatus = "in_progress"
	ResponseCompleted  ResponseStatus = "completed"
	ResponseFailed     ResponseStatus = "failed"
	ResponseIncomplete ResponseStatus = "incomplete"
	ResponseCancelled  ResponseStatus = "cancelled"
)

// Terminal reports whether no further transition is possible.
func (s ResponseStatus) Terminal() bool {
	switch s {
	case ResponseCompleted, ResponseFailed, ResponseIncomplete, ResponseCancelled:
		return true
	}
	return false
}

// Truncation modes.
const (
	TruncationDisabled = "disabled"
	// TruncationAuto ("auto") is shared with the Assistants API.
)

// Includable values of include[].
const (
	IncludeFileSearchResults      = "file_search_call.results"
	IncludeWebSearchResults       = "web_search_call.results"
	IncludeWebSearchSources       = "web_search_call.action.sources"
	IncludeInputImageURL          = "message.input_image.image_url"
	IncludeComputerOutputImageURL = "computer_call_output.output.image_url"
	IncludeCodeInterpreterOutputs = "code_interpreter_call.outputs"
	IncludeReasoningEncrypted     = "reasoning.encrypted_content"
	IncludeOutputTextLogprobs     = "message.output_text.logprobs"
)

var includables = []string{IncludeFileSearchResults, IncludeWebSearchResults, IncludeWebSearchSources, IncludeInputImageURL,
	IncludeComputerOutputImageURL, IncludeCodeInterpreterOutputs, IncludeReasoningEncrypted, IncludeOutputTextLogprobs}

// includeRefused are includables Hearth cannot produce.
var includeRefused = map[string]string{
	IncludeWebSearchResults:       "Hearth has no web search",
	IncludeWebSearchSources:       "Hearth has no web search",
	IncludeComputerOutputImageURL: "Hearth has no computer use tool",
	IncludeOutputTextLogprobs:     "log probabilities are not supported",
}

// Incomplete reasons of a response.
const (
	IncompleteMaxOutputTokens = "max_output_tokens"
	// IncompleteContentFilter ("content_filter") is shared with the Assistants API.
)

// Response is a response object.
type Response struct {
	ID                   string                     `json:"id"`
	Object               string                     `json:"object"`
	CreatedAt            int64                      `json:"created_at"`
	Status               ResponseStatus             `json:"status"`
	Background           bool                       `json:"background"`
	CompletedAt          *int64                     `json:"completed_at"`
	Error                *ResponseError             `json:"error"`
	IncompleteDetails    *ResponseIncompleteDetails `json:"incomplete_details"`
	Instructions         *string                    `json:"instructions"`
	MaxOutputTokens      *int                       `json:"max_output_tokens"`
	MaxToolCalls         *int                       `json:"max_tool_calls"`
	Model                string                     `json:"model"`
	Output               []Item                     `json:"output"`
	ParallelToolCalls    bool                       `json:"parallel_tool_calls"`
	PreviousResponseID   *string                    `json:"previous_response_id"`
	Conversation         *ConversationRef           `json:"conversation"`
	Prompt               *ResponsePrompt            `json:"prompt"`
	PromptCacheKey       *string                    `json:"prompt_cache_key"`
	PromptCacheRetention *string                    `json:"prompt_cache_retention"`
	Reasoning            *Reasoning                 `json:"reasoning"`
	SafetyIdentifier     *string                    `json:"safety_identifier"`
	ServiceTier          string                     `json:"service_tier"`
	Store                bool                       `json:"store"`
	Temperature          *float64                   `json:"temperature"`
	Text                 ResponseTextConfig         `json:"text"`
	ToolChoice           ResponseToolChoice         `json:"tool_choice"`
	Tools                []ResponseTool             `json:"tools"`
	TopLogprobs          int                        `json:"top_logprobs"`
	TopP                 *float64                   `json:"top_p"`
	Truncation           string                     `json:"truncation"`
	Usage                *ResponseUsage             `json:"usage"`
	User                 *string                    `json:"user"`
	Metadata             Metadata                   `json:"metadata"`
}

// MarshalJSON writes object "response", output, tools and metadata as
// empty rather than null, and the defaults the API echoes when unset
// (service_tier "default", truncation "disabled", text.format text).
func (r Response) MarshalJSON() ([]byte, error) {
	type plain Response
	r.Object = ObjectResponse
	if r.Output == nil {
		r.Output = []Item{}
	}
	if r.Tools == nil {
		r.Tools = []ResponseTool{}
	}
	if r.Metadata == nil {
		r.Metadata = Metadata{}
	}
	if r.ServiceTier == "" {
		r.ServiceTier = "default"
	}
	if r.Truncation == "" {
		r.Truncation = TruncationDisabled
	}
	if r.Text.Format == nil {
		r.Text.Format = &TextFormat{Type: ResponseFormatText}
	}
	return json.Marshal(plain(r))
}

// OutputText returns the text of the output_text parts of the response's
// output messages, concatenated, as the SDKs' output_text does.
func (r *Response) OutputText() string {
	var b strings.Builder
	for _, it := range r.Output {
		if it.Message == nil {
			continue
		}
		for _, p := range it.Message.Content {
			if p.Type == PartOutputText {
				b.WriteString(p.Text)
			}
		}
	}
	return b.String()
}

// ResponseError is why a response failed.
type ResponseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ResponseIncompleteDetails says why a response is incomplete.
type ResponseIncompleteDetails struct {
	Reason string `json:"reason"`
}

// ResponseUsage counts a response's tokens.
type ResponseUsage struct {
	InputTokens         int                 `json:"input_tokens"`
	InputTokensDetails  InputTokensDetails  `json:"input_tokens_details"`
	OutputTokens        int                 `json:"output_tokens"`
	OutputTokensDetails OutputTokensDetails `json:"output_tokens_details"`
	TotalTokens         int                 `json:"total_tokens"`
}

// InputTokensDetails breaks input tokens down.
type InputTokensDetails struct {
	CachedTokens     int `json:"cached_tokens"`
	CacheWriteTokens int `json:"cache_write_tokens"`
}

// OutputTokensDetails breaks output tokens down.
type OutputTokensDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// Add sums u and v.
func (u ResponseUsage) Add(v ResponseUsage) ResponseUsage {
	return ResponseUsage{
		InputTokens:         u.InputTokens + v.InputTokens,
		InputTokensDetails:  InputTokensDetails{u.InputTokensDetails.CachedTokens + v.InputTokensDetails.CachedTokens, u.InputTokensDetails.CacheWriteTokens + v.InputTokensDetails.CacheWriteTokens},
		OutputTokens:        u.OutputTokens + v.OutputTokens,
		OutputTokensDetails: OutputTokensDetails{u.OutputTokensDetails.ReasoningTokens + v.OutputTokensDetails.ReasoningTokens},
		TotalTokens:         u.TotalTokens + v.TotalTokens,
	}
}

// ConversationRef names a conversation. In a request it may be the id
// alone ("conv_…") or {"id":"conv_…"}; it is written as the object.
type ConversationRef struct {
	ID string `json:"id"`
}

func (c *ConversationRef) UnmarshalJSON(b []byte) error {
	return decodeStrict(b, func(b []byte) error {
		v, err := decodeConversationRef("conversation", b)
		if err == nil {
			*c = *v
		}
		return err
	})
}

func decodeConversationRef(path string, b []byte) (*ConversationRef, error) {
	if b[0] == '"' {
		c := &ConversationRef{}
		_ = json.Unmarshal(b, &c.ID)
		return c, nil
	}
	if b[0] != '{' {
		return nil, invalidCode(path, CodeInvalidType, "Invalid type for '%s': expected one of a string or an object, but got %s instead.", path, kindOf(b))
	}
	o, err := readObject(path, b)
	if err != nil {
		return nil, err
	}
	c := &ConversationRef{}
	if err := o.reqStr("id", &c.ID); err != nil {
		return nil, err
	}
	return c, o.done()
}

// Text format types (ResponseFormatText, ResponseFormatJSONObject and
// ResponseFormatJSONSchema are shared with the Assistants API).

// ResponseTextConfig configures the text output: its Format and Verbosity.
type ResponseTextConfig struct {
	Format    *TextFormat `json:"format,omitempty"`
	Verbosity *string     `json:"verbosity,omitempty"`
}

// TextFormat is {type:"text"}, {type:"json_object"} or {type:"json_schema",
// name, schema, description, strict} (the schema's fields are on the format
// itself, unlike the Assistants API's response_format).
type TextFormat struct {
	Type        string
	Name        string
	Description *string
	Schema      json.RawMessage
	Strict      *bool
}

func (f TextFormat) MarshalJSON() ([]byte, error) {
	if f.Type != ResponseFormatJSONSchema {
		return json.Marshal(struct {
			Type string `json:"type"`
		}{f.Type})
	}
	return json.Marshal(struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description *string         `json:"description,omitempty"`
		Schema      json.RawMessage `json:"schema"`
		Strict      *bool           `json:"strict"`
	}{f.Type, f.Name, f.Description, f.Schema, f.Strict})
}

func (f *TextFormat) UnmarshalJSON(b []byte) error {
	return decodeStrict(b, func(b []byte) error {
		v, err := decodeTextFormat("text.format", b)
		if err == nil {
			*f = *v
		}
		return err
	})
}

func (c *ResponseTextConfig) UnmarshalJSON(b []byte) error {
	return decodeStrict(b, func(b []byte) error {
		v, err := decodeTextConfig("text", b)
		if err == nil {
			*c = *v
		}
		return err
	})
}

func decodeTextConfig(path string, b []byte) (*ResponseTextConfig, error) {
	o, err := readObject(path, b)
	if err != nil {
		return nil, err
	}
	c := &ResponseTextConfig{}
	var verbosity string
	if err := o.enum("verbosity", &verbosity, "low", "medium", "high"); err != nil {
		return nil, err
	}
	if verbosity != "" {
		c.Verbosity = &verbosity
	}
	if v, ok := o.raw("format"); ok {
		if c.Format, err = decodeTextFormat(o.at("format"), v); err != nil {
			return nil, err
		}
	}
	return c, o.done()
}

func decodeTextFormat(path string, b []byte) (*TextFormat, error) {
	o, err := readObject(path, b)
	if err != nil {
		return nil, err
	}
	f := &TextFormat{}
	if !o.has("type") {
		o.take("type")
		return nil, missingParam(o.at("type"))
	}
	if err := o.enum("type", &f.Type, ResponseFormatText, ResponseFormatJSONSchema, ResponseFormatJSONObject); err != nil {
		if t, _ := o.typeOf(); t == "grammar" || t == "python" {
			return nil, unsupported(o.at("type"), "grammar-constrained output is not supported")
		}
		return nil, err
	}
	if f.Type == ResponseFormatJSONSchema {
		if err := firstErr(o.reqStr("name", &f.Name), o.strPtr("description", &f.Description), o.rawObject("schema", &f.Schema),
			o.boolPtr("strict", &f.Strict)); err != nil {
			return nil, err
		}
		if f.Schema == nil {
			return nil, missingParam(o.at("schema"))
		}
	}
	return f, o.done()
}

// Reasoning configures a thinking model: Effort (none, minimal, low,
// medium, high, xhigh, max) and Summary (auto, concise, detailed). Both are
// written, as null when unset, as the API echoes them.
type Reasoning struct {
	Effort  *string `json:"effort"`
	Summary *string `json:"summary"`
}

var (
	reasoningEfforts   = []string{"none", "minimal", "low", "medium", "high", "xhigh", "max"}
	reasoningSummaries = []string{"auto", "concise", "detailed"}
)

func decodeReasoningConfig(path string, b []byte) (*Reasoning, error) {
	o, err := readObject(path, b)
	if err != nil {
		return nil, err
	}
	r := &Reasoning{}
	var effort, summary, generate, mode, ctx string
	if err := firstErr(o.enum("effort", &effort, reasoningEfforts...), o.enum("summary", &summary, reasoningSummaries...),
		o.enum("generate_summary", &generate, reasoningSummaries...), o.str("mode", &mode),
		o.enum("context", &ctx, "auto", "current_turn", "all_turns")); err != nil {
		return nil, err
	}
	if mode != "" && mode != "standard" {
		return nil, unsupported(o.at("mode"), "only the standard reasoning mode exists locally")
	}
	if ctx != "" && ctx != "auto" {
		return nil, unsupported(o.at("context"), "which turns' reasoning the model sees is not configurable")
	}
	if summary == "" {
		summary = generate // generate_summary is the deprecated name of summary
	}
	if effort != "" {
		r.Effort = &effort
	}
	if summary != "" {
		r.Summary = &summary
	}
	return r, o.done()
}

func (r *Reasoning) UnmarshalJSON(b []byte) error {
	return decodeStrict(b, func(b []byte) error {
		v, err := decodeReasoningConfig("reasoning", b)
		if err == nil {
			*r = *v
		}
		return err
	})
}

// Check validates metadata as the API does: at most 16 pairs, keys of 1–64
// and values of up to 512 characters, valid UTF-8.
func (m Metadata) Check(param string) error {
	if len(m) > 16 {
		return invalidCode(param, CodeInvalidValue, "Invalid '%s': too many properties. Expected an object with at most 16 properties, but got an object with %d properties instead.", param, len(m))
	}
	for _, k := range sortedKeys(m) {
		v := m[k]
		if k == "" || !utf8.ValidString(k) || utf8.RuneCountInString(k) > 64 {
			return invalidCode(param, CodeInvalidValue, "Invalid '%s': property names must be 1 to 64 characters of valid UTF-8, got %q.", param, clipValue(k))
		}
		if !utf8.ValidString(v) || utf8.RuneCountInString(v) > 512 {
			return invalidCode(join(param, k), CodeStringTooLong, "Invalid '%s': string too long. Expected a string with maximum length 512 of valid UTF-8, but got a string with length %d instead.", join(param, clipValue(k)), utf8.RuneCountInString(v))
		}
	}
	return nil
}

// NewResponse returns the response object a request starts: the request's
// parameters echoed with the API's defaults for those not sent (store,
// parallel_tool_calls true; temperature, top_p 1; truncation disabled;
// tool_choice auto; text.format text, verbosity medium; service_tier
// default), status queued for a background request and in_progress
// otherwise, no output and no usage yet.
func NewResponse(id string, createdAt int64, p *ResponseCreateParams) Response {
	one := 1.0
	r := Response{
		ID: id, Object: ObjectResponse, CreatedAt: createdAt, Status: ResponseInProgress, Model: p.Model,
		Instructions: p.Instructions, MaxOutputTokens: p.MaxOutputTokens, MaxToolCalls: p.MaxToolCalls,
		PreviousResponseID: p.PreviousResponseID, Conversation: p.Conversation, ParallelToolCalls: true, Store: p.StoreOrDefault(),
		Temperature: p.Temperature, TopP: p.TopP, Tools: p.Tools, Truncation: TruncationDisabled, ServiceTier: "default",
		User: p.User, SafetyIdentifier: p.SafetyIdentifier, PromptCacheKey: p.PromptCacheKey, PromptCacheRetention: p.PromptCacheRetention,
		Reasoning: &Reasoning{}, Metadata: p.Metadata, Output: []Item{}, Prompt: p.Prompt,
	}
	if p.Background != nil && *p.Background {
		r.Background, r.Status = true, ResponseQueued
	}
	if p.ParallelToolCalls != nil {
		r.ParallelToolCalls = *p.ParallelToolCalls
	}
	if r.Temperature == nil {
		r.Temperature = &one
	}
	if r.TopP == nil {
		r.TopP = &one
	}
	if p.Truncation != nil {
		r.Truncation = *p.Truncation
	}
	if p.ToolChoice != nil {
		r.ToolChoice = *p.ToolChoice
	}
	if p.TopLogprobs != nil {
		r.TopLogprobs = *p.TopLogprobs
	}
	if p.Reasoning != nil {
		r.Reasoning = p.Reasoning
	}
	medium := "medium"
	r.Text = ResponseTextConfig{Format: &TextFormat{Type: ResponseFormatText}, Verbosity: &medium}
	if p.Text != nil {
		if p.Text.Format != nil {
			r.Text.Format = p.Text.Format
		}
		if p.Text.Verbosity != nil {
			r.Text.Verbosity = p.Text.Verbosity
		}
	}
	return r
}
