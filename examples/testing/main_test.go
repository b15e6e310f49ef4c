package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/scripted"
)

// TestBotFilesTicket runs the bot against the scripted model: no network,
// no model, a real database in a temporary directory.
func TestBotFilesTicket(t *testing.T) {
	ctx := context.Background()
	model := scripted.New(script()...)
	e, err := engine.Open(ctx, engine.Config{Path: filepath.Join(t.TempDir(), "hearth.db"), Model: model})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
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
