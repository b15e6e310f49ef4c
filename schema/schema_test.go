package schema_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/schema"
)

func TestCompileErrors(t *testing.T) {
	cases := map[string]string{
		``:                                 "not valid JSON",
		`{`:                                "not valid JSON",
		`true`:                             "must be a JSON object, got a boolean",
		`[{"type":"string"}]`:              "must be a JSON object, got an array",
		`"string"`:                         "got a string",
		`{"type":"strin"}`:                 "type",
		`{"minimum":"one"}`:                "minimum",
		`{"pattern":"(["}`:                 "pattern",
		`{"$ref":"#/$defs/missing"}`:       "missing",
		`{"$ref":"file:///etc/passwd"}`:    "not allowed",
		`{"$ref":"http://example.com/s"}`:  "not allowed",
		`{"type":"object"} {"extra":true}`: "not valid JSON",
	}
	for raw, want := range cases {
		_, err := schema.Compile(json.RawMessage(raw))
		if !errors.Is(err, schema.ErrInvalidSchema) {
			t.Errorf("%s: err = %v, want ErrInvalidSchema", raw, err)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %q does not say %q", raw, err, want)
		}
	}
}

func TestValidate(t *testing.T) {
	s, err := schema.Compile(json.RawMessage(`{
		"type": "object",
		"properties": {
			"code": {"type": "string", "pattern": "^[A-Z]+$"},
			"n": {"type": "integer", "minimum": 1},
			"when": {"type": "string", "format": "date"},
			"tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
			"addr": {"$ref": "#/$defs/addr"}
		},
		"required": ["code"],
		"additionalProperties": false,
		"$defs": {"addr": {"type": "object", "properties": {"zip": {"type": "string", "minLength": 5}}, "required": ["zip"]}}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(json.RawMessage(`{"code":"AB","n":2,"when":"2024-01-31","tags":["x"],"addr":{"zip":"12345"}}`)); err != nil {
		t.Fatalf("valid instance rejected: %v", err)
	}
	cases := []struct{ in, path, keyword string }{
		{`{}`, "", "required"},
		{`{"code":"ab"}`, "/code", "pattern"},
		{`{"code":"AB","n":0}`, "/n", "minimum"},
		{`{"code":"AB","n":1.5}`, "/n", "type"},
		{`{"code":"AB","when":"yesterday"}`, "/when", "format"},
		{`{"code":"AB","tags":["a","b","c"]}`, "/tags", "maxItems"},
		{`{"code":"AB","tags":[1]}`, "/tags/0", "type"},
		{`{"code":"AB","addr":{"zip":"1"}}`, "/addr/zip", "minLength"},
		{`{"code":"AB","extra":1}`, "", "additionalProperties"},
	}
	for _, tc := range cases {
		err := s.Validate(json.RawMessage(tc.in))
		var ve *schema.ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, schema.ErrMismatch) {
			t.Errorf("%s: err = %v", tc.in, err)
			continue
		}
		found := false
		for _, v := range ve.Violations {
			found = found || (v.Path == tc.path && v.Keyword == tc.keyword)
		}
		if !found {
			t.Errorf("%s: violations %+v, want %s at %q", tc.in, ve.Violations, tc.keyword, tc.path)
		}
		if !strings.Contains(err.Error(), tc.keyword) {
			t.Errorf("%s: message %q does not name %s", tc.in, err, tc.keyword)
		}
	}
	for _, bad := range []string{``, `{"code":`, `{"code":"AB"} x`} {
		if err := s.Validate(json.RawMessage(bad)); !errors.Is(err, schema.ErrMismatch) || !strings.Contains(err.Error(), "not valid JSON") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

func TestValidateMessage(t *testing.T) {
	s, err := schema.Compile(json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer","minimum":1}}}`))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Validate(json.RawMessage(`{"n":0}`))
	if got := err.Error(); got != "value does not match the schema: at /n: minimum: got 0, want 1" {
		t.Errorf("message %q", got)
	}
	if string(s.Raw()) != `{"type":"object","properties":{"n":{"type":"integer","minimum":1}}}` {
		t.Errorf("Raw %s", s.Raw())
	}
}

func TestDescribe(t *testing.T) {
	cases := map[string]string{
		`{"type":"integer","minimum":1,"default":3}`:                 "minimum 1; default 3",
		`{"type":"string","pattern":"^[A-Z]+$","format":"email"}`:    "format email; pattern ^[A-Z]+$",
		`{"type":"object","additionalProperties":false}`:             "no other properties allowed",
		`{"type":"object","additionalProperties":{"type":"number"}}`: "other properties: number",
		`{"const":"x"}`: `must be "x"`,
		`{"type":"array","uniqueItems":true,"minItems":1}`: "minItems 1; items must be unique",
		`{"type":"string","description":"plain"}`:          "",
		`[1]`:                  "",
		`nope`:                 "",
		`{"$ref":"#/$defs/a"}`: `see "#/$defs/a"`,
	}
	for raw, want := range cases {
		if got := schema.Describe(json.RawMessage(raw)); got != want {
			t.Errorf("Describe(%s) = %q, want %q", raw, got, want)
		}
	}
}

func TestFold(t *testing.T) {
	raw := json.RawMessage(`{
		"type": "object",
		"description": "Search.",
		"properties": {
			"q": {"type": "string", "description": "Query", "minLength": 2},
			"limit": {"type": "integer", "title": "Max results", "maximum": 50},
			"mode": {"const": "fast"},
			"filter": {"$ref": "#/$defs/filter"},
			"either": {"oneOf": [{"type": "string", "format": "uuid"}, {"type": "integer"}]},
			"list": {"type": "array", "items": {"type": "string", "pattern": "^x"}}
		},
		"required": ["q"],
		"additionalProperties": false,
		"$defs": {"filter": {"type": "object", "properties": {"lang": {"type": "string", "default": "en"}}}}
	}`)
	out, err := schema.Fold(raw)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Description string `json:"description"`
		Properties  map[string]struct {
			Description string            `json:"description"`
			Enum        []any             `json:"enum"`
			AnyOf       []json.RawMessage `json:"anyOf"`
			Ref         string            `json:"$ref"`
			Properties  map[string]struct {
				Description string `json:"description"`
			} `json:"properties"`
			Items struct {
				Description string `json:"description"`
			} `json:"items"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	check := func(name, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	check("root", got.Description, "Search. (no other properties allowed)")
	check("q", got.Properties["q"].Description, "Query (minLength 2)")
	check("limit", got.Properties["limit"].Description, "Max results (maximum 50)")
	check("mode", got.Properties["mode"].Description, `must be "fast"`)
	if e := got.Properties["mode"].Enum; len(e) != 1 || e[0] != "fast" {
		t.Errorf("const not mirrored as enum: %v", e)
	}
	check("filter.lang", got.Properties["filter"].Properties["lang"].Description, "default en")
	check("filter.$ref", got.Properties["filter"].Ref, "")
	check("either", got.Properties["either"].Description, "exactly one of the alternatives")
	if len(got.Properties["either"].AnyOf) != 2 || !strings.Contains(string(got.Properties["either"].AnyOf[0]), "format uuid") {
		t.Errorf("oneOf not mirrored as folded anyOf: %s", got.Properties["either"].AnyOf)
	}
	check("list.items", got.Properties["list"].Items.Description, "pattern ^x")

	// Key order is the caller's.
	if i, j := strings.Index(string(out), `"q"`), strings.Index(string(out), `"limit"`); i < 0 || j < i {
		t.Errorf("property order lost: %s", out)
	}
	// The fold is still a valid schema that accepts what the original does.
	s, err := schema.Compile(out)
	if err != nil {
		t.Fatalf("folded schema does not compile: %v", err)
	}
	if err := s.Validate(json.RawMessage(`{"q":"ab","mode":"fast","filter":{"lang":"de"}}`)); err != nil {
		t.Error(err)
	}
}

func TestFoldRecursiveRefBounded(t *testing.T) {
	raw := json.RawMessage(`{"$defs":{"n":{"type":"object","properties":{"a":{"$ref":"#/$defs/n"},"b":{"$ref":"#/$defs/n"},"c":{"$ref":"#/$defs/n"}}}},"$ref":"#/$defs/n"}`)
	out, err := schema.Fold(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) > 1<<20 {
		t.Errorf("folded recursive schema is %d bytes", len(out))
	}
	if _, err := schema.Compile(out); err != nil {
		t.Errorf("folded schema does not compile: %v", err)
	}
}

func TestFoldErrors(t *testing.T) {
	for _, raw := range []string{``, `[]`, `{"a":`, `1`} {
		if _, err := schema.Fold(json.RawMessage(raw)); !errors.Is(err, schema.ErrInvalidSchema) {
			t.Errorf("%q: err = %v", raw, err)
		}
	}
}

func FuzzCompileValidate(f *testing.F) {
	f.Add(`{"type":"object","properties":{"a":{"type":"integer","minimum":1}},"required":["a"]}`, `{"a":0}`)
	f.Add(`{"type":"string","pattern":"^[a-z]+$","format":"email"}`, `"x@y.z"`)
	f.Add(`{"$defs":{"n":{"$ref":"#/$defs/n"}},"$ref":"#/$defs/n"}`, `1`)
	f.Add(`{"anyOf":[{"type":"null"},{"type":"array","items":{"const":1}}]}`, `[1,1]`)
	f.Add(`{"$schema":"http://json-schema.org/draft-07/schema#","type":"number"}`, `1e400`)
	f.Add(`true`, `{}`)
	f.Add(`{"properties":{"x":{"$ref":"file:///etc/passwd"}}}`, `{}`)
	f.Fuzz(func(t *testing.T, raw, instance string) {
		folded, ferr := schema.Fold(json.RawMessage(raw))
		_ = schema.Describe(json.RawMessage(raw))
		s, err := schema.Compile(json.RawMessage(raw))
		if err != nil {
			if !errors.Is(err, schema.ErrInvalidSchema) {
				t.Fatalf("Compile error does not wrap ErrInvalidSchema: %v", err)
			}
			return
		}
		if ferr != nil {
			t.Fatalf("Compile accepted what Fold rejects: %v", ferr)
		}
		if !json.Valid(folded) {
			t.Fatalf("Fold produced invalid JSON: %s", folded)
		}
		if err := s.Validate(json.RawMessage(instance)); err != nil && !errors.Is(err, schema.ErrMismatch) {
			t.Fatalf("Validate error does not wrap ErrMismatch: %v", err)
		}
	})
}

func TestCache(t *testing.T) {
	var c schema.Cache
	c.Max = 2
	a1, err := c.Compile(json.RawMessage(`{"type":"string"}`))
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := c.Compile(json.RawMessage(`{"type":"string"}`))
	if a1 != a2 {
		t.Error("second Compile did not hit the cache")
	}
	if _, err := c.Compile(json.RawMessage(`{"type":1}`)); !errors.Is(err, schema.ErrInvalidSchema) {
		t.Errorf("err = %v", err)
	}
	c.Compile(json.RawMessage(`{"type":"integer"}`))
	c.Compile(json.RawMessage(`{"type":"number"}`)) // full: starts over
	if s, _ := c.Compile(json.RawMessage(`{"type":"string"}`)); s == a1 {
		t.Error("cache grew past Max")
	}
}

func TestFoldNestedRequiredAndDefs(t *testing.T) {
	out, err := schema.Fold(json.RawMessage(`{"type":"object","properties":{"addr":{"$ref":"#/$defs/addr"}},"required":["addr"],
		"$defs":{"addr":{"type":"object","description":"Postal address","properties":{"zip":{"type":"string"},"city":{"type":"string"}},"required":["zip","city"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if !strings.Contains(s, `"description":"Postal address (required: zip, city)"`) {
		t.Errorf("nested required not folded: %s", s)
	}
	if strings.Contains(s, "$defs") {
		t.Errorf("definitions kept though every $ref was inlined: %s", s)
	}
	if strings.Contains(s, `"description":"required: addr"`) || strings.Contains(s, `(required: addr)`) {
		t.Errorf("root required folded, but Ollama keeps it: %s", s)
	}

	// A recursive schema keeps its definitions for the refs left.
	out, err = schema.Fold(json.RawMessage(`{"$defs":{"n":{"type":"object","properties":{"next":{"$ref":"#/$defs/n"}}}},"$ref":"#/$defs/n"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"$defs"`) {
		t.Errorf("definitions dropped though refs remain: %s", out)
	}
	if _, err := schema.Compile(out); err != nil {
		t.Errorf("folded recursive schema does not compile: %v", err)
	}
}
