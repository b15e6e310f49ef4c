package scripted_test

import (
	"context"
	"fmt"

	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

// A script of two turns: a tool call, then an answer that uses its result.
func Example() {
	m := scripted.New(
		scripted.Turn{Calls: []scripted.Call{{Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
		scripted.Turn{Match: scripted.HasToolResult, Text: "It is sunny in Paris."},
	)
	ctx := context.Background()
	for chunk, err := range m.Chat(ctx, &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Weather?"}}}) {
		if err != nil {
			panic(err)
		}
		for _, c := range chunk.ToolCalls {
			fmt.Println("call", c.Name, string(c.Arguments))
		}
	}
	req := &llm.Request{Messages: []llm.Message{
		{Role: llm.RoleUser, Content: "Weather?"},
		{Role: llm.RoleTool, Content: `{"sky":"sunny"}`, ToolName: "get_weather"},
	}}
	text := ""
	for chunk, err := range m.Chat(ctx, req) {
		if err != nil {
			panic(err)
		}
		text += chunk.Text
	}
	fmt.Println(text)
	fmt.Println(len(m.Requests()), "requests recorded")
	// Output:
	// call get_weather {"city":"Paris"}
	// It is sunny in Paris.
	// 2 requests recorded
}

// Echo answers every request from the last user message: handy when a test
// cares about the flow, not the words.
func ExampleEcho() {
	m := scripted.Echo()
	for chunk, err := range m.Chat(context.Background(), &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hello"}}}) {
		if err != nil {
			panic(err)
		}
		fmt.Print(chunk.Text)
	}
	fmt.Println()
	// Output: You said: hello
}

// A held turn pauses mid-reply until the test releases it: the test acts
// while the model call is in flight (here it only reads the text so far),
// with no sleep.
func ExampleHold() {
	h := scripted.NewHold()
	m := scripted.New(scripted.Turn{Text: "Thinking it over… done.", Pieces: 1, Hold: h})
	done := make(chan string)
	go func() {
		text := ""
		for chunk, err := range m.Chat(context.Background(), &llm.Request{}) {
			if err != nil {
				panic(err)
			}
			text += chunk.Text
		}
		done <- text
	}()
	if err := m.WaitRequests(context.Background(), 1); err != nil {
		panic(err)
	}
	if err := h.Wait(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println("in flight")
	h.Release()
	fmt.Println(<-done)
	// Output:
	// in flight
	// Thinking it over… done.
}
