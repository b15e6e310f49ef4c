package hearthtest_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/hearthtest"
	"github.com/hearth-go/hearth/llm/scripted"
)

// A unit test of a run: the scripted model answers, RequireRunStatus waits
// for the run's end and checks it, the engine closes when the test ends.
func Example() {
	t := exampleT() // in a test: the test's *testing.T
	defer t.cleanup()

	ctx := context.Background()
	e := hearthtest.Open(t, scripted.New(scripted.Turn{Text: "Hello! How can I help?"}))
	a, _ := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "test-model"})
	run, _ := e.Runs.CreateThreadAndRun(ctx, apitype.ThreadAndRunCreateParams{AssistantID: a.ID,
		Thread: &apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: apitype.RoleUser, Content: apitype.TextInput("Hi")}}}})
	hearthtest.RequireRunStatus(t, e, run.ThreadID, run.ID, apitype.RunCompleted)
	page, _ := e.Messages.List(ctx, run.ThreadID, apitype.MessageListParams{RunID: run.ID})
	fmt.Println(page.Data[0].Text())
	// Output: Hello! How can I help?
}

// CollectEvents reads a whole stream; Names and Text are what tests
// usually compare.
func ExampleCollectEvents() {
	t := exampleT()
	defer t.cleanup()

	ctx := context.Background()
	e := hearthtest.Open(t, scripted.Echo())
	a, _ := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "test-model"})
	evs := hearthtest.CollectEvents(t, e.Runs.CreateThreadAndRunStream(ctx, apitype.ThreadAndRunCreateParams{AssistantID: a.ID,
		Thread: &apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: apitype.RoleUser, Content: apitype.TextInput("ping")}}}}))
	fmt.Println(evs.Text())
	fmt.Println(evs.Last().Event)
	// Output:
	// You said: ping
	// thread.run.completed
}

// A held turn lets the test act while the model call is in flight — here,
// cancel the run — with no sleep: Hold.Wait returns once the reply has
// streamed its text and pauses.
func ExampleOpen_holdATurn() {
	t := exampleT()
	defer t.cleanup()

	ctx := context.Background()
	hold := scripted.NewHold()
	e := hearthtest.Open(t, scripted.New(scripted.Turn{Text: "Let me think", Hold: hold}))
	a, _ := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "test-model"})
	run, _ := e.Runs.CreateThreadAndRun(ctx, apitype.ThreadAndRunCreateParams{AssistantID: a.ID,
		Thread: &apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: apitype.RoleUser, Content: apitype.TextInput("Hard question")}}}})
	if err := hold.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Runs.Cancel(ctx, run.ThreadID, run.ID); err != nil {
		t.Fatal(err)
	}
	hearthtest.RequireRunStatus(t, e, run.ThreadID, run.ID, apitype.RunCancelled)
	page, _ := e.Messages.List(ctx, run.ThreadID, apitype.MessageListParams{RunID: run.ID})
	fmt.Println(page.Data[0].Status, page.Data[0].Text())
	// Output: incomplete Let me think
}

// Logs records what the engine logs; Wait waits for a line that comes
// just after the event the test saw.
func ExampleLogs() {
	t := exampleT()
	defer t.cleanup()

	ctx := context.Background()
	logs := &hearthtest.Logs{}
	e := hearthtest.Open(t, scripted.Echo(), hearthtest.Config(func(c *engine.Config) { c.Logger = slog.New(logs) }))
	a, _ := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "test-model"})
	run, _ := e.Runs.CreateThreadAndRunAndWait(ctx, apitype.ThreadAndRunCreateParams{AssistantID: a.ID})
	recs, err := logs.Wait(ctx, "run finished")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(recs[0]["run"] == run.ID, recs[0]["status"])
	// Output: true completed
}

// exampleT stands in for a test's *testing.T in these examples: it fails
// by panicking and runs its cleanups when the example ends.
func exampleT() *fakeT { return &fakeT{} }

type fakeT struct {
	testing.TB // only the methods below are called
	cleanups   []func()
	dirs       []string
}

func (t *fakeT) Helper()                           {}
func (t *fakeT) Name() string                      { return "Example" }
func (t *fakeT) Log(args ...any)                   {}
func (t *fakeT) Logf(string, ...any)               {}
func (t *fakeT) Errorf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (t *fakeT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (t *fakeT) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (t *fakeT) Cleanup(f func())                  { t.cleanups = append(t.cleanups, f) }
func (t *fakeT) Context() context.Context          { return context.Background() }
func (t *fakeT) TempDir() string {
	d, err := os.MkdirTemp("", "hearthtest-example")
	if err != nil {
		panic(err)
	}
	t.dirs = append(t.dirs, d)
	return d
}

func (t *fakeT) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	for _, d := range t.dirs {
		os.RemoveAll(d)
	}
}
