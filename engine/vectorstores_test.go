package engine_test

import (
	"context"
	"errors"
	"github.com/hearth-go/hearth/filesearch"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/scripted"
)

// wordIndex is a tiny FileIndex for engine tests: a chunk per line, scored
// by shared words. The real one is the filesearch package.
type wordIndex struct {
	mu    sync.Mutex
	lines map[string][]engine.SearchHit // vector store → chunks
}

func (w *wordIndex) Add(_ context.Context, vs string, f *apitype.File, content []byte, _ apitype.ChunkingStrategy) (int64, error) {
	if strings.HasSuffix(f.Filename, ".bin") {
		return 0, engine.ErrUnsupportedFile
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lines == nil {
		w.lines = map[string][]engine.SearchHit{}
	}
	for _, l := range strings.Split(string(content), "\n") {
		if l != "" {
			w.lines[vs] = append(w.lines[vs], engine.SearchHit{VectorStoreID: vs, FileID: f.ID, Filename: f.Filename, Text: l})
		}
	}
	return int64(len(content)), nil
}

func (w *wordIndex) Remove(_ context.Context, vs, file string) error { return nil }
func (w *wordIndex) Drop(_ context.Context, vs string) error         { return nil }
func (w *wordIndex) Search(_ context.Context, vss []string, q string, max int, r apitype.RankingOptions) ([]engine.SearchHit, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []engine.SearchHit
	for _, vs := range vss {
		for _, h := range w.lines[vs] {
			n := 0
			for _, word := range strings.Fields(strings.ToLower(q)) {
				if strings.Contains(strings.ToLower(h.Text), word) {
					n++
				}
			}
			if n > 0 {
				h.Score = float64(n) / float64(len(strings.Fields(q)))
				if h.Score >= r.ScoreThreshold {
					out = append(out, h)
				}
			}
		}
	}
	if len(out) > max {
		out = out[:max]
	}
	return out, nil
}

func TestVectorStoreFileSearchWithCitations(t *testing.T) {
	ctx := context.Background()
	m := scripted.New(
		scripted.Turn{Calls: []scripted.Call{{Name: "file_search", Arguments: `{"query":"refund policy"}`}}},
		scripted.Turn{Match: scripted.HasToolResult, Text: "Refunds take 14 days【0:0†policy.md】."},
	)
	e := openEngine(t, m, func(c *engine.Config) { c.FileIndex = &wordIndex{} })
	doc, err := e.Files.Create(ctx, strings.NewReader("Our refund policy: refunds take 14 days.\nShipping is free."), apitype.FileCreateParams{Filename: "policy.md", Purpose: "assistants"})
	if err != nil {
		t.Fatal(err)
	}
	bin, err := e.Files.Create(ctx, strings.NewReader("\x00\x01"), apitype.FileCreateParams{Filename: "blob.bin", Purpose: "assistants"})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{Name: apitype.Ptr("Support"), FileIDs: []string{doc.ID, bin.ID}})
	if err != nil {
		t.Fatal(err)
	}
	vs, err = e.VectorStores.Wait(ctx, vs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if vs.FileCounts.Completed != 1 || vs.FileCounts.Failed != 1 || vs.Status != apitype.StatusCompleted {
		t.Fatalf("vector store %+v", vs)
	}
	failed, _ := e.VectorStores.RetrieveFile(ctx, vs.ID, bin.ID)
	if failed.LastError == nil || failed.LastError.Code != "unsupported_file" {
		t.Fatalf("bin file %+v", failed)
	}
	page, err := e.VectorStores.Search(ctx, vs.ID, apitype.VectorStoreSearchParams{Query: apitype.StringList{"refund"}})
	if err != nil || len(page.Data) != 1 || page.Data[0].FileID != doc.ID {
		t.Fatalf("search %v %+v", err, page)
	}
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "m", Tools: []apitype.Tool{{Type: apitype.ToolTypeFileSearch}},
		ToolResources: &apitype.ToolResources{FileSearch: &apitype.FileSearchResources{VectorStoreIDs: []string{vs.ID}}}})
	if err != nil {
		t.Fatal(err)
	}
	th := mustThread(t, e, "How long do refunds take?")
	r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("run %v %+v", err, r)
	}
	msgs, _ := e.Messages.List(ctx, th.ID, apitype.MessageListParams{RunID: r.ID})
	anns := msgs.Data[0].Content[0].Text.Annotations
	if len(anns) != 1 || anns[0].FileCitation.FileID != doc.ID || anns[0].Text != "【0:0†policy.md】" || anns[0].StartIndex != 20 || anns[0].EndIndex != 35 {
		t.Fatalf("annotations %+v", anns)
	}
	steps, _ := e.Steps.List(ctx, th.ID, r.ID, apitype.StepListParams{ListParams: apitype.ListParams{Order: "asc"}})
	res := steps.Data[0].StepDetails.ToolCalls[0].FileSearch.Results
	if len(res) != 1 || res[0].Content != nil {
		t.Fatalf("results without include: %+v", res)
	}
	steps, _ = e.Steps.List(ctx, th.ID, r.ID, apitype.StepListParams{ListParams: apitype.ListParams{Order: "asc"}, Include: []string{apitype.IncludeFileSearchContent}})
	if c := steps.Data[0].StepDetails.ToolCalls[0].FileSearch.Results[0].Content; len(c) != 1 || !strings.Contains(c[0].Text, "14 days") {
		t.Fatalf("results with include: %+v", c)
	}
	// Attachments for file_search put files in a vector store made for the thread.
	th2, err := e.Threads.Create(ctx, apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: "user",
		Content: apitype.TextInput("see attached"), Attachments: []apitype.Attachment{{FileID: doc.ID, Tools: []apitype.AttachmentTool{{Type: "file_search"}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if th2.ToolResources.FileSearch == nil || len(th2.ToolResources.FileSearch.VectorStoreIDs) != 1 {
		t.Fatalf("thread resources %+v", th2.ToolResources)
	}
	if _, err := e.VectorStores.CreateBatch(ctx, vs.ID, apitype.VectorStoreFileBatchCreateParams{FileIDs: []string{"file-nope"}}); !errors.Is(err, apitype.ErrInvalidRequest) {
		t.Fatalf("batch with unknown file: %v", err)
	}
	_, err = e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{ChunkingStrategy: &apitype.ChunkingStrategy{Type: "static", Static: &apitype.StaticChunking{MaxChunkSizeTokens: 50}}})
	if ae, ok := err.(*apitype.Error); !ok || ae.Param != "chunking_strategy.static.max_chunk_size_tokens" {
		t.Fatalf("bad chunking: %v", err)
	}
}

// With no FileIndex configured the engine searches with package
// filesearch and its offline embedder: upload, index, search, cite.
func TestDefaultFileSearch(t *testing.T) {
	ctx := context.Background()
	m := scripted.New(
		scripted.Turn{Calls: []scripted.Call{{Name: "file_search", Arguments: `{"query":"how long is the kettle warranty"}`}}},
		scripted.Turn{Match: scripted.HasToolResult, Text: "Two years【0:0†kettle.md】."},
	)
	e := openEngine(t, m)
	docs := map[string]string{
		"kettle.md":  "# Kettle manual\n\nThe warranty covers the kettle for two years from the date of purchase.\n\nDescale monthly.",
		"toaster.md": "# Toaster manual\n\nThe toaster has six browning levels and a defrost button.",
		"blob.bin":   "\x00\x01\x02\x03\xff\xfe",
	}
	var ids []string
	byName := map[string]string{}
	for name, text := range docs {
		f, err := e.Files.Create(ctx, strings.NewReader(text), apitype.FileCreateParams{Filename: name, Purpose: "assistants"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, f.ID)
		byName[name] = f.ID
	}
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{Name: apitype.Ptr("manuals"), FileIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if vs, err = e.VectorStores.Wait(ctx, vs.ID); err != nil || vs.FileCounts.Completed != 2 || vs.FileCounts.Failed != 1 || vs.UsageBytes == 0 {
		t.Fatalf("vector store %v %+v", err, vs)
	}
	page, err := e.VectorStores.Search(ctx, vs.ID, apitype.VectorStoreSearchParams{Query: apitype.StringList{"kettle guarantee duration"}})
	if err != nil || len(page.Data) == 0 || page.Data[0].FileID != byName["kettle.md"] || page.Data[0].Score <= 0 || page.Data[0].Score > 1 {
		t.Fatalf("search %v %+v", err, page)
	}
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "m", Tools: []apitype.Tool{{Type: apitype.ToolTypeFileSearch}},
		ToolResources: &apitype.ToolResources{FileSearch: &apitype.FileSearchResources{VectorStoreIDs: []string{vs.ID}}}})
	if err != nil {
		t.Fatal(err)
	}
	th := mustThread(t, e, "How long is the kettle covered?")
	r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("run %v %+v", err, r)
	}
	msgs, _ := e.Messages.List(ctx, th.ID, apitype.MessageListParams{RunID: r.ID})
	anns := msgs.Data[0].Content[0].Text.Annotations
	if len(anns) != 1 || anns[0].FileCitation == nil || anns[0].FileCitation.FileID != byName["kettle.md"] {
		t.Fatalf("annotations %+v", anns)
	}
}

// A store indexed with one embedder refuses queries with another until it
// is re-indexed; every ingestion outcome reaches OnFileIngested.
func TestReindexAndIngestCallback(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var seen []apitype.VectorStoreFile
	var mu sync.Mutex
	cfg := engine.Config{Path: filepath.Join(dir, "h.db"), NoSync: true, OnFileIngested: func(f apitype.VectorStoreFile) {
		mu.Lock()
		seen = append(seen, f)
		mu.Unlock()
	}}
	e, err := engine.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := e.Files.Create(ctx, strings.NewReader("The lighthouse was built in 1874 on the northern cape."), apitype.FileCreateParams{Filename: "history.txt", Purpose: "assistants"})
	vs, _ := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{FileIDs: []string{f.ID}})
	if _, err := e.VectorStores.Wait(ctx, vs.ID); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(seen) != 1 || seen[0].Status != apitype.StatusCompleted || seen[0].ID != f.ID {
		t.Fatalf("callback saw %+v", seen)
	}
	mu.Unlock()
	e.Close()

	// Reopen with another embedder (a lexical one of another dimension).
	cfg.Embedder = filesearch.NewLexicalEmbedder(256)
	e, err = engine.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	_, err = e.VectorStores.Search(ctx, vs.ID, apitype.VectorStoreSearchParams{Query: apitype.StringList{"when was the lighthouse built"}})
	if !errors.Is(err, apitype.ErrInvalidRequest) || !strings.Contains(err.Error(), "Reindex") {
		t.Fatalf("search with another embedder: %v", err)
	}
	if _, err := e.VectorStores.Reindex(ctx, vs.ID); err != nil {
		t.Fatal(err)
	}
	page, err := e.VectorStores.Search(ctx, vs.ID, apitype.VectorStoreSearchParams{Query: apitype.StringList{"when was the lighthouse built"}})
	if err != nil || len(page.Data) != 1 {
		t.Fatalf("after reindex: %v %+v", err, page)
	}
}

func TestVectorStoreBadInput(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, nil, func(c *engine.Config) { c.MaxFileBytes = 1024 })
	f, err := e.Files.Create(ctx, strings.NewReader("some text"), apitype.FileCreateParams{Filename: "a.txt", Purpose: "assistants"})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{})
	if err != nil {
		t.Fatal(err)
	}
	static := func(size, overlap int) *apitype.ChunkingStrategy {
		return &apitype.ChunkingStrategy{Type: "static", Static: &apitype.StaticChunking{MaxChunkSizeTokens: size, ChunkOverlapTokens: overlap}}
	}
	cases := []struct {
		name, param string
		call        func() error
		notFound    bool
	}{
		{"unknown vector store", "", func() error { _, err := e.VectorStores.Retrieve(ctx, "vs_nope"); return err }, true},
		{"unknown file in create", "file_ids[0]", func() error {
			_, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{FileIDs: []string{"file-nope"}})
			return err
		}, false},
		{"bad file id", "file_ids[0]", func() error {
			_, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{FileIDs: []string{"nope"}})
			return err
		}, false},
		{"chunk size too small", "chunking_strategy.static.max_chunk_size_tokens", func() error {
			_, err := e.VectorStores.CreateFile(ctx, vs.ID, apitype.VectorStoreFileCreateParams{FileID: f.ID, ChunkingStrategy: static(99, 0)})
			return err
		}, false},
		{"chunk size too large", "chunking_strategy.static.max_chunk_size_tokens", func() error {
			_, err := e.VectorStores.CreateFile(ctx, vs.ID, apitype.VectorStoreFileCreateParams{FileID: f.ID, ChunkingStrategy: static(4097, 0)})
			return err
		}, false},
		{"overlap over half", "chunking_strategy.static.chunk_overlap_tokens", func() error {
			_, err := e.VectorStores.CreateFile(ctx, vs.ID, apitype.VectorStoreFileCreateParams{FileID: f.ID, ChunkingStrategy: static(400, 201)})
			return err
		}, false},
		{"unknown chunking type", "chunking_strategy.type", func() error {
			_, err := e.VectorStores.CreateFile(ctx, vs.ID, apitype.VectorStoreFileCreateParams{FileID: f.ID, ChunkingStrategy: &apitype.ChunkingStrategy{Type: "smart"}})
			return err
		}, false},
		{"threshold above 1", "ranking_options.score_threshold", func() error {
			_, err := e.VectorStores.Search(ctx, vs.ID, apitype.VectorStoreSearchParams{Query: apitype.StringList{"x"}, RankingOptions: &apitype.RankingOptions{ScoreThreshold: 1.5}})
			return err
		}, false},
		{"unknown ranker", "ranking_options.ranker", func() error {
			_, err := e.VectorStores.Search(ctx, vs.ID, apitype.VectorStoreSearchParams{Query: apitype.StringList{"x"}, RankingOptions: &apitype.RankingOptions{Ranker: "best"}})
			return err
		}, false},
		{"too many results", "max_num_results", func() error {
			_, err := e.VectorStores.Search(ctx, vs.ID, apitype.VectorStoreSearchParams{Query: apitype.StringList{"x"}, MaxNumResults: 51})
			return err
		}, false},
		{"empty query", "query", func() error {
			_, err := e.VectorStores.Search(ctx, vs.ID, apitype.VectorStoreSearchParams{Query: apitype.StringList{""}})
			return err
		}, false},
		{"expires_after days", "expires_after.days", func() error {
			_, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{ExpiresAfter: &apitype.ExpiresAfter{Anchor: "last_active_at", Days: 0}})
			return err
		}, false},
		{"wrong purpose", "purpose", func() error {
			_, err := e.Files.Create(ctx, strings.NewReader("x"), apitype.FileCreateParams{Filename: "a.txt", Purpose: "assistants_output"})
			return err
		}, false},
		{"oversize upload", "file", func() error {
			_, err := e.Files.Create(ctx, strings.NewReader(strings.Repeat("x", 2048)), apitype.FileCreateParams{Filename: "a.txt", Purpose: "assistants"})
			return err
		}, false},
		{"file_search tool with bad max_num_results", "tools[0].file_search.max_num_results", func() error {
			_, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "m", Tools: []apitype.Tool{{Type: "file_search", FileSearch: &apitype.FileSearchTool{MaxNumResults: 99}}}})
			return err
		}, false},
	}
	for _, c := range cases {
		err := c.call()
		var ae *apitype.Error
		if !errors.As(err, &ae) {
			t.Fatalf("%s: want *apitype.Error, got %v", c.name, err)
		}
		if c.notFound != errors.Is(err, apitype.ErrNotFound) || (!c.notFound && ae.Param != c.param) {
			t.Fatalf("%s: got %+v", c.name, ae)
		}
	}
	page, _ := e.VectorStores.List(ctx, apitype.ListParams{})
	files, _ := e.Files.List(ctx, apitype.ListParams{}, "")
	if len(page.Data) != 1 || len(files.Data) != 1 {
		t.Fatalf("bad input wrote something: %d stores, %d files", len(page.Data), len(files.Data))
	}
}

// The vector_stores helper of tool_resources makes a store wherever
// tool_resources are accepted: assistant update and create thread and run.
func TestInlineVectorStoresOnUpdateAndThreadAndRun(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, scripted.Echo())
	f, _ := e.Files.Create(ctx, strings.NewReader("Tides follow the moon."), apitype.FileCreateParams{Filename: "tides.txt", Purpose: "assistants"})
	helper := &apitype.ToolResources{FileSearch: &apitype.FileSearchResources{VectorStores: []apitype.VectorStoreHelper{{FileIDs: []string{f.ID}}}}}
	a := mustAssistant(t, e)
	a, err := e.Assistants.Update(ctx, a.ID, apitype.AssistantUpdateParams{ToolResources: helper})
	if err != nil || len(a.ToolResources.FileSearch.VectorStoreIDs) != 1 || a.ToolResources.FileSearch.VectorStores != nil {
		t.Fatalf("assistant %v %+v", err, a.ToolResources)
	}
	r, err := e.Runs.CreateThreadAndRunAndWait(ctx, apitype.ThreadAndRunCreateParams{AssistantID: a.ID, ToolResources: helper,
		Thread: &apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: "user", Content: apitype.TextInput("hi")}}}})
	if err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("run %v %+v", err, r)
	}
	th, _ := e.Threads.Retrieve(ctx, r.ThreadID)
	if len(th.ToolResources.FileSearch.VectorStoreIDs) != 1 {
		t.Fatalf("thread %+v", th.ToolResources)
	}
	vs, err := e.VectorStores.Wait(ctx, th.ToolResources.FileSearch.VectorStoreIDs[0])
	if err != nil || vs.FileCounts.Completed != 1 {
		t.Fatalf("store %v %+v", err, vs)
	}
}

// TestDefaultIndexRefusesFilesWithoutText: with the default index, a file
// of a known type with no text (whitespace only, a damaged PDF) fails with
// invalid_file and one of an unknown type with unsupported_file, instead of
// completing with nothing searchable.
func TestDefaultIndexRefusesFilesWithoutText(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, scripted.Echo())
	want := map[string]string{
		"blank.txt":   apitype.FileErrorInvalid,
		"broken.pdf":  apitype.FileErrorInvalid,
		"archive.bin": apitype.FileErrorUnsupported,
		"notes.md":    "",
	}
	body := map[string]string{"blank.txt": " \n\t\n", "broken.pdf": "%PDF-1.4 not really", "archive.bin": "\x00\x01\x02", "notes.md": "Kept notes."}
	var ids []string
	names := map[string]string{}
	for name := range want {
		f, err := e.Files.Create(ctx, strings.NewReader(body[name]), apitype.FileCreateParams{Filename: name, Purpose: "assistants"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, f.ID)
		names[f.ID] = name
	}
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{FileIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if vs, err = e.VectorStores.Wait(ctx, vs.ID); err != nil {
		t.Fatal(err)
	}
	if vs.FileCounts.Completed != 1 || vs.FileCounts.Failed != 3 {
		t.Fatalf("file counts %+v", vs.FileCounts)
	}
	for _, id := range ids {
		f, err := e.VectorStores.RetrieveFile(ctx, vs.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		code := ""
		if f.LastError != nil {
			code = f.LastError.Code
		}
		if code != want[names[id]] {
			t.Errorf("%s: status %s, last_error %+v, want code %q", names[id], f.Status, f.LastError, want[names[id]])
		}
	}
}
