package main

import (
	"context"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/hearthtest"
	"github.com/hearth-go/hearth/llm/scripted"
)

// TestBotFilesTicket runs the bot against the scripted model: no network,
// no model, a real database in a temporary directory. hearthtest.Open
// closes the engine when the test ends and fails the test if Hearth left a
// goroutine running.
func TestBotFilesTicket(t *testing.T) {
	ctx := context.Background()
	model := scripted.New(script()...)
	e := hearthtest.Open(t, model)
	bot, err := NewBot(ctx, e, "test-model")
	if err != nil {
		t.Fatal(err)
	}
	answer, err := bot.Ask(ctx, "The export button crashes the app.")
	if err != nil {
		t.Fatal(err)
	}
	if len(bot.Tickets) != 1 || bot.Tickets[0] != "export button crashes" {
		t.Fatalf("tickets = %q", bot.Tickets)
	}
	if !strings.Contains(answer, "T-1") {
		t.Fatalf("answer = %q", answer)
	}
	// The prompt the model saw: the instructions first, the question last.
	req := model.Requests()[0]
	if req.Messages[0].Content != "You are a support bot. File a ticket for every bug report." {
		t.Fatalf("system prompt = %q", req.Messages[0].Content)
	}
	if got := scripted.LastUser(&req); got != "The export button crashes the app." {
		t.Fatalf("last user message = %q", got)
	}
}

// TestBotStreamsAnswer checks what a user of the app would see streamed,
// with hearthtest collecting the events.
func TestBotStreamsAnswer(t *testing.T) {
	ctx := context.Background()
	e := hearthtest.Open(t, scripted.New(scripted.Turn{Text: "Have you tried turning it off and on again?"}))
	bot, err := NewBot(ctx, e, "test-model")
	if err != nil {
		t.Fatal(err)
	}
	evs := hearthtest.CollectEvents(t, e.Runs.CreateThreadAndRunStream(ctx, apitype.ThreadAndRunCreateParams{AssistantID: bot.asst.ID,
		Thread: &apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: apitype.RoleUser, Content: apitype.TextInput("My screen is black.")}}}}))
	if got := evs.Text(); got != "Have you tried turning it off and on again?" {
		t.Fatalf("streamed %q", got)
	}
	if r := evs.Run(); r == nil || r.Status != apitype.RunCompleted {
		t.Fatalf("the stream ended with %v", evs.Last().Event)
	}
}
