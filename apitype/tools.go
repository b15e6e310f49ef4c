package apitype

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Metadata is up to 16 key/value pairs (keys ≤ 64 chars, values ≤ 512 chars).
type Metadata map[string]string

// ToolType names a tool.
type ToolType string

// Tool types.
const (
	ToolTypeCodeInterpreter ToolType = "code_interpreter"
	ToolTypeFileSearch      ToolType = "file_search"
	ToolTypeFunction        ToolType = "function"
)

// Tool is one tool enabled on an assistant or a run:
// {type:"code_interpreter"}, {type:"file_search", file_search:{…}} or
// {type:"function", function:{name, description, parameters, strict}}.
type Tool struct {
	Type       ToolType        `json:"type"`
	FileSearch *FileSearchTool `json:"file_search,omitempty"`
	Function   *FunctionDef    `json:"function,omitempty"`
}

// FileSearchTool configures the file_search tool.
type FileSearchTool struct {
	// MaxNumResults is 1–50; 0 means the default of 20.
	MaxNumResults  int             `json:"max_num_results,omitempty"`
	RankingOptions *RankingOptions `json:"ranking_options,omitempty"`
}

// Rankers for file search. RankerAuto and RankerDefault are the Assistants
// API's; the Responses API and vector store search name
// RankerDefault20241115 and (search only) RankerNone. Hearth ranks auto and
// default-2024-11-15 alike (its hybrid ranker), default_2024_08_21 and none
// by vector similarity alone.
const (
	RankerAuto            = "auto"
	RankerDefault         = "default_2024_08_21"
	RankerDefault20241115 = "default-2024-11-15"
	RankerNone            = "none"
)

// RankingOptions tunes file search ranking.
type RankingOptions struct {
	Ranker         string  `json:"ranker,omitempty"`
	ScoreThreshold float64 `json:"score_threshold"`
}

// FunctionDef declares a user function the model may call.
type FunctionDef struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Parameters is a JSON Schema object, kept byte for byte.
	Parameters json.RawMessage `json:"parameters,omitempty"`
	Strict     *bool           `json:"strict,omitempty"`
}

// ToolResources are the files tools see.
type ToolResources struct {
	CodeInterpreter *CodeInterpreterResources `json:"code_interpreter,omitempty"`
	FileSearch      *FileSearchResources      `json:"file_search,omitempty"`
}

// CodeInterpreterResources lists files mounted at /mnt/data (≤ 20).
type CodeInterpreterResources struct {
	FileIDs []string `json:"file_ids"`
}

// FileSearchResources names the vector store searched (≤ 1). VectorStores is
// accepted on create only: a helper that makes a vector store from file ids.
type FileSearchResources struct {
	VectorStoreIDs []string            `json:"vector_store_ids"`
	VectorStores   []VectorStoreHelper `json:"vector_stores,omitempty"`
}

// VectorStoreHelper creates a vector store inline from file ids.
type VectorStoreHelper struct {
	FileIDs          []string          `json:"file_ids,omitempty"`
	ChunkingStrategy *ChunkingStrategy `json:"chunking_strategy,omitempty"`
	Metadata         Metadata          `json:"metadata,omitempty"`
}

// ResponseFormat is "auto" or {type:"text"|"json_object"} or
// {type:"json_schema", json_schema:{…}}. The zero value is "auto".
type ResponseFormat struct {
	Type       string            `json:"type"`
	JSONSchema *JSONSchemaFormat `json:"json_schema,omitempty"`
}

// Response format types.
const (
	ResponseFormatAuto       = "auto"
	ResponseFormatText       = "text"
	ResponseFormatJSONObject = "json_object"
	ResponseFormatJSONSchema = "json_schema"
)

// JSONSchemaFormat is the schema a json_schema reply must match.
type JSONSchemaFormat struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// IsAuto reports whether the format is "auto" (or unset).
func (f ResponseFormat) IsAuto() bool { return f.Type == "" || f.Type == ResponseFormatAuto }

// MarshalJSON writes "auto" as a bare string.
func (f ResponseFormat) MarshalJSON() ([]byte, error) {
	if f.IsAuto() {
		return []byte(`"auto"`), nil
	}
	type plain ResponseFormat
	return json.Marshal(plain(f))
}

// UnmarshalJSON accepts "auto" or an object.
func (f *ResponseFormat) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s != ResponseFormatAuto {
			return fmt.Errorf("response_format: string value must be \"auto\", got %q", s)
		}
		*f = ResponseFormat{Type: ResponseFormatAuto}
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		*f = ResponseFormat{}
		return nil
	}
	type plain ResponseFormat
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*f = ResponseFormat(p)
	return nil
}

// Tool choice modes.
const (
	ToolChoiceNone     = "none"
	ToolChoiceAuto     = "auto"
	ToolChoiceRequired = "required"
)

// ToolChoice is "none" | "auto" | "required" or {type:"function", function:{name}}
// or {type:"file_search"} / {type:"code_interpreter"}. The zero value is "auto".
type ToolChoice struct {
	// Mode is none, auto or required when the choice is a string.
	Mode string `json:"-"`
	// Type is set when a specific tool is forced.
	Type     ToolType          `json:"type,omitempty"`
	Function *ToolChoiceTarget `json:"function,omitempty"`
}

// ToolChoiceTarget names a forced function.
type ToolChoiceTarget struct {
	Name string `json:"name"`
}

// IsAuto reports whether the choice leaves the decision to the model.
func (c ToolChoice) IsAuto() bool { return c.Type == "" && (c.Mode == "" || c.Mode == ToolChoiceAuto) }

// MarshalJSON writes a mode as a bare string.
func (c ToolChoice) MarshalJSON() ([]byte, error) {
	if c.Type == "" {
		m := c.Mode
		if m == "" {
			m = ToolChoiceAuto
		}
		return json.Marshal(m)
	}
	type plain ToolChoice
	return json.Marshal(plain(c))
}

// UnmarshalJSON accepts a mode string or an object.
func (c *ToolChoice) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*c = ToolChoice{}
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case ToolChoiceNone, ToolChoiceAuto, ToolChoiceRequired:
		default:
			return fmt.Errorf("tool_choice: must be none, auto, required or an object, got %q", s)
		}
		*c = ToolChoice{Mode: s}
		return nil
	}
	type plain ToolChoice
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*c = ToolChoice(p)
	return nil
}

// Truncation strategy types.
const (
	TruncationAuto         = "auto"
	TruncationLastMessages = "last_messages"
)

// TruncationStrategy chooses which thread messages enter the prompt.
type TruncationStrategy struct {
	Type         string `json:"type"`
	LastMessages *int   `json:"last_messages"`
}

// Usage counts tokens.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Add sums u and v.
func (u Usage) Add(v Usage) Usage {
	return Usage{u.PromptTokens + v.PromptTokens, u.CompletionTokens + v.CompletionTokens, u.TotalTokens + v.TotalTokens}
}

// Chunking strategy types.
const (
	ChunkingAuto   = "auto"
	ChunkingStatic = "static"
	ChunkingOther  = "other"
)

// ChunkingStrategy is {type:"auto"} or {type:"static", static:{…}}.
type ChunkingStrategy struct {
	Type   string          `json:"type"`
	Static *StaticChunking `json:"static,omitempty"`
}

// StaticChunking sets chunk sizes: max 100–4096 tokens, overlap ≤ half of it.
type StaticChunking struct {
	MaxChunkSizeTokens int `json:"max_chunk_size_tokens"`
	ChunkOverlapTokens int `json:"chunk_overlap_tokens"`
}
