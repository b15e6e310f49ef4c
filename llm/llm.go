package llm

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
)

// Role of a prompt message.
type Role string

// Prompt roles.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Message is one prompt message.
type Message struct {
	Role    Role
	Content string
	// Images are raw image bytes (PNG, JPEG, …) for vision models.
	Images [][]byte
	// ToolCalls are the calls an assistant message made.
	ToolCalls []ToolCall
	// ToolCallID and ToolName identify the call a tool message answers.
	ToolCallID string
	ToolName   string
}

// ToolCall is one complete call of a tool by the model.
type ToolCall struct {
	// ID is the call's id; backends that have none get one from the engine.
	ID   string
	Name string
	// Arguments is a JSON object.
	Arguments json.RawMessage
}

// ToolCallDelta is streaming progress of a tool call that is still being
// written. Backends that produce whole calls never send it; the complete call
// still arrives in Chunk.ToolCalls.
type ToolCallDelta struct {
	Index          int
	ID             string
	Name           string
	ArgumentsDelta string
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	// Parameters is the caller's JSON Schema, byte for byte.
	Parameters json.RawMessage
	Strict     bool
}

// Tool choice modes.
const (
	ToolChoiceAuto     = "auto"
	ToolChoiceNone     = "none"
	ToolChoiceRequired = "required"
	ToolChoiceFunction = "function"
)

// ToolChoice says whether and which tool the model must call. Backends may
// ignore it: the engine enforces it on the reply.
type ToolChoice struct {
	Mode string // auto (default), none, required or function
	Name string // the function, when Mode is function
}

// Response format types.
const (
	FormatText       = "text"
	FormatJSONObject = "json_object"
	FormatJSONSchema = "json_schema"
)

// ResponseFormat constrains the reply.
type ResponseFormat struct {
	Type   string          // text (default), json_object or json_schema
	Name   string          // schema name, for json_schema
	Schema json.RawMessage // for json_schema
}

// Request is a whole prompt.
type Request struct {
	Model    string
	Messages []Message // a system message first, when there are instructions
	Tools    []Tool
	// ToolChoice is the zero value for auto.
	ToolChoice     ToolChoice
	ResponseFormat *ResponseFormat
	// ParallelToolCalls allows several calls in one reply.
	ParallelToolCalls bool
	Temperature       *float64
	TopP              *float64
	Seed              *int
	// ContextWindow is the context size to run the model with (tokens); 0 lets
	// the backend choose.
	ContextWindow int
	// MaxOutputTokens caps the reply; 0 is no cap.
	MaxOutputTokens int
}

// Finish reasons.
const (
	FinishStop      = "stop"
	FinishLength    = "length"
	FinishToolCalls = "tool_calls"
)

// Usage is the token count a backend reports for one call.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
}

// Chunk is one piece of a streamed reply. The last chunk carries Usage and
// FinishReason.
type Chunk struct {
	Text     string
	Thinking string
	// ToolCallDeltas stream calls being written (optional).
	ToolCallDeltas []ToolCallDelta
	// ToolCalls are complete calls.
	ToolCalls    []ToolCall
	Usage        *Usage
	FinishReason string
}

// Model is a chat model backend. Chat streams the reply to req; the sequence
// ends after the last chunk or at the first error. Cancelling ctx must end the
// call promptly.
type Model interface {
	Chat(ctx context.Context, req *Request) iter.Seq2[Chunk, error]
}

// ContextWindower is implemented by backends that know a model's trained
// context length in tokens.
type ContextWindower interface {
	ContextWindow(ctx context.Context, model string) (int, error)
}

// Embedder is implemented by backends that embed texts, in one batch.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Errors a backend wraps so the engine can tell the user what to do.
var (
	// ErrUnreachable: the backend cannot be reached (connection refused, DNS).
	ErrUnreachable = errors.New("llm: backend unreachable")
	// ErrModelNotFound: the backend does not have the model.
	ErrModelNotFound = errors.New("llm: model not found")
	// ErrContextOverflow: the prompt does not fit the model's context.
	ErrContextOverflow = errors.New("llm: prompt exceeds the context window")
	// ErrRateLimited: the backend is overloaded; retry later.
	ErrRateLimited = errors.New("llm: rate limited")
	// ErrStreamCut: the reply stream ended before the model finished.
	ErrStreamCut = errors.New("llm: reply stream cut")
	// ErrNoVision: the model cannot read images.
	ErrNoVision = errors.New("llm: model does not accept images")
)

// ModelInfo is one model a backend has.
type ModelInfo struct {
	ID string
	// Created is when the backend got it (Unix seconds; 0 when unknown).
	Created int64
	// OwnedBy is who serves it (e.g. "ollama").
	OwnedBy string
}

// ModelLister is implemented by backends that can list their models (for
// GET /v1/models and the server's startup check). An answer also tells that
// the backend is up.
type ModelLister interface {
	ListModels(ctx context.Context) ([]ModelInfo, error)
}
