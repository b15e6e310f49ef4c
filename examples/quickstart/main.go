// Quickstart is the Math Tutor of the Assistants API quickstart: an
// assistant with the code interpreter solves 3x + 11 = 14 on a thread.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/examples/internal/backend"
	"github.com/hearth-go/hearth/examples/internal/sandbox"
	"github.com/hearth-go/hearth/llm/scripted"
)

func main() {
	db := flag.String("db", "", "database file (default: a new temporary file)")
	flag.Parse()
	if err := run(context.Background(), *db); err != nil {
		log.Fatal(err)
	}
}

// The scripted tutor writes code, reads its output, then answers.
var script = []scripted.Turn{
	{Calls: []scripted.Call{{Name: "code_interpreter", Arguments: `{"code":"from sympy import symbols, Eq, solve\nx = symbols('x')\nprint(solve(Eq(3*x + 11, 14), x))"}`}}, StreamArguments: true},
	{Match: scripted.HasToolResult, Text: "Jane Doe, subtract 11 from both sides to get 3x = 3, then divide by 3: the solution is x = 1."},
}

func run(ctx context.Context, db string) error {
	out := os.Stdout
	b := backend.Pick(out, script...)
	if db == "" {
		dir, err := os.MkdirTemp("", "hearth-quickstart")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		db = filepath.Join(dir, "hearth.db")
	}
	sb, err := sandbox.Start(out)
	if err != nil {
		return err
	}
	defer sb.Close()
	e, err := engine.Open(ctx, engine.Config{Path: db, Model: b.Model, CodeInterpreter: sb, Logger: backend.Logger()})
	if err != nil {
		return err
	}
	defer e.Close()

	assistant, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{
		Name:         apitype.Ptr("Math Tutor"),
		Instructions: apitype.Ptr("You are a personal math tutor. Write and run code to answer math questions."),
		Tools:        []apitype.Tool{{Type: apitype.ToolTypeCodeInterpreter}},
		Model:        b.Name,
	})
	if err != nil {
		return err
	}
	thread, err := e.Threads.Create(ctx, apitype.ThreadCreateParams{})
	if err != nil {
		return err
	}
	if _, err := e.Messages.Create(ctx, thread.ID, apitype.MessageCreateParams{
		Role:    apitype.RoleUser,
		Content: apitype.TextInput("I need to solve the equation `3x + 11 = 14`. Can you help me?"),
	}); err != nil {
		return err
	}
	run, err := e.Runs.CreateAndWait(ctx, thread.ID, apitype.RunCreateParams{
		AssistantID:  assistant.ID,
		Instructions: apitype.Ptr("Please address the user as Jane Doe. The user has a premium account."),
	})
	if err != nil {
		return err
	}
	fmt.Println("run", run.Status)
	if err := backend.Ended(run); err != nil {
		return err
	}
	steps, err := e.Steps.List(ctx, thread.ID, run.ID, apitype.StepListParams{ListParams: apitype.ListParams{Order: apitype.OrderAsc}})
	if err != nil {
		return err
	}
	for _, s := range steps.Data {
		for _, c := range s.StepDetails.ToolCalls {
			if ci := c.CodeInterpreter; ci != nil {
				fmt.Printf("code_interpreter ran:\n%s\n", ci.Input)
				for _, o := range ci.Outputs {
					fmt.Printf("→ %s\n", o.Logs)
				}
			}
		}
	}
	for m, err := range e.Messages.All(ctx, thread.ID, apitype.MessageListParams{ListParams: apitype.ListParams{Order: apitype.OrderAsc}}) {
		if err != nil {
			return err
		}
		fmt.Printf("%s > %s\n", m.Role, m.Text())
	}
	return nil
}
