package engine

import (
	"errors"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm"
)

// promptBudget is arithmetic over the run's limits: tested without engine,
// store or model.
func TestPromptBudget(t *testing.T) {
	run := func(maxOut, maxPrompt *int, used *apitype.Usage) *apitype.Run {
		return &apitype.Run{MaxCompletionTokens: maxOut, MaxPromptTokens: maxPrompt, Usage: used}
	}
	// No limits: a quarter of the window (at most 1024) kept for the reply.
	b, out, err := promptBudget(run(nil, nil, nil), 8192, 100, 1)
	if err != nil || out != 0 || b.ContextWindow != 8192 || b.ReservedOutput != 1024 || b.Fixed != 100 || b.MaxPromptTokens != 0 {
		t.Fatalf("no limits: %+v %d %v", b, out, err)
	}
	if b, _, _ := promptBudget(run(nil, nil, nil), 2048, 0, 1); b.ReservedOutput != 512 {
		t.Fatalf("small window reserve %d", b.ReservedOutput)
	}
	// The calibration scale shrinks the window in tiktoken units.
	if b, _, _ := promptBudget(run(nil, nil, nil), 8192, 0, 2); b.ContextWindow != 4096 || b.ReservedOutput != 512 {
		t.Fatalf("scaled: %+v", b)
	}
	// max_completion_tokens left over is the reply's reserve and limit.
	b, out, err = promptBudget(run(apitype.Ptr(300), nil, &apitype.Usage{CompletionTokens: 100}), 8192, 0, 1)
	if err != nil || out != 200 || b.ReservedOutput != 200 {
		t.Fatalf("max_completion_tokens: %+v %d %v", b, out, err)
	}
	// Spent limits end the run incomplete, naming the limit.
	var inc *runIncomplete
	if _, _, err := promptBudget(run(apitype.Ptr(100), nil, &apitype.Usage{CompletionTokens: 100}), 8192, 0, 1); !errors.As(err, &inc) || inc.reason != apitype.IncompleteMaxCompletionTokens {
		t.Fatalf("completion spent: %v", err)
	}
	if _, _, err := promptBudget(run(nil, apitype.Ptr(500), &apitype.Usage{PromptTokens: 450}), 8192, 50, 1); !errors.As(err, &inc) || inc.reason != apitype.IncompleteMaxPromptTokens {
		t.Fatalf("prompt spent: %v", err)
	}
	if b, _, err := promptBudget(run(nil, apitype.Ptr(500), &apitype.Usage{PromptTokens: 400}), 8192, 50, 1); err != nil || b.MaxPromptTokens != 100 {
		t.Fatalf("prompt left: %+v %v", b, err)
	}
}

// promptRequest maps the run's settings onto the model request.
func TestPromptRequest(t *testing.T) {
	tools := []llm.Tool{{Name: "get_weather"}}
	msgs := []llm.Message{{Role: llm.RoleUser, Content: "hi"}}
	r := &apitype.Run{Model: "m", ParallelToolCalls: true, ToolChoice: &apitype.ToolChoice{Mode: apitype.ToolChoiceNone},
		ResponseFormat: &apitype.ResponseFormat{Type: apitype.ResponseFormatJSONObject}}
	req := promptRequest(r, "Be brief.", msgs, []string{"Call a tool."}, tools, 4096, 50)
	if len(req.Messages) != 3 || req.Messages[0].Content != "Be brief." || req.Messages[1].Content != "hi" ||
		req.Messages[2].Role != llm.RoleSystem || req.Messages[2].Content != "Call a tool." {
		t.Fatalf("messages %+v", req.Messages)
	}
	if req.Tools != nil || req.ToolChoice.Mode != llm.ToolChoiceNone || req.ResponseFormat.Type != llm.FormatJSONObject ||
		req.ContextWindow != 4096 || req.MaxOutputTokens != 50 || !req.ParallelToolCalls {
		t.Fatalf("request %+v", req)
	}
	r.ToolChoice = &apitype.ToolChoice{Type: apitype.ToolTypeFunction, Function: &apitype.ToolChoiceTarget{Name: "get_weather"}}
	if req := promptRequest(r, "", msgs, nil, tools, 4096, 0); len(req.Messages) != 1 || len(req.Tools) != 1 ||
		req.ToolChoice != (llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: "get_weather"}) {
		t.Fatalf("forced function: %+v", req)
	}
}
