package openaihttp_test

import (
	"context"
	"errors"
	"testing"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/hearth-go/hearth/llm/scripted"
)

func goClient(e *env) *goopenai.Client {
	cfg := goopenai.DefaultConfig(testKey)
	cfg.BaseURL = e.srv.URL + "/v1"
	cfg.HTTPClient = e.srv.Client()
	return goopenai.NewClientWithConfig(cfg)
}

func goPoll(t *testing.T, c *goopenai.Client, threadID, runID string) goopenai.Run {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := c.RetrieveRun(context.Background(), threadID, runID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != goopenai.RunStatusQueued && r.Status != goopenai.RunStatusInProgress && r.Status != goopenai.RunStatusCancelling {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %s", runID, r.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The calls go-openai v1.43.0 supports, against the same handler.
func TestGoOpenAI(t *testing.T) {
	m := scripted.New(
		scripted.Turn{Text: "x = 1"},
		scripted.Turn{Calls: []scripted.Call{{Name: "get_weather", Arguments: `{"location":"Oslo"}`}}},
		scripted.Turn{Match: scripted.HasToolResult, Text: "Cold."},
	)
	e := newEnv(t, m)
	c := goClient(e)
	ctx := context.Background()
	name, instr := "Math Tutor", "You are a personal math tutor."
	a, err := c.CreateAssistant(ctx, goopenai.AssistantRequest{Model: "llama3.2", Name: &name, Instructions: &instr,
		Tools: []goopenai.AssistantTool{{Type: goopenai.AssistantToolTypeFunction, Function: &goopenai.FunctionDefinition{
			Name: "get_weather", Parameters: map[string]any{"type": "object", "properties": map[string]any{"location": map[string]any{"type": "string"}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Name == nil || *a.Name != name || len(a.Tools) != 1 {
		t.Fatalf("assistant %+v", a)
	}
	list, err := c.ListAssistants(ctx, nil, nil, nil, nil)
	if err != nil || len(list.Assistants) != 1 {
		t.Fatalf("list %+v %v", list, err)
	}
	newName := "Tutor"
	if a2, err := c.ModifyAssistant(ctx, a.ID, goopenai.AssistantRequest{Model: "llama3.2", Name: &newName}); err != nil || *a2.Name != newName {
		t.Fatalf("modify %+v %v", a2, err)
	}
	th, err := c.CreateThread(ctx, goopenai.ThreadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateMessage(ctx, th.ID, goopenai.MessageRequest{Role: "user", Content: "Solve 3x + 11 = 14"}); err != nil {
		t.Fatal(err)
	}
	run, err := c.CreateRun(ctx, th.ID, goopenai.RunRequest{AssistantID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if run = goPoll(t, c, th.ID, run.ID); run.Status != goopenai.RunStatusCompleted {
		t.Fatalf("run %s", run.Status)
	}
	order := "asc"
	msgs, err := c.ListMessage(ctx, th.ID, nil, &order, nil, nil, nil)
	if err != nil || len(msgs.Messages) != 2 || msgs.Messages[1].Content[0].Text.Value != "x = 1" {
		t.Fatalf("messages %+v %v", msgs, err)
	}
	steps, err := c.ListRunSteps(ctx, th.ID, run.ID, goopenai.Pagination{})
	if err != nil || len(steps.RunSteps) != 1 {
		t.Fatalf("steps %+v %v", steps, err)
	}
	// Function calling.
	if _, err := c.CreateMessage(ctx, th.ID, goopenai.MessageRequest{Role: "user", Content: "Weather in Oslo?"}); err != nil {
		t.Fatal(err)
	}
	run, err = c.CreateRun(ctx, th.ID, goopenai.RunRequest{AssistantID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	run = goPoll(t, c, th.ID, run.ID)
	if run.Status != goopenai.RunStatusRequiresAction || run.RequiredAction == nil {
		t.Fatalf("run %+v", run)
	}
	call := run.RequiredAction.SubmitToolOutputs.ToolCalls[0]
	if _, err := c.SubmitToolOutputs(ctx, th.ID, run.ID, goopenai.SubmitToolOutputsRequest{
		ToolOutputs: []goopenai.ToolOutput{{ToolCallID: call.ID, Output: "-3C"}}}); err != nil {
		t.Fatal(err)
	}
	if run = goPoll(t, c, th.ID, run.ID); run.Status != goopenai.RunStatusCompleted {
		t.Fatalf("run %s", run.Status)
	}
	// Create thread and run.
	tr, err := c.CreateThreadAndRun(ctx, goopenai.CreateThreadAndRunRequest{RunRequest: goopenai.RunRequest{AssistantID: a.ID},
		Thread: goopenai.ThreadRequest{Messages: []goopenai.ThreadMessage{{Role: "user", Content: "again"}}}})
	if err != nil {
		t.Fatal(err)
	}
	goPoll(t, c, tr.ThreadID, tr.ID)
	// Files and vector stores.
	f, err := c.CreateFileBytes(ctx, goopenai.FileBytesRequest{Name: "notes.txt", Bytes: []byte("kettles boil water"), Purpose: goopenai.PurposeAssistants})
	if err != nil {
		t.Fatal(err)
	}
	content, err := c.GetFileContent(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := content.Read(buf)
	content.Close()
	if string(buf[:n]) != "kettles boil water" {
		t.Fatalf("content %q", buf[:n])
	}
	vs, err := c.CreateVectorStore(ctx, goopenai.VectorStoreRequest{Name: "docs"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateVectorStoreFile(ctx, vs.ID, goopenai.VectorStoreFileRequest{FileID: f.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RetrieveVectorStoreFile(ctx, vs.ID, f.ID); err != nil {
		t.Fatal(err)
	}
	// Errors come back as *APIError with the status.
	_, err = c.RetrieveAssistant(ctx, "asst_missing")
	var ae *goopenai.APIError
	if !errors.As(err, &ae) || ae.HTTPStatusCode != 404 || ae.Type != "not_found_error" {
		t.Fatalf("want 404 APIError, got %v", err)
	}
	if _, err := c.DeleteAssistant(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
}
