package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

// BenchmarkFileSearchResponse: a file_search response (the search, the
// file_search_call item, the answer with its citation) against its
// Assistants twin, a thread-and-run whose assistant has file_search over
// the same vector store, with the same scripted model (a search, then an
// answer citing it), five results each. Timed in alternating blocks of one loop (paired); the
// filtered response keeps the search to half of the files by attribute.
func BenchmarkFileSearchResponse(b *testing.B) {
	for _, noSync := range []bool{true, false} {
		name := "sync=on"
		if noSync {
			name = "sync=off"
		}
		b.Run(name+"/paired", func(b *testing.B) { benchFileSearchPaired(b, noSync) })
	}
}

func benchFileSearchPaired(b *testing.B, noSync bool) {
	ctx := context.Background()
	model := &scripted.Model{KeepRequests: -1, Fallback: func(r *llm.Request) scripted.Turn {
		if scripted.HasToolResult(r) {
			return scripted.Turn{Text: "The kettle is covered for two years【0:0†manual-3.md】.", Pieces: 4}
		}
		return scripted.Turn{Calls: []scripted.Call{{Name: "file_search", Arguments: `{"query":"kettle warranty years"}`}}}
	}}
	e, err := engine.Open(ctx, engine.Config{Path: filepath.Join(b.TempDir(), "hearth.db"), NoSync: noSync, Model: model})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 20 {
		var text strings.Builder
		for j := range 40 {
			fmt.Fprintf(&text, "Section %d.%d of manual %d: the appliance warranty, descaling, the lid, the base and the cord. ", i, j, i)
		}
		if i%5 == 3 {
			text.WriteString("The kettle warranty lasts two years from purchase.")
		}
		f, err := e.Files.Create(ctx, strings.NewReader(text.String()), apitype.FileCreateParams{Filename: fmt.Sprintf("manual-%d.md", i), Purpose: "assistants"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.VectorStores.CreateFile(ctx, vs.ID, apitype.VectorStoreFileCreateParams{FileID: f.ID,
			Attributes: map[string]any{"kind": []string{"manual", "leaflet"}[i%2], "year": 2015 + i}}); err != nil {
			b.Fatal(err)
		}
	}
	if v, err := e.VectorStores.Wait(ctx, vs.ID); err != nil || v.FileCounts.Completed != 20 {
		b.Fatalf("ingest: %v %+v", err, v)
	}
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "test-model", Instructions: apitype.Ptr("Answer from the manuals."),
		Tools:         []apitype.Tool{{Type: apitype.ToolTypeFileSearch, FileSearch: &apitype.FileSearchTool{MaxNumResults: 5}}},
		ToolResources: &apitype.ToolResources{FileSearch: &apitype.FileSearchResources{VectorStoreIDs: []string{vs.ID}}}})
	if err != nil {
		b.Fatal(err)
	}
	question := "How long is the kettle covered?"
	run := func() error {
		r, err := e.Runs.CreateThreadAndRunAndWait(ctx, apitype.ThreadAndRunCreateParams{AssistantID: a.ID,
			Thread: &apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: apitype.RoleUser, Content: apitype.TextInput(question)}}}})
		if err == nil && r.Status != apitype.RunCompleted {
			err = fmt.Errorf("run %s: %+v", r.Status, r.LastError)
		}
		return err
	}
	respond := func(filter *apitype.Filter) func() error {
		return func() error {
			p := &apitype.ResponseCreateParams{Model: "test-model", Instructions: apitype.Ptr("Answer from the manuals."),
				Input: apitype.TextResponseInput(question),
				Tools: []apitype.ResponseTool{{Type: apitype.ToolTypeFileSearch, VectorStoreIDs: []string{vs.ID}, Filters: filter,
					MaxNumResults: apitype.Ptr(5)}}}
			r, err := e.Responses.Create(ctx, p)
			if err == nil && (r.Status != apitype.ResponseCompleted || len(r.Output) != 2) {
				err = fmt.Errorf("response %s: %+v", r.Status, r.Output)
			}
			return err
		}
	}
	ops := []struct {
		name string
		fn   func() error
		d    time.Duration
	}{
		{"run", run, 0},
		{"response", respond(nil), 0},
		{"filtered", respond(&apitype.Filter{Type: apitype.FilterEq, Key: "kind", Value: "leaflet"}), 0},
	}
	for _, op := range ops { // warm up: first-use costs (index load, pools)
		if err := op.fn(); err != nil {
			b.Fatal(err)
		}
	}
	const block = 4
	b.ResetTimer()
	for b.Loop() {
		for i := range ops {
			start := time.Now()
			for range block {
				if err := ops[i].fn(); err != nil {
					b.Fatal(err)
				}
			}
			ops[i].d += time.Since(start)
		}
	}
	n := float64(b.N * block)
	for _, op := range ops {
		b.ReportMetric(float64(op.d)/n, op.name+"-ns/op")
	}
	b.ReportMetric(float64(ops[1].d)/float64(ops[0].d), "x-run")
	b.ReportMetric(float64(ops[2].d)/float64(ops[0].d), "filtered-x-run")
}
