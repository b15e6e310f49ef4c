package openaihttp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"
)

// call sends a JSON request and decodes a 200's body into out (when not nil).
func call(t *testing.T, e *env, method, path, body string, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == 200 && out != nil {
		if f, ok := out.(*vsFile); ok {
			*f = vsFile{} // decode afresh: json.Unmarshal merges maps
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp
}

func upload(t *testing.T, e *env, name, text string) string {
	t.Helper()
	f, err := e.client.Files.New(context.Background(), openai.FileNewParams{
		File: openai.File(strings.NewReader(text), name, "text/plain"), Purpose: openai.FilePurposeAssistants})
	if err != nil {
		t.Fatal(err)
	}
	return f.ID
}

type vsFile struct {
	ID         string         `json:"id"`
	Status     string         `json:"status"`
	Attributes map[string]any `json:"attributes"`
}

// Vector store file attributes over HTTP: set on create and by a batch
// (per file, or for all its file_ids), returned by retrieve and list,
// replaced by POST /v1/vector_stores/{vs}/files/{file}, used by the search
// endpoint's filters and returned with its hits; bad attributes and bad
// filters are 400s naming the parameter, and write nothing.
func TestVectorStoreFileAttributesHTTP(t *testing.T) {
	e := newEnv(t, scripted.New())
	var vs struct{ ID string }
	if resp := call(t, e, "POST", "/v1/vector_stores", `{"name":"docs"}`, &vs); resp.StatusCode != 200 {
		t.Fatalf("create store: %d", resp.StatusCode)
	}
	a, b, c, d := upload(t, e, "a.txt", "kettle warranty two years"), upload(t, e, "b.txt", "kettle warranty one year"),
		upload(t, e, "c.txt", "kettle warranty none"), upload(t, e, "d.txt", "kettle descaling")
	base := "/v1/vector_stores/" + vs.ID
	var f vsFile
	call(t, e, "POST", base+"/files", `{"file_id":"`+a+`","attributes":{"lang":"en","year":2023,"public":true}}`, &f)
	if f.ID != a || f.Attributes["lang"] != "en" || f.Attributes["year"] != 2023.0 || f.Attributes["public"] != true {
		t.Fatalf("created %+v", f)
	}
	call(t, e, "POST", base+"/file_batches", `{"files":[{"file_id":"`+b+`","attributes":{"lang":"de","year":2021}}]}`, nil)
	call(t, e, "POST", base+"/file_batches", `{"file_ids":["`+c+`","`+d+`"],"attributes":{"lang":"fr"}}`, nil)
	waitFiles(t, e, vs.ID, 4)
	call(t, e, "GET", base+"/files/"+b, "", &f)
	if f.Attributes["lang"] != "de" || f.Attributes["year"] != 2021.0 {
		t.Fatalf("batch file %+v", f)
	}
	var list struct{ Data []vsFile }
	call(t, e, "GET", base+"/files?limit=10", "", &list)
	attrs := map[string]map[string]any{}
	for _, x := range list.Data {
		attrs[x.ID] = x.Attributes
	}
	if len(attrs) != 4 || attrs[c]["lang"] != "fr" || attrs[d]["lang"] != "fr" || attrs[a]["year"] != 2023.0 {
		t.Fatalf("list %+v", list.Data)
	}
	// Update replaces them all.
	call(t, e, "POST", base+"/files/"+c, `{"attributes":{"lang":"en","year":2019}}`, &f)
	if f.Attributes["lang"] != "en" || f.Attributes["year"] != 2019.0 || len(f.Attributes) != 2 {
		t.Fatalf("updated %+v", f)
	}
	call(t, e, "GET", base+"/files/"+c, "", &f)
	if f.Attributes["year"] != 2019.0 {
		t.Fatalf("update not stored: %+v", f)
	}

	search := func(body string) map[string]map[string]any {
		t.Helper()
		var page struct {
			Data []struct {
				FileID     string         `json:"file_id"`
				Attributes map[string]any `json:"attributes"`
			}
		}
		if resp := call(t, e, "POST", base+"/search", body, &page); resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("search %s: %d %s", body, resp.StatusCode, b)
		}
		got := map[string]map[string]any{}
		for _, h := range page.Data {
			got[h.FileID] = h.Attributes
		}
		return got
	}
	if got := search(`{"query":"kettle warranty","filters":{"type":"eq","key":"lang","value":"en"}}`); len(got) != 2 || got[a] == nil || got[c]["year"] != 2019.0 {
		t.Fatalf("eq lang en: %v", got)
	}
	if got := search(`{"query":"kettle warranty","filters":{"type":"and","filters":[{"type":"eq","key":"lang","value":"en"},{"type":"gt","key":"year","value":2020}]}}`); len(got) != 1 || got[a] == nil {
		t.Fatalf("and: %v", got)
	}
	if got := search(`{"query":"kettle","max_num_results":1,"filters":{"type":"in","key":"lang","value":["fr"]}}`); len(got) != 1 || got[d] == nil {
		t.Fatalf("in fr: %v", got)
	}
	if got := search(`{"query":"kettle","filters":{"type":"eq","key":"colour","value":"red"}}`); len(got) != 0 {
		t.Fatalf("missing attribute: %v", got)
	}
	if got := search(`{"query":"kettle warranty","ranking_options":{"ranker":"none"}}`); len(got) != 4 || got[b]["lang"] != "de" {
		t.Fatalf("no filter: %v", got)
	}

	many := map[string]any{}
	for i := range 17 {
		many[strings.Repeat("k", i+1)] = i
	}
	manyJSON, _ := json.Marshal(many)
	for _, c := range []struct{ name, method, path, body, param string }{
		{"17 attributes", "POST", base + "/files", `{"file_id":"` + a + `","attributes":` + string(manyJSON) + `}`, "attributes"},
		{"key of 65", "POST", base + "/files/" + a, `{"attributes":{"` + strings.Repeat("k", 65) + `":"v"}}`, "attributes"},
		{"value of 513", "POST", base + "/files/" + a, `{"attributes":{"k":"` + strings.Repeat("v", 513) + `"}}`, "attributes.k"},
		{"object value", "POST", base + "/files/" + a, `{"attributes":{"k":{"x":1}}}`, "attributes.k"},
		{"array value", "POST", base + "/file_batches", `{"files":[{"file_id":"` + a + `","attributes":{"k":[1]}}]}`, "files[0].attributes.k"},
		{"attributes string", "POST", base + "/files/" + a, `{"attributes":"x"}`, "attributes"},
		{"filter gt string", "POST", base + "/search", `{"query":"q","filters":{"type":"gt","key":"year","value":"2020"}}`, "filters.value"},
		{"filter unknown type", "POST", base + "/search", `{"query":"q","filters":{"type":"like","key":"k","value":"v"}}`, "filters.type"},
		{"filter nested", "POST", base + "/search", `{"query":"q","filters":{"type":"or","filters":[{"type":"eq","key":"k"}]}}`, "filters.filters[0].value"},
		{"filter unknown field", "POST", base + "/search", `{"query":"q","filters":{"type":"eq","key":"k","value":1,"op":"x"}}`, "filters.op"},
		{"bad ranker", "POST", base + "/search", `{"query":"q","ranking_options":{"ranker":"fastest"}}`, "ranking_options.ranker"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := txID(t, e.eng)
			checkEnvelope(t, call(t, e, c.method, c.path, c.body, nil), 400, "", c.param)
			if txID(t, e.eng) != before {
				t.Fatal("a refused request wrote")
			}
		})
	}
	checkEnvelope(t, call(t, e, "POST", base+"/files/file-nope", `{"attributes":{}}`, nil), 404, "not_found_error", "")
	call(t, e, "GET", base+"/files/"+a, "", &f)
	if f.Attributes["lang"] != "en" || len(f.Attributes) != 3 {
		t.Fatalf("refused updates changed %+v", f)
	}
}

func waitFiles(t *testing.T, e *env, vsID string, n int) {
	t.Helper()
	if _, err := e.eng.VectorStores.Wait(context.Background(), vsID); err != nil {
		t.Fatal(err)
	}
	v, err := e.eng.VectorStores.Retrieve(context.Background(), vsID)
	if err != nil || v.FileCounts.Completed != n {
		t.Fatalf("vector store %v %+v", err, v)
	}
}

// The same through openai-go v3: attributes on files.create and
// file_batches.create, files.update, files.get/list, and a search with a
// compound filter whose hits carry their attributes.
func TestVectorStoreFileAttributesSDK(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, scripted.New())
	vs, err := e.client.VectorStores.New(ctx, openai.VectorStoreNewParams{Name: openai.String("docs")})
	if err != nil {
		t.Fatal(err)
	}
	a, b := upload(t, e, "a.txt", "kettle warranty two years"), upload(t, e, "b.txt", "kettle warranty one year")
	vf, err := e.client.VectorStores.Files.New(ctx, vs.ID, openai.VectorStoreFileNewParams{FileID: a,
		Attributes: map[string]openai.VectorStoreFileNewParamsAttributeUnion{"lang": {OfString: openai.String("en")}, "year": {OfFloat: openai.Float(2023)}}})
	if err != nil || vf.Attributes["lang"].AsString() != "en" || vf.Attributes["year"].AsFloat() != 2023 {
		t.Fatalf("create: %v %+v", err, vf)
	}
	if _, err := e.client.VectorStores.FileBatches.New(ctx, vs.ID, openai.VectorStoreFileBatchNewParams{Files: []openai.VectorStoreFileBatchNewParamsFile{{
		FileID: b, Attributes: map[string]openai.VectorStoreFileBatchNewParamsFileAttributeUnion{"lang": {OfString: openai.String("de")}, "public": {OfBool: openai.Bool(true)}}}}}); err != nil {
		t.Fatal(err)
	}
	waitFiles(t, e, vs.ID, 2)
	got, err := e.client.VectorStores.Files.Get(ctx, vs.ID, b)
	if err != nil || got.Attributes["lang"].AsString() != "de" || !got.Attributes["public"].AsBool() {
		t.Fatalf("get: %v %+v", err, got.Attributes)
	}
	up, err := e.client.VectorStores.Files.Update(ctx, vs.ID, a, openai.VectorStoreFileUpdateParams{
		Attributes: map[string]openai.VectorStoreFileUpdateParamsAttributeUnion{"lang": {OfString: openai.String("fr")}, "year": {OfFloat: openai.Float(2024)}}})
	if err != nil || up.Attributes["lang"].AsString() != "fr" || up.Attributes["year"].AsFloat() != 2024 {
		t.Fatalf("update: %v %+v", err, up)
	}
	page, err := e.client.VectorStores.Files.List(ctx, vs.ID, openai.VectorStoreFileListParams{})
	if err != nil || len(page.Data) != 2 {
		t.Fatalf("list: %v %+v", err, page)
	}
	for _, f := range page.Data {
		if f.ID == a && f.Attributes["lang"].AsString() != "fr" {
			t.Fatalf("listed %+v", f.Attributes)
		}
	}
	res, err := e.client.VectorStores.Search(ctx, vs.ID, openai.VectorStoreSearchParams{
		Query: openai.VectorStoreSearchParamsQueryUnion{OfString: openai.String("kettle warranty")},
		Filters: openai.VectorStoreSearchParamsFiltersUnion{OfCompoundFilter: &shared.CompoundFilterParam{Type: shared.CompoundFilterTypeOr,
			Filters: []shared.CompoundFilterFilterUnionParam{
				{OfComparison: &shared.ComparisonFilterParam{Key: "year", Type: shared.ComparisonFilterTypeGte, Value: shared.ComparisonFilterValueUnionParam{OfFloat: openai.Float(2024)}}},
				{OfComparison: &shared.ComparisonFilterParam{Key: "lang", Type: shared.ComparisonFilterTypeEq, Value: shared.ComparisonFilterValueUnionParam{OfString: openai.String("xx")}}},
			}}}})
	if err != nil || len(res.Data) != 1 || res.Data[0].FileID != a || res.Data[0].Attributes["lang"].AsString() != "fr" {
		t.Fatalf("search: %v %+v", err, res)
	}
	// A bad filter reaches the SDK as a 400 naming it.
	_, err = e.client.VectorStores.Search(ctx, vs.ID, openai.VectorStoreSearchParams{
		Query: openai.VectorStoreSearchParamsQueryUnion{OfString: openai.String("kettle")},
		Filters: openai.VectorStoreSearchParamsFiltersUnion{OfComparisonFilter: &shared.ComparisonFilterParam{Key: "year", Type: shared.ComparisonFilterTypeLt,
			Value: shared.ComparisonFilterValueUnionParam{OfBool: openai.Bool(true)}}}})
	if ae := apiErr(t, err, 400, "invalid_request_error"); ae.Param != "filters.value" {
		t.Fatalf("bad filter: %v %s", err, ae.RawJSON())
	}
}
