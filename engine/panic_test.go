package engine_test

import (
	"context"
	"iter"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

// panickyModel panics in Chat itself, or inside its stream after a first
// chunk, for requests whose last user message says so; others are echoed.
type panickyModel struct{ echo *scripted.Model }

func (m panickyModel) Chat(ctx context.Context, req *llm.Request) iter.Seq2[llm.Chunk, error] {
	switch scripted.LastUser(req) {
	case "panic now":
		panic("backend bug before the stream")
	case "panic mid-stream":
		return func(yield func(llm.Chunk, error) bool) {
			if !yield(llm.Chunk{Text: "half an answer"}, nil) {
				return
			}
			panic("backend bug in the stream")
		}
	}
	return m.echo.Chat(ctx, req)
}

type panickyTool struct{}

func (panickyTool) RunTool(context.Context, *engine.ToolCall) (*engine.ToolResult, error) {
	panic("tool bug")
}

// A panic in a model backend or a tool runner fails the run it was serving
// with server_error and a last_error that says what panicked — the process
// and the engine go on, and the thread is free for the next run.
func TestPanicFailsTheRunNotTheProcess(t *testing.T) {
	ctx := context.Background()
	m := panickyModel{scripted.Echo()}
	e := openEngine(t, m, func(c *engine.Config) { c.Tools = panickyTool{} })
	a := mustAssistant(t, e, apitype.Tool{Type: apitype.ToolTypeCodeInterpreter})
	for _, text := range []string{"panic now", "panic mid-stream"} {
		th := mustThread(t, e, text)
		r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != apitype.RunFailed || r.LastError == nil || r.LastError.Code != apitype.ErrorCodeServer ||
			!strings.Contains(r.LastError.Message, "panicked: backend bug") {
			t.Fatalf("%q: run %s, last_error %+v; want failed with server_error naming the panic", text, r.Status, r.LastError)
		}
		steps, err := e.Steps.List(ctx, th.ID, r.ID, apitype.StepListParams{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range steps.Data {
			if s.Status == apitype.StepInProgress {
				t.Fatalf("%q: step %s left in progress", text, s.ID)
			}
		}
		// The thread is free and the engine still answers.
		if _, err := e.Messages.Create(ctx, th.ID, apitype.MessageCreateParams{Role: apitype.RoleUser, Content: apitype.TextInput("hello")}); err != nil {
			t.Fatal(err)
		}
		r, err = e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil || r.Status != apitype.RunCompleted {
			t.Fatalf("%q: the next run: %v %+v", text, err, r)
		}
	}

	// A tool runner that panics fails the run the same way.
	tm := scripted.New(scripted.Turn{Calls: []scripted.Call{{Name: "code_interpreter", Arguments: `{"code":"print(1)"}`}}})
	e2 := openEngine(t, tm, func(c *engine.Config) { c.Tools = panickyTool{} })
	a2 := mustAssistant(t, e2, apitype.Tool{Type: apitype.ToolTypeCodeInterpreter})
	th := mustThread(t, e2, "run code")
	r, err := e2.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a2.ID})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != apitype.RunFailed || r.LastError == nil || !strings.Contains(r.LastError.Message, "panicked: tool bug") {
		t.Fatalf("tool panic: run %s, last_error %+v", r.Status, r.LastError)
	}
}

// panickyIndex is a FileIndex whose Add panics (a broken extractor or
// embedder); the rest is never reached in the test.
type panickyIndex struct{ engine.FileIndex }

func (panickyIndex) Add(context.Context, string, *apitype.File, []byte, apitype.ChunkingStrategy) (int64, error) {
	panic("extractor bug")
}

// A panic while ingesting fails that file with a last_error; the engine and
// the vector store go on.
func TestPanicInIngestionFailsTheFile(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, scripted.Echo(), func(c *engine.Config) { c.FileIndex = panickyIndex{} })
	f, err := e.Files.Create(ctx, strings.NewReader("some text"), apitype.FileCreateParams{Filename: "a.txt", Purpose: "assistants"})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{FileIDs: []string{f.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if vs, err = e.VectorStores.Wait(ctx, vs.ID); err != nil {
		t.Fatal(err)
	}
	vf, err := e.VectorStores.RetrieveFile(ctx, vs.ID, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if vs.FileCounts.Failed != 1 || vf.Status != apitype.StatusFailed || vf.LastError == nil ||
		!strings.Contains(vf.LastError.Message, "panicked: extractor bug") {
		t.Fatalf("vector store %+v, file %+v", vs.FileCounts, vf)
	}
}
