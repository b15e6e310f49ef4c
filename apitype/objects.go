package apitype

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Object type names.
const (
	ObjectAssistant        = "assistant"
	ObjectThread           = "thread"
	ObjectMessage          = "thread.message"
	ObjectMessageDelta     = "thread.message.delta"
	ObjectRun              = "thread.run"
	ObjectRunStep          = "thread.run.step"
	ObjectRunStepDelta     = "thread.run.step.delta"
	ObjectFile             = "file"
	ObjectVectorStore      = "vector_store"
	ObjectVectorStoreFile  = "vector_store.file"
	ObjectFileBatch        = "vector_store.files_batch"
	ObjectList             = "list"
	ObjectSearchResultPage = "vector_store.search_results.page"
)

// Assistant is an assistant object.
type Assistant struct {
	ID             string          `json:"id"`
	Object         string          `json:"object"`
	CreatedAt      int64           `json:"created_at"`
	Name           *string         `json:"name"`
	Description    *string         `json:"description"`
	Model          string          `json:"model"`
	Instructions   *string         `json:"instructions"`
	Tools          []Tool          `json:"tools"`
	ToolResources  *ToolResources  `json:"tool_resources"`
	Metadata       Metadata        `json:"metadata"`
	Temperature    *float64        `json:"temperature"`
	TopP           *float64        `json:"top_p"`
	ResponseFormat *ResponseFormat `json:"response_format"`
}

// Thread is a thread object.
type Thread struct {
	ID            string         `json:"id"`
	Object        string         `json:"object"`
	CreatedAt     int64          `json:"created_at"`
	ToolResources *ToolResources `json:"tool_resources"`
	Metadata      Metadata       `json:"metadata"`
}

// Role of a message author.
type Role string

// Message roles.
const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// MessageStatus is a message's status.
type MessageStatus string

// Message statuses.
const (
	MessageInProgress MessageStatus = "in_progress"
	MessageIncomplete MessageStatus = "incomplete"
	MessageCompleted  MessageStatus = "completed"
)

// Message is a thread message.
type Message struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	CreatedAt         int64              `json:"created_at"`
	ThreadID          string             `json:"thread_id"`
	Status            MessageStatus      `json:"status"`
	IncompleteDetails *IncompleteDetails `json:"incomplete_details"`
	CompletedAt       *int64             `json:"completed_at"`
	IncompleteAt      *int64             `json:"incomplete_at"`
	Role              Role               `json:"role"`
	Content           []MessageContent   `json:"content"`
	AssistantID       *string            `json:"assistant_id"`
	RunID             *string            `json:"run_id"`
	Attachments       []Attachment       `json:"attachments"`
	Metadata          Metadata           `json:"metadata"`
}

// Text returns the concatenated text parts of the message.
func (m *Message) Text() string {
	var b bytes.Buffer
	for _, c := range m.Content {
		if c.Text != nil {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(c.Text.Value)
		}
	}
	return b.String()
}

// Content part types.
const (
	ContentText      = "text"
	ContentImageFile = "image_file"
	ContentImageURL  = "image_url"
	ContentRefusal   = "refusal"
)

// MessageContent is one content part. Index is set only inside deltas.
type MessageContent struct {
	Index     *int         `json:"index,omitempty"`
	Type      string       `json:"type"`
	Text      *TextContent `json:"text,omitempty"`
	ImageFile *ImageFile   `json:"image_file,omitempty"`
	ImageURL  *ImageURL    `json:"image_url,omitempty"`
	Refusal   *string      `json:"refusal,omitempty"`
}

// TextContent is a text part with its annotations.
type TextContent struct {
	Value       string       `json:"value"`
	Annotations []Annotation `json:"annotations"`
}

// ImageFile references a stored file as an image.
type ImageFile struct {
	FileID string `json:"file_id"`
	Detail string `json:"detail,omitempty"`
}

// ImageURL references an image by URL (data: URLs offline).
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

// Annotation types.
const (
	AnnotationFileCitation = "file_citation"
	AnnotationFilePath     = "file_path"
)

// Annotation marks a span of text as a citation or a file path.
type Annotation struct {
	Index        *int          `json:"index,omitempty"`
	Type         string        `json:"type"`
	Text         string        `json:"text"`
	StartIndex   int           `json:"start_index"`
	EndIndex     int           `json:"end_index"`
	FileCitation *FileCitation `json:"file_citation,omitempty"`
	FilePath     *FilePath     `json:"file_path,omitempty"`
}

// FileCitation cites a file.
type FileCitation struct {
	FileID string `json:"file_id"`
	Quote  string `json:"quote,omitempty"`
}

// FilePath points at a file the code interpreter wrote.
type FilePath struct {
	FileID string `json:"file_id"`
}

// Attachment adds a file to a message for the given tools.
type Attachment struct {
	FileID string           `json:"file_id"`
	Tools  []AttachmentTool `json:"tools"`
}

// AttachmentTool is {type:"code_interpreter"} or {type:"file_search"}.
type AttachmentTool struct {
	Type ToolType `json:"type"`
}

// IncompleteDetails says why a message or run is incomplete.
type IncompleteDetails struct {
	Reason string `json:"reason"`
}

// Incomplete reasons. A run's are max_prompt_tokens and
// max_completion_tokens; a message's are max_tokens, content_filter and the
// run_* reasons.
const (
	IncompleteMaxPromptTokens     = "max_prompt_tokens"
	IncompleteMaxCompletionTokens = "max_completion_tokens"
	IncompleteMaxTokens           = "max_tokens"
	IncompleteContentFilter       = "content_filter"
	IncompleteRunCancelled        = "run_cancelled"
	IncompleteRunExpired          = "run_expired"
	IncompleteRunFailed           = "run_failed"
)

// MessageContentInput is the content of a new message: a string or parts.
//
// Parts arrive in the SDKs' input shape, where a text part's text is a
// string ({"type":"text","text":"…"}); the output shape
// ({"text":{"value":"…","annotations":[]}}) is accepted too, so content
// read from a message can be sent back as it is. Parts holds them in the
// output shape either way.
type MessageContentInput struct {
	Text  string
	Parts []MessageContent
}

// contentPartInput is one part as a client sends it.
type contentPartInput struct {
	Type      string          `json:"type"`
	Text      json.RawMessage `json:"text,omitempty"`
	ImageFile *ImageFile      `json:"image_file,omitempty"`
	ImageURL  *ImageURL       `json:"image_url,omitempty"`
}

// MarshalJSON writes a string when there are no parts, and parts in the
// input shape otherwise.
func (c MessageContentInput) MarshalJSON() ([]byte, error) {
	if c.Parts == nil {
		return json.Marshal(c.Text)
	}
	out := make([]contentPartInput, len(c.Parts))
	for i, p := range c.Parts {
		out[i] = contentPartInput{Type: p.Type, ImageFile: p.ImageFile, ImageURL: p.ImageURL}
		if p.Text != nil {
			t, err := json.Marshal(p.Text.Value)
			if err != nil {
				return nil, err
			}
			out[i].Text = t
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON accepts a string or an array of content parts.
func (c *MessageContentInput) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		*c = MessageContentInput{}
		return json.Unmarshal(b, &c.Text)
	case len(b) > 0 && b[0] == '[':
		var in []contentPartInput
		if err := json.Unmarshal(b, &in); err != nil {
			return err
		}
		parts := make([]MessageContent, len(in))
		for i, p := range in {
			parts[i] = MessageContent{Type: p.Type, ImageFile: p.ImageFile, ImageURL: p.ImageURL}
			t, err := textPartInput(p.Text)
			if err != nil {
				return fmt.Errorf("content[%d].text: %w", i, err)
			}
			parts[i].Text = t
		}
		*c = MessageContentInput{Parts: parts}
		return nil
	default:
		return fmt.Errorf("content: must be a string or an array of content parts")
	}
}

// textPartInput reads a text part's text: a string (the SDKs' input shape)
// or {value, annotations} (a part copied from a message).
func textPartInput(b json.RawMessage) (*TextContent, error) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil, nil
	case b[0] == '"':
		t := &TextContent{Annotations: []Annotation{}}
		return t, json.Unmarshal(b, &t.Value)
	case b[0] == '{':
		var t TextContent
		if err := json.Unmarshal(b, &t); err != nil {
			return nil, err
		}
		return &t, nil
	default:
		return nil, fmt.Errorf("must be a string")
	}
}

// TextInput is a convenience for a plain-text message content.
func TextInput(s string) MessageContentInput { return MessageContentInput{Text: s} }

// RunStatus is a run's status.
type RunStatus string

// Run statuses.
const (
	RunQueued         RunStatus = "queued"
	RunInProgress     RunStatus = "in_progress"
	RunRequiresAction RunStatus = "requires_action"
	RunCancelling     RunStatus = "cancelling"
	RunCancelled      RunStatus = "cancelled"
	RunFailed         RunStatus = "failed"
	RunCompleted      RunStatus = "completed"
	RunIncomplete     RunStatus = "incomplete"
	RunExpired        RunStatus = "expired"
)

// Terminal reports whether no further transition is possible.
func (s RunStatus) Terminal() bool {
	switch s {
	case RunCancelled, RunFailed, RunCompleted, RunIncomplete, RunExpired:
		return true
	}
	return false
}

// Active reports whether the run holds its thread (queued, in_progress,
// requires_action or cancelling).
func (s RunStatus) Active() bool {
	switch s {
	case RunQueued, RunInProgress, RunRequiresAction, RunCancelling:
		return true
	}
	return false
}

// Run is a run object.
type Run struct {
	ID                  string              `json:"id"`
	Object              string              `json:"object"`
	CreatedAt           int64               `json:"created_at"`
	ThreadID            string              `json:"thread_id"`
	AssistantID         string              `json:"assistant_id"`
	Status              RunStatus           `json:"status"`
	RequiredAction      *RequiredAction     `json:"required_action"`
	LastError           *LastError          `json:"last_error"`
	ExpiresAt           *int64              `json:"expires_at"`
	StartedAt           *int64              `json:"started_at"`
	CancelledAt         *int64              `json:"cancelled_at"`
	FailedAt            *int64              `json:"failed_at"`
	CompletedAt         *int64              `json:"completed_at"`
	IncompleteDetails   *IncompleteDetails  `json:"incomplete_details"`
	Model               string              `json:"model"`
	Instructions        string              `json:"instructions"`
	Tools               []Tool              `json:"tools"`
	Metadata            Metadata            `json:"metadata"`
	Usage               *Usage              `json:"usage"`
	Temperature         *float64            `json:"temperature"`
	TopP                *float64            `json:"top_p"`
	MaxPromptTokens     *int                `json:"max_prompt_tokens"`
	MaxCompletionTokens *int                `json:"max_completion_tokens"`
	TruncationStrategy  *TruncationStrategy `json:"truncation_strategy"`
	ToolChoice          *ToolChoice         `json:"tool_choice"`
	ParallelToolCalls   bool                `json:"parallel_tool_calls"`
	ResponseFormat      *ResponseFormat     `json:"response_format"`
}

// RequiredAction asks the caller to submit tool outputs.
type RequiredAction struct {
	Type              string            `json:"type"`
	SubmitToolOutputs SubmitToolOutputs `json:"submit_tool_outputs"`
}

// SubmitToolOutputs lists the pending function calls.
type SubmitToolOutputs struct {
	ToolCalls []FunctionToolCall `json:"tool_calls"`
}

// FunctionToolCall is a pending call in required_action.
type FunctionToolCall struct {
	ID       string       `json:"id"`
	Type     ToolType     `json:"type"`
	Function FunctionCall `json:"function"`
}

// FunctionCall is a function name and its JSON arguments (a string on the wire).
type FunctionCall struct {
	Name      string  `json:"name"`
	Arguments string  `json:"arguments"`
	Output    *string `json:"output,omitempty"`
}

// Last error codes of a run.
const (
	ErrorCodeServer        = "server_error"
	ErrorCodeRateLimit     = "rate_limit_exceeded"
	ErrorCodeInvalidPrompt = "invalid_prompt"
)

// LastError is why a run or step failed.
type LastError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// StepType is a run step's type.
type StepType string

// Step types.
const (
	StepMessageCreation StepType = "message_creation"
	StepToolCalls       StepType = "tool_calls"
)

// StepStatus is a run step's status.
type StepStatus string

// Step statuses.
const (
	StepInProgress StepStatus = "in_progress"
	StepCancelled  StepStatus = "cancelled"
	StepFailed     StepStatus = "failed"
	StepCompleted  StepStatus = "completed"
	StepExpired    StepStatus = "expired"
)

// RunStep is one step of a run.
type RunStep struct {
	ID          string      `json:"id"`
	Object      string      `json:"object"`
	CreatedAt   int64       `json:"created_at"`
	AssistantID string      `json:"assistant_id"`
	ThreadID    string      `json:"thread_id"`
	RunID       string      `json:"run_id"`
	Type        StepType    `json:"type"`
	Status      StepStatus  `json:"status"`
	StepDetails StepDetails `json:"step_details"`
	LastError   *LastError  `json:"last_error"`
	ExpiredAt   *int64      `json:"expired_at"`
	CancelledAt *int64      `json:"cancelled_at"`
	FailedAt    *int64      `json:"failed_at"`
	CompletedAt *int64      `json:"completed_at"`
	Metadata    Metadata    `json:"metadata"`
	Usage       *Usage      `json:"usage"`
}

// StepDetails is {type:"message_creation", message_creation:{message_id}} or
// {type:"tool_calls", tool_calls:[…]}.
type StepDetails struct {
	Type            StepType         `json:"type"`
	MessageCreation *MessageCreation `json:"message_creation,omitempty"`
	ToolCalls       []ToolCall       `json:"tool_calls,omitempty"`
}

// MarshalJSON always writes tool_calls (as [] when empty) on a tool_calls step.
func (d StepDetails) MarshalJSON() ([]byte, error) {
	type plain StepDetails
	if d.Type != StepToolCalls {
		return json.Marshal(plain(d))
	}
	calls := d.ToolCalls
	if calls == nil {
		calls = []ToolCall{}
	}
	return json.Marshal(struct {
		Type      StepType   `json:"type"`
		ToolCalls []ToolCall `json:"tool_calls"`
	}{d.Type, calls})
}

// MessageCreation names the message a step wrote.
type MessageCreation struct {
	MessageID string `json:"message_id"`
}

// ToolCall is a tool call recorded on a step.
type ToolCall struct {
	ID              string               `json:"id"`
	Type            ToolType             `json:"type"`
	CodeInterpreter *CodeInterpreterCall `json:"code_interpreter,omitempty"`
	FileSearch      *FileSearchCall      `json:"file_search,omitempty"`
	Function        *FunctionCall        `json:"function,omitempty"`
}

// CodeInterpreterCall is the code run and what it produced.
type CodeInterpreterCall struct {
	Input   string                  `json:"input"`
	Outputs []CodeInterpreterOutput `json:"outputs"`
}

// CodeInterpreterOutput is {type:"logs", logs} or {type:"image", image:{file_id}}.
type CodeInterpreterOutput struct {
	Index *int       `json:"index,omitempty"`
	Type  string     `json:"type"`
	Logs  string     `json:"logs,omitempty"`
	Image *ImageFile `json:"image,omitempty"`
}

// FileSearchCall is a file search and its results.
type FileSearchCall struct {
	RankingOptions *RankingOptions    `json:"ranking_options,omitempty"`
	Results        []FileSearchResult `json:"results,omitempty"`
}

// FileSearchResult is one ranked chunk. Content is filled only when asked for
// with include=step_details.tool_calls[*].file_search.results[*].content.
type FileSearchResult struct {
	FileID   string           `json:"file_id"`
	FileName string           `json:"file_name"`
	Score    float64          `json:"score"`
	Content  []FileSearchText `json:"content,omitempty"`
}

// FileSearchText is a text part of a result.
type FileSearchText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// IncludeFileSearchContent is the include[] value that adds result content.
const IncludeFileSearchContent = "step_details.tool_calls[*].file_search.results[*].content"

// File purposes.
const (
	PurposeAssistants       = "assistants"
	PurposeAssistantsOutput = "assistants_output"
	PurposeVision           = "vision"
	PurposeUserData         = "user_data"
	PurposeBatch            = "batch"
	PurposeFineTune         = "fine-tune"
)

// File is an uploaded file.
type File struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	Bytes     int64  `json:"bytes"`
	CreatedAt int64  `json:"created_at"`
	Filename  string `json:"filename"`
	Purpose   string `json:"purpose"`
	Status    string `json:"status,omitempty"`
}

// Vector store and vector store file statuses.
const (
	StatusInProgress = "in_progress"
	StatusCompleted  = "completed"
	StatusExpired    = "expired"
	StatusCancelled  = "cancelled"
	StatusFailed     = "failed"
)

// FileCounts counts a vector store's (or batch's) files by status.
type FileCounts struct {
	InProgress int `json:"in_progress"`
	Completed  int `json:"completed"`
	Failed     int `json:"failed"`
	Cancelled  int `json:"cancelled"`
	Total      int `json:"total"`
}

// ExpiresAfter expires a vector store Days after it was last active.
type ExpiresAfter struct {
	Anchor string `json:"anchor"`
	Days   int    `json:"days"`
}

// VectorStore is a vector store object.
type VectorStore struct {
	ID           string        `json:"id"`
	Object       string        `json:"object"`
	CreatedAt    int64         `json:"created_at"`
	Name         string        `json:"name"`
	UsageBytes   int64         `json:"usage_bytes"`
	FileCounts   FileCounts    `json:"file_counts"`
	Status       string        `json:"status"`
	ExpiresAfter *ExpiresAfter `json:"expires_after"`
	ExpiresAt    *int64        `json:"expires_at"`
	LastActiveAt *int64        `json:"last_active_at"`
	Metadata     Metadata      `json:"metadata"`
}

// VectorStoreFile is a file attached to a vector store.
type VectorStoreFile struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	CreatedAt        int64             `json:"created_at"`
	VectorStoreID    string            `json:"vector_store_id"`
	Status           string            `json:"status"`
	LastError        *LastError        `json:"last_error"`
	UsageBytes       int64             `json:"usage_bytes"`
	ChunkingStrategy *ChunkingStrategy `json:"chunking_strategy,omitempty"`
	Attributes       map[string]any    `json:"attributes,omitempty"`
}

// Vector store file last_error codes.
const (
	FileErrorServer      = "server_error"
	FileErrorUnsupported = "unsupported_file"
	FileErrorInvalid     = "invalid_file"
)

// VectorStoreFileBatch is a batch of files being added to a vector store.
type VectorStoreFileBatch struct {
	ID            string     `json:"id"`
	Object        string     `json:"object"`
	CreatedAt     int64      `json:"created_at"`
	VectorStoreID string     `json:"vector_store_id"`
	Status        string     `json:"status"`
	FileCounts    FileCounts `json:"file_counts"`
}

// VectorStoreSearchResult is one hit of a vector store search.
type VectorStoreSearchResult struct {
	FileID     string           `json:"file_id"`
	Filename   string           `json:"filename"`
	Score      float64          `json:"score"`
	Attributes map[string]any   `json:"attributes"`
	Content    []FileSearchText `json:"content"`
}

// VectorStoreSearchPage is the answer of a vector store search.
type VectorStoreSearchPage struct {
	Object      string                    `json:"object"`
	SearchQuery []string                  `json:"search_query"`
	Data        []VectorStoreSearchResult `json:"data"`
	HasMore     bool                      `json:"has_more"`
	NextPage    *string                   `json:"next_page"`
}

// Deleted is the answer of a delete.
type Deleted struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

// Ptr returns a pointer to v, for optional fields.
func Ptr[T any](v T) *T { return &v }
