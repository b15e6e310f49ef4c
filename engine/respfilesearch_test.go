package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm/scripted"
)

// A file_search response: the call is an output item with its results,
// streamed with its events, the model reads them, and the answer's marker
// becomes a file_citation annotation.
func TestResponseFileSearch(t *testing.T) {
	ctx := context.Background()
	m := scripted.New(
		scripted.Turn{Calls: []scripted.Call{{Name: "file_search", Arguments: `{"query":"kettle warranty"}`}}, StreamArguments: true},
		scripted.Turn{Match: scripted.HasToolResult, Text: "Two years【0:0†kettle.md】."},
	)
	e := openEngine(t, m)
	f, err := e.Files.Create(ctx, strings.NewReader("# Kettle manual\n\nThe warranty covers the kettle for two years."), apitype.FileCreateParams{Filename: "kettle.md", Purpose: "assistants"})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{FileIDs: []string{f.ID}})
	if err != nil {
		t.Fatal(err)
	}
	p := respParams("How long is the kettle covered?")
	p.Tools = []apitype.ResponseTool{{Type: apitype.ToolTypeFileSearch, VectorStoreIDs: []string{vs.ID}}}
	p.Include = []string{apitype.IncludeFileSearchResults}
	var types []string
	var final *apitype.Response
	for ev, err := range e.Responses.CreateStream(ctx, p) {
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, string(ev.Type))
		if ev.Response != nil {
			final = ev.Response
		}
	}
	for _, want := range []string{"response.file_search_call.in_progress", "response.file_search_call.searching",
		"response.file_search_call.completed", "response.output_text.annotation.added"} {
		if !slices.Contains(types, want) {
			t.Fatalf("no %s in %q", want, types)
		}
	}
	if slices.Contains(types, "response.function_call_arguments.delta") {
		t.Fatalf("the file_search call streamed as a function call: %q", types)
	}
	if final.Status != apitype.ResponseCompleted || len(final.Output) != 2 || final.Output[0].FileSearchCall == nil {
		t.Fatalf("output %+v", final.Output)
	}
	call := final.Output[0].FileSearchCall
	if call.Status != "completed" || call.Queries[0] != "kettle warranty" || len(call.Results) == 0 || call.Results[0].FileID != f.ID {
		t.Fatalf("call %+v", call)
	}
	anns := final.Output[1].Message.Content[0].Annotations
	if len(anns) != 1 || anns[0].Type != apitype.AnnotationFileCitation || anns[0].FileID != f.ID || anns[0].Filename != "kettle.md" {
		t.Fatalf("annotations %+v", anns)
	}
	if res, ok := scripted.LastToolResult(&m.Requests()[1]); !ok || !strings.Contains(res, "two years") || !strings.Contains(res, "【0:0†kettle.md】") {
		t.Fatalf("the model read %q", res)
	}

	// An unknown vector store is refused before anything is written.
	p.Tools[0].VectorStoreIDs = []string{"vs_missing"}
	var ae *apitype.Error
	if _, err := e.Responses.Create(ctx, p); !errors.As(err, &ae) || ae.Status != 404 || ae.Param != "tools[0].vector_store_ids[0]" {
		t.Fatalf("unknown store: %v", err)
	}
}

// max_tool_calls bounds the built-in calls: past it the tool is withdrawn
// from the prompt and further calls are not run.
func TestResponseMaxToolCalls(t *testing.T) {
	ctx := context.Background()
	search := scripted.Turn{Calls: []scripted.Call{{Name: "file_search", Arguments: `{"query":"q"}`}}}
	m := scripted.New(search, search, scripted.Turn{Text: "done"})
	e := openEngine(t, m)
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{})
	if err != nil {
		t.Fatal(err)
	}
	p := respParams("search twice")
	p.Tools = []apitype.ResponseTool{{Type: apitype.ToolTypeFileSearch, VectorStoreIDs: []string{vs.ID}}}
	p.MaxToolCalls = apitype.Ptr(1)
	r, err := e.Responses.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, it := range r.Output {
		if it.FileSearchCall != nil {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d file_search calls ran with max_tool_calls 1: %+v", n, r.Output)
	}
	if tools := m.Requests()[1].Tools; len(tools) != 0 {
		t.Fatalf("second request still offers %+v", tools)
	}
}
