package openaihttp_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"

	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/internal/npmtest"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/ollama"
	"github.com/hearth-go/hearth/llm/ollama/ollamatest"
	"github.com/hearth-go/hearth/llm/scripted"
)

// file_search on the Responses API through openai-go v3, against the
// scripted model and the fake Ollama, on the engine's real file search:
// a vector store file with attributes, a response whose file_search tool
// filters on them, the file_search_call item (results only with include,
// and then with the file's attributes), the answer's file_citation
// annotation; the same streamed, accumulated by the SDK; a filter nothing
// passes; retrieve with and without include.
func TestOpenAIGoResponseFileSearch(t *testing.T) {
	for _, b := range respBackends {
		t.Run(b.name, func(t *testing.T) {
			model, queue, _ := b.open(t)
			e := newEnvWith(t, engine.Config{Model: model})
			ctx := context.Background()
			rs := &e.client.Responses

			vs, err := e.client.VectorStores.New(ctx, openai.VectorStoreNewParams{Name: openai.String("manuals")})
			if err != nil {
				t.Fatal(err)
			}
			fileID := upload(t, e, "kettle.md", "# Kettle\n\nThe warranty covers the kettle for two years from the date of purchase.")
			if _, err := e.client.VectorStores.Files.New(ctx, vs.ID, openai.VectorStoreFileNewParams{FileID: fileID,
				Attributes: map[string]openai.VectorStoreFileNewParamsAttributeUnion{"product": {OfString: openai.String("kettle")}, "year": {OfFloat: openai.Float(2024)}}}); err != nil {
				t.Fatal(err)
			}
			waitFiles(t, e, vs.ID, 1)
			tool := func(f shared.ComparisonFilterParam) []responses.ToolUnionParam {
				t := responses.ToolParamOfFileSearch([]string{vs.ID})
				t.OfFileSearch.MaxNumResults = openai.Int(5)
				t.OfFileSearch.Filters = responses.FileSearchToolFiltersUnionParam{OfComparisonFilter: &f}
				return []responses.ToolUnionParam{t}
			}
			kettle := shared.ComparisonFilterParam{Key: "product", Type: shared.ComparisonFilterTypeEq,
				Value: shared.ComparisonFilterValueUnionParam{OfString: openai.String("kettle")}}
			include := []responses.ResponseIncludable{responses.ResponseIncludableFileSearchCallResults}
			search := func() {
				queue(respTurn{call: "file_search", args: `{"query":"kettle warranty"}`}, respTurn{text: "Two years【0:0†kettle.md】."})
			}
			check := func(r *responses.Response, withResults bool) {
				t.Helper()
				if r.Status != responses.ResponseStatusCompleted || len(r.Output) != 2 {
					t.Fatalf("response %s", r.RawJSON())
				}
				call := r.Output[0].AsFileSearchCall()
				if call.Type != "file_search_call" || !strings.HasPrefix(call.ID, "fs_") || call.Status != "completed" ||
					!slices.Equal(call.Queries, []string{"kettle warranty"}) {
					t.Fatalf("call %s", r.Output[0].RawJSON())
				}
				if !withResults {
					var raw map[string]json.RawMessage
					_ = json.Unmarshal([]byte(r.Output[0].RawJSON()), &raw)
					if string(raw["results"]) != "null" {
						t.Fatalf("results without include: %s", r.Output[0].RawJSON())
					}
				} else {
					if len(call.Results) == 0 {
						t.Fatalf("no results with include: %s", r.Output[0].RawJSON())
					}
					res := call.Results[0]
					if res.FileID != fileID || res.Filename != "kettle.md" || !strings.Contains(res.Text, "two years") || res.Score <= 0 ||
						res.Attributes["product"].OfString != "kettle" || res.Attributes["year"].OfFloat != 2024 {
						t.Fatalf("result %s", res.RawJSON())
					}
				}
				anns := r.Output[1].AsMessage().Content[0].Annotations
				if len(anns) != 1 || anns[0].Type != "file_citation" || anns[0].FileID != fileID || anns[0].Filename != "kettle.md" || anns[0].Index == 0 {
					t.Fatalf("annotations %s", r.Output[1].RawJSON())
				}
			}

			// Not streamed, with include and without.
			search()
			r, err := rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("How long is the kettle covered?"),
				Tools: tool(kettle), Include: include})
			if err != nil {
				t.Fatal(err)
			}
			check(r, true)
			search()
			bare, err := rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("How long is the kettle covered?"), Tools: tool(kettle)})
			if err != nil {
				t.Fatal(err)
			}
			check(bare, false)
			g, err := rs.Get(ctx, bare.ID, responses.ResponseGetParams{Include: include})
			if err != nil {
				t.Fatal(err)
			}
			check(g, true)
			if g, err = rs.Get(ctx, r.ID, responses.ResponseGetParams{}); err != nil {
				t.Fatal(err)
			}
			check(g, false)

			// Streamed: the file_search_call events, the annotation event,
			// and the SDK's accumulation of them.
			search()
			stream := rs.NewStreaming(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("How long is the kettle covered?"),
				Tools: tool(kettle), Include: include})
			var types []string
			var acc responses.ResponseAccumulator
			var final responses.Response
			for stream.Next() {
				ev := stream.Current()
				types = append(types, ev.Type)
				var se responses.ResponsesServerEventUnion
				if err := json.Unmarshal([]byte(ev.RawJSON()), &se); err != nil {
					t.Fatal(err)
				}
				if err := acc.AddEvent(se); err != nil {
					t.Fatalf("accumulate %s: %v", ev.RawJSON(), err)
				}
				if ev.Type == "response.output_text.annotation.added" && (ev.Annotation.Type != "file_citation" || ev.Annotation.FileID != fileID) {
					t.Fatalf("annotation event %s", ev.RawJSON())
				}
				if ev.Type == "response.completed" {
					final = ev.Response
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			want := []string{"response.output_item.added", "response.file_search_call.in_progress", "response.file_search_call.searching",
				"response.file_search_call.completed", "response.output_item.done"}
			if i := slices.Index(types, "response.file_search_call.in_progress"); i < 1 || !slices.Equal(types[i-1:i+4], want) ||
				!slices.Contains(types, "response.output_text.annotation.added") {
				t.Fatalf("events %v", types)
			}
			check(&final, true)
			snap := acc.Snapshot()
			if snap.TerminalEvent != "response.completed" || len(snap.Output) != 2 || snap.Output[0].Type != "file_search_call" ||
				snap.Output[1].Text[0] != "Two years【0:0†kettle.md】." {
				t.Fatalf("accumulated %+v", snap)
			}

			// A filter nothing passes: the search finds nothing, no citation.
			queue(respTurn{call: "file_search", args: `{"query":"kettle warranty"}`}, respTurn{text: "I found nothing."})
			none := kettle
			none.Value = shared.ComparisonFilterValueUnionParam{OfString: openai.String("toaster")}
			n, err := rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("How long is the toaster covered?"),
				Tools: tool(none), Include: include})
			if err != nil {
				t.Fatal(err)
			}
			if c := n.Output[0].AsFileSearchCall(); c.Status != "completed" || len(c.Results) != 0 || n.OutputText() != "I found nothing." {
				t.Fatalf("filtered out: %s", n.RawJSON())
			}

			// A filter of the wrong type is a 400 naming it, before the model.
			bad := kettle
			bad.Type = shared.ComparisonFilterTypeGt
			_, err = rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("q"), Tools: tool(bad)})
			if ae := apiErr(t, err, 400, "invalid_request_error"); ae.Param != "tools[0].filters.value" {
				t.Fatalf("bad filter: %s", ae.RawJSON())
			}
		})
	}
}

// TestNpmResponseFileSearch runs testdata/npm/respfilesearch.mjs: vector
// store file attributes and search filters, and the Responses file_search
// tool with filters and include, created and streamed through the npm
// SDK's helpers, against the scripted model and the fake Ollama, on the
// engine's real file search. Skipped without HEARTH_NPM_OPENAI.
func TestNpmResponseFileSearch(t *testing.T) {
	npmtest.Require(t)
	models := []struct {
		name string
		open func(t *testing.T) llm.Model
	}{
		{"scripted", func(*testing.T) llm.Model {
			return &scripted.Model{Fallback: func(req *llm.Request) scripted.Turn {
				res, ok := scripted.LastToolResult(req)
				return npmSearchTurn(ok, res, len(req.Tools) > 0)
			}}
		}},
		{"ollama", func(t *testing.T) llm.Model {
			fake := ollamatest.NewServer(t, ollamatest.WithHandler(func(req *api.ChatRequest) ollamatest.Reply {
				res, ok := "", false
				if n := len(req.Messages); n > 0 && req.Messages[n-1].Role == "tool" {
					res, ok = req.Messages[n-1].Content, true
				}
				turn := npmSearchTurn(ok, res, len(req.Tools) > 0)
				if len(turn.Calls) > 0 {
					return ollamatest.Reply{ToolCalls: []ollamatest.ToolCall{{Name: turn.Calls[0].Name, Arguments: turn.Calls[0].Arguments}}}
				}
				return ollamatest.Reply{Text: turn.Text}
			}))
			m, err := ollama.New(ollama.Config{URL: fake.URL(), RetryBackoff: 1e6})
			if err != nil {
				t.Fatal(err)
			}
			return m
		}},
	}
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			e := newEnvWith(t, engine.Config{Model: m.open(t)})
			npmtest.Run(t, filepath.Join("testdata", "npm", "respfilesearch.mjs"), []string{"HEARTH_URL=" + e.srv.URL + "/v1", "HEARTH_KEY=" + testKey},
				"attributes", "create", "stream", "filters")
		})
	}
}

// npmSearchTurn is the script's model: a search when offered file_search,
// then an answer citing the first result, or saying there was none.
func npmSearchTurn(toolResult bool, result string, tools bool) scripted.Turn {
	switch {
	case toolResult && result == "No results.":
		return scripted.Turn{Text: "I found nothing."}
	case toolResult:
		return scripted.Turn{Text: "Two years【0:0†kettle.md】.", Pieces: 3}
	case tools:
		return scripted.Turn{Calls: []scripted.Call{{Name: "file_search", Arguments: `{"query":"kettle warranty"}`}}}
	}
	return scripted.Turn{Text: "no tools"}
}

// Bad file_search tools on POST /v1/responses: 400s naming the exact
// path, before anything is written.
func TestResponseFileSearchBadInputHTTP(t *testing.T) {
	e := newEnv(t, scripted.New())
	var vs struct{ ID string }
	call(t, e, "POST", "/v1/vector_stores", `{}`, &vs)
	tool := func(extra string) string {
		return `{"model":"m","input":"q","tools":[{"type":"file_search","vector_store_ids":["` + vs.ID + `"]` + extra + `}]}`
	}
	for _, c := range []struct{ name, body, param string }{
		{"filter value object", tool(`,"filters":{"type":"eq","key":"k","value":{}}`), "tools[0].filters.value"},
		{"in without array", tool(`,"filters":{"type":"in","key":"k","value":"a"}`), "tools[0].filters.value"},
		{"gte with a boolean", tool(`,"filters":{"type":"gte","key":"k","value":true}`), "tools[0].filters.value"},
		{"empty compound", tool(`,"filters":{"type":"or","filters":[]}`), "tools[0].filters.filters"},
		{"nested unknown type", tool(`,"filters":{"type":"and","filters":[{"type":"regex","key":"k","value":"a"}]}`), "tools[0].filters.filters[0].type"},
		{"filter without key", tool(`,"filters":{"type":"eq","value":1}`), "tools[0].filters.key"},
		{"filters array", tool(`,"filters":[]`), "tools[0].filters"},
		{"ranker none (search only)", tool(`,"ranking_options":{"ranker":"none"}`), "tools[0].ranking_options.ranker"},
		{"score_threshold above 1", tool(`,"ranking_options":{"score_threshold":1.5}`), "tools[0].ranking_options.score_threshold"},
		{"max_num_results 51", tool(`,"max_num_results":51`), "tools[0].max_num_results"},
		{"unknown vector store", `{"model":"m","input":"q","tools":[{"type":"file_search","vector_store_ids":["vs_nope"]}]}`, "tools[0].vector_store_ids[0]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := txID(t, e.eng)
			status := 400
			typ := ""
			if strings.Contains(c.body, "vs_nope") {
				status, typ = 404, "not_found_error"
			}
			checkEnvelope(t, call(t, e, "POST", "/v1/responses", c.body, nil), status, typ, c.param)
			if txID(t, e.eng) != before {
				t.Fatal("a refused request wrote")
			}
		})
	}
}
