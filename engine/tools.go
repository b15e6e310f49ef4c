package engine

import (
	"context"
	"encoding/json"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm"
)

// ToolRunner runs the built-in tools: code_interpreter and file_search.
// The engine calls it for every built-in call the model makes and never
// surfaces those calls as requires_action.
type ToolRunner interface {
	RunTool(ctx context.Context, call *ToolCall) (*ToolResult, error)
}

// ToolCall is one built-in tool call with what the tool needs to run it.
type ToolCall struct {
	ID   string
	Type apitype.ToolType
	// Arguments is the model's JSON: {"code": "..."} or {"query": "..."}.
	Arguments json.RawMessage
	// Tool is the run's configuration of the tool (file_search options).
	Tool      apitype.Tool
	Run       *apitype.Run
	Thread    *apitype.Thread
	Assistant *apitype.Assistant
}

// ToolResult is what a built-in tool produced.
type ToolResult struct {
	// Output is what the model reads back.
	Output string
	// Logs and Images become the code_interpreter call's outputs.
	Logs         string
	ImageFileIDs []string
	// FileSearch is recorded on a file_search call (results with content).
	FileSearch *apitype.FileSearchCall
	// hits are the file search's hits with their files' attributes.
	hits []SearchHit
}

// Built-in tool schemas as the model sees them.
var (
	codeInterpreterTool = llm.Tool{
		Name:        string(apitype.ToolTypeCodeInterpreter),
		Description: "Run Python 3 code in a sandbox and get back what it prints. Files are in /mnt/data. State persists between calls in this thread.",
		Parameters:  json.RawMessage(`{"type":"object","properties":{"code":{"type":"string","description":"Python source to run"}},"required":["code"]}`),
	}
	fileSearchTool = llm.Tool{
		Name:        string(apitype.ToolTypeFileSearch),
		Description: "Search the uploaded files for passages relevant to a query. Cite results with the 【marker】 shown before each passage.",
		Parameters:  json.RawMessage(`{"type":"object","properties":{"query":{"type":"string","description":"what to look for"}},"required":["query"]}`),
	}
)

// noTools answers every built-in call with an error the model can read.
type noTools struct{}

func (noTools) RunTool(_ context.Context, call *ToolCall) (*ToolResult, error) {
	msg := "error: the " + string(call.Type) + " tool is not available in this Hearth engine: " + errNoSandbox.Error() + "."
	if call.Type == apitype.ToolTypeFileSearch {
		msg = "error: the file_search tool is not available in this Hearth engine (engine.Config.FileIndex is not set)."
	}
	return &ToolResult{Output: msg, Logs: msg}, nil
}
