package openaihttp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/hearth-go/hearth/codeinterp/wasi"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

// A 1×1 PNG: enough for an image part.
var pixelPNG, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

// parts is the usual vision message as the SDK sends it: a text part whose
// text is a string, and an image part.
func parts(text string, image openai.MessageContentPartParamUnion) []openai.MessageContentPartParamUnion {
	return []openai.MessageContentPartParamUnion{{OfText: &openai.TextContentBlockParam{Text: text}}, image}
}

// Content given as parts is accepted at every entry point that takes a
// message — threads.create, messages.create, a run's additional_messages and
// create-thread-and-run — stored in the output shape, and reaches the model
// as its text and images (issue 14, point 1).
func TestContentPartsEveryEntryPoint(t *testing.T) {
	m := scripted.Echo()
	e := newEnv(t, m)
	ctx := context.Background()
	img, err := e.client.Files.New(ctx, openai.FileNewParams{File: openai.File(bytes.NewReader(pixelPNG), "pixel.png", "image/png"),
		Purpose: openai.FilePurposeVision})
	if err != nil {
		t.Fatal(err)
	}
	fileImage := openai.MessageContentPartParamUnion{OfImageFile: &openai.ImageFileContentBlockParam{
		ImageFile: openai.ImageFileParam{FileID: img.ID, Detail: openai.ImageFileDetailLow}}}
	urlImage := openai.MessageContentPartParamUnion{OfImageURL: &openai.ImageURLContentBlockParam{
		ImageURL: openai.ImageURLParam{URL: "data:image/png;base64," + base64.StdEncoding.EncodeToString(pixelPNG), Detail: openai.ImageURLDetailHigh}}}
	a := e.assistant(t)

	// The model must see the newest message's text and its one image.
	lastSaw := func(want string) {
		t.Helper()
		reqs := m.Requests()
		req := reqs[len(reqs)-1]
		var last llm.Message
		for _, msg := range req.Messages {
			if msg.Role == llm.RoleUser {
				last = msg
			}
		}
		if !strings.Contains(last.Content, want) || len(last.Images) != 1 || !bytes.Equal(last.Images[0], pixelPNG) {
			t.Fatalf("the model got %q with %d images, want %q and the image", last.Content, len(last.Images), want)
		}
	}
	checkStored := func(threadID, want string, image string) {
		t.Helper()
		page, err := e.client.Beta.Threads.Messages.List(ctx, threadID, openai.BetaThreadMessageListParams{Order: openai.BetaThreadMessageListParamsOrderDesc})
		if err != nil {
			t.Fatal(err)
		}
		var msg *openai.Message
		for i := range page.Data {
			if page.Data[i].Role == openai.MessageRoleUser {
				msg = &page.Data[i]
				break
			}
		}
		if msg == nil || len(msg.Content) != 2 || msg.Content[0].Type != "text" || msg.Content[0].Text.Value != want ||
			msg.Content[0].Text.Annotations == nil || msg.Content[1].Type != image {
			t.Fatalf("stored message %+v", msg)
		}
	}

	// threads.create with messages.
	th, err := e.client.Beta.Threads.New(ctx, openai.BetaThreadNewParams{Messages: []openai.BetaThreadNewParamsMessage{{
		Role: "user", Content: openai.BetaThreadNewParamsMessageContentUnion{OfArrayOfContentParts: parts("What is in this picture?", fileImage)}}}})
	if err != nil {
		t.Fatal(err)
	}
	checkStored(th.ID, "What is in this picture?", "image_file")
	r, err := e.client.Beta.Threads.Runs.New(ctx, th.ID, openai.BetaThreadRunNewParams{AssistantID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if r = e.poll(t, th.ID, r.ID); r.Status != openai.RunStatusCompleted {
		t.Fatalf("run %s: %+v", r.Status, r.LastError)
	}
	lastSaw("What is in this picture?")

	// messages.create.
	if _, err := e.client.Beta.Threads.Messages.New(ctx, th.ID, openai.BetaThreadMessageNewParams{Role: openai.BetaThreadMessageNewParamsRoleUser,
		Content: openai.BetaThreadMessageNewParamsContentUnion{OfArrayOfContentParts: parts("And this one?", urlImage)}}); err != nil {
		t.Fatal(err)
	}
	checkStored(th.ID, "And this one?", "image_url")
	r, err = e.client.Beta.Threads.Runs.New(ctx, th.ID, openai.BetaThreadRunNewParams{AssistantID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if r = e.poll(t, th.ID, r.ID); r.Status != openai.RunStatusCompleted {
		t.Fatalf("run %s: %+v", r.Status, r.LastError)
	}
	lastSaw("And this one?")

	// A run's additional_messages.
	r, err = e.client.Beta.Threads.Runs.New(ctx, th.ID, openai.BetaThreadRunNewParams{AssistantID: a.ID,
		AdditionalMessages: []openai.BetaThreadRunNewParamsAdditionalMessage{{Role: "user",
			Content: openai.BetaThreadRunNewParamsAdditionalMessageContentUnion{OfArrayOfContentParts: parts("Compare them.", fileImage)}}}})
	if err != nil {
		t.Fatal(err)
	}
	if r = e.poll(t, th.ID, r.ID); r.Status != openai.RunStatusCompleted {
		t.Fatalf("run %s: %+v", r.Status, r.LastError)
	}
	checkStored(th.ID, "Compare them.", "image_file")
	lastSaw("Compare them.")

	// create-thread-and-run's thread.messages.
	r, err = e.client.Beta.Threads.NewAndRun(ctx, openai.BetaThreadNewAndRunParams{AssistantID: a.ID,
		Thread: openai.BetaThreadNewAndRunParamsThread{Messages: []openai.BetaThreadNewAndRunParamsThreadMessage{{Role: "user",
			Content: openai.BetaThreadNewAndRunParamsThreadMessageContentUnion{OfArrayOfContentParts: parts("Describe it.", urlImage)}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if r = e.poll(t, r.ThreadID, r.ID); r.Status != openai.RunStatusCompleted {
		t.Fatalf("run %s: %+v", r.Status, r.LastError)
	}
	checkStored(r.ThreadID, "Describe it.", "image_url")
	lastSaw("Describe it.")

	// A text-only parts message, and the errors a bad part gets.
	if _, err := e.client.Beta.Threads.Messages.New(ctx, th.ID, openai.BetaThreadMessageNewParams{Role: openai.BetaThreadMessageNewParamsRoleUser,
		Content: openai.BetaThreadMessageNewParamsContentUnion{OfArrayOfContentParts: []openai.MessageContentPartParamUnion{{OfText: &openai.TextContentBlockParam{Text: "only text"}}}}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ body, param string }{
		{`{"role":"user","content":[{"type":"text","text":42}]}`, "content"},
		{`{"role":"user","content":[{"type":"text"}]}`, "content[0].text"},
		{`{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA","detail":"huge"}}]}`, "content[0].image_url.detail"},
	} {
		err := e.client.Post(ctx, "threads/"+th.ID+"/messages", []byte(tc.body), nil)
		if ae := apiErr(t, err, 400, "invalid_request_error"); ae.Param != tc.param {
			t.Errorf("%s: param %q, want %q (%s)", tc.body, ae.Param, tc.param, ae.Message)
		}
	}
}

// A file attached to a message for the code interpreter is in /mnt/data
// when the code runs, and joins the thread's code_interpreter files, as on
// the hosted API — whether attached by messages.create or by a run's
// additional_messages (issue 14, point 2).
func TestAttachmentsReachMntData(t *testing.T) {
	if testing.Short() {
		t.Skip("starts CPython")
	}
	sb, err := wasi.New(wasi.Config{CacheDir: filepath.Join(os.TempDir(), "hearth-test-codeinterp-cache")})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	m := scripted.New(
		scripted.Turn{Calls: []scripted.Call{{Name: "code_interpreter", Arguments: `{"code":"print(open('/mnt/data/sales.csv').read().strip())"}`}}},
		scripted.Turn{Match: scripted.HasToolResult, Text: "Two rows."},
		scripted.Turn{Calls: []scripted.Call{{Name: "code_interpreter", Arguments: `{"code":"import os\nprint(sorted(os.listdir('/mnt/data')))"}`}}},
		scripted.Turn{Match: scripted.HasToolResult, Text: "Both files."},
	)
	e := newEnvWith(t, engine.Config{Model: m, FileIndex: &wordIndex{}, CodeInterpreter: sb})
	ctx := context.Background()
	upload := func(name, body string) string {
		f, err := e.client.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(body), name, "text/csv"), Purpose: openai.FilePurposeAssistants})
		if err != nil {
			t.Fatal(err)
		}
		return f.ID
	}
	sales, costs := upload("sales.csv", "month,sales\njan,10\n"), upload("costs.csv", "month,costs\njan,4\n")
	a := e.assistant(t, openai.AssistantToolUnionParam{OfCodeInterpreter: &openai.CodeInterpreterToolParam{}})
	th, err := e.client.Beta.Threads.New(ctx, openai.BetaThreadNewParams{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Beta.Threads.Messages.New(ctx, th.ID, openai.BetaThreadMessageNewParams{Role: openai.BetaThreadMessageNewParamsRoleUser,
		Content: openai.BetaThreadMessageNewParamsContentUnion{OfString: openai.String("Analyse the attached CSV.")},
		Attachments: []openai.BetaThreadMessageNewParamsAttachment{{FileID: openai.String(sales),
			Tools: []openai.BetaThreadMessageNewParamsAttachmentToolUnion{{OfCodeInterpreter: &openai.CodeInterpreterToolParam{}}}}}}); err != nil {
		t.Fatal(err)
	}
	r, err := e.client.Beta.Threads.Runs.New(ctx, th.ID, openai.BetaThreadRunNewParams{AssistantID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if r = e.poll(t, th.ID, r.ID); r.Status != openai.RunStatusCompleted {
		t.Fatalf("run %s: %+v", r.Status, r.LastError)
	}
	if out, _ := scripted.LastToolResult(&m.Requests()[1]); !strings.Contains(out, "jan,10") {
		t.Fatalf("the code read %q", out)
	}

	r, err = e.client.Beta.Threads.Runs.New(ctx, th.ID, openai.BetaThreadRunNewParams{AssistantID: a.ID,
		AdditionalMessages: []openai.BetaThreadRunNewParamsAdditionalMessage{{Role: "user",
			Content: openai.BetaThreadRunNewParamsAdditionalMessageContentUnion{OfString: openai.String("And this one?")},
			Attachments: []openai.BetaThreadRunNewParamsAdditionalMessageAttachment{{FileID: openai.String(costs),
				Tools: []openai.BetaThreadRunNewParamsAdditionalMessageAttachmentToolUnion{{OfCodeInterpreter: &openai.CodeInterpreterToolParam{}}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if r = e.poll(t, th.ID, r.ID); r.Status != openai.RunStatusCompleted {
		t.Fatalf("run %s: %+v", r.Status, r.LastError)
	}
	if out, _ := scripted.LastToolResult(&m.Requests()[3]); !strings.Contains(out, "'costs.csv'") || !strings.Contains(out, "'sales.csv'") {
		t.Fatalf("/mnt/data holds %q", out)
	}
	got, err := e.client.Beta.Threads.Get(ctx, th.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ids := got.ToolResources.CodeInterpreter.FileIDs; len(ids) != 2 || ids[0] != sales || ids[1] != costs {
		t.Fatalf("thread code_interpreter files %v", ids)
	}
}

// A backend that returns a whole call (as Ollama does) is streamed in the
// hosted shape: a first delta with the id, type and name and empty
// arguments (the SDKs' tool_call_created), then the arguments in a delta
// of their own (tool_call_delta) — issue 14, point 3.
func TestToolCallInputArrivesInDeltas(t *testing.T) {
	m := scripted.New(scripted.Turn{Calls: []scripted.Call{{Name: "get_weather", Arguments: `{"location":"Paris"}`}}})
	e := newEnv(t, m)
	ctx := context.Background()
	a := e.assistant(t, openai.AssistantToolUnionParam{OfFunction: &openai.FunctionToolParam{Function: openai.FunctionDefinitionParam{Name: "get_weather"}}})
	th := e.threadWith(t, "Weather in Paris?")
	stream := e.client.Beta.Threads.Runs.NewStreaming(ctx, th.ID, openai.BetaThreadRunNewParams{AssistantID: a.ID})
	var deltas []openai.ToolCallDeltaUnion
	var raws []string
	for stream.Next() {
		ev := stream.Current()
		if ev.Event == "thread.run.step.delta" {
			d := ev.AsThreadRunStepDelta().Data
			for _, tc := range d.Delta.StepDetails.ToolCalls {
				deltas = append(deltas, tc)
				raws = append(raws, tc.RawJSON())
			}
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(deltas) != 2 {
		t.Fatalf("want 2 deltas (the call, then its arguments), got %d: %v", len(deltas), raws)
	}
	first, second := deltas[0].AsFunction(), deltas[1].AsFunction()
	if first.ID == "" || first.Type != "function" || first.Function.Name != "get_weather" || first.Function.Arguments != "" ||
		!strings.Contains(raws[0], `"arguments":""`) {
		t.Fatalf("first delta %s", raws[0])
	}
	if second.ID != "" || second.Type != "function" || second.Function.Arguments != `{"location":"Paris"}` {
		t.Fatalf("second delta %s", raws[1])
	}
}
