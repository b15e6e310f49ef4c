package engine_test

import (
	"context"
	"encoding/json"
	"errors"
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

// openExample opens an engine on a temporary file for the examples below;
// close returns it and removes the file.
func openExample(model *scripted.Model) (e *engine.Engine, close func()) {
	dir, err := os.MkdirTemp("", "hearth-example")
	if err != nil {
		log.Fatal(err)
	}
	e, err = engine.Open(context.Background(), engine.Config{Path: filepath.Join(dir, "hearth.db"), Model: model})
	if err != nil {
		log.Fatal(err)
	}
	return e, func() { e.Close(); os.RemoveAll(dir) }
}

func newThreadAndAssistant(e *engine.Engine, question string, tools ...apitype.Tool) (threadID, assistantID string) {
	ctx := context.Background()
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "llama3.2", Tools: tools})
	if err != nil {
		log.Fatal(err)
	}
	th, err := e.Threads.Create(ctx, apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{
		{Role: apitype.RoleUser, Content: apitype.TextInput(question)}}})
	if err != nil {
		log.Fatal(err)
	}
	return th.ID, a.ID
}

// CreateStream yields the run's events as they happen; TextDelta is the
// text each thread.message.delta adds. The run starts when the range does.
func ExampleRuns_CreateStream() {
	e, done := openExample(scripted.New(scripted.Turn{Text: "Three, two, one, lift-off!"}))
	defer done()
	thread, asst := newThreadAndAssistant(e, "Count down from three.")

	for ev, err := range e.Runs.CreateStream(context.Background(), thread, apitype.RunCreateParams{AssistantID: asst}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(ev.TextDelta())
		if ev.Event == apitype.EventRunCompleted {
			fmt.Println("\n" + ev.Event)
		}
	}
	// Output:
	// Three, two, one, lift-off!
	// thread.run.completed
}

// Function calling: the run stops in requires_action with the calls; the
// caller runs them and submits their outputs, and the run goes on.
func ExampleRuns_SubmitToolOutputsAndWait() {
	e, done := openExample(scripted.New(
		scripted.Turn{Calls: []scripted.Call{{Name: "get_weather", Arguments: `{"city":"Rome"}`}}},
		scripted.Turn{Match: scripted.HasToolResult, Text: "It is sunny in Rome."},
	))
	defer done()
	weather := apitype.Tool{Type: apitype.ToolTypeFunction, Function: &apitype.FunctionDef{Name: "get_weather",
		Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}}
	thread, asst := newThreadAndAssistant(e, "Weather in Rome?", weather)

	ctx := context.Background()
	run, err := e.Runs.CreateAndWait(ctx, thread, apitype.RunCreateParams{AssistantID: asst})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(run.Status)
	var outputs []apitype.ToolOutput
	for _, call := range run.RequiredAction.SubmitToolOutputs.ToolCalls {
		fmt.Println("call", call.Function.Name, call.Function.Arguments)
		outputs = append(outputs, apitype.ToolOutput{ToolCallID: call.ID, Output: `{"sky":"sunny"}`})
	}
	run, err = e.Runs.SubmitToolOutputsAndWait(ctx, thread, run.ID, apitype.SubmitToolOutputsParams{ToolOutputs: outputs})
	if err != nil {
		log.Fatal(err)
	}
	page, _ := e.Messages.List(ctx, thread, apitype.MessageListParams{RunID: run.ID})
	fmt.Println(run.Status+":", page.Data[0].Text())
	// Output:
	// requires_action
	// call get_weather {"city":"Rome"}
	// completed: It is sunny in Rome.
}

// Cancel stops a run, its model call included: it is cancelling at once
// and cancelled when the execution has stopped; what the model had written
// stays on an incomplete message.
func ExampleRuns_Cancel() {
	hold := scripted.NewHold() // pauses the reply mid-way, for the example
	e, done := openExample(scripted.New(scripted.Turn{Text: "Let me think about", Hold: hold}))
	defer done()
	thread, asst := newThreadAndAssistant(e, "A hard question.")

	ctx := context.Background()
	run, err := e.Runs.Create(ctx, thread, apitype.RunCreateParams{AssistantID: asst})
	if err != nil {
		log.Fatal(err)
	}
	if err := hold.Wait(ctx); err != nil {
		log.Fatal(err)
	}
	run, err = e.Runs.Cancel(ctx, thread, run.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(run.Status)
	run, err = e.Runs.Wait(ctx, thread, run.ID)
	if err != nil {
		log.Fatal(err)
	}
	page, _ := e.Messages.List(ctx, thread, apitype.MessageListParams{RunID: run.ID})
	fmt.Println(run.Status+";", page.Data[0].Status+":", page.Data[0].Text())
	// Output:
	// cancelling
	// cancelled; incomplete: Let me think about
}

// Errors are *apitype.Error values, the API's error envelope: match them
// with errors.Is against the sentinels, and read Param for the field.
func ExampleRuns_Create_errors() {
	e, done := openExample(scripted.Echo())
	defer done()
	ctx := context.Background()

	_, err := e.Runs.Create(ctx, "thread_missing", apitype.RunCreateParams{AssistantID: "asst_missing"})
	fmt.Println(errors.Is(err, apitype.ErrNotFound))

	thread, asst := newThreadAndAssistant(e, "Hello")
	_, err = e.Runs.Create(ctx, thread, apitype.RunCreateParams{AssistantID: asst, Temperature: apitype.Ptr(5.0)})
	var apiErr *apitype.Error
	if errors.As(err, &apiErr) {
		fmt.Println(errors.Is(err, apitype.ErrInvalidRequest), apiErr.Status, apiErr.Param)
	}
	// Output:
	// true
	// true 400 temperature
}
