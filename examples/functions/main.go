// Functions is the weather example of function calling: the run stops in
// requires_action with the model's call, the app answers it, and the
// streamed continuation prints the final answer as it is written.
//
//	go run ./examples/functions
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
	"github.com/hearth-go/hearth/llm/scripted"
)

var script = []scripted.Turn{
	{Calls: []scripted.Call{{Name: "get_current_temperature", Arguments: `{"location":"San Francisco, CA","unit":"Fahrenheit"}`},
		{Name: "get_rain_probability", Arguments: `{"location":"San Francisco, CA"}`}}, StreamArguments: true},
	{Match: scripted.HasToolResult, Text: "It is 57°F in San Francisco today, with a 6% chance of rain."},
}

var tools = []apitype.Tool{
	{Type: apitype.ToolTypeFunction, Function: &apitype.FunctionDef{
		Name: "get_current_temperature", Description: "Get the current temperature for a specific location",
		Parameters: json.RawMessage(`{"type":"object","properties":{"location":{"type":"string","description":"The city and state, e.g., San Francisco, CA"},"unit":{"type":"string","enum":["Celsius","Fahrenheit"]}},"required":["location","unit"]}`),
	}},
	{Type: apitype.ToolTypeFunction, Function: &apitype.FunctionDef{
		Name: "get_rain_probability", Description: "Get the probability of rain for a specific location",
		Parameters: json.RawMessage(`{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}`),
	}},
}

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	b := backend.Pick(os.Stdout, script...)
	dir, err := os.MkdirTemp("", "hearth-functions")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	e, err := engine.Open(ctx, engine.Config{Path: filepath.Join(dir, "hearth.db"), Model: b.Model, Logger: backend.Logger()})
	if err != nil {
		return err
	}
	defer e.Close()
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: b.Name, Tools: tools,
		Instructions: apitype.Ptr("You are a weather bot. Use the provided functions to answer questions.")})
	if err != nil {
		return err
	}
	th, err := e.Threads.Create(ctx, apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{
		Role: apitype.RoleUser, Content: apitype.TextInput("What's the weather in San Francisco today and the likelihood it'll rain?")}}})
	if err != nil {
		return err
	}
	events := e.Runs.CreateStream(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	for {
		var next *apitype.Run
		for ev, err := range events {
			if err != nil {
				return err
			}
			switch ev.Event {
			case apitype.EventRunStepDelta:
				for _, c := range ev.StepDelta.Delta.StepDetails.ToolCalls {
					if c.Function != nil {
						if c.Function.Name != "" {
							fmt.Printf("\ncall %s ", c.Function.Name)
						}
						fmt.Print(c.Function.Arguments)
					}
				}
			case apitype.EventMessageDelta:
				for _, c := range ev.MessageDelta.Delta.Content {
					if c.Text != nil {
						fmt.Print(c.Text.Value)
					}
				}
			case apitype.EventRunRequiresAction:
				next = ev.Run
			case apitype.EventRunCompleted, apitype.EventRunFailed, apitype.EventRunIncomplete, apitype.EventRunCancelled, apitype.EventRunExpired:
				fmt.Printf("\nrun %s\n", ev.Run.Status)
				if err := backend.Ended(ev.Run); err != nil {
					return err
				}
			}
		}
		if next == nil {
			return nil
		}
		fmt.Println()
		var outputs []apitype.ToolOutput
		for _, c := range next.RequiredAction.SubmitToolOutputs.ToolCalls {
			out := `{"error":"unknown function"}`
			switch c.Function.Name {
			case "get_current_temperature":
				out = "57"
			case "get_rain_probability":
				out = "0.06"
			}
			fmt.Printf("answer %s → %s\n", c.Function.Name, out)
			outputs = append(outputs, apitype.ToolOutput{ToolCallID: c.ID, Output: out})
		}
		events = e.Runs.SubmitToolOutputsStream(ctx, th.ID, next.ID, apitype.SubmitToolOutputsParams{ToolOutputs: outputs})
	}
}
