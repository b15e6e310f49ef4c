// Testing shows how an app built on Hearth is unit-tested offline: the app
// (a support bot that files tickets through a function call) takes any
// llm.Model, and its test, main_test.go, drives it with the scripted model.
//
//	go run ./examples/testing      # the app, on the examples' backend
//	go test ./examples/testing     # its unit test, no model or network needed
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/examples/internal/backend"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

// Bot answers support questions and files tickets through the file_ticket
// function.
type Bot struct {
	e       *engine.Engine
	asst    *apitype.Assistant
	Tickets []string
}

// NewBot creates the bot's assistant on e.
func NewBot(ctx context.Context, e *engine.Engine, model string) (*Bot, error) {
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: model,
		Instructions: apitype.Ptr("You are a support bot. File a ticket for every bug report."),
		Tools: []apitype.Tool{{Type: apitype.ToolTypeFunction, Function: &apitype.FunctionDef{Name: "file_ticket",
			Parameters: json.RawMessage(`{"type":"object","properties":{"summary":{"type":"string"}},"required":["summary"]}`)}}}})
	if err != nil {
		return nil, err
	}
	return &Bot{e: e, asst: a}, nil
}

// Ask sends one question on a new thread and returns the answer, filing the
// tickets the model asks for.
func (b *Bot) Ask(ctx context.Context, question string) (string, error) {
	r, err := b.e.Runs.CreateThreadAndRunAndWait(ctx, apitype.ThreadAndRunCreateParams{AssistantID: b.asst.ID,
		Thread: &apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: apitype.RoleUser, Content: apitype.TextInput(question)}}}})
	for err == nil && r.Status == apitype.RunRequiresAction {
		var outs []apitype.ToolOutput
		for _, c := range r.RequiredAction.SubmitToolOutputs.ToolCalls {
			var args struct{ Summary string }
			if json.Unmarshal([]byte(c.Function.Arguments), &args) != nil || args.Summary == "" {
				outs = append(outs, apitype.ToolOutput{ToolCallID: c.ID, Output: `{"error":"summary is required"}`})
				continue
			}
			b.Tickets = append(b.Tickets, args.Summary)
			outs = append(outs, apitype.ToolOutput{ToolCallID: c.ID, Output: fmt.Sprintf(`{"ticket":"T-%d"}`, len(b.Tickets))})
		}
		r, err = b.e.Runs.SubmitToolOutputsAndWait(ctx, r.ThreadID, r.ID, apitype.SubmitToolOutputsParams{ToolOutputs: outs})
	}
	if err != nil {
		return "", err
	}
	if err := backend.Ended(r); err != nil {
		return "", err
	}
	page, err := b.e.Messages.List(ctx, r.ThreadID, apitype.MessageListParams{RunID: r.ID})
	if err != nil || len(page.Data) == 0 {
		return "", err
	}
	return page.Data[0].Text(), nil
}

func main() {
	ctx := context.Background()
	b := backend.Pick(os.Stdout, script()...)
	dir, err := os.MkdirTemp("", "hearth-testing")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	e, err := engine.Open(ctx, engine.Config{Path: filepath.Join(dir, "hearth.db"), Model: b.Model, Logger: backend.Logger()})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	bot, err := NewBot(ctx, e, b.Name)
	if err != nil {
		log.Fatal(err)
	}
	answer, err := bot.Ask(ctx, "The export button crashes the app.")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("answer:", answer)
	fmt.Println("tickets:", bot.Tickets)
}

// script is what the model says in this demo and in the unit test.
func script() []scripted.Turn {
	return []scripted.Turn{
		{Calls: []scripted.Call{{Name: "file_ticket", Arguments: `{"summary":"export button crashes"}`}}},
		{Match: func(r *llm.Request) bool { return scripted.HasToolResult(r) }, Text: "Sorry about that: I filed ticket T-1."},
	}
}
