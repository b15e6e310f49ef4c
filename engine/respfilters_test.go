package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/scripted"
)

// filterFiles makes a vector store of three manuals: en.md (lang en, year
// 2023, public), de.md (lang de, year 2021) and plain.md (no attributes).
// de.md shares the fewest words with the query the tests search for, so
// a filter applied after ranking would lose it.
func filterFiles(t *testing.T, e *engine.Engine) (vsID string, ids map[string]string) {
	t.Helper()
	ctx := context.Background()
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{})
	if err != nil {
		t.Fatal(err)
	}
	ids = map[string]string{}
	for _, d := range []struct {
		name, text string
		attrs      map[string]any
	}{
		{"en.md", "The kettle warranty covers the kettle for two years, kettle warranty terms apply.", map[string]any{"lang": "en", "year": 2023, "public": true}},
		{"de.md", "Die Garantie: kettle zwei Jahre.", map[string]any{"lang": "de", "year": 2021.0}},
		{"plain.md", "Kettle warranty: the kettle warranty is two years for every kettle.", nil},
	} {
		f, err := e.Files.Create(ctx, strings.NewReader(d.text), apitype.FileCreateParams{Filename: d.name, Purpose: "assistants"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.VectorStores.CreateFile(ctx, vs.ID, apitype.VectorStoreFileCreateParams{FileID: f.ID, Attributes: d.attrs}); err != nil {
			t.Fatal(err)
		}
		ids[d.name] = f.ID
	}
	if v, err := e.VectorStores.Wait(ctx, vs.ID); err != nil || v.FileCounts.Completed != 3 {
		t.Fatalf("ingest: %v %+v", err, v)
	}
	return vs.ID, ids
}

func cmp(typ, key string, v any) *apitype.Filter {
	return &apitype.Filter{Type: typ, Key: key, Value: v}
}

// Filters on the file_search tool keep the search to the files whose
// attributes pass: each comparison, compounds, numbers, booleans, and a
// filter on an attribute no file has, which finds nothing. The filter runs
// before ranking: max_num_results 1 with lang=de finds de.md, which ranks
// last among all the files.
func TestResponseFileSearchFilters(t *testing.T) {
	ctx := context.Background()
	m := scripted.New()
	e := openEngine(t, m)
	vsID, ids := filterFiles(t, e)
	cases := []struct {
		name   string
		filter *apitype.Filter
		max    int
		want   []string
	}{
		{"eq", cmp("eq", "lang", "en"), 0, []string{"en.md"}},
		{"ne skips files without the key", cmp("ne", "lang", "en"), 0, []string{"de.md"}},
		{"in", cmp("in", "lang", []any{"de", "fr"}), 0, []string{"de.md"}},
		{"nin", cmp("nin", "lang", []any{"en"}), 0, []string{"de.md"}},
		{"gt", cmp("gt", "year", 2022), 0, []string{"en.md"}},
		{"lte", cmp("lte", "year", 2021), 0, []string{"de.md"}},
		{"gte both", cmp("gte", "year", 2021), 0, []string{"de.md", "en.md"}},
		{"bool", cmp("eq", "public", true), 0, []string{"en.md"}},
		{"number is not its string", cmp("eq", "year", "2023"), 0, nil},
		{"missing attribute", cmp("eq", "author", "x"), 0, nil},
		{"and", &apitype.Filter{Type: "and", Filters: []apitype.Filter{*cmp("eq", "lang", "de"), *cmp("gte", "year", 2020)}}, 0, []string{"de.md"}},
		{"and fails", &apitype.Filter{Type: "and", Filters: []apitype.Filter{*cmp("eq", "lang", "de"), *cmp("gt", "year", 2022)}}, 0, nil},
		{"or", &apitype.Filter{Type: "or", Filters: []apitype.Filter{*cmp("eq", "lang", "en"), *cmp("eq", "year", 2021)}}, 0, []string{"de.md", "en.md"}},
		{"nested", &apitype.Filter{Type: "or", Filters: []apitype.Filter{*cmp("eq", "author", "x"),
			{Type: "and", Filters: []apitype.Filter{*cmp("in", "year", []any{2021, 2023}), *cmp("ne", "lang", "en")}}}}, 0, []string{"de.md"}},
		{"before ranking", cmp("eq", "lang", "de"), 1, []string{"de.md"}},
		{"none", nil, 0, []string{"de.md", "en.md", "plain.md"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m.Add(scripted.Turn{Calls: []scripted.Call{{Name: "file_search", Arguments: `{"query":"kettle warranty two years"}`}}},
				scripted.Turn{Match: scripted.HasToolResult, Text: "ok"})
			p := respParams("How long is the kettle covered?")
			p.Tools = []apitype.ResponseTool{{Type: apitype.ToolTypeFileSearch, VectorStoreIDs: []string{vsID}, Filters: c.filter}}
			if c.max > 0 {
				p.Tools[0].MaxNumResults = apitype.Ptr(c.max)
			}
			p.Include = []string{apitype.IncludeFileSearchResults}
			r, err := e.Responses.Create(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			call := r.Output[0].FileSearchCall
			if call == nil || call.Status != "completed" || call.Results == nil {
				t.Fatalf("output %+v", r.Output)
			}
			var got []string
			for _, res := range call.Results {
				if !slices.Contains(got, res.Filename) {
					got = append(got, res.Filename)
				}
				if res.FileID != ids[res.Filename] {
					t.Fatalf("result %+v", res)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Fatalf("found %q, want %q", got, c.want)
			}
			if c.max > 0 && len(call.Results) > c.max {
				t.Fatalf("%d results past max_num_results %d", len(call.Results), c.max)
			}
			for _, res := range call.Results {
				if res.Filename == "en.md" && (res.Attributes["lang"] != "en" || res.Attributes["year"] != 2023.0 || res.Attributes["public"] != true) {
					t.Fatalf("en.md's attributes %+v", res.Attributes)
				}
				if res.Filename == "plain.md" && (res.Attributes == nil || len(res.Attributes) != 0) {
					t.Fatalf("plain.md's attributes %#v", res.Attributes)
				}
			}
			if len(c.want) == 0 {
				if res, _ := scripted.LastToolResult(&m.Requests()[len(m.Requests())-1]); res != "No results." {
					t.Fatalf("the model read %q", res)
				}
			}
		})
	}
}

// The results of a file_search_call are shown only when include asks for
// file_search_call.results, as in the API, streamed or not; the stored
// response keeps them, so a retrieve with include shows them, and the
// model reads them on a follow-up either way.
func TestResponseFileSearchInclude(t *testing.T) {
	ctx := context.Background()
	m := scripted.New()
	e := openEngine(t, m)
	vsID, _ := filterFiles(t, e)
	search := func() {
		m.Add(scripted.Turn{Calls: []scripted.Call{{Name: "file_search", Arguments: `{"query":"kettle warranty"}`}}},
			scripted.Turn{Match: scripted.HasToolResult, Text: "Two years."})
	}
	p := respParams("How long is the kettle covered?")
	p.Tools = []apitype.ResponseTool{{Type: apitype.ToolTypeFileSearch, VectorStoreIDs: []string{vsID}}}

	search()
	r, err := e.Responses.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Output[0].FileSearchCall; c == nil || c.Status != "completed" || c.Results != nil {
		t.Fatalf("without include: %+v", r.Output[0])
	}
	if res, _ := scripted.LastToolResult(&m.Requests()[1]); !strings.Contains(res, "two years") {
		t.Fatalf("the model read %q", res)
	}
	got, err := e.Responses.Retrieve(ctx, r.ID, apitype.ResponseRetrieveParams{})
	if err != nil || got.Output[0].FileSearchCall.Results != nil {
		t.Fatalf("retrieve without include: %v %+v", err, got.Output[0].FileSearchCall)
	}
	got, err = e.Responses.Retrieve(ctx, r.ID, apitype.ResponseRetrieveParams{Include: []string{apitype.IncludeFileSearchResults}})
	if err != nil || len(got.Output[0].FileSearchCall.Results) == 0 {
		t.Fatalf("retrieve with include: %v %+v", err, got.Output[0].FileSearchCall)
	}
	if again, _ := e.Responses.Retrieve(ctx, r.ID, apitype.ResponseRetrieveParams{}); again.Output[0].FileSearchCall.Results != nil {
		t.Fatal("a retrieve with include changed what the next one sees")
	}

	// Streamed: neither the item events nor the final response carry them.
	for _, include := range [][]string{nil, {apitype.IncludeFileSearchResults}} {
		search()
		q := *p
		q.Include = include
		var done, final *apitype.FileSearchCallItem
		for ev, err := range e.Responses.CreateStream(ctx, &q) {
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type == apitype.EventOutputItemDone && ev.Item.FileSearchCall != nil {
				done = ev.Item.FileSearchCall
			}
			if ev.Type == apitype.EventResponseCompleted {
				final = ev.Response.Output[0].FileSearchCall
			}
		}
		if done == nil || final == nil || (done.Results != nil) != (include != nil) || (final.Results != nil) != (include != nil) {
			t.Fatalf("include %q: item %+v, final %+v", include, done, final)
		}
	}

	// A follow-up reads the stored results, though the caller never saw them.
	m.Add(scripted.Turn{Text: "As I said."})
	next := respParams("And the lid?")
	next.PreviousResponseID = &r.ID
	if _, err := e.Responses.Create(ctx, next); err != nil {
		t.Fatal(err)
	}
	last := m.Requests()[len(m.Requests())-1]
	found := false
	for _, msg := range last.Messages {
		if strings.Contains(msg.Content, "two years") && strings.Contains(msg.Content, "†en.md】") {
			found = true
		}
	}
	if !found {
		t.Fatalf("the follow-up did not read the earlier results: %+v", last.Messages)
	}
}

// ranking_options: the Responses rankers both search (default-2024-11-15
// used to fail the call), and score_threshold drops what scores below it.
func TestResponseFileSearchRanking(t *testing.T) {
	ctx := context.Background()
	m := scripted.New()
	e := openEngine(t, m)
	vsID, _ := filterFiles(t, e)
	for _, c := range []struct {
		ranker    string
		threshold float64
		none      bool
	}{{"auto", 0, false}, {"default-2024-11-15", 0, false}, {"", 1, true}} {
		m.Add(scripted.Turn{Calls: []scripted.Call{{Name: "file_search", Arguments: `{"query":"kettle warranty"}`}}},
			scripted.Turn{Match: scripted.HasToolResult, Text: "ok"})
		p := respParams("q")
		p.Tools = []apitype.ResponseTool{{Type: apitype.ToolTypeFileSearch, VectorStoreIDs: []string{vsID},
			RankingOptions: &apitype.ResponseRankingOptions{Ranker: c.ranker, ScoreThreshold: apitype.Ptr(c.threshold)}}}
		p.Include = []string{apitype.IncludeFileSearchResults}
		r, err := e.Responses.Create(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		call := r.Output[0].FileSearchCall
		if call.Status != "completed" || (len(call.Results) == 0) != c.none {
			t.Fatalf("ranker %q threshold %v: %+v", c.ranker, c.threshold, call)
		}
		for _, res := range call.Results {
			if res.Score < c.threshold {
				t.Fatalf("score %v under threshold %v", res.Score, c.threshold)
			}
		}
	}
}

// The vector store search endpoint takes the same filters and returns each
// hit's attributes.
func TestVectorStoreSearchFilters(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, scripted.New())
	vsID, _ := filterFiles(t, e)
	page, err := e.VectorStores.Search(ctx, vsID, apitype.VectorStoreSearchParams{Query: apitype.StringList{"kettle warranty"},
		Filters: &apitype.Filter{Type: "or", Filters: []apitype.Filter{*cmp("eq", "lang", "de"), *cmp("eq", "public", true)}}})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, d := range page.Data {
		names[d.Filename] = true
		if d.Filename == "de.md" && d.Attributes["lang"] != "de" {
			t.Fatalf("attributes %+v", d.Attributes)
		}
	}
	if len(names) != 2 || !names["de.md"] || !names["en.md"] {
		t.Fatalf("found %v", names)
	}
	for _, ranker := range []string{"none", "default-2024-11-15", "auto"} {
		if _, err := e.VectorStores.Search(ctx, vsID, apitype.VectorStoreSearchParams{Query: apitype.StringList{"kettle"},
			RankingOptions: &apitype.RankingOptions{Ranker: ranker}}); err != nil {
			t.Fatalf("ranker %s: %v", ranker, err)
		}
	}
	var ae *apitype.Error
	_, err = e.VectorStores.Search(ctx, vsID, apitype.VectorStoreSearchParams{Query: apitype.StringList{"kettle"}, Filters: cmp("gt", "year", "2020")})
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Param != "filters.value" {
		t.Fatalf("bad filter: %v", err)
	}
}

// Filters refused with the request (before anything is written): a value of a type the
// comparison cannot use, a missing key, an empty compound.
func TestResponseFileSearchBadFilters(t *testing.T) {
	ctx := context.Background()
	m := scripted.New()
	e := openEngine(t, m)
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		f     *apitype.Filter
		param string
	}{
		{cmp("gt", "year", "2020"), "tools[0].filters.value"},
		{cmp("in", "lang", "en"), "tools[0].filters.value"},
		{cmp("eq", "lang", []any{"en"}), "tools[0].filters.value"},
		{cmp("eq", "lang", map[string]any{}), "tools[0].filters.value"},
		{cmp("eq", "", "en"), "tools[0].filters.key"},
		{cmp("like", "lang", "en"), "tools[0].filters.type"},
		{&apitype.Filter{Type: "and"}, "tools[0].filters.filters"},
		{&apitype.Filter{Type: "or", Filters: []apitype.Filter{*cmp("eq", "a", "b"), *cmp("lt", "n", true)}}, "tools[0].filters.filters[1].value"},
	} {
		p := respParams("q")
		p.Tools = []apitype.ResponseTool{{Type: apitype.ToolTypeFileSearch, VectorStoreIDs: []string{vs.ID}, Filters: c.f}}
		var ae *apitype.Error
		if _, err := e.Responses.Create(ctx, p); !errors.As(err, &ae) || ae.Status != 400 || ae.Param != c.param {
			t.Fatalf("%s: %v", c.f, err)
		}
	}
	if m.Received() != 0 {
		t.Fatal("a refused request reached the model")
	}
}

// A search whose results outgrow the context window (20 chunks of 800
// tokens against 8192) is fitted to it for the model, as a run's are,
// though truncation is "disabled": that is about the input and its
// history. The stored item keeps every result whole.
func TestResponseFileSearchResultsFitted(t *testing.T) {
	ctx := context.Background()
	m := scripted.New(scripted.Turn{Calls: []scripted.Call{{Name: "file_search", Arguments: `{"query":"kettle warranty"}`}}},
		scripted.Turn{Match: scripted.HasToolResult, Text: "Two years."})
	e := openEngine(t, m)
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 24 {
		var b strings.Builder
		for j := range 60 {
			b.WriteString("The kettle warranty section " + string(rune('a'+j%26)) + " covers the base, the lid and the cord for two years. ")
		}
		f, err := e.Files.Create(ctx, strings.NewReader(b.String()), apitype.FileCreateParams{Filename: "m" + string(rune('a'+i)) + ".md", Purpose: "assistants"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.VectorStores.CreateFile(ctx, vs.ID, apitype.VectorStoreFileCreateParams{FileID: f.ID}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.VectorStores.Wait(ctx, vs.ID); err != nil {
		t.Fatal(err)
	}
	p := respParams("How long is the kettle covered?")
	p.Tools = []apitype.ResponseTool{{Type: apitype.ToolTypeFileSearch, VectorStoreIDs: []string{vs.ID}}}
	p.Include = []string{apitype.IncludeFileSearchResults}
	r, err := e.Responses.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != apitype.ResponseCompleted || r.OutputText() != "Two years." {
		t.Fatalf("response %s %+v", r.Status, r.Error)
	}
	call := r.Output[0].FileSearchCall
	whole := 0
	for _, res := range call.Results {
		whole += len(res.Text)
	}
	read, _ := scripted.LastToolResult(&m.Requests()[1])
	if len(call.Results) != 20 || len(read) >= whole {
		t.Fatalf("%d results of %d bytes; the model read %d bytes", len(call.Results), whole, len(read))
	}
}

// An expired vector store is refused on the file_search tool, naming it.
func TestResponseFileSearchExpiredStore(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	m := scripted.New()
	e := openEngine(t, m, func(c *engine.Config) { c.Clock = clock.Now })
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{ExpiresAfter: &apitype.ExpiresAfter{Anchor: "last_active_at", Days: 1}})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(25 * time.Hour)
	p := respParams("q")
	p.Tools = []apitype.ResponseTool{{Type: apitype.ToolTypeFileSearch, VectorStoreIDs: []string{vs.ID}}}
	var ae *apitype.Error
	if _, err := e.Responses.Create(ctx, p); !errors.As(err, &ae) || ae.Status != 400 || ae.Param != "tools[0].vector_store_ids[0]" || !strings.Contains(ae.Message, "expired") {
		t.Fatalf("expired store: %v", err)
	}
	if m.Received() != 0 {
		t.Fatal("the model was called")
	}
}
