package apitype

import (
	"encoding/json"
	"strings"
)

// ItemType is the "type" of a Responses item (input, output or conversation).
type ItemType string

// Item types Hearth models. The API's other types (web_search_call,
// computer_call, mcp_call, …) are refused when decoded, with
// unsupported_parameter: Hearth runs none of their tools.
const (
	ItemMessage             ItemType = "message"
	ItemFunctionCall        ItemType = "function_call"
	ItemFunctionCallOutput  ItemType = "function_call_output"
	ItemReasoning           ItemType = "reasoning"
	ItemFileSearchCall      ItemType = "file_search_call"
	ItemCodeInterpreterCall ItemType = "code_interpreter_call"
	ItemReferenceType       ItemType = "item_reference"
)

// itemTypesRefused are the API's other item types.
var itemTypesRefused = []string{"computer_call", "computer_call_output", "web_search_call", "image_generation_call",
	"local_shell_call", "local_shell_call_output", "shell_call", "shell_call_output", "apply_patch_call",
	"apply_patch_call_output", "mcp_list_tools", "mcp_approval_request", "mcp_approval_response", "mcp_call",
	"custom_tool_call", "custom_tool_call_output", "tool_search_call", "tool_search_output", "additional_tools",
	"configuration_update", "compaction", "compaction_trigger", "program", "program_output"}

// Roles of a Responses message (RoleUser and RoleAssistant are shared with
// the Assistants API).
const (
	RoleSystem    Role = "system"
	RoleDeveloper Role = "developer"
)

// Item statuses. Tool calls also have searching (file search), interpreting
// (code interpreter) and failed.
const (
	ItemInProgress   = "in_progress"
	ItemCompleted    = "completed"
	ItemIncomplete   = "incomplete"
	ItemSearching    = "searching"
	ItemInterpreting = "interpreting"
	ItemFailed       = "failed"
)

// Item is one item of a response's input or output or of a conversation:
// exactly one of the variant fields is set, the one AsAny returns. On the
// wire it is the variant's object, told apart by "type".
type Item struct {
	Message             *MessageItem
	FunctionCall        *FunctionCallItem
	FunctionCallOutput  *FunctionCallOutputItem
	Reasoning           *ReasoningItem
	FileSearchCall      *FileSearchCallItem
	CodeInterpreterCall *CodeInterpreterCallItem
	// Reference points at a stored item by id; input only.
	Reference *ItemReference
}

// ItemVariant is implemented by the variant types of Item.
type ItemVariant interface {
	ItemType() ItemType
	isItem()
}

func (*MessageItem) ItemType() ItemType             { return ItemMessage }
func (*FunctionCallItem) ItemType() ItemType        { return ItemFunctionCall }
func (*FunctionCallOutputItem) ItemType() ItemType  { return ItemFunctionCallOutput }
func (*ReasoningItem) ItemType() ItemType           { return ItemReasoning }
func (*FileSearchCallItem) ItemType() ItemType      { return ItemFileSearchCall }
func (*CodeInterpreterCallItem) ItemType() ItemType { return ItemCodeInterpreterCall }
func (*ItemReference) ItemType() ItemType           { return ItemReferenceType }
func (*MessageItem) isItem()                        {}
func (*FunctionCallItem) isItem()                   {}
func (*FunctionCallOutputItem) isItem()             {}
func (*ReasoningItem) isItem()                      {}
func (*FileSearchCallItem) isItem()                 {}
func (*CodeInterpreterCallItem) isItem()            {}
func (*ItemReference) isItem()                      {}

// AsAny returns the set variant (a *MessageItem, *FunctionCallItem, …), or
// nil for the zero Item. Switch on its type:
//
//	switch v := it.AsAny().(type) {
//	case *apitype.MessageItem: …
//	case *apitype.FunctionCallItem: …
//	}
func (it Item) AsAny() ItemVariant {
	switch {
	case it.Message != nil:
		return it.Message
	case it.FunctionCall != nil:
		return it.FunctionCall
	case it.FunctionCallOutput != nil:
		return it.FunctionCallOutput
	case it.Reasoning != nil:
		return it.Reasoning
	case it.FileSearchCall != nil:
		return it.FileSearchCall
	case it.CodeInterpreterCall != nil:
		return it.CodeInterpreterCall
	case it.Reference != nil:
		return it.Reference
	}
	return nil
}

// Type returns the item's type, "" for the zero Item.
func (it Item) Type() ItemType {
	if v := it.AsAny(); v != nil {
		return v.ItemType()
	}
	return ""
}

// ID returns the item's id ("" for an input item sent without one).
func (it Item) ID() string {
	switch v := it.AsAny().(type) {
	case *MessageItem:
		return v.ID
	case *FunctionCallItem:
		return v.ID
	case *FunctionCallOutputItem:
		return v.ID
	case *ReasoningItem:
		return v.ID
	case *FileSearchCallItem:
		return v.ID
	case *CodeInterpreterCallItem:
		return v.ID
	case *ItemReference:
		return v.ID
	}
	return ""
}

// ItemOf wraps a variant in an Item.
func ItemOf(v ItemVariant) Item {
	switch v := v.(type) {
	case *MessageItem:
		return Item{Message: v}
	case *FunctionCallItem:
		return Item{FunctionCall: v}
	case *FunctionCallOutputItem:
		return Item{FunctionCallOutput: v}
	case *ReasoningItem:
		return Item{Reasoning: v}
	case *FileSearchCallItem:
		return Item{FileSearchCall: v}
	case *CodeInterpreterCallItem:
		return Item{CodeInterpreterCall: v}
	case *ItemReference:
		return Item{Reference: v}
	}
	return Item{}
}

// MarshalJSON writes the variant's object.
func (it Item) MarshalJSON() ([]byte, error) {
	v := it.AsAny()
	if v == nil {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON reads an item strictly: unknown fields, wrong types and
// unknown item types are a *Error naming the parameter.
func (it *Item) UnmarshalJSON(b []byte) error {
	return decodeStrict(b, func(b []byte) error {
		v, err := decodeItem("", b)
		if err == nil {
			*it = v
		}
		return err
	})
}

// MessageItem is a message: the caller's (user, system, developer) or the
// model's (assistant). Input messages may come without id, status and type
// and with a string content, which decodes to one input_text part (an
// output_text part for assistant).
type MessageItem struct {
	ID      string        `json:"id,omitempty"`
	Type    ItemType      `json:"type"`
	Role    Role          `json:"role"`
	Status  string        `json:"status,omitempty"`
	Content []ContentPart `json:"content"`
	// Phase is commentary or final_answer on some models' assistant messages.
	Phase *string `json:"phase,omitempty"`
}

// MarshalJSON always writes type "message" and content as a list.
func (m MessageItem) MarshalJSON() ([]byte, error) {
	type plain MessageItem
	m.Type = ItemMessage
	if m.Content == nil {
		m.Content = []ContentPart{}
	}
	return json.Marshal(plain(m))
}

// Text returns the message's text parts (input_text, output_text, text),
// concatenated.
func (m *MessageItem) Text() string {
	var b strings.Builder
	for _, p := range m.Content {
		switch p.Type {
		case PartInputText, PartOutputText, PartText:
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// FunctionCallItem is the model's call of a function tool; the caller
// answers it with a FunctionCallOutputItem naming CallID.
type FunctionCallItem struct {
	ID        string   `json:"id,omitempty"`
	Type      ItemType `json:"type"`
	CallID    string   `json:"call_id"`
	Name      string   `json:"name"`
	Arguments string   `json:"arguments"`
	Status    string   `json:"status,omitempty"`
	Namespace string   `json:"namespace,omitempty"`
}

func (c FunctionCallItem) MarshalJSON() ([]byte, error) {
	type plain FunctionCallItem
	c.Type = ItemFunctionCall
	return json.Marshal(plain(c))
}

// FunctionCallOutputItem is the caller's answer to a function call.
type FunctionCallOutputItem struct {
	ID     string             `json:"id,omitempty"`
	Type   ItemType           `json:"type"`
	CallID string             `json:"call_id"`
	Output FunctionCallOutput `json:"output"`
	Status string             `json:"status,omitempty"`
	// Name and Namespace may repeat the function's, as some clients send them.
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

func (c FunctionCallOutputItem) MarshalJSON() ([]byte, error) {
	type plain FunctionCallOutputItem
	c.Type = ItemFunctionCallOutput
	return json.Marshal(plain(c))
}

// FunctionCallOutput is a function's output: a string, or input_text /
// input_image / input_file parts when Parts is not nil.
type FunctionCallOutput struct {
	Text  string
	Parts []ContentPart
}

// String returns the output's text: Text, or the text parts joined.
func (o FunctionCallOutput) String() string {
	if o.Parts == nil {
		return o.Text
	}
	var b strings.Builder
	for _, p := range o.Parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

func (o FunctionCallOutput) MarshalJSON() ([]byte, error) {
	if o.Parts == nil {
		return json.Marshal(o.Text)
	}
	return json.Marshal(o.Parts)
}

func (o *FunctionCallOutput) UnmarshalJSON(b []byte) error {
	return decodeStrict(b, func(b []byte) error {
		v, err := decodeFunctionOutput("output", b)
		if err == nil {
			*o = v
		}
		return err
	})
}

// ReasoningItem is a thinking model's reasoning: Summary (summary_text parts,
// always written) and Content (reasoning_text parts, the thoughts themselves,
// written when asked for).
type ReasoningItem struct {
	ID               string        `json:"id"`
	Type             ItemType      `json:"type"`
	Summary          []ContentPart `json:"summary"`
	Content          []ContentPart `json:"content,omitempty"`
	EncryptedContent *string       `json:"encrypted_content,omitempty"`
	Status           string        `json:"status,omitempty"`
}

func (r ReasoningItem) MarshalJSON() ([]byte, error) {
	type plain ReasoningItem
	r.Type = ItemReasoning
	if r.Summary == nil {
		r.Summary = []ContentPart{}
	}
	return json.Marshal(plain(r))
}

// FileSearchCallItem is a file_search tool call and (when
// include=file_search_call.results) its results.
type FileSearchCallItem struct {
	ID      string                 `json:"id"`
	Type    ItemType               `json:"type"`
	Queries []string               `json:"queries"`
	Status  string                 `json:"status"`
	Results []FileSearchCallResult `json:"results"`
}

func (c FileSearchCallItem) MarshalJSON() ([]byte, error) {
	type plain FileSearchCallItem
	c.Type = ItemFileSearchCall
	if c.Queries == nil {
		c.Queries = []string{}
	}
	return json.Marshal(plain(c))
}

// FileSearchCallResult is one chunk found.
type FileSearchCallResult struct {
	FileID     string         `json:"file_id"`
	Filename   string         `json:"filename"`
	Score      float64        `json:"score"`
	Text       string         `json:"text"`
	Attributes map[string]any `json:"attributes"`
}

// CodeInterpreterCallItem is a code_interpreter tool call: the code, the
// container it ran in and (when include=code_interpreter_call.outputs) its
// outputs.
type CodeInterpreterCallItem struct {
	ID          string                      `json:"id"`
	Type        ItemType                    `json:"type"`
	Code        *string                     `json:"code"`
	ContainerID string                      `json:"container_id"`
	Outputs     []CodeInterpreterCallOutput `json:"outputs"`
	Status      string                      `json:"status"`
}

func (c CodeInterpreterCallItem) MarshalJSON() ([]byte, error) {
	type plain CodeInterpreterCallItem
	c.Type = ItemCodeInterpreterCall
	return json.Marshal(plain(c))
}

// CodeInterpreterCallOutput is {type:"logs", logs} or {type:"image", url}.
type CodeInterpreterCallOutput struct {
	Type string `json:"type"`
	Logs string `json:"logs,omitempty"`
	URL  string `json:"url,omitempty"`
}

// MarshalJSON writes logs (even empty: the field is required) or url, by type.
func (o CodeInterpreterCallOutput) MarshalJSON() ([]byte, error) {
	if o.Type == "image" {
		return json.Marshal(struct {
			Type string `json:"type"`
			URL  string `json:"url"`
		}{o.Type, o.URL})
	}
	return json.Marshal(struct {
		Type string `json:"type"`
		Logs string `json:"logs"`
	}{o.Type, o.Logs})
}

// ItemReference names a stored item to include in the input.
type ItemReference struct {
	ID   string   `json:"id"`
	Type ItemType `json:"type"`
}

func (r ItemReference) MarshalJSON() ([]byte, error) {
	type plain ItemReference
	r.Type = ItemReferenceType
	return json.Marshal(plain(r))
}

// Content part types.
const (
	PartInputText     = "input_text"
	PartInputImage    = "input_image"
	PartInputFile     = "input_file"
	PartOutputText    = "output_text"
	PartRefusal       = "refusal"
	PartSummaryText   = "summary_text"
	PartReasoningText = "reasoning_text"
	// PartText appears in conversation items the hosted API wrote itself.
	PartText = "text"
)

// Image details.
const (
	DetailAuto     = "auto"
	DetailLow      = "low"
	DetailHigh     = "high"
	DetailOriginal = "original"
)

// ContentPart is one part of a message's content (or a reasoning item's
// summary or content). Type says which fields are used:
//
//	input_text, output_text, summary_text, reasoning_text, text: Text
//	output_text: Annotations (always written) and Logprobs
//	refusal: Refusal
//	input_image: ImageURL or FileID, Detail
//	input_file: FileID, FileData, FileURL or Filename
//
// MarshalJSON writes exactly the fields of the type.
type ContentPart struct {
	Type        string
	Text        string
	Annotations []OutputAnnotation
	Logprobs    []Logprob
	Refusal     string
	ImageURL    *string
	FileID      *string
	Detail      string
	FileData    *string
	FileURL     *string
	Filename    *string
}

// InputText returns an input_text part.
func InputText(s string) ContentPart { return ContentPart{Type: PartInputText, Text: s} }

// OutputText returns an output_text part with no annotations.
func OutputText(s string) ContentPart {
	return ContentPart{Type: PartOutputText, Text: s, Annotations: []OutputAnnotation{}}
}

func (p ContentPart) MarshalJSON() ([]byte, error) {
	switch p.Type {
	case PartOutputText:
		ann := p.Annotations
		if ann == nil {
			ann = []OutputAnnotation{}
		}
		return json.Marshal(struct {
			Type        string             `json:"type"`
			Text        string             `json:"text"`
			Annotations []OutputAnnotation `json:"annotations"`
			Logprobs    []Logprob          `json:"logprobs,omitempty"`
		}{p.Type, p.Text, ann, p.Logprobs})
	case PartRefusal:
		return json.Marshal(struct {
			Type    string `json:"type"`
			Refusal string `json:"refusal"`
		}{p.Type, p.Refusal})
	case PartInputImage:
		d := p.Detail
		if d == "" {
			d = DetailAuto
		}
		return json.Marshal(struct {
			Type     string  `json:"type"`
			Detail   string  `json:"detail"`
			FileID   *string `json:"file_id"`
			ImageURL *string `json:"image_url"`
		}{p.Type, d, p.FileID, p.ImageURL})
	case PartInputFile:
		return json.Marshal(struct {
			Type     string  `json:"type"`
			FileID   *string `json:"file_id,omitempty"`
			FileData *string `json:"file_data,omitempty"`
			FileURL  *string `json:"file_url,omitempty"`
			Filename *string `json:"filename,omitempty"`
			Detail   string  `json:"detail,omitempty"`
		}{p.Type, p.FileID, p.FileData, p.FileURL, p.Filename, p.Detail})
	}
	return json.Marshal(struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}{p.Type, p.Text})
}

func (p *ContentPart) UnmarshalJSON(b []byte) error {
	return decodeStrict(b, func(b []byte) error {
		v, err := decodePart("", b, allPartTypes)
		if err == nil {
			*p = v
		}
		return err
	})
}

// Logprob is one token's log probability in an output_text part.
type Logprob struct {
	Token       string       `json:"token"`
	Bytes       []int        `json:"bytes"`
	Logprob     float64      `json:"logprob"`
	TopLogprobs []TopLogprob `json:"top_logprobs"`
}

// TopLogprob is one of the likeliest tokens at a position.
type TopLogprob struct {
	Token   string  `json:"token"`
	Bytes   []int   `json:"bytes"`
	Logprob float64 `json:"logprob"`
}

// Output annotation types.
const (
	AnnotationURLCitation           = "url_citation"
	AnnotationContainerFileCitation = "container_file_citation"
)

// OutputAnnotation is an annotation on an output_text part:
//
//	file_citation: FileID, Filename, Index
//	file_path: FileID, Index
//	url_citation: URL, Title, StartIndex, EndIndex
//	container_file_citation: ContainerID, FileID, Filename, StartIndex, EndIndex
type OutputAnnotation struct {
	Type        string
	FileID      string
	Filename    string
	Index       int
	URL         string
	Title       string
	ContainerID string
	StartIndex  int
	EndIndex    int
}

func (a OutputAnnotation) MarshalJSON() ([]byte, error) {
	switch a.Type {
	case AnnotationFileCitation:
		return json.Marshal(struct {
			Type     string `json:"type"`
			FileID   string `json:"file_id"`
			Filename string `json:"filename"`
			Index    int    `json:"index"`
		}{a.Type, a.FileID, a.Filename, a.Index})
	case AnnotationFilePath:
		return json.Marshal(struct {
			Type   string `json:"type"`
			FileID string `json:"file_id"`
			Index  int    `json:"index"`
		}{a.Type, a.FileID, a.Index})
	case AnnotationURLCitation:
		return json.Marshal(struct {
			Type       string `json:"type"`
			URL        string `json:"url"`
			Title      string `json:"title"`
			StartIndex int    `json:"start_index"`
			EndIndex   int    `json:"end_index"`
		}{a.Type, a.URL, a.Title, a.StartIndex, a.EndIndex})
	}
	return json.Marshal(struct {
		Type        string `json:"type"`
		ContainerID string `json:"container_id"`
		FileID      string `json:"file_id"`
		Filename    string `json:"filename"`
		StartIndex  int    `json:"start_index"`
		EndIndex    int    `json:"end_index"`
	}{a.Type, a.ContainerID, a.FileID, a.Filename, a.StartIndex, a.EndIndex})
}

func (a *OutputAnnotation) UnmarshalJSON(b []byte) error {
	return decodeStrict(b, func(b []byte) error {
		v, err := decodeAnnotation("", b)
		if err == nil {
			*a = v
		}
		return err
	})
}

// ResponseInput is a response's input: a string (Items nil) or a list of
// items. A string is one user message.
type ResponseInput struct {
	Text  string
	Items []Item
}

// TextResponseInput returns a string input.
func TextResponseInput(s string) ResponseInput { return ResponseInput{Text: s} }

// ItemsResponseInput returns a list input.
func ItemsResponseInput(items ...Item) ResponseInput {
	if items == nil {
		items = []Item{}
	}
	return ResponseInput{Items: items}
}

// IsZero reports an empty string input (and lets omitzero leave it out).
func (in ResponseInput) IsZero() bool { return in.Items == nil && in.Text == "" }

// AsItems returns the input as items: a string becomes one user message
// with an input_text part.
func (in ResponseInput) AsItems() []Item {
	if in.Items != nil {
		return in.Items
	}
	if in.Text == "" {
		return nil
	}
	return []Item{{Message: &MessageItem{Type: ItemMessage, Role: RoleUser, Content: []ContentPart{InputText(in.Text)}}}}
}

func (in ResponseInput) MarshalJSON() ([]byte, error) {
	if in.Items == nil {
		return json.Marshal(in.Text)
	}
	return json.Marshal(in.Items)
}

func (in *ResponseInput) UnmarshalJSON(b []byte) error {
	return decodeStrict(b, func(b []byte) error {
		v, err := decodeInput("input", b)
		if err == nil {
			*in = v
		}
		return err
	})
}

// Decoders. Each takes the parameter path of the value it reads.

func decodeInput(path string, b []byte) (ResponseInput, error) {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return ResponseInput{}, badType(path, "a string or an array", b)
		}
		return ResponseInput{Text: s}, nil
	}
	if len(b) == 0 || b[0] != '[' {
		return ResponseInput{}, invalidCode(path, CodeInvalidType, "Invalid type for '%s': expected one of a string or array of input items, but got %s instead.", path, kindOf(b))
	}
	items, err := decodeItems(path, b)
	return ResponseInput{Items: items}, err
}

func decodeItems(path string, b []byte) ([]Item, error) {
	items := []Item{}
	err := readArray(path, b, func(p string, _ int, e json.RawMessage) error {
		it, err := decodeItem(p, e)
		items = append(items, it)
		return err
	}, nil)
	return items, err
}

var itemTypes = []string{string(ItemMessage), string(ItemFunctionCall), string(ItemFunctionCallOutput), string(ItemReasoning),
	string(ItemFileSearchCall), string(ItemCodeInterpreterCall), string(ItemReferenceType)}

func decodeItem(path string, b []byte) (Item, error) {
	o, err := readObject(path, b)
	if err != nil {
		return Item{}, err
	}
	t, ok := o.typeOf()
	if !ok {
		if o.has("type") && !isNull(o.val("type")) {
			return Item{}, badType(o.at("type"), "a string", o.val("type"))
		}
		// The API reads an untyped item as a message when it has a role
		// (EasyInputMessage) and as an item_reference when it has only an id.
		switch {
		case o.has("role"):
			t = string(ItemMessage)
		case o.has("id"):
			t = string(ItemReferenceType)
		default:
			return Item{}, missingParam(o.at("type"))
		}
	}
	o.take("type")
	var it Item
	switch ItemType(t) {
	case ItemMessage:
		it.Message, err = decodeMessage(o)
	case ItemFunctionCall:
		it.FunctionCall, err = decodeFunctionCall(o)
	case ItemFunctionCallOutput:
		it.FunctionCallOutput, err = decodeFunctionCallOutput(o)
	case ItemReasoning:
		it.Reasoning, err = decodeReasoning(o)
	case ItemFileSearchCall:
		it.FileSearchCall, err = decodeFileSearchCall(o)
	case ItemCodeInterpreterCall:
		it.CodeInterpreterCall, err = decodeCodeInterpreterCall(o)
	case ItemReferenceType:
		it.Reference = &ItemReference{Type: ItemReferenceType}
		err = o.reqStr("id", &it.Reference.ID)
	default:
		for _, r := range itemTypesRefused {
			if t == r {
				return Item{}, unsupported(o.at("type"), "items of type '"+t+"' belong to tools Hearth does not run")
			}
		}
		return Item{}, badValue(o.at("type"), t, itemTypes...)
	}
	if err != nil {
		return Item{}, err
	}
	return it, o.done()
}

var (
	inputPartTypes     = []string{PartInputText, PartInputImage, PartInputFile}
	assistantPartTypes = []string{PartOutputText, PartRefusal}
	allPartTypes       = []string{PartInputText, PartInputImage, PartInputFile, PartOutputText, PartRefusal, PartSummaryText, PartReasoningText, PartText}
	itemStatuses       = []string{ItemInProgress, ItemCompleted, ItemIncomplete}
)

func decodeMessage(o *object) (*MessageItem, error) {
	m := &MessageItem{Type: ItemMessage}
	var role string
	if !o.has("role") {
		o.take("role")
		return nil, missingParam(o.at("role"))
	}
	if err := o.enum("role", &role, string(RoleUser), string(RoleAssistant), string(RoleSystem), string(RoleDeveloper)); err != nil {
		return nil, err
	}
	m.Role = Role(role)
	if err := o.str("id", &m.ID); err != nil {
		return nil, err
	}
	if err := o.enum("status", &m.Status, itemStatuses...); err != nil {
		return nil, err
	}
	var phase string
	if err := o.enum("phase", &phase, "commentary", "final_answer"); err != nil {
		return nil, err
	}
	if phase != "" {
		m.Phase = &phase
	}
	allowed := inputPartTypes
	if m.Role == RoleAssistant {
		allowed = assistantPartTypes
	}
	v, ok := o.raw("content")
	switch {
	case !ok && !o.has("content"):
		return nil, missingParam(o.at("content"))
	case !ok:
		return nil, badType(o.at("content"), "one of a string or array of input content", []byte("null"))
	case v[0] == '"':
		var s string
		_ = json.Unmarshal(v, &s)
		p := InputText(s)
		if m.Role == RoleAssistant {
			p = OutputText(s)
		}
		m.Content = []ContentPart{p}
	case v[0] == '[':
		m.Content = []ContentPart{}
		err := readArray(o.at("content"), v, func(p string, _ int, e json.RawMessage) error {
			part, err := decodePart(p, e, allowed)
			m.Content = append(m.Content, part)
			return err
		}, nil)
		if err != nil {
			return nil, err
		}
	default:
		return nil, invalidCode(o.at("content"), CodeInvalidType, "Invalid type for '%s': expected one of a string or array of input content, but got %s instead.", o.at("content"), kindOf(v))
	}
	return m, nil
}

func decodePart(path string, b []byte, allowed []string) (ContentPart, error) {
	o, err := readObject(path, b)
	if err != nil {
		return ContentPart{}, err
	}
	var p ContentPart
	if !o.has("type") {
		o.take("type")
		return p, missingParam(o.at("type"))
	}
	if err := o.enum("type", &p.Type, allowed...); err != nil {
		// The API names the part, not its type field, for a part not
		// allowed in this role's content.
		if e, ok := err.(*Error); ok && e.Code == CodeInvalidValue {
			e.Param = path
		}
		return p, err
	}
	switch p.Type {
	case PartInputText, PartSummaryText, PartReasoningText, PartText:
		if err := o.reqStr("text", &p.Text); err != nil {
			return p, err
		}
		if p.Type == PartInputText {
			if err := refuseSet(o, "prompt_cache_breakpoint", "prompt cache breakpoints have no meaning for a local model"); err != nil {
				return p, err
			}
		}
	case PartOutputText:
		if err := o.reqStr("text", &p.Text); err != nil {
			return p, err
		}
		p.Annotations = []OutputAnnotation{}
		if v, ok := o.raw("annotations"); ok {
			err := readArray(o.at("annotations"), v, func(ap string, _ int, e json.RawMessage) error {
				a, err := decodeAnnotation(ap, e)
				p.Annotations = append(p.Annotations, a)
				return err
			}, nil)
			if err != nil {
				return p, err
			}
		}
		if v, ok := o.raw("logprobs"); ok {
			if v[0] != '[' || json.Unmarshal(v, &p.Logprobs) != nil {
				return p, badType(o.at("logprobs"), "an array of logprobs", v)
			}
		}
	case PartRefusal:
		if err := o.reqStr("refusal", &p.Refusal); err != nil {
			return p, err
		}
	case PartInputImage:
		if err := o.strPtr("image_url", &p.ImageURL); err != nil {
			return p, err
		}
		if err := o.strPtr("file_id", &p.FileID); err != nil {
			return p, err
		}
		if err := o.enum("detail", &p.Detail, DetailLow, DetailHigh, DetailAuto, DetailOriginal); err != nil {
			return p, err
		}
		if p.ImageURL == nil && p.FileID == nil {
			return p, invalidCode(path, CodeMissingParameter, "Invalid '%s': an input_image needs one of 'image_url' or 'file_id'.", path)
		}
		if err := refuseSet(o, "prompt_cache_breakpoint", "prompt cache breakpoints have no meaning for a local model"); err != nil {
			return p, err
		}
	case PartInputFile:
		if err := firstErr(o.strPtr("file_id", &p.FileID), o.strPtr("file_data", &p.FileData), o.strPtr("file_url", &p.FileURL),
			o.strPtr("filename", &p.Filename)); err != nil {
			return p, err
		}
		if err := o.enum("detail", &p.Detail, DetailAuto, DetailLow, DetailHigh); err != nil {
			return p, err
		}
		if p.FileID == nil && p.FileData == nil && p.FileURL == nil {
			return p, invalidCode(path, CodeMissingParameter, "Invalid '%s': an input_file needs one of 'file_id', 'file_data' or 'file_url'.", path)
		}
		if err := refuseSet(o, "prompt_cache_breakpoint", "prompt cache breakpoints have no meaning for a local model"); err != nil {
			return p, err
		}
	}
	return p, o.done()
}

// refuseSet refuses a field Hearth does not implement unless it is absent
// or null.
func refuseSet(o *object, name, why string) error {
	if _, ok := o.raw(name); ok {
		return unsupported(o.at(name), why)
	}
	return nil
}

func decodeAnnotation(path string, b []byte) (OutputAnnotation, error) {
	o, err := readObject(path, b)
	if err != nil {
		return OutputAnnotation{}, err
	}
	var a OutputAnnotation
	if !o.has("type") {
		o.take("type")
		return a, missingParam(o.at("type"))
	}
	if err := o.enum("type", &a.Type, AnnotationFileCitation, AnnotationURLCitation, AnnotationContainerFileCitation, AnnotationFilePath); err != nil {
		return a, err
	}
	ints := func(names ...string) error {
		for _, n := range names {
			var v *int
			if !o.has(n) {
				return missingParam(o.at(n))
			}
			if err := o.int(n, &v); err != nil {
				return err
			}
			if v != nil {
				switch n {
				case "index":
					a.Index = *v
				case "start_index":
					a.StartIndex = *v
				case "end_index":
					a.EndIndex = *v
				}
			}
		}
		return nil
	}
	switch a.Type {
	case AnnotationFileCitation:
		err = firstErr(o.reqStr("file_id", &a.FileID), o.reqStr("filename", &a.Filename), ints("index"))
	case AnnotationFilePath:
		err = firstErr(o.reqStr("file_id", &a.FileID), ints("index"))
	case AnnotationURLCitation:
		err = firstErr(o.reqStr("url", &a.URL), o.reqStr("title", &a.Title), ints("start_index", "end_index"))
	case AnnotationContainerFileCitation:
		err = firstErr(o.reqStr("container_id", &a.ContainerID), o.reqStr("file_id", &a.FileID), o.reqStr("filename", &a.Filename), ints("start_index", "end_index"))
	}
	if err != nil {
		return a, err
	}
	return a, o.done()
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func decodeFunctionCall(o *object) (*FunctionCallItem, error) {
	c := &FunctionCallItem{Type: ItemFunctionCall}
	err := firstErr(o.reqStr("call_id", &c.CallID), o.reqStr("name", &c.Name), o.reqStr("arguments", &c.Arguments),
		o.str("id", &c.ID), o.enum("status", &c.Status, itemStatuses...), o.str("namespace", &c.Namespace),
		refuseSet(o, "caller", "programmatic tool calling is not supported"),
		refuseTrue(o, "async", "asynchronous function calls are not supported"))
	return c, err
}

func refuseTrue(o *object, name, why string) error {
	var b *bool
	if err := o.boolPtr(name, &b); err != nil {
		return err
	}
	if b != nil && *b {
		return unsupported(o.at(name), why)
	}
	return nil
}

func decodeFunctionCallOutput(o *object) (*FunctionCallOutputItem, error) {
	c := &FunctionCallOutputItem{Type: ItemFunctionCallOutput}
	// call_id is optional in the SDKs' types (for programmatic callers,
	// which Hearth does not have); without it the output answers nothing.
	if err := o.reqStr("call_id", &c.CallID); err != nil {
		return nil, err
	}
	if err := firstErr(o.str("id", &c.ID), o.enum("status", &c.Status, itemStatuses...),
		refuseSet(o, "caller", "programmatic tool calling is not supported"),
		o.str("name", &c.Name), o.str("namespace", &c.Namespace)); err != nil {
		return nil, err
	}
	v, ok := o.raw("output")
	if !ok {
		if !o.has("output") {
			return nil, missingParam(o.at("output"))
		}
		return nil, badType(o.at("output"), "a string or an array", v)
	}
	out, err := decodeFunctionOutput(o.at("output"), v)
	c.Output = out
	return c, err
}

func decodeFunctionOutput(path string, b []byte) (FunctionCallOutput, error) {
	if len(b) > 0 && b[0] == '"' {
		var s string
		_ = json.Unmarshal(b, &s)
		return FunctionCallOutput{Text: s}, nil
	}
	if len(b) == 0 || b[0] != '[' {
		return FunctionCallOutput{}, invalidCode(path, CodeInvalidType, "Invalid type for '%s': expected one of a string or array of input content, but got %s instead.", path, kindOf(b))
	}
	out := FunctionCallOutput{Parts: []ContentPart{}}
	err := readArray(path, b, func(p string, _ int, e json.RawMessage) error {
		part, err := decodePart(p, e, inputPartTypes)
		out.Parts = append(out.Parts, part)
		return err
	}, nil)
	return out, err
}

func decodeReasoning(o *object) (*ReasoningItem, error) {
	r := &ReasoningItem{Type: ItemReasoning, Summary: []ContentPart{}}
	if err := firstErr(o.reqStr("id", &r.ID), o.enum("status", &r.Status, itemStatuses...), o.strPtr("encrypted_content", &r.EncryptedContent)); err != nil {
		return nil, err
	}
	parts := func(name, typ string, dst *[]ContentPart) error {
		v, ok := o.raw(name)
		if !ok {
			return nil
		}
		*dst = []ContentPart{}
		return readArray(o.at(name), v, func(p string, _ int, e json.RawMessage) error {
			part, err := decodePart(p, e, []string{typ})
			*dst = append(*dst, part)
			return err
		}, nil)
	}
	if !o.has("summary") {
		o.take("summary")
		return nil, missingParam(o.at("summary"))
	}
	if err := firstErr(parts("summary", PartSummaryText, &r.Summary), parts("content", PartReasoningText, &r.Content)); err != nil {
		return nil, err
	}
	return r, nil
}

func decodeFileSearchCall(o *object) (*FileSearchCallItem, error) {
	c := &FileSearchCallItem{Type: ItemFileSearchCall, Queries: []string{}}
	if !o.has("queries") {
		o.take("queries")
		return nil, missingParam(o.at("queries"))
	}
	if err := firstErr(o.reqStr("id", &c.ID), o.strings("queries", &c.Queries),
		o.enum("status", &c.Status, ItemInProgress, ItemSearching, ItemCompleted, ItemIncomplete, ItemFailed)); err != nil {
		return nil, err
	}
	if c.Status == "" {
		o.take("status")
		return nil, missingParam(o.at("status"))
	}
	if v, ok := o.raw("results"); ok {
		c.Results = []FileSearchCallResult{}
		err := readArray(o.at("results"), v, func(p string, _ int, e json.RawMessage) error {
			r, err := readObject(p, e)
			if err != nil {
				return err
			}
			var res FileSearchCallResult
			var score *float64
			if err := firstErr(r.str("file_id", &res.FileID), r.str("filename", &res.Filename), r.float("score", &score), r.str("text", &res.Text)); err != nil {
				return err
			}
			if score != nil {
				res.Score = *score
			}
			if v, ok := r.raw("attributes"); ok {
				if v[0] != '{' || json.Unmarshal(v, &res.Attributes) != nil {
					return badType(r.at("attributes"), "an object", v)
				}
			}
			c.Results = append(c.Results, res)
			return r.done()
		}, nil)
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

func decodeCodeInterpreterCall(o *object) (*CodeInterpreterCallItem, error) {
	c := &CodeInterpreterCallItem{Type: ItemCodeInterpreterCall}
	if err := firstErr(o.reqStr("id", &c.ID), o.strPtr("code", &c.Code), o.reqStr("container_id", &c.ContainerID),
		o.enum("status", &c.Status, ItemInProgress, ItemCompleted, ItemIncomplete, ItemInterpreting, ItemFailed)); err != nil {
		return nil, err
	}
	if c.Status == "" {
		o.take("status")
		return nil, missingParam(o.at("status"))
	}
	if v, ok := o.raw("outputs"); ok {
		c.Outputs = []CodeInterpreterCallOutput{}
		err := readArray(o.at("outputs"), v, func(p string, _ int, e json.RawMessage) error {
			r, err := readObject(p, e)
			if err != nil {
				return err
			}
			var out CodeInterpreterCallOutput
			if !r.has("type") {
				r.take("type")
				return missingParam(r.at("type"))
			}
			if err := r.enum("type", &out.Type, "logs", "image"); err != nil {
				return err
			}
			if out.Type == "logs" {
				err = r.reqStr("logs", &out.Logs)
			} else {
				err = r.reqStr("url", &out.URL)
			}
			if err != nil {
				return err
			}
			c.Outputs = append(c.Outputs, out)
			return r.done()
		}, nil)
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}
