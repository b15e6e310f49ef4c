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

// Vector store file attributes: set on create and per file of a batch,
// replaced by UpdateFile, validated as the hosted API did.
func TestVectorStoreFileAttributes(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, scripted.Echo())
	f, err := e.Files.Create(ctx, strings.NewReader("kettle two years"), apitype.FileCreateParams{Filename: "k.txt", Purpose: "assistants"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := e.Files.Create(ctx, strings.NewReader("toaster"), apitype.FileCreateParams{Filename: "t.txt", Purpose: "assistants"})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.VectorStores.CreateFile(ctx, vs.ID, apitype.VectorStoreFileCreateParams{FileID: f.ID, Attributes: map[string]any{"lang": "en"}}); err != nil {
		t.Fatal(err)
	}
	got, err := e.VectorStores.UpdateFile(ctx, vs.ID, f.ID, apitype.VectorStoreFileUpdateParams{Attributes: map[string]any{"lang": "de", "n": 2.0, "ok": true}})
	if err != nil || got.Attributes["lang"] != "de" || len(got.Attributes) != 3 {
		t.Fatalf("update %v %+v", err, got)
	}
	if got, _ = e.VectorStores.RetrieveFile(ctx, vs.ID, f.ID); got.Attributes["lang"] != "de" {
		t.Fatalf("stored %+v", got.Attributes)
	}
	for _, tc := range []struct {
		err   error
		param string
	}{
		{func() error {
			_, err := e.VectorStores.UpdateFile(ctx, vs.ID, f.ID, apitype.VectorStoreFileUpdateParams{Attributes: map[string]any{"x": map[string]any{}}})
			return err
		}(), "attributes.x"},
		{func() error {
			_, err := e.VectorStores.CreateBatch(ctx, vs.ID, apitype.VectorStoreFileBatchCreateParams{FileIDs: []string{g.ID}, Files: []apitype.VectorStoreBatchFile{{FileID: g.ID}}})
			return err
		}(), "files"},
		{func() error {
			_, err := e.VectorStores.CreateBatch(ctx, vs.ID, apitype.VectorStoreFileBatchCreateParams{Files: []apitype.VectorStoreBatchFile{{FileID: "file-nope"}}})
			return err
		}(), "files[0].file_id"},
	} {
		var ae *apitype.Error
		if !errors.As(tc.err, &ae) || ae.Param != tc.param {
			t.Errorf("want a 400 on %s, got %v", tc.param, tc.err)
		}
	}
	b, err := e.VectorStores.CreateBatch(ctx, vs.ID, apitype.VectorStoreFileBatchCreateParams{Files: []apitype.VectorStoreBatchFile{{FileID: g.ID, Attributes: map[string]any{"a": "b"}}}})
	if err != nil || b.FileCounts.Total != 1 {
		t.Fatalf("batch of files %v %+v", err, b)
	}
	if got, _ = e.VectorStores.RetrieveFile(ctx, vs.ID, g.ID); got.Attributes["a"] != "b" {
		t.Fatalf("batch file attributes %+v", got.Attributes)
	}
}
