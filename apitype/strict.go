package apitype

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

// The Responses and Conversations request types decode strictly, as the
// hosted Responses API does: an unknown field, a value of the wrong JSON type
// or a value outside an enum is a 400 naming the exact parameter path
// ("input[2].content[0].text"), with the API's message and code. encoding/json
// cannot do that (DisallowUnknownFields does not reach into custom
// unmarshalers and its errors lose array indexes), so these decoders walk the
// JSON themselves with the helpers below.

// Error codes of the hosted API's 400s for malformed requests.
const (
	CodeUnknownParameter  = "unknown_parameter"
	CodeInvalidType       = "invalid_type"
	CodeInvalidValue      = "invalid_value"
	CodeMissingParameter  = "missing_required_parameter"
	CodeMutuallyExclusive = "mutually_exclusive_parameters"
	CodeUnsupported       = "unsupported_parameter"
	CodeBelowMin          = "integer_below_min_value"
	CodeAboveMax          = "integer_above_max_value"
	CodeDecimalBelowMin   = "decimal_below_min_value"
	CodeDecimalAboveMax   = "decimal_above_max_value"
	CodeStringTooLong     = "string_above_max_length"
	CodeArrayTooLong      = "array_above_max_length"
	CodeEmptyArray        = "empty_array"
)

func invalidCode(param, code, format string, args ...any) *Error {
	e := Invalid(param, format, args...)
	e.Code = code
	return e
}

func unknownParam(param string) *Error {
	return invalidCode(param, CodeUnknownParameter, "Unknown parameter: '%s'.", param)
}

func missingParam(param string) *Error {
	return invalidCode(param, CodeMissingParameter, "Missing required parameter: '%s'.", param)
}

func badType(param, want string, got []byte) *Error {
	return invalidCode(param, CodeInvalidType, "Invalid type for '%s': expected %s, but got %s instead.", param, want, kindOf(got))
}

func badValue(param, got string, allowed ...string) *Error {
	q := make([]string, len(allowed))
	for i, a := range allowed {
		q[i] = "'" + a + "'"
	}
	list := strings.Join(q, ", ")
	switch {
	case len(q) == 2:
		list = q[0] + " and " + q[1]
	case len(q) > 2:
		list = strings.Join(q[:len(q)-1], ", ") + ", and " + q[len(q)-1]
	}
	return invalidCode(param, CodeInvalidValue, "Invalid value: '%s'. Supported values are: %s.", clipValue(got), list)
}

// unsupported refuses a valid API parameter Hearth does not implement.
func unsupported(param, why string) *Error {
	return invalidCode(param, CodeUnsupported, "Unsupported parameter: '%s' is not supported by Hearth: %s.", param, why)
}

func clipValue(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// kindOf names a JSON value's kind as the API's messages do.
func kindOf(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	if bytes.ContainsAny(b, ".eE") {
		return "a decimal"
	}
	return "an integer"
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

func isNull(b []byte) bool { return string(bytes.TrimSpace(b)) == "null" }

// object is a JSON object being read field by field. Fields are taken with
// the take methods; done reports the first field nobody took.
type object struct {
	path   string
	keys   []string
	fields map[string]json.RawMessage
	taken  map[string]bool
}

// readObject splits b into its fields, keeping their order for done's
// message. A duplicate key keeps its last value, as encoding/json does.
func readObject(path string, b []byte) (*object, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, badType(path, "an object", b)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return nil, badJSON(path)
	}
	o := &object{path: path, fields: map[string]json.RawMessage{}, taken: map[string]bool{}}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, badJSON(path)
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, badJSON(path)
		}
		if _, dup := o.fields[k]; !dup {
			o.keys = append(o.keys, k)
		}
		o.fields[k] = v
	}
	return o, nil
}

func badJSON(path string) *Error {
	return Invalid(path, "We could not parse the JSON body of your request. The API expects a JSON object.")
}

// raw takes a field: its bytes and whether it is present and not null.
func (o *object) raw(name string) (json.RawMessage, bool) {
	v, ok := o.fields[name]
	o.taken[name] = true
	if !ok || isNull(v) {
		return nil, false
	}
	return v, true
}

func (o *object) has(name string) bool { _, ok := o.fields[name]; return ok }

func (o *object) at(name string) string { return join(o.path, name) }

// done refuses the first field (in document order) no reader took.
func (o *object) done() error {
	for _, k := range o.keys {
		if !o.taken[k] {
			return unknownParam(o.at(k))
		}
	}
	return nil
}

// str reads an optional string; null leaves dst as it was.
func (o *object) str(name string, dst *string) error {
	v, ok := o.raw(name)
	if !ok {
		return nil
	}
	if v[0] != '"' {
		return badType(o.at(name), "a string", v)
	}
	return json.Unmarshal(v, dst)
}

// strPtr reads an optional, nullable string.
func (o *object) strPtr(name string, dst **string) error {
	if _, ok := o.raw(name); !ok {
		return nil
	}
	var s string
	if err := o.str(name, &s); err != nil {
		return err
	}
	*dst = &s
	return nil
}

// reqStr reads a required string.
func (o *object) reqStr(name string, dst *string) error {
	if _, ok := o.fields[name]; !ok {
		o.taken[name] = true
		return missingParam(o.at(name))
	}
	if v := o.fields[name]; isNull(v) {
		o.taken[name] = true
		return badType(o.at(name), "a string", v)
	}
	return o.str(name, dst)
}

// enum reads an optional string that must be one of allowed.
func (o *object) enum(name string, dst *string, allowed ...string) error {
	var s string
	if err := o.str(name, &s); err != nil || !o.has(name) || isNull(o.fields[name]) {
		return err
	}
	for _, a := range allowed {
		if s == a {
			*dst = s
			return nil
		}
	}
	return badValue(o.at(name), s, allowed...)
}

func (o *object) boolPtr(name string, dst **bool) error {
	v, ok := o.raw(name)
	if !ok {
		return nil
	}
	var b bool
	if v[0] != 't' && v[0] != 'f' {
		return badType(o.at(name), "a boolean", v)
	}
	if err := json.Unmarshal(v, &b); err != nil {
		return badType(o.at(name), "a boolean", v)
	}
	*dst = &b
	return nil
}

func (o *object) float(name string, dst **float64) error {
	v, ok := o.raw(name)
	if !ok {
		return nil
	}
	var f float64
	if (v[0] != '-' && (v[0] < '0' || v[0] > '9')) || json.Unmarshal(v, &f) != nil {
		return badType(o.at(name), "a decimal", v)
	}
	*dst = &f
	return nil
}

func (o *object) int(name string, dst **int) error {
	v, ok := o.raw(name)
	if !ok {
		return nil
	}
	var f float64
	if (v[0] != '-' && (v[0] < '0' || v[0] > '9')) || json.Unmarshal(v, &f) != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return badType(o.at(name), "an integer", v)
	}
	n := int(f)
	*dst = &n
	return nil
}

func (o *object) strings(name string, dst *[]string) error {
	v, ok := o.raw(name)
	if !ok {
		return nil
	}
	return readArray(o.at(name), v, func(p string, i int, e json.RawMessage) error {
		if isNull(e) || e[0] != '"' {
			return badType(p, "a string", e)
		}
		var s string
		if err := json.Unmarshal(e, &s); err != nil {
			return badType(p, "a string", e)
		}
		*dst = append(*dst, s)
		return nil
	}, func() { *dst = []string{} })
}

// rawObject reads an optional JSON object kept as bytes (a JSON Schema, a
// filter): any object is accepted.
func (o *object) rawObject(name string, dst *json.RawMessage) error {
	v, ok := o.raw(name)
	if !ok {
		return nil
	}
	if v[0] != '{' {
		return badType(o.at(name), "an object", v)
	}
	*dst = append(json.RawMessage(nil), v...)
	return nil
}

// metadata reads a map of strings.
func (o *object) metadata(name string, dst *Metadata) error {
	v, ok := o.raw(name)
	if !ok {
		return nil
	}
	m, err := readObject(o.at(name), v)
	if err != nil {
		return err
	}
	out := Metadata{}
	for _, k := range m.keys {
		var s string
		if e := m.fields[k]; isNull(e) || e[0] != '"' {
			return badType(m.at(k), "a string", e)
		}
		if err := m.str(k, &s); err != nil {
			return err
		}
		out[k] = s
	}
	*dst = out
	return nil
}

// readArray calls each for the elements of the array b; empty (if not nil)
// runs for an array with no elements, so [] and absent stay distinct.
func readArray(path string, b json.RawMessage, each func(path string, i int, e json.RawMessage) error, empty func()) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '[' {
		return badType(path, "an array", b)
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(b, &elems); err != nil {
		return badJSON(path)
	}
	if len(elems) == 0 && empty != nil {
		empty()
	}
	for i, e := range elems {
		if err := each(index(path, i), i, bytes.TrimSpace(e)); err != nil {
			return err
		}
	}
	return nil
}

// typeOf reads the "type" field of an object without taking it.
func (o *object) typeOf() (string, bool) {
	v, ok := o.fields["type"]
	if !ok || isNull(v) || v[0] != '"' {
		return "", false
	}
	var s string
	_ = json.Unmarshal(v, &s)
	return s, true
}

// sortedKeys returns m's keys in order, for deterministic messages.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// decodeStrict runs decode over b and returns a *Error for any failure; a
// body that is not JSON at all is the API's parse error.
func decodeStrict(b []byte, decode func([]byte) error) error {
	if !json.Valid(b) {
		return badJSON("")
	}
	return decode(bytes.TrimSpace(b))
}
