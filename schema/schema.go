package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Errors Compile and Validate wrap.
var (
	// ErrInvalidSchema: the schema itself is malformed.
	ErrInvalidSchema = errors.New("schema: invalid JSON Schema")
	// ErrMismatch: an instance does not satisfy the schema (or is not JSON).
	ErrMismatch = errors.New("schema: value does not match the schema")
)

// resourceURL names the schema inside the compiler; it is never fetched.
const resourceURL = "mem:///schema.json"

// Schema is a compiled JSON Schema. It is safe for concurrent use.
type Schema struct {
	raw json.RawMessage
	s   *jsonschema.Schema
}

// noLoader refuses every external reference: schemas come from API callers
// and must not make Hearth read files or reach the network.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external reference %q is not allowed (only references inside the schema)", url)
}

// Compile parses and compiles raw. The schema must be a JSON object; drafts
// 4, 6, 7, 2019-09 and 2020-12 are understood (2020-12 when "$schema" is
// absent), "format" is asserted, and "$ref" may only point inside the schema.
// Errors wrap ErrInvalidSchema and say what is wrong.
func Compile(raw json.RawMessage) (*Schema, error) {
	doc, err := decode(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: not valid JSON: %v", ErrInvalidSchema, err)
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, fmt.Errorf("%w: a schema must be a JSON object, got %s", ErrInvalidSchema, kindOf(doc))
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	c.AssertFormat()
	if err := c.AddResource(resourceURL, doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSchema, err)
	}
	s, err := c.Compile(resourceURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidSchema, compileMessage(err))
	}
	return &Schema{raw: append(json.RawMessage(nil), raw...), s: s}, nil
}

// Raw returns the schema as it was compiled, byte for byte.
func (s *Schema) Raw() json.RawMessage { return s.raw }

// Violation is one failed keyword.
type Violation struct {
	// Path is the JSON Pointer of the offending value ("" is the root).
	Path string
	// Keyword is the violated schema keyword, e.g. "minimum" or "required".
	Keyword string
	// Message says what is wrong, e.g. "must be >= 1 but found 0".
	Message string
}

func (v Violation) String() string {
	p := v.Path
	if p == "" {
		p = "/"
	}
	return fmt.Sprintf("at %s: %s: %s", p, v.Keyword, v.Message)
}

// ValidationError lists why an instance does not match. It wraps ErrMismatch.
type ValidationError struct {
	Violations []Violation
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.String()
	}
	return "value does not match the schema: " + strings.Join(parts, "; ")
}

// Unwrap lets errors.Is(err, ErrMismatch) match.
func (e *ValidationError) Unwrap() error { return ErrMismatch }

// Validate checks instance, a JSON document, against the schema. It returns
// nil, a *ValidationError naming each failing path and keyword, or an error
// wrapping ErrMismatch when instance is not JSON at all.
//
// This is what a caller uses to check a model's tool-call arguments: the
// backend reports calls as the model wrote them, and the engine decides
// (retry with the error text as a tool result, or fail, per Tool.Strict).
func (s *Schema) Validate(instance json.RawMessage) error {
	v, err := decode(instance)
	if err != nil {
		return fmt.Errorf("%w: not valid JSON: %v", ErrMismatch, err)
	}
	err = s.s.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("%w: %v", ErrMismatch, err)
	}
	out := &ValidationError{}
	collect(ve, &out.Violations)
	if len(out.Violations) == 0 {
		out.Violations = []Violation{{Path: pointer(ve.InstanceLocation), Keyword: "schema", Message: strings.TrimSpace(ve.Error())}}
	}
	sort.SliceStable(out.Violations, func(i, j int) bool { return out.Violations[i].Path < out.Violations[j].Path })
	return out
}

// collect gathers the leaves of the library's error tree: they name the
// keywords that actually failed (the inner nodes only say "allOf failed").
func collect(ve *jsonschema.ValidationError, out *[]Violation) {
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			collect(c, out)
		}
		return
	}
	kw := "schema"
	if ve.ErrorKind != nil {
		if p := ve.ErrorKind.KeywordPath(); len(p) > 0 {
			kw = p[0]
		}
	}
	*out = append(*out, Violation{
		Path:    pointer(ve.InstanceLocation),
		Keyword: kw,
		Message: kindMessage(ve),
	})
}

func kindMessage(ve *jsonschema.ValidationError) string {
	if ve.ErrorKind == nil {
		return "invalid"
	}
	msg := ve.ErrorKind.LocalizedString(printer)
	if p := ve.ErrorKind.KeywordPath(); len(p) > 0 {
		msg = strings.TrimPrefix(msg, p[0]+": ")
	}
	return msg
}

// printer renders the library's messages; it is read-only after init.
var printer = message.NewPrinter(language.English)

func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		t = strings.ReplaceAll(t, "~", "~0")
		b.WriteString(strings.ReplaceAll(t, "/", "~1"))
	}
	return b.String()
}

// compileMessage shortens the library's errors, which name the internal
// resource URL, to what a caller can act on.
func compileMessage(err error) string {
	var sve *jsonschema.SchemaValidationError
	if ve, ok := err.(*jsonschema.ValidationError); ok || (errors.As(err, &sve) && errors.As(sve.Err, &ve)) {
		// The schema broke its metaschema: name each offending keyword.
		var vs []Violation
		collect(ve, &vs)
		parts := make([]string, len(vs))
		for i, v := range vs {
			parts[i] = v.String()
		}
		return strings.Join(parts, "; ")
	}
	msg := err.Error()
	msg = strings.ReplaceAll(msg, resourceURL+"#", "#")
	msg = strings.ReplaceAll(msg, resourceURL, "the schema")
	return msg
}

// decode reads one JSON document keeping numbers exact, as the validator needs.
func decode(raw []byte) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, errors.New("empty document")
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(raw))
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	default:
		return fmt.Sprintf("%T", v)
	}
}
