package apitype

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode/utf8"
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
	path  string
	keys  []string
	vals  []json.RawMessage
	taken []bool
	index map[string]int
}

// get returns a field's value and whether it is present (null included).
func (o *object) get(name string) (json.RawMessage, bool) {
	i, ok := o.index[name]
	if !ok {
		return nil, false
	}
	return o.vals[i], true
}

// val returns a field's value, nil when absent.
func (o *object) val(name string) json.RawMessage { v, _ := o.get(name); return v }

// take marks a field as read.
func (o *object) take(name string) {
	if i, ok := o.index[name]; ok {
		o.taken[i] = true
	}
}

// readObject splits b into its fields, keeping their order for done's
// message. A duplicate key keeps its last value, as encoding/json does.
func readObject(path string, b []byte) (*object, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, badType(path, "an object", b)
	}
	o := &object{path: path, index: map[string]int{}}
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == '}' {
		return o, nil
	}
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return nil, badJSON(path)
		}
		end := skipString(b, i)
		if end < 0 {
			return nil, badJSON(path)
		}
		k, ok := unquote(b[i:end])
		if !ok {
			return nil, badJSON(path)
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, badJSON(path)
		}
		start := skipSpace(b, i+1)
		end = skipValue(b, start)
		if end < 0 {
			return nil, badJSON(path)
		}
		if j, dup := o.index[k]; dup {
			o.vals[j] = b[start:end]
		} else {
			o.index[k] = len(o.keys)
			o.keys = append(o.keys, k)
			o.vals = append(o.vals, b[start:end])
			o.taken = append(o.taken, false)
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return nil, badJSON(path)
		}
		if b[i] == '}' {
			return o, nil
		}
		if b[i] != ',' {
			return nil, badJSON(path)
		}
		i++
	}
}

// The scanner below splits JSON that encoding/json (or json.Valid) has
// already checked, without decoding it again; it still bounds-checks
// everything, so bytes that are not JSON give an error, never a panic.

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] ('"'), or -1.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipString(b, j)
				if j < 0 {
					return -1
				}
				j--
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// unquote decodes a JSON string; without escapes it is a plain copy.
func unquote(q []byte) (string, bool) {
	if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
		return "", false
	}
	inner := q[1 : len(q)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), true
	}
	var s string
	if json.Unmarshal(q, &s) != nil {
		return "", false
	}
	return s, true
}

// splitArray returns the elements of the array b.
func splitArray(b []byte) ([]json.RawMessage, bool) {
	var elems []json.RawMessage
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == ']' {
		return elems, true
	}
	for {
		start := skipSpace(b, i)
		end := skipValue(b, start)
		if end < 0 {
			return nil, false
		}
		elems = append(elems, b[start:end])
		i = skipSpace(b, end)
		if i >= len(b) {
			return nil, false
		}
		if b[i] == ']' {
			return elems, true
		}
		if b[i] != ',' {
			return nil, false
		}
		i++
	}
}

func badJSON(path string) *Error {
	return Invalid(path, "We could not parse the JSON body of your request. The API expects a JSON object.")
}

// raw takes a field: its bytes and whether it is present and not null.
func (o *object) raw(name string) (json.RawMessage, bool) {
	v, ok := o.get(name)
	o.take(name)
	if !ok || isNull(v) {
		return nil, false
	}
	return v, true
}

func (o *object) has(name string) bool { _, ok := o.index[name]; return ok }

func (o *object) at(name string) string { return join(o.path, name) }

// done refuses the first field (in document order) no reader took.
func (o *object) done() error {
	for i, k := range o.keys {
		if !o.taken[i] {
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
	str, ok := unquote(v)
	if !ok {
		return badJSON(o.at(name))
	}
	*dst = str
	return nil
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
	if _, ok := o.get(name); !ok {
		o.take(name)
		return missingParam(o.at(name))
	}
	if v := o.val(name); isNull(v) {
		o.take(name)
		return badType(o.at(name), "a string", v)
	}
	return o.str(name, dst)
}

// enum reads an optional string that must be one of allowed.
func (o *object) enum(name string, dst *string, allowed ...string) error {
	var s string
	if err := o.str(name, &s); err != nil || !o.has(name) || isNull(o.val(name)) {
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
		if e := m.val(k); isNull(e) || e[0] != '"' {
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
	elems, ok := splitArray(b)
	if !ok {
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
	v, ok := o.get("type")
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

// decodeStrict runs decode over b, as an UnmarshalJSON method does:
// encoding/json has checked b is one JSON value before calling it, so it is
// not scanned again (the scanner still refuses broken bytes, never panics).
func decodeStrict(b []byte, decode func([]byte) error) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return badJSON("")
	}
	return decode(b)
}
