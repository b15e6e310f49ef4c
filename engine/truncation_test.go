package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/truncate"
)

// fill appends n alternating user/assistant messages to a thread straight
// through the store, 2,000 per transaction.
func fill(t testing.TB, e *engine.Engine, threadID string, n int) {
	t.Helper()
	enc, _ := truncate.Default()
	// Its own generator, a minute in the past: ids are ordered only within
	// one generator, and the engine's next message (made in the same
	// millisecond as the last filler) must sort after every filler.
	ids := store.NewIDGenerator(func() time.Time { return time.Now().Add(-time.Minute) }, nil)
	counts := map[int]int{} // by filler length: the numbers differ by a token at most

	for done := 0; done < n; {
		err := e.Driver().Update(context.Background(), func(tx store.Tx) error {
			for i := done; i < min(done+2000, n); i++ {
				role := apitype.RoleUser
				if i%2 == 1 {
					role = apitype.RoleAssistant
				}
				text := fmt.Sprintf("message %d: %s", i, strings.Repeat("words ", i%40))
				m := &apitype.Message{ID: ids.New(store.PrefixMessage), Object: apitype.ObjectMessage, ThreadID: threadID,
					Status: apitype.MessageCompleted, Role: role, Content: []apitype.MessageContent{{Type: "text",
						Text: &apitype.TextContent{Value: text, Annotations: []apitype.Annotation{}}}}}
				c, ok := counts[i%40]
				if !ok {
					c = enc.CountMessage(text, 0) + 2
					counts[i%40] = c
				}
				if err := tx.PutMessage(m, c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		done = min(done+2000, n)
	}
}

func TestRunOnHundredThousandMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 100,000-message thread")
	}
	ctx := context.Background()
	m := scripted.New(
		scripted.Turn{Calls: []scripted.Call{{Name: "code_interpreter", Arguments: `{"code":"print(42)"}`}}},
		scripted.Turn{Match: scripted.HasToolResult, Text: "done"},
	)
	const window = 4096
	e := openEngine(t, m, func(c *engine.Config) { c.ContextWindow = window })
	a := mustAssistant(t, e, apitype.Tool{Type: apitype.ToolTypeCodeInterpreter})
	th, err := e.Threads.Create(ctx, apitype.ThreadCreateParams{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 100_000
	fill(t, e, th.ID, n-2) // + the question + the answer = 100,000
	if _, err := e.Messages.Create(ctx, th.ID, apitype.MessageCreateParams{Role: "user", Content: apitype.TextInput("the newest question")}); err != nil {
		t.Fatal(err)
	}
	r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("run %v %+v %+v", err, r, r.LastError)
	}
	enc, _ := truncate.Default()
	for i, req := range m.Requests() {
		total := 0
		for _, msg := range req.Messages {
			total += enc.CountMessage(msg.Content, len(msg.Images))
		}
		if total > window {
			t.Fatalf("request %d: %d tokens > window %d", i, total, window)
		}
		// Newest messages, in order: the thread part ends with the newest
		// question, and the numbered messages before it count up by one.
		last := -1
		for _, msg := range req.Messages {
			var k int
			if _, err := fmt.Sscanf(msg.Content, "message %d:", &k); err == nil {
				if last >= 0 && k != last+1 {
					t.Fatalf("request %d: message %d follows %d", i, k, last)
				}
				last = k
			}
		}
		if last != n-3 {
			t.Fatalf("request %d: newest numbered message is %d, want %d", i, last, n-3)
		}
	}
	// The second request carries the tool call and, right after, its output.
	req := m.Requests()[1]
	var call llm.Message
	for j, msg := range req.Messages {
		if len(msg.ToolCalls) > 0 {
			call = msg
			if j+1 >= len(req.Messages) || req.Messages[j+1].ToolCallID != call.ToolCalls[0].ID {
				t.Fatalf("tool call %s not followed by its output", call.ToolCalls[0].ID)
			}
		}
	}
	if len(call.ToolCalls) == 0 {
		t.Fatal("the tool call is missing from the prompt")
	}
	if scripted.LastUser(&req) != "the newest question" {
		t.Fatalf("newest user message missing: %q", scripted.LastUser(&req))
	}
	var count int
	e.Driver().View(ctx, func(tx store.Tx) (err error) { count, err = tx.CountMessages(th.ID); return err })
	if count != n {
		t.Fatalf("thread holds %d messages, want %d (nothing deleted)", count, n)
	}
	steps, _ := e.Steps.List(ctx, th.ID, r.ID, apitype.StepListParams{ListParams: apitype.ListParams{Order: "asc"}})
	if steps.Data[0].Metadata["hearth.prompt_messages_dropped"] == "" {
		t.Fatalf("the step does not say what truncation left out: %+v", steps.Data[0].Metadata)
	}
}

func TestTokenLimitsEndIncomplete(t *testing.T) {
	ctx := context.Background()
	// max_completion_tokens: the model stops for length → incomplete.
	e := openEngine(t, scripted.New(scripted.Turn{Text: "a long answer that was cut", FinishReason: llm.FinishLength}))
	a := mustAssistant(t, e)
	th := mustThread(t, e, "write a lot")
	r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID, MaxCompletionTokens: apitype.Ptr(256)})
	if err != nil || r.Status != apitype.RunIncomplete || r.IncompleteDetails.Reason != "max_completion_tokens" {
		t.Fatalf("run %v %+v", err, r)
	}
	msgs, _ := e.Messages.List(ctx, th.ID, apitype.MessageListParams{RunID: r.ID})
	if msgs.Data[0].Status != apitype.MessageIncomplete || msgs.Data[0].Text() != "a long answer that was cut" {
		t.Fatalf("message %+v", msgs.Data[0])
	}
	// max_prompt_tokens: the thread's newest message alone exceeds it.
	e2 := openEngine(t, scripted.New())
	a2 := mustAssistant(t, e2)
	th2 := mustThread(t, e2, strings.Repeat("very long question ", 200))
	r, err = e2.Runs.CreateAndWait(ctx, th2.ID, apitype.RunCreateParams{AssistantID: a2.ID, MaxPromptTokens: apitype.Ptr(256)})
	if err != nil || r.Status != apitype.RunIncomplete || r.IncompleteDetails.Reason != "max_prompt_tokens" {
		t.Fatalf("run %v %+v", err, r)
	}
	// A message larger than the whole window: failed with a clear reason.
	e3 := openEngine(t, scripted.New(), func(c *engine.Config) { c.ContextWindow = 1024 })
	a3 := mustAssistant(t, e3)
	th3 := mustThread(t, e3, strings.Repeat("enormous <|endoftext|> message ", 500))
	r, err = e3.Runs.CreateAndWait(ctx, th3.ID, apitype.RunCreateParams{AssistantID: a3.ID})
	if err != nil || r.Status != apitype.RunFailed || !strings.Contains(r.LastError.Message, "context") {
		t.Fatalf("run %v %+v", err, r)
	}
}

// TestRunsWithoutNewUserMessage runs 2,000 runs on one thread with no new
// user message: earlier runs' answers are history and are dropped oldest
// first, so every run completes; the newest user message stays, and the
// prompt keeps the newest answers in order.
func TestRunsWithoutNewUserMessage(t *testing.T) {
	ctx := context.Background()
	n := 0
	m := &scripted.Model{KeepRequests: 1, Fallback: func(*llm.Request) scripted.Turn {
		n++
		return scripted.Turn{Text: fmt.Sprintf("answer %d: %s", n, strings.Repeat("and on ", 8))}
	}}
	const window = 2048
	e := openEngine(t, m, func(c *engine.Config) { c.ContextWindow = window })
	a := mustAssistant(t, e)
	th := mustThread(t, e, "count on, one answer per run")
	enc, _ := truncate.Default()
	const runs = 2000
	for i := 1; i <= runs; i++ {
		r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil || r.Status != apitype.RunCompleted {
			t.Fatalf("run %d: %v %+v %+v", i, err, r, r.LastError)
		}
		req := m.Requests()[0]
		total, last, first := 0, -1, -1
		for _, msg := range req.Messages {
			total += enc.CountMessage(msg.Content, len(msg.Images))
			var k int
			if _, err := fmt.Sscanf(msg.Content, "answer %d:", &k); err == nil {
				if last >= 0 && k != last+1 {
					t.Fatalf("run %d: answer %d follows %d", i, k, last)
				}
				if first < 0 {
					first = k
				}
				last = k
			}
		}
		if total > window {
			t.Fatalf("run %d: %d tokens > window %d", i, total, window)
		}
		if i > 1 && last != i-1 {
			t.Fatalf("run %d: newest answer in the prompt is %d, want %d", i, last, i-1)
		}
		if scripted.LastUser(&req) != "count on, one answer per run" {
			t.Fatalf("run %d: the newest user message is missing: %q", i, scripted.LastUser(&req))
		}
		if i == runs {
			if first <= 1 {
				t.Fatalf("run %d: nothing was dropped (first answer %d)", i, first)
			}
			steps, _ := e.Steps.List(ctx, th.ID, r.ID, apitype.StepListParams{})
			if steps.Data[0].Metadata["hearth.prompt_messages_dropped"] == "" {
				t.Fatalf("the step does not say what truncation left out: %+v", steps.Data[0].Metadata)
			}
		}
	}
}
