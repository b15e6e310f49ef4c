package apitype

import (
	"encoding/json"
	"fmt"
)

// ResponseCreateParams creates a response. Pointer fields are nil when not
// sent; the engine applies the API's defaults (store true, temperature and
// top_p 1, parallel_tool_calls true, truncation disabled, tool_choice auto).
//
// Decode a request body with DecodeResponseCreateParams (or json.Unmarshal,
// which calls it), then call Validate; a Go caller that builds the value
// calls Validate alone.
type ResponseCreateParams struct {
	Model                string                 `json:"model,omitempty"`
	Input                ResponseInput          `json:"input,omitzero"`
	Instructions         *string                `json:"instructions,omitempty"`
	PreviousResponseID   *string                `json:"previous_response_id,omitempty"`
	Conversation         *ConversationRef       `json:"conversation,omitempty"`
	Store                *bool                  `json:"store,omitempty"`
	Background           *bool                  `json:"background,omitempty"`
	Include              []string               `json:"include,omitempty"`
	Tools                []ResponseTool         `json:"tools,omitempty"`
	ToolChoice           *ResponseToolChoice    `json:"tool_choice,omitempty"`
	ParallelToolCalls    *bool                  `json:"parallel_tool_calls,omitempty"`
	MaxToolCalls         *int                   `json:"max_tool_calls,omitempty"`
	MaxOutputTokens      *int                   `json:"max_output_tokens,omitempty"`
	Temperature          *float64               `json:"temperature,omitempty"`
	TopP                 *float64               `json:"top_p,omitempty"`
	TopLogprobs          *int                   `json:"top_logprobs,omitempty"`
	Text                 *ResponseTextConfig    `json:"text,omitempty"`
	Truncation           *string                `json:"truncation,omitempty"`
	Reasoning            *Reasoning             `json:"reasoning,omitempty"`
	Metadata             Metadata               `json:"metadata,omitempty"`
	ServiceTier          *string                `json:"service_tier,omitempty"`
	User                 *string                `json:"user,omitempty"`
	SafetyIdentifier     *string                `json:"safety_identifier,omitempty"`
	PromptCacheKey       *string                `json:"prompt_cache_key,omitempty"`
	PromptCacheRetention *string                `json:"prompt_cache_retention,omitempty"`
	StreamOptions        *ResponseStreamOptions `json:"stream_options,omitempty"`
	// Prompt names an assistant (asst_…) whose model, instructions (with
	// {{variable}} substitution), tools and tool resources the response
	// takes where the request does not set them: Hearth's bridge from the
	// Assistants API. OpenAI's stored prompts (pmpt_…) live on its platform.
	Prompt *ResponsePrompt `json:"prompt,omitempty"`
	// Stream is read by the HTTP layer: the answer is an event stream.
	Stream bool `json:"stream,omitempty"`
}

// ResponsePrompt is a request's prompt: an id, its variables' values
// (strings), and a version.
type ResponsePrompt struct {
	ID        string            `json:"id"`
	Variables map[string]string `json:"variables,omitempty"`
	Version   *string           `json:"version,omitempty"`
}

func decodePrompt(path string, b []byte) (*ResponsePrompt, error) {
	o, err := readObject(path, b)
	if err != nil {
		return nil, err
	}
	p := &ResponsePrompt{}
	if err := firstErr(o.str("id", &p.ID), o.strPtr("version", &p.Version)); err != nil {
		return nil, err
	}
	if v, ok := o.raw("variables"); ok {
		vo, err := readObject(join(path, "variables"), v)
		if err != nil {
			return nil, err
		}
		p.Variables = map[string]string{}
		for _, k := range vo.keys {
			raw, _ := vo.raw(k)
			if len(raw) == 0 || raw[0] != '"' {
				return nil, unsupported(join(join(path, "variables"), k), "prompt variables must be strings here")
			}
			var s string
			_ = json.Unmarshal(raw, &s)
			p.Variables[k] = s
		}
	}
	if err := o.done(); err != nil {
		return nil, err
	}
	if p.ID == "" {
		return nil, missingParam(join(path, "id"))
	}
	return p, nil
}

// ResponseStreamOptions are a streamed response's options.
type ResponseStreamOptions struct {
	IncludeObfuscation *bool `json:"include_obfuscation,omitempty"`
}

// StoreOrDefault returns store, true when not sent.
func (p *ResponseCreateParams) StoreOrDefault() bool { return p.Store == nil || *p.Store }

// DecodeResponseCreateParams decodes a request body strictly. Every failure
// is a *Error (400 invalid_request_error) naming the parameter.
func DecodeResponseCreateParams(b []byte) (*ResponseCreateParams, error) {
	if !json.Valid(b) {
		return nil, badJSON("")
	}
	p := &ResponseCreateParams{}
	if err := p.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	return p, nil
}

// UnmarshalJSON is DecodeResponseCreateParams.
func (p *ResponseCreateParams) UnmarshalJSON(b []byte) error {
	return decodeStrict(b, func(b []byte) error {
		o, err := readObject("", b)
		if err != nil {
			return err
		}
		var v ResponseCreateParams
		if err := v.decode(o); err != nil {
			return err
		}
		*p = v
		return nil
	})
}

var serviceTiers = []string{"auto", "default", "flex", "scale", "priority", "fast", "ultrafast"}

func (p *ResponseCreateParams) decode(o *object) error {
	var stream *bool
	err := firstErr(
		o.str("model", &p.Model), o.strPtr("instructions", &p.Instructions), o.strPtr("previous_response_id", &p.PreviousResponseID),
		o.boolPtr("store", &p.Store), o.boolPtr("background", &p.Background), o.boolPtr("stream", &stream),
		o.boolPtr("parallel_tool_calls", &p.ParallelToolCalls), o.int("max_tool_calls", &p.MaxToolCalls),
		o.int("max_output_tokens", &p.MaxOutputTokens), o.float("temperature", &p.Temperature), o.float("top_p", &p.TopP),
		o.int("top_logprobs", &p.TopLogprobs), o.metadata("metadata", &p.Metadata),
		o.strPtr("user", &p.User), o.strPtr("safety_identifier", &p.SafetyIdentifier), o.strPtr("prompt_cache_key", &p.PromptCacheKey),
	)
	if err != nil {
		return err
	}
	if stream != nil {
		p.Stream = *stream
	}
	enumPtr := func(name string, dst **string, allowed ...string) error {
		var s string
		if err := o.enum(name, &s, allowed...); err != nil {
			return err
		}
		if s != "" {
			*dst = &s
		}
		return nil
	}
	if err := firstErr(enumPtr("truncation", &p.Truncation, TruncationAuto, TruncationDisabled),
		enumPtr("service_tier", &p.ServiceTier, serviceTiers...),
		enumPtr("prompt_cache_retention", &p.PromptCacheRetention, "in_memory", "24h")); err != nil {
		return err
	}
	if v, ok := o.raw("input"); ok {
		if p.Input, err = decodeInput("input", v); err != nil {
			return err
		}
	}
	if v, ok := o.raw("conversation"); ok {
		if p.Conversation, err = decodeConversationRef("conversation", v); err != nil {
			return err
		}
	}
	if v, ok := o.raw("include"); ok {
		p.Include = []string{}
		err := readArray("include", v, func(path string, _ int, e json.RawMessage) error {
			if e[0] != '"' {
				return badType(path, "a string", e)
			}
			var s string
			_ = json.Unmarshal(e, &s)
			p.Include = append(p.Include, s)
			return nil
		}, nil)
		if err != nil {
			return err
		}
	}
	if v, ok := o.raw("tools"); ok {
		p.Tools = []ResponseTool{}
		err := readArray("tools", v, func(path string, _ int, e json.RawMessage) error {
			t, err := decodeTool(path, e)
			p.Tools = append(p.Tools, t)
			return err
		}, nil)
		if err != nil {
			return err
		}
	}
	if v, ok := o.raw("tool_choice"); ok {
		c, err := decodeToolChoice("tool_choice", v)
		if err != nil {
			return err
		}
		p.ToolChoice = &c
	}
	if v, ok := o.raw("text"); ok {
		if p.Text, err = decodeTextConfig("text", v); err != nil {
			return err
		}
	}
	if v, ok := o.raw("reasoning"); ok {
		if p.Reasoning, err = decodeReasoningConfig("reasoning", v); err != nil {
			return err
		}
	}
	if v, ok := o.raw("stream_options"); ok {
		so, err := readObject("stream_options", v)
		if err != nil {
			return err
		}
		p.StreamOptions = &ResponseStreamOptions{}
		if err := firstErr(so.boolPtr("include_obfuscation", &p.StreamOptions.IncludeObfuscation), so.done()); err != nil {
			return err
		}
	}
	if v, ok := o.raw("prompt"); ok {
		if p.Prompt, err = decodePrompt("prompt", v); err != nil {
			return err
		}
	}
	// Valid on the hosted API, not implemented here: refused unless absent,
	// null (or empty).
	refused := []struct{ name, why string }{
		{"moderation", "there is no moderation model"},
		{"access_programs", "access programs are an OpenAI account feature"},
		{"image", "image context compression is not supported"},
		{"prompt_cache_options", "prompt cache options are not supported"},
	}
	for _, r := range refused {
		if err := refuseSet(o, r.name, r.why); err != nil {
			return err
		}
	}
	if v, ok := o.raw("context_management"); ok && string(v) != "[]" {
		if v[0] != '[' {
			return badType("context_management", "an array", v)
		}
		return unsupported("context_management", "server-side compaction is not supported")
	}
	return o.done()
}

// Validate refuses what the API refuses: values out of range, unknown enum
// values, and combinations it forbids, each as a 400 naming the parameter.
// It checks a decoded request and a value a Go caller built alike; whether
// a previous response, conversation, file or vector store exists is for
// the engine.
func (p *ResponseCreateParams) Validate() error {
	if p.Model == "" && p.Prompt == nil {
		return missingParam("model")
	}
	if p.Prompt != nil && p.Prompt.ID == "" {
		return missingParam("prompt.id")
	}
	if p.PreviousResponseID != nil && p.Conversation != nil {
		return invalidCode("conversation", CodeMutuallyExclusive,
			"Mutually exclusive parameters: Ensure you are only providing one of: 'previous_response_id' or 'conversation'.")
	}
	if p.Conversation != nil && p.Conversation.ID == "" {
		return invalidCode("conversation", CodeInvalidValue, "Invalid 'conversation': empty string.")
	}
	if p.PreviousResponseID != nil && *p.PreviousResponseID == "" {
		return invalidCode("previous_response_id", CodeInvalidValue, "Invalid 'previous_response_id': empty string.")
	}
	if p.Input.IsZero() && p.PreviousResponseID == nil && p.Conversation == nil {
		return missingParam("input")
	}
	if p.Background != nil && *p.Background && !p.StoreOrDefault() {
		return invalidCode("background", CodeInvalidValue, "Invalid value for 'background': background mode requires 'store' to be true.")
	}
	if err := firstErr(
		floatRange("temperature", p.Temperature, 0, 2), floatRange("top_p", p.TopP, 0, 1),
		intMin("max_output_tokens", p.MaxOutputTokens, 16), intMin("max_tool_calls", p.MaxToolCalls, 1),
		intRange("top_logprobs", p.TopLogprobs, 0, 20), p.Metadata.Check("metadata"),
		enumPtr("truncation", p.Truncation, TruncationAuto, TruncationDisabled),
		enumPtr("service_tier", p.ServiceTier, serviceTiers...),
		enumPtr("prompt_cache_retention", p.PromptCacheRetention, "in_memory", "24h"),
	); err != nil {
		return err
	}
	if p.TopLogprobs != nil && *p.TopLogprobs > 0 {
		return unsupported("top_logprobs", "log probabilities are not supported")
	}
	if p.SafetyIdentifier != nil && len(*p.SafetyIdentifier) > 64 {
		return invalidCode("safety_identifier", CodeStringTooLong, "Invalid 'safety_identifier': string too long. Expected a string with maximum length 64, but got a string with length %d instead.", len(*p.SafetyIdentifier))
	}
	if err := CheckInclude("include", p.Include); err != nil {
		return err
	}
	if err := checkItems("input", p.Input.Items); err != nil {
		return err
	}
	if err := checkTools(p.Tools); err != nil {
		return err
	}
	if err := checkToolChoice(p.ToolChoice, p.Tools); err != nil {
		return err
	}
	if p.Text != nil {
		if err := checkTextConfig(p.Text); err != nil {
			return err
		}
	}
	if r := p.Reasoning; r != nil {
		if err := firstErr(enumPtr("reasoning.effort", r.Effort, reasoningEfforts...), enumPtr("reasoning.summary", r.Summary, reasoningSummaries...)); err != nil {
			return err
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func enumPtr(param string, v *string, allowed ...string) error {
	if v != nil && !contains(allowed, *v) {
		return badValue(param, *v, allowed...)
	}
	return nil
}

func floatRange(param string, v *float64, lo, hi float64) error {
	switch {
	case v == nil:
	case *v < lo:
		return invalidCode(param, CodeDecimalBelowMin, "Invalid '%s': decimal below minimum value. Expected a value >= %g, but got %g instead.", param, lo, *v)
	case *v > hi:
		return invalidCode(param, CodeDecimalAboveMax, "Invalid '%s': decimal above maximum value. Expected a value <= %g, but got %g instead.", param, hi, *v)
	}
	return nil
}

func intMin(param string, v *int, lo int) error {
	if v != nil && *v < lo {
		return invalidCode(param, CodeBelowMin, "Invalid '%s': integer below minimum value. Expected a value >= %d, but got %d instead.", param, lo, *v)
	}
	return nil
}

func intRange(param string, v *int, lo, hi int) error {
	if err := intMin(param, v, lo); err != nil {
		return err
	}
	if v != nil && *v > hi {
		return invalidCode(param, CodeAboveMax, "Invalid '%s': integer above maximum value. Expected a value <= %d, but got %d instead.", param, hi, *v)
	}
	return nil
}

// CheckItems validates items a Go caller built (decoded items already
// passed these checks): each has exactly one variant, roles and content
// part types agree, and calls and outputs name their call_id.
func CheckItems(param string, items []Item) error { return checkItems(param, items) }

func checkItems(param string, items []Item) error {
	for i, it := range items {
		path := index(param, i)
		n := 0
		for _, set := range []bool{it.Message != nil, it.FunctionCall != nil, it.FunctionCallOutput != nil, it.Reasoning != nil,
			it.FileSearchCall != nil, it.CodeInterpreterCall != nil, it.Reference != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return invalidCode(path, CodeInvalidValue, "Invalid '%s': an item must be exactly one of message, function_call, function_call_output, reasoning, file_search_call, code_interpreter_call or item_reference.", path)
		}
		switch v := it.AsAny().(type) {
		case *MessageItem:
			if err := checkMessage(path, v); err != nil {
				return err
			}
		case *FunctionCallItem:
			if v.CallID == "" {
				return missingParam(join(path, "call_id"))
			}
			if v.Name == "" {
				return missingParam(join(path, "name"))
			}
		case *FunctionCallOutputItem:
			if v.CallID == "" {
				return missingParam(join(path, "call_id"))
			}
			if err := checkParts(join(path, "output"), v.Output.Parts, inputPartTypes); err != nil {
				return err
			}
		case *ReasoningItem:
			if v.ID == "" {
				return missingParam(join(path, "id"))
			}
			if err := firstErr(checkParts(join(path, "summary"), v.Summary, []string{PartSummaryText}),
				checkParts(join(path, "content"), v.Content, []string{PartReasoningText})); err != nil {
				return err
			}
		case *ItemReference:
			if v.ID == "" {
				return missingParam(join(path, "id"))
			}
		case *FileSearchCallItem:
			if v.ID == "" {
				return missingParam(join(path, "id"))
			}
		case *CodeInterpreterCallItem:
			if v.ID == "" {
				return missingParam(join(path, "id"))
			}
		}
	}
	return nil
}

func checkMessage(path string, m *MessageItem) error {
	allowed := inputPartTypes
	switch m.Role {
	case RoleUser, RoleSystem, RoleDeveloper:
	case RoleAssistant:
		allowed = assistantPartTypes
	case "":
		return missingParam(join(path, "role"))
	default:
		return badValue(join(path, "role"), string(m.Role), string(RoleUser), string(RoleAssistant), string(RoleSystem), string(RoleDeveloper))
	}
	if m.Status != "" && !contains(itemStatuses, m.Status) {
		return badValue(join(path, "status"), m.Status, itemStatuses...)
	}
	return checkParts(join(path, "content"), m.Content, allowed)
}

func checkParts(path string, parts []ContentPart, allowed []string) error {
	for i, p := range parts {
		pp := index(path, i)
		if !contains(allowed, p.Type) {
			return badValue(pp, p.Type, allowed...)
		}
		switch p.Type {
		case PartInputImage:
			if p.ImageURL == nil && p.FileID == nil {
				return invalidCode(pp, CodeMissingParameter, "Invalid '%s': an input_image needs one of 'image_url' or 'file_id'.", pp)
			}
			if p.Detail != "" && !contains([]string{DetailLow, DetailHigh, DetailAuto, DetailOriginal}, p.Detail) {
				return badValue(join(pp, "detail"), p.Detail, DetailLow, DetailHigh, DetailAuto, DetailOriginal)
			}
		case PartInputFile:
			if p.FileID == nil && p.FileData == nil && p.FileURL == nil {
				return invalidCode(pp, CodeMissingParameter, "Invalid '%s': an input_file needs one of 'file_id', 'file_data' or 'file_url'.", pp)
			}
		}
	}
	return nil
}

func checkTools(tools []ResponseTool) error {
	names := map[string]bool{}
	for i, t := range tools {
		path := index("tools", i)
		switch t.Type {
		case ToolTypeFunction:
			if t.Name == "" {
				return missingParam(join(path, "name"))
			}
			if !validName(t.Name) {
				return invalidCode(join(path, "name"), CodeInvalidValue, "Invalid '%s': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'.", join(path, "name"))
			}
			if names[t.Name] {
				return invalidCode(join(path, "name"), CodeInvalidValue, "Invalid 'tools': duplicate function name '%s'.", t.Name)
			}
			names[t.Name] = true
			if len(t.Parameters) > 0 && !json.Valid(t.Parameters) {
				return badType(join(path, "parameters"), "an object", t.Parameters)
			}
		case ToolTypeFileSearch:
			if len(t.VectorStoreIDs) == 0 {
				return invalidCode(join(path, "vector_store_ids"), CodeEmptyArray, "Invalid '%s': empty array. Expected an array with minimum length 1, but got an empty array instead.", join(path, "vector_store_ids"))
			}
			if t.MaxNumResults != nil && (*t.MaxNumResults < 1 || *t.MaxNumResults > 50) {
				return intRange(join(path, "max_num_results"), t.MaxNumResults, 1, 50)
			}
			if r := t.RankingOptions; r != nil {
				if err := floatRange(join(path, "ranking_options.score_threshold"), r.ScoreThreshold, 0, 1); err != nil {
					return err
				}
				if r.Ranker != "" && r.Ranker != RankerAuto && r.Ranker != RankerDefault20241115 {
					return badValue(join(path, "ranking_options.ranker"), r.Ranker, RankerAuto, RankerDefault20241115)
				}
			}
			if t.Filters != nil {
				if err := t.Filters.Check(join(path, "filters")); err != nil {
					return err
				}
			}
		case ToolTypeCodeInterpreter:
			if t.Container == nil || (t.Container.ID == "" && t.Container.Auto == nil) {
				return missingParam(join(path, "container"))
			}
		default:
			return badValue(join(path, "type"), string(t.Type), responseToolTypes...)
		}
	}
	return nil
}

// validName reports whether s matches ^[a-zA-Z0-9_-]{1,64}$.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func checkToolChoice(c *ResponseToolChoice, tools []ResponseTool) error {
	if c == nil {
		return nil
	}
	has := func(t ToolType, name string) bool {
		for _, tool := range tools {
			if tool.Type == t && (t != ToolTypeFunction || tool.Name == name) {
				return true
			}
		}
		return false
	}
	switch c.Type {
	case "":
		if err := enumPtr("tool_choice", &c.Mode, ToolChoiceNone, ToolChoiceAuto, ToolChoiceRequired); c.Mode != "" && err != nil {
			return err
		}
		if c.Mode == ToolChoiceRequired && len(tools) == 0 {
			return invalidCode("tool_choice", CodeInvalidValue, "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.")
		}
	case string(ToolTypeFunction):
		if c.Name == "" {
			return missingParam("tool_choice.name")
		}
		if !has(ToolTypeFunction, c.Name) {
			return invalidCode("tool_choice", CodeInvalidValue, "Tool choice 'function' not found in 'tools' parameter: no function named '%s'.", c.Name)
		}
	case string(ToolTypeFileSearch), string(ToolTypeCodeInterpreter):
		if !has(ToolType(c.Type), "") {
			return invalidCode("tool_choice", CodeInvalidValue, "Tool choice '%s' not found in 'tools' parameter.", c.Type)
		}
	case ToolChoiceAllowedTools:
		if err := enumPtr("tool_choice.mode", &c.Mode, ToolChoiceAuto, ToolChoiceRequired); err != nil {
			return err
		}
		for i, t := range c.Tools {
			if !has(t.Type, t.Name) {
				return invalidCode(fmt.Sprintf("tool_choice.tools[%d]", i), CodeInvalidValue, "Tool '%s' in 'tool_choice.tools' not found in 'tools' parameter.", allowedName(t))
			}
		}
	default:
		return badValue("tool_choice.type", c.Type, string(ToolTypeFunction), string(ToolTypeFileSearch), string(ToolTypeCodeInterpreter), ToolChoiceAllowedTools)
	}
	return nil
}

func allowedName(t AllowedTool) string {
	if t.Name != "" {
		return t.Name
	}
	return string(t.Type)
}

func checkTextConfig(c *ResponseTextConfig) error {
	if err := enumPtr("text.verbosity", c.Verbosity, "low", "medium", "high"); err != nil {
		return err
	}
	f := c.Format
	if f == nil {
		return nil
	}
	switch f.Type {
	case ResponseFormatText, ResponseFormatJSONObject:
	case ResponseFormatJSONSchema:
		if f.Name == "" {
			return missingParam("text.format.name")
		}
		if !validName(f.Name) {
			return invalidCode("text.format.name", CodeInvalidValue, "Invalid 'text.format.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'.")
		}
		if len(f.Schema) == 0 {
			return missingParam("text.format.schema")
		}
		var schema map[string]any
		if json.Unmarshal(f.Schema, &schema) != nil {
			return badType("text.format.schema", "an object", f.Schema)
		}
	case "":
		return missingParam("text.format.type")
	default:
		return badValue("text.format.type", f.Type, ResponseFormatText, ResponseFormatJSONSchema, ResponseFormatJSONObject)
	}
	return nil
}

// ResponseRetrieveParams are GET /v1/responses/{id}'s query: include[], and
// for a background response's stream, stream and starting_after (the
// sequence_number after which to replay).
type ResponseRetrieveParams struct {
	Include            []string `json:"include,omitempty"`
	Stream             bool     `json:"stream,omitempty"`
	StartingAfter      *int     `json:"starting_after,omitempty"`
	IncludeObfuscation *bool    `json:"include_obfuscation,omitempty"`
}

// CheckInclude validates include[] values at param ("include").
func CheckInclude(param string, include []string) error {
	for i, inc := range include {
		p := index(param, i)
		if !contains(includables, inc) {
			return badValue(p, inc, includables...)
		}
		if why, ok := includeRefused[inc]; ok {
			return unsupported(p, why)
		}
	}
	return nil
}

// InputItemListParams pages through a response's input items (and
// conversation items): ListParams plus include[].
type InputItemListParams struct {
	ListParams
	Include []string `json:"include,omitempty"`
}
