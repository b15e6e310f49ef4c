package apitype

import (
	"bytes"
	"encoding/json"
)

// Order of a list.
const (
	OrderAsc  = "asc"
	OrderDesc = "desc"
)

// List limits.
const (
	DefaultListLimit = 20
	MaxListLimit     = 100
	// MaxFileListLimit is files.list's limit: 1–10,000, and its default.
	MaxFileListLimit = 10000
)

// ListParams pages through a list: Limit 1–100 (0 means 20), Order "desc"
// (default) or "asc", and the After/Before cursors, which are object ids.
type ListParams struct {
	Limit  int    `json:"limit,omitempty"`
	Order  string `json:"order,omitempty"`
	After  string `json:"after,omitempty"`
	Before string `json:"before,omitempty"`
}

// Page is one page of a list.
type Page[T any] struct {
	Object  string  `json:"object"`
	Data    []T     `json:"data"`
	FirstID *string `json:"first_id"`
	LastID  *string `json:"last_id"`
	HasMore bool    `json:"has_more"`
}

// MessageListParams adds the run_id filter to ListParams.
type MessageListParams struct {
	ListParams
	RunID string `json:"run_id,omitempty"`
}

// StepListParams adds include[] to ListParams.
type StepListParams struct {
	ListParams
	Include []string `json:"include,omitempty"`
}

// VectorStoreFileListParams adds the status filter to ListParams.
type VectorStoreFileListParams struct {
	ListParams
	Filter string `json:"filter,omitempty"`
}

// AssistantCreateParams creates an assistant.
type AssistantCreateParams struct {
	Model          string          `json:"model"`
	Name           *string         `json:"name,omitempty"`
	Description    *string         `json:"description,omitempty"`
	Instructions   *string         `json:"instructions,omitempty"`
	Tools          []Tool          `json:"tools,omitempty"`
	ToolResources  *ToolResources  `json:"tool_resources,omitempty"`
	Metadata       Metadata        `json:"metadata,omitempty"`
	Temperature    *float64        `json:"temperature,omitempty"`
	TopP           *float64        `json:"top_p,omitempty"`
	ResponseFormat *ResponseFormat `json:"response_format,omitempty"`
}

// AssistantUpdateParams modifies an assistant; nil fields are left as they are.
type AssistantUpdateParams struct {
	Model          *string         `json:"model,omitempty"`
	Name           *string         `json:"name,omitempty"`
	Description    *string         `json:"description,omitempty"`
	Instructions   *string         `json:"instructions,omitempty"`
	Tools          *[]Tool         `json:"tools,omitempty"`
	ToolResources  *ToolResources  `json:"tool_resources,omitempty"`
	Metadata       Metadata        `json:"metadata,omitempty"`
	Temperature    *float64        `json:"temperature,omitempty"`
	TopP           *float64        `json:"top_p,omitempty"`
	ResponseFormat *ResponseFormat `json:"response_format,omitempty"`
}

// ThreadCreateParams creates a thread, optionally with messages.
type ThreadCreateParams struct {
	Messages      []MessageCreateParams `json:"messages,omitempty"`
	ToolResources *ToolResources        `json:"tool_resources,omitempty"`
	Metadata      Metadata              `json:"metadata,omitempty"`
}

// ThreadUpdateParams modifies a thread; nil fields are left as they are.
type ThreadUpdateParams struct {
	ToolResources *ToolResources `json:"tool_resources,omitempty"`
	Metadata      Metadata       `json:"metadata,omitempty"`
}

// MessageCreateParams creates a message.
type MessageCreateParams struct {
	Role        Role                `json:"role"`
	Content     MessageContentInput `json:"content"`
	Attachments []Attachment        `json:"attachments,omitempty"`
	Metadata    Metadata            `json:"metadata,omitempty"`
}

// MessageUpdateParams modifies a message's metadata.
type MessageUpdateParams struct {
	Metadata Metadata `json:"metadata,omitempty"`
}

// RunCreateParams creates a run on a thread.
type RunCreateParams struct {
	AssistantID            string                `json:"assistant_id"`
	Model                  *string               `json:"model,omitempty"`
	Instructions           *string               `json:"instructions,omitempty"`
	AdditionalInstructions *string               `json:"additional_instructions,omitempty"`
	AdditionalMessages     []MessageCreateParams `json:"additional_messages,omitempty"`
	Tools                  []Tool                `json:"tools,omitempty"`
	Metadata               Metadata              `json:"metadata,omitempty"`
	Temperature            *float64              `json:"temperature,omitempty"`
	TopP                   *float64              `json:"top_p,omitempty"`
	MaxPromptTokens        *int                  `json:"max_prompt_tokens,omitempty"`
	MaxCompletionTokens    *int                  `json:"max_completion_tokens,omitempty"`
	TruncationStrategy     *TruncationStrategy   `json:"truncation_strategy,omitempty"`
	ToolChoice             *ToolChoice           `json:"tool_choice,omitempty"`
	ParallelToolCalls      *bool                 `json:"parallel_tool_calls,omitempty"`
	ResponseFormat         *ResponseFormat       `json:"response_format,omitempty"`
	// Include asks for file search result content on the steps.
	Include []string `json:"-"`
	// Stream is read by the HTTP layer only.
	Stream bool `json:"stream,omitempty"`
}

// ThreadAndRunCreateParams creates a thread and a run on it.
type ThreadAndRunCreateParams struct {
	AssistantID         string              `json:"assistant_id"`
	Thread              *ThreadCreateParams `json:"thread,omitempty"`
	Model               *string             `json:"model,omitempty"`
	Instructions        *string             `json:"instructions,omitempty"`
	Tools               []Tool              `json:"tools,omitempty"`
	ToolResources       *ToolResources      `json:"tool_resources,omitempty"`
	Metadata            Metadata            `json:"metadata,omitempty"`
	Temperature         *float64            `json:"temperature,omitempty"`
	TopP                *float64            `json:"top_p,omitempty"`
	MaxPromptTokens     *int                `json:"max_prompt_tokens,omitempty"`
	MaxCompletionTokens *int                `json:"max_completion_tokens,omitempty"`
	TruncationStrategy  *TruncationStrategy `json:"truncation_strategy,omitempty"`
	ToolChoice          *ToolChoice         `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool               `json:"parallel_tool_calls,omitempty"`
	ResponseFormat      *ResponseFormat     `json:"response_format,omitempty"`
	Stream              bool                `json:"stream,omitempty"`
}

// RunUpdateParams modifies a run's metadata.
type RunUpdateParams struct {
	Metadata Metadata `json:"metadata,omitempty"`
}

// ToolOutput answers one pending function call.
type ToolOutput struct {
	ToolCallID string `json:"tool_call_id"`
	Output     string `json:"output"`
}

// SubmitToolOutputsParams answers every pending call of a run.
type SubmitToolOutputsParams struct {
	ToolOutputs []ToolOutput `json:"tool_outputs"`
	Stream      bool         `json:"stream,omitempty"`
}

// FileCreateParams describes an upload; the content comes as an io.Reader.
type FileCreateParams struct {
	Filename string `json:"filename"`
	Purpose  string `json:"purpose"`
}

// VectorStoreCreateParams creates a vector store.
type VectorStoreCreateParams struct {
	Name             *string           `json:"name,omitempty"`
	FileIDs          []string          `json:"file_ids,omitempty"`
	ExpiresAfter     *ExpiresAfter     `json:"expires_after,omitempty"`
	ChunkingStrategy *ChunkingStrategy `json:"chunking_strategy,omitempty"`
	Metadata         Metadata          `json:"metadata,omitempty"`
}

// VectorStoreUpdateParams modifies a vector store.
type VectorStoreUpdateParams struct {
	Name         *string       `json:"name,omitempty"`
	ExpiresAfter *ExpiresAfter `json:"expires_after,omitempty"`
	Metadata     Metadata      `json:"metadata,omitempty"`
}

// VectorStoreFileCreateParams attaches a file to a vector store.
type VectorStoreFileCreateParams struct {
	FileID           string            `json:"file_id"`
	ChunkingStrategy *ChunkingStrategy `json:"chunking_strategy,omitempty"`
	Attributes       map[string]any    `json:"attributes,omitempty"`
}

// VectorStoreFileUpdateParams replaces a vector store file's attributes.
type VectorStoreFileUpdateParams struct {
	Attributes map[string]any `json:"attributes"`
}

// VectorStoreFileBatchCreateParams attaches files in a batch: FileIDs with
// the batch's chunking and attributes, or Files each with its own.
type VectorStoreFileBatchCreateParams struct {
	FileIDs          []string               `json:"file_ids,omitempty"`
	Files            []VectorStoreBatchFile `json:"files,omitempty"`
	ChunkingStrategy *ChunkingStrategy      `json:"chunking_strategy,omitempty"`
	Attributes       map[string]any         `json:"attributes,omitempty"`
}

// VectorStoreBatchFile is one file of a batch with its own settings.
type VectorStoreBatchFile struct {
	FileID           string            `json:"file_id"`
	ChunkingStrategy *ChunkingStrategy `json:"chunking_strategy,omitempty"`
	Attributes       map[string]any    `json:"attributes,omitempty"`
}

// VectorStoreSearchParams searches a vector store. Query is a string or a
// list of strings on the wire; RankingOptions and MaxNumResults as in file_search.
type VectorStoreSearchParams struct {
	Query          StringList      `json:"query"`
	MaxNumResults  int             `json:"max_num_results,omitempty"`
	RankingOptions *RankingOptions `json:"ranking_options,omitempty"`
	RewriteQuery   bool            `json:"rewrite_query,omitempty"`
	// Filters keeps the search to files whose attributes pass it.
	Filters *Filter `json:"filters,omitempty"`
}

// StringList is a string or a list of strings on the wire.
type StringList []string

// UnmarshalJSON accepts "q" or ["q1","q2"].
func (l *StringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = StringList{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	*l = ss
	return nil
}
