package apitype_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"
)

// Bad filters are 400s naming the exact parameter and the API's code.
func TestDecodeFilterErrors(t *testing.T) {
	deep := strings.Repeat(`{"type":"and","filters":[`, apitype.MaxFilterDepth) + `{"type":"eq","key":"k","value":1}` + strings.Repeat(`]}`, apitype.MaxFilterDepth)
	for _, c := range []struct{ in, param, code string }{
		{`[]`, "filters", apitype.CodeInvalidType},
		{`{}`, "filters.type", apitype.CodeMissingParameter},
		{`{"type":3}`, "filters.type", apitype.CodeInvalidType},
		{`{"type":"like","key":"k","value":1}`, "filters.type", apitype.CodeInvalidValue},
		{`{"type":"eq","value":1}`, "filters.key", apitype.CodeMissingParameter},
		{`{"type":"eq","key":"","value":1}`, "filters.key", apitype.CodeInvalidValue},
		{`{"type":"eq","key":"` + strings.Repeat("k", 65) + `","value":1}`, "filters.key", apitype.CodeInvalidValue},
		{`{"type":"eq","key":"k"}`, "filters.value", apitype.CodeMissingParameter},
		{`{"type":"eq","key":"k","value":null}`, "filters.value", apitype.CodeInvalidType},
		{`{"type":"eq","key":"k","value":{}}`, "filters.value", apitype.CodeInvalidType},
		{`{"type":"eq","key":"k","value":[1]}`, "filters.value", apitype.CodeInvalidType},
		{`{"type":"gt","key":"k","value":"2020"}`, "filters.value", apitype.CodeInvalidType},
		{`{"type":"lte","key":"k","value":true}`, "filters.value", apitype.CodeInvalidType},
		{`{"type":"in","key":"k","value":"a"}`, "filters.value", apitype.CodeInvalidType},
		{`{"type":"nin","key":"k","value":["a",true]}`, "filters.value[1]", apitype.CodeInvalidType},
		{`{"type":"eq","key":"k","value":1,"filters":[]}`, "filters.filters", apitype.CodeUnknownParameter},
		{`{"type":"and"}`, "filters.filters", apitype.CodeMissingParameter},
		{`{"type":"and","filters":[]}`, "filters.filters", apitype.CodeEmptyArray},
		{`{"type":"or","filters":{}}`, "filters.filters", apitype.CodeInvalidType},
		{`{"type":"or","filters":[{"type":"eq","key":"k","value":1}],"key":"k"}`, "filters.key", apitype.CodeUnknownParameter},
		{`{"type":"or","filters":[{"type":"eq","key":"k","value":1},{"type":"and","filters":[{"type":"gt","key":"n","value":"x"}]}]}`, "filters.filters[1].filters[0].value", apitype.CodeInvalidType},
		{deep, "filters" + strings.Repeat(".filters[0]", apitype.MaxFilterDepth), apitype.CodeInvalidValue},
	} {
		var f apitype.Filter
		err := json.Unmarshal([]byte(c.in), &f)
		var ae *apitype.Error
		if !errors.As(err, &ae) || ae.Status != 400 || ae.Param != c.param || ae.Code != c.code {
			t.Errorf("%s: %v (param %q code %q), want %s %s", c.in, err, paramOf(ae), codeOf(ae), c.param, c.code)
		}
	}
}

func paramOf(e *apitype.Error) string {
	if e == nil {
		return ""
	}
	return e.Param
}

func codeOf(e *apitype.Error) string {
	if e == nil {
		return ""
	}
	return e.Code
}

// A filter under a file_search tool is named by its place in the request.
func TestFileSearchToolFilterPath(t *testing.T) {
	_, err := apitype.DecodeResponseCreateParams([]byte(`{"model":"m","input":"q","tools":[{"type":"function","name":"f"},
		{"type":"file_search","vector_store_ids":["vs_1"],"filters":{"type":"and","filters":[{"type":"in","key":"k","value":1}]}}]}`))
	var ae *apitype.Error
	if !errors.As(err, &ae) || ae.Param != "tools[1].filters.filters[0].value" {
		t.Fatalf("%v", err)
	}
}

// What openai-go sends as filters (a comparison, a compound nesting both
// kinds, every value type) decodes, keeps its meaning and encodes back to
// the same JSON.
func TestOpenAIGoFilters(t *testing.T) {
	compound := shared.CompoundFilterParam{Type: shared.CompoundFilterTypeOr, Filters: []shared.CompoundFilterFilterUnionParam{
		{OfComparison: &shared.ComparisonFilterParam{Key: "lang", Type: shared.ComparisonFilterTypeIn,
			Value: shared.ComparisonFilterValueUnionParam{OfComparisonFilterValueArray: []shared.ComparisonFilterValueArrayItemUnionParam{
				{OfString: openai.String("en")}, {OfFloat: openai.Float(2)}}}}},
		{OfFilter: &shared.CompoundFilterParam{Type: shared.CompoundFilterTypeAnd, Filters: []shared.CompoundFilterFilterUnionParam{
			{OfComparison: &shared.ComparisonFilterParam{Key: "year", Type: shared.ComparisonFilterTypeGte,
				Value: shared.ComparisonFilterValueUnionParam{OfFloat: openai.Float(2021)}}},
			{OfComparison: &shared.ComparisonFilterParam{Key: "public", Type: shared.ComparisonFilterTypeEq,
				Value: shared.ComparisonFilterValueUnionParam{OfBool: openai.Bool(true)}}},
		}}},
	}}
	tool := responses.ToolParamOfFileSearch([]string{"vs_1"})
	tool.OfFileSearch.Filters = responses.FileSearchToolFiltersUnionParam{OfCompoundFilter: &compound}
	p := decodeParams(t, responses.ResponseNewParams{Model: "m", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("q")},
		Tools: []responses.ToolUnionParam{tool}})
	f := p.Tools[0].Filters
	if f == nil || f.Type != "or" || len(f.Filters) != 2 || f.Filters[1].Filters[1].Value != true {
		t.Fatalf("decoded %s", f)
	}
	for _, c := range []struct {
		attrs map[string]any
		want  bool
	}{
		{map[string]any{"lang": "en"}, true},
		{map[string]any{"lang": 2.0}, true},
		{map[string]any{"lang": "de", "year": 2022.0, "public": true}, true},
		{map[string]any{"lang": "de", "year": 2022.0, "public": false}, false},
		{map[string]any{"year": 2020.0, "public": true}, false},
		{nil, false},
	} {
		if got := f.Match(c.attrs); got != c.want {
			t.Errorf("%v: %v, want %v", c.attrs, got, c.want)
		}
	}
	sent, _ := json.Marshal(compound)
	back, _ := json.Marshal(f)
	var a, b any
	_ = json.Unmarshal(sent, &a)
	_ = json.Unmarshal(back, &b)
	if ja, _ := json.Marshal(a); string(ja) != func() string { jb, _ := json.Marshal(b); return string(jb) }() {
		t.Fatalf("sent %s, encoded back %s", sent, back)
	}
	// And openai-go reads Hearth's encoding of a tool with filters.
	out, _ := json.Marshal(p.Tools[0])
	var ft responses.FileSearchTool
	if err := json.Unmarshal(out, &ft); err != nil || ft.Filters.Type != "or" || len(ft.Filters.Filters) != 2 {
		t.Fatalf("openai-go read %s as %+v (%v)", out, ft.Filters, err)
	}
}

// Match's corner cases: missing keys never match, types never coerce,
// Go integers equal their float64.
func TestFilterMatch(t *testing.T) {
	attrs := map[string]any{"s": "5", "n": 5.0, "b": false}
	for _, c := range []struct {
		f    apitype.Filter
		want bool
	}{
		{apitype.Filter{Type: "eq", Key: "n", Value: 5}, true},
		{apitype.Filter{Type: "eq", Key: "s", Value: 5}, false},
		{apitype.Filter{Type: "ne", Key: "s", Value: 5}, true},
		{apitype.Filter{Type: "ne", Key: "x", Value: 5}, false},
		{apitype.Filter{Type: "nin", Key: "x", Value: []any{5}}, false},
		{apitype.Filter{Type: "gt", Key: "s", Value: 4}, false},
		{apitype.Filter{Type: "lt", Key: "n", Value: 5.5}, true},
		{apitype.Filter{Type: "gte", Key: "n", Value: 5}, true},
		{apitype.Filter{Type: "eq", Key: "b", Value: false}, true},
		{apitype.Filter{Type: "in", Key: "n", Value: []any{"5", 5}}, true},
		{apitype.Filter{Type: "in", Key: "s", Value: []string{"4", "5"}}, true},
		{apitype.Filter{Type: "nin", Key: "n", Value: []int{4, 5}}, false},
		{apitype.Filter{Type: "in", Key: "n", Value: []int{4}}, false},
	} {
		if got := c.f.Match(attrs); got != c.want {
			t.Errorf("%s: %v, want %v", &c.f, got, c.want)
		}
	}
}

// The filter decoder never panics; what it accepts encodes, decodes again
// to the same filter, and matches without panicking.
func FuzzFilter(f *testing.F) {
	f.Add([]byte(`{"type":"eq","key":"k","value":"v"}`))
	f.Add([]byte(`{"type":"in","key":"k","value":["a",1,2.5]}`))
	f.Add([]byte(`{"type":"or","filters":[{"type":"gt","key":"n","value":-1e3},{"type":"and","filters":[{"type":"ne","key":"b","value":true}]}]}`))
	f.Add([]byte(`{"type":"and","filters":[{"type":"and","filters":[{"type":"and","filters":[]}]}]}`))
	f.Add([]byte(`{"type":"eq","key":"\u00e9","value":"a\"b"}`))
	f.Add([]byte(`{"type":"eq","key":"k","value":1,"type":"or"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		flt, err := apitype.DecodeFilter("filters", data)
		if err != nil {
			var e *apitype.Error
			if !errors.As(err, &e) || e.Status != 400 || !strings.HasPrefix(e.Param, "filters") {
				t.Fatalf("untyped error %T %v", err, err)
			}
			return
		}
		b, err := json.Marshal(flt)
		if err != nil {
			t.Fatalf("decoded but does not encode: %v", err)
		}
		again, err := apitype.DecodeFilter("filters", b)
		if err != nil {
			t.Fatalf("%s does not decode again: %v", b, err)
		}
		if b2, _ := json.Marshal(again); string(b2) != string(b) {
			t.Fatalf("round trip changed %s into %s", b, b2)
		}
		if err := flt.Check("filters"); err != nil {
			t.Fatalf("Check refuses what decoded: %v", err)
		}
		flt.Match(map[string]any{"k": "v", "n": 1.0, "b": true})
		flt.Match(nil)
	})
}
