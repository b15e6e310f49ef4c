package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/ollama/ollamatest"
)

// A backend that hangs before its first byte or in the middle of its reply
// fails that run with a last_error naming the bound that fired, and frees its
// worker: with both workers taken by hung calls, a third thread's run queued
// behind them still completes.
func TestHungBackendFailsRunAndFreesWorker(t *testing.T) {
	ctx := context.Background()
	fake := ollamatest.NewServer(t, ollamatest.WithHandler(func(r *api.ChatRequest) ollamatest.Reply {
		switch r.Messages[len(r.Messages)-1].Content {
		case "hang before":
			return ollamatest.Reply{Fault: ollamatest.Hang}
		case "hang during":
			return ollamatest.Reply{Text: "Let me think about it", Fault: ollamatest.HangMidStream}
		}
		return ollamatest.Reply{Text: "Fine, thanks."}
	}))
	// The bounds are small so the test is quick; nothing below waits on the
	// clock — each run is waited for until it is over.
	e := ollamaEngineAt(t, fake.URL(), func(c *engine.Config) {
		c.MaxConcurrentRuns = 2
		c.ModelFirstByteTimeout, c.ModelIdleTimeout = 150*time.Millisecond, 150*time.Millisecond
	})
	a := ollamaAssistant(t, e, "llama3.2")
	var runs []*apitype.Run
	for _, text := range []string{"hang before", "hang during", "hello"} {
		th := mustThread(t, e, text)
		r, err := e.Runs.Create(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	for i, want := range []string{"first-byte timeout", "idle timeout", ""} {
		r, err := e.Runs.Wait(ctx, runs[i].ThreadID, runs[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		if want == "" {
			if r.Status != apitype.RunCompleted {
				t.Fatalf("the run behind the hung ones: %s %+v", r.Status, r.LastError)
			}
			continue
		}
		if r.Status != apitype.RunFailed || r.LastError == nil || r.LastError.Code != apitype.ErrorCodeServer ||
			!strings.Contains(r.LastError.Message, want) {
			t.Fatalf("run %d: %s, last_error %+v; want failed naming the %s", i, r.Status, r.LastError, want)
		}
	}
	// The reply cut by the idle bound keeps what streamed, marked incomplete.
	m := lastMessage(t, e, runs[1].ThreadID)
	if m.Role != apitype.RoleAssistant || m.Status != apitype.MessageIncomplete || !strings.HasPrefix("Let me think about it", m.Text()) || m.Text() == "" {
		t.Fatalf("cut message %s %q", m.Status, m.Text())
	}
	// The threads are free again.
	for _, r := range runs[:2] {
		if _, err := e.Messages.Create(ctx, r.ThreadID, apitype.MessageCreateParams{Role: apitype.RoleUser, Content: apitype.TextInput("hello")}); err != nil {
			t.Fatal(err)
		}
	}
}
