package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/scripted"
)

// A run's additional_messages attach files as a created message does: for
// file_search into the thread's vector store (and indexed), for the code
// interpreter into the thread's code_interpreter files — and a thread whose
// code_interpreter is full refuses more with a 400 naming the attachment.
func TestAdditionalMessagesAttach(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, scripted.Echo())
	file := func(name string) string {
		f, err := e.Files.Create(ctx, strings.NewReader("Refunds take 14 days."), apitype.FileCreateParams{Filename: name, Purpose: "assistants"})
		if err != nil {
			t.Fatal(err)
		}
		return f.ID
	}
	doc := file("policy.md")
	a := mustAssistant(t, e)
	th := mustThread(t, e, "hello")
	r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID, AdditionalMessages: []apitype.MessageCreateParams{{
		Role: apitype.RoleUser, Content: apitype.TextInput("see attached"),
		Attachments: []apitype.Attachment{{FileID: doc, Tools: []apitype.AttachmentTool{{Type: apitype.ToolTypeFileSearch}, {Type: apitype.ToolTypeCodeInterpreter}}}}}}})
	if err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("run %v %+v", err, r)
	}
	got, err := e.Threads.Retrieve(ctx, th.ID)
	if err != nil {
		t.Fatal(err)
	}
	tr := got.ToolResources
	if tr == nil || tr.FileSearch == nil || len(tr.FileSearch.VectorStoreIDs) != 1 || tr.CodeInterpreter == nil || len(tr.CodeInterpreter.FileIDs) != 1 || tr.CodeInterpreter.FileIDs[0] != doc {
		t.Fatalf("thread tool resources %+v", tr)
	}
	vs, err := e.VectorStores.Wait(ctx, tr.FileSearch.VectorStoreIDs[0])
	if err != nil || vs.FileCounts.Completed != 1 {
		t.Fatalf("the attached file was not indexed: %v %+v", err, vs)
	}

	// Fill the thread's code_interpreter to its cap, then attach one more.
	var more []apitype.Attachment
	for i := 1; i < engine.MaxCodeFiles; i++ {
		more = append(more, apitype.Attachment{FileID: file(fmt.Sprintf("f%d.csv", i)), Tools: []apitype.AttachmentTool{{Type: apitype.ToolTypeCodeInterpreter}}})
	}
	if _, err := e.Messages.Create(ctx, th.ID, apitype.MessageCreateParams{Role: apitype.RoleUser, Content: apitype.TextInput("more"), Attachments: more}); err != nil {
		t.Fatal(err)
	}
	_, err = e.Runs.Create(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID, AdditionalMessages: []apitype.MessageCreateParams{{
		Role: apitype.RoleUser, Content: apitype.TextInput("one too many"),
		Attachments: []apitype.Attachment{{FileID: file("last.csv"), Tools: []apitype.AttachmentTool{{Type: apitype.ToolTypeCodeInterpreter}}}}}}})
	var ae *apitype.Error
	if !errors.Is(err, apitype.ErrInvalidRequest) || !errors.As(err, &ae) || ae.Param != "additional_messages[0].attachments" {
		t.Fatalf("over the cap: %v", err)
	}
	msgs, _ := e.Messages.List(ctx, th.ID, apitype.MessageListParams{})
	for _, m := range msgs.Data {
		if m.Content[0].Text.Value == "one too many" {
			t.Fatal("a refused run left its additional message behind")
		}
	}
}
