package engine_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/scripted"
)

// Open an engine on a database file with a scripted model, create an
// assistant and a thread, run it, and print the answer.
func Example() {
	dir, err := os.MkdirTemp("", "hearth-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	e, err := engine.Open(ctx, engine.Config{
		Path:  filepath.Join(dir, "hearth.db"),
		Model: scripted.New(scripted.Turn{Text: "x = 1"}), // an Ollama client in real use
	})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{
		Model:        "qwen2.5:0.5b",
		Name:         apitype.Ptr("Math Tutor"),
		Instructions: apitype.Ptr("Answer with the solution only."),
	})
	if err != nil {
		log.Fatal(err)
	}
	th, err := e.Threads.Create(ctx, apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{
		{Role: apitype.RoleUser, Content: apitype.TextInput("Solve 3x + 11 = 14.")},
	}})
	if err != nil {
		log.Fatal(err)
	}
	run, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("run", run.Status)

	page, err := e.Messages.List(ctx, th.ID, apitype.MessageListParams{RunID: run.ID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(page.Data[0].Role+":", page.Data[0].Text())
	// Output:
	// run completed
	// assistant: x = 1
}
