// Responses runs the seed tutorials again on the Responses API, the one
// that replaced Assistants: the math tutor (instructions and an input),
// a streamed answer, weather function calling continued over
// previous_response_id, documents searched with citations, a conversation
// that remembers across turns, a CSV analysed by the code interpreter in a
// container, and an Assistants thread carried into a conversation.
//
//	go run ./examples/responses
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/examples/internal/backend"
	"github.com/hearth-go/hearth/examples/internal/sandbox"
	"github.com/hearth-go/hearth/llm/scripted"
)

var script = []scripted.Turn{
	// The math tutor.
	{Text: "Subtract 11 from both sides: 3x = 3. Divide by 3: x = 1."},
	// Streaming.
	{Text: "Soft light on the hearth, / embers keep the evening warm, / the kettle answers."},
	// Function calling: the call, then the answer to its output.
	{Calls: []scripted.Call{{Name: "get_weather", Arguments: `{"location":"Paris, France"}`}}, StreamArguments: true},
	{Match: scripted.HasToolResult, Text: "It is 14°C and cloudy in Paris."},
	// Documents searched, with citations.
	{Calls: []scripted.Call{{Name: "file_search", Arguments: `{"query":"kettle warranty"}`}}},
	{Match: scripted.HasToolResult, Text: "Two years from the date of purchase【0:0†kettle.md】."},
	// A conversation.
	{Text: "Nice to meet you, Ada."},
	{Text: "Your name is Ada."},
	// A CSV analysed in a container.
	{Calls: []scripted.Call{{Name: "code_interpreter", Arguments: `{"code":"import csv\nrows = list(csv.DictReader(open('/mnt/data/sales.csv')))\nbest = max(rows, key=lambda r: int(r['sales']))\nprint(best['month'], best['sales'])\nopen('/mnt/data/best.txt', 'w').write(best['month'])"}`}},
		StreamArguments: true},
	{Match: scripted.HasToolResult, Text: "February sold most (12); see [best.txt](sandbox:/mnt/data/best.txt)."},
	// A thread carried into a conversation.
	{Text: "You asked about the kettle's warranty: two years."},
}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, w io.Writer) error {
	b := backend.Pick(w, script...)
	dir, err := os.MkdirTemp("", "hearth-responses")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sb, err := sandbox.Start(w)
	if err != nil {
		return err
	}
	defer sb.Close()
	e, err := engine.Open(ctx, engine.Config{Path: filepath.Join(dir, "hearth.db"), Model: b.Model, CodeInterpreter: sb, Logger: backend.Logger()})
	if err != nil {
		return err
	}
	defer e.Close()

	// The math tutor: instructions apply to this response only.
	tutor, err := e.Responses.Create(ctx, &apitype.ResponseCreateParams{Model: b.Name,
		Instructions: apitype.Ptr("You are a personal math tutor. Answer briefly."),
		Input:        apitype.TextResponseInput("I need to solve the equation `3x + 11 = 14`. Can you help me?")})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "tutor: %s\n", tutor.OutputText())

	// Streaming: text deltas as the model writes them.
	fmt.Fprint(w, "haiku: ")
	for ev, err := range e.Responses.CreateStream(ctx, &apitype.ResponseCreateParams{Model: b.Name,
		Input: apitype.TextResponseInput("Write a haiku about a hearth.")}) {
		if err != nil {
			return err
		}
		if ev.Type == apitype.EventOutputTextDelta {
			fmt.Fprint(w, ev.Delta)
		}
	}
	fmt.Fprintln(w)

	// Function calling: the response ends with the call; the next one
	// carries its output and continues from it by previous_response_id.
	tools := []apitype.ResponseTool{{Type: apitype.ToolTypeFunction, Name: "get_weather",
		Description: apitype.Ptr("Get the current weather for a location"),
		Parameters:  json.RawMessage(`{"type":"object","properties":{"location":{"type":"string"}},"required":["location"],"additionalProperties":false}`)}}
	first, err := e.Responses.Create(ctx, &apitype.ResponseCreateParams{Model: b.Name, Tools: tools,
		Input: apitype.TextResponseInput("What is the weather like in Paris today?")})
	if err != nil {
		return err
	}
	var outputs []apitype.Item
	for _, it := range first.Output {
		if c := it.FunctionCall; c != nil {
			fmt.Fprintf(w, "call %s(%s)\n", c.Name, c.Arguments)
			outputs = append(outputs, apitype.ItemOf(&apitype.FunctionCallOutputItem{CallID: c.CallID,
				Output: apitype.FunctionCallOutput{Text: `{"temperature_c":14,"sky":"cloudy"}`}}))
		}
	}
	if len(outputs) == 0 {
		fmt.Fprintf(w, "weather: %s\n", first.OutputText()) // the model answered without calling
	} else {
		answer, err := e.Responses.Create(ctx, &apitype.ResponseCreateParams{Model: b.Name, Tools: tools,
			PreviousResponseID: &first.ID, Input: apitype.ItemsResponseInput(outputs...)})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "weather: %s\n", answer.OutputText())
	}

	// Documents searched with file_search: attributes, a filter, citations.
	if err := searchDocuments(ctx, e, b.Name, w); err != nil {
		return err
	}

	// A conversation: each response reads its items first and adds its
	// input and output to it when it ends.
	conv, err := e.Conversations.Create(ctx, apitype.ConversationCreateParams{})
	if err != nil {
		return err
	}
	for _, say := range []string{"Hi, I am Ada.", "What is my name?"} {
		r, err := e.Responses.Create(ctx, &apitype.ResponseCreateParams{Model: b.Name,
			Conversation: &apitype.ConversationRef{ID: conv.ID}, Input: apitype.TextResponseInput(say)})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "user: %s\nassistant: %s\n", say, r.OutputText())
	}
	items, err := e.Conversations.Items.List(ctx, conv.ID, apitype.ListParams{})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "conversation %s holds %d items\n", conv.ID, len(items.Data))

	// A CSV analysed in a container: the auto container gets the uploaded
	// file in /mnt/data, the code's output comes back with include, and the
	// file the code wrote is a container file the answer cites.
	csvFile, err := e.Files.Create(ctx, strings.NewReader("month,sales\njan,10\nfeb,12\nmar,7\n"),
		apitype.FileCreateParams{Filename: "sales.csv", Purpose: apitype.PurposeAssistants})
	if err != nil {
		return err
	}
	analysis, err := e.Responses.Create(ctx, &apitype.ResponseCreateParams{Model: b.Name,
		Input:   apitype.TextResponseInput("Which month in /mnt/data/sales.csv sold most? Write the month to a file."),
		Include: []string{apitype.IncludeCodeInterpreterOutputs},
		Tools: []apitype.ResponseTool{{Type: apitype.ToolTypeCodeInterpreter,
			Container: &apitype.ToolContainer{Auto: &apitype.ContainerAuto{Type: "auto", FileIDs: []string{csvFile.ID}}}}}})
	if err != nil {
		return err
	}
	for _, it := range analysis.Output {
		if c := it.CodeInterpreterCall; c != nil {
			fmt.Fprintf(w, "code in %s:\n%s\n", c.ContainerID, *c.Code)
			for _, o := range c.Outputs {
				fmt.Fprintf(w, "logs: %s", o.Logs)
			}
		}
	}
	fmt.Fprintf(w, "analysis: %s\n", analysis.OutputText())
	for _, it := range analysis.Output {
		if it.Message == nil {
			continue
		}
		for _, a := range it.Message.Content[0].Annotations {
			_, rc, err := e.Containers.Files.Content(ctx, a.ContainerID, a.FileID)
			if err != nil {
				return err
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "cited %s: %q\n", a.Filename, b)
		}
	}

	// An Assistants thread carried into a conversation: its messages become
	// the conversation's items (the thread stays as it was), and the next
	// turn is a response in it, so an app moves one call site at a time.
	th, err := e.Threads.Create(ctx, apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{
		{Role: apitype.RoleUser, Content: apitype.TextInput("How long is the kettle's warranty?")},
		{Role: apitype.RoleAssistant, Content: apitype.TextInput("Two years.")}}})
	if err != nil {
		return err
	}
	moved, err := e.Conversations.FromThread(ctx, th.ID)
	if err != nil {
		return err
	}
	next, err := e.Responses.Create(ctx, &apitype.ResponseCreateParams{Model: b.Name,
		Conversation: &apitype.ConversationRef{ID: moved.ID}, Input: apitype.TextResponseInput("What did I ask you?")})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "thread %s → conversation %s: %s\n", th.ID, moved.ID, next.OutputText())
	return nil
}
