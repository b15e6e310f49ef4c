package openaihttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/hearth-go/hearth/apitype"
)

// errBadJSON is the hosted API's answer to a body that is not JSON.
func errBadJSON(detail string) *apitype.Error {
	return apitype.Invalid("", "We could not parse the JSON body of your request: %s. The API expects a JSON object.", detail)
}

// tooLarge is the 413 for a body over the limit.
func tooLarge(limit int64) *apitype.Error {
	return &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Code: "request_too_large", Status: http.StatusRequestEntityTooLarge,
		Message: fmt.Sprintf("Request body too large: the limit is %d bytes.", limit)}
}

// readBody reads the whole (already size-limited) body.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	b, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge(mbe.Limit)
	}
	if err != nil {
		return nil, apitype.Invalid("", "Could not read the request body: %v.", err)
	}
	return b, nil
}

// decodeJSON reads a JSON object body into dst with the hosted API's rules:
// unknown fields are ignored, an empty body is an empty object, and a value
// of the wrong type is a 400 naming the parameter.
func decodeJSON(r *http.Request, limit int64, dst any) error {
	b, err := readBody(r, limit)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) > 0 {
		if err := checkJSONType(r.Header.Get("Content-Type")); err != nil {
			return err
		}
	}
	return unmarshalParams(b, dst)
}

// checkJSONType refuses a body that is not declared JSON. A web page can
// send text/plain, form or untyped bodies cross-origin without a preflight;
// only JSON (which needs one) is taken, so such a page cannot write here even
// from a browser too old to send Sec-Fetch-Site or Origin. Every SDK sends
// application/json.
func checkJSONType(ct string) error {
	mt, _, _ := mime.ParseMediaType(ct)
	if mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return nil
	}
	if ct == "" {
		ct = "none"
	}
	return &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Code: "unsupported_media_type", Status: http.StatusUnsupportedMediaType,
		Message: fmt.Sprintf("The request body must be JSON with Content-Type: application/json; got Content-Type %s.", truncate(ct, 100))}
}

func unmarshalParams(b []byte, dst any) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	if b[0] != '{' {
		if !json.Valid(b) {
			return errBadJSON("invalid JSON")
		}
		return errBadJSON("the body is " + jsonKind(b[0]) + ", not an object")
	}
	err := json.Unmarshal(b, dst)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return errBadJSON(fmt.Sprintf("invalid JSON at byte %d", se.Offset))
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		param := te.Field // dotted, without array indexes: find the exact path
		if p := failingField(b, dst); p != "" {
			param = p
		}
		return apitype.Invalid(param, "Invalid type for '%s': expected %s, but got %s.", param, goKind(te.Type.Kind().String()), te.Value)
	}
	// A custom decoder (content, tool_choice, response_format…) refused a
	// value: find which top-level field by decoding them one at a time.
	field := failingField(b, dst)
	top, _, _ := strings.Cut(field, ".")
	top, _, _ = strings.Cut(top, "[")
	var ae *apitype.Error
	if errors.As(err, &ae) && top != "" && (ae.Param == top || strings.HasPrefix(ae.Param, top+".") || strings.HasPrefix(ae.Param, top+"[")) {
		return ae // a strict decoder (filters) that named the exact path already
	}
	return apitype.Invalid(field, "Invalid value: %s.", trimErr(err))
}

// failingField names the field of the object b that does not decode into
// dst's type, as a path ("thread.messages[0].content"): it decodes the
// fields one at a time and descends into the one that fails.
func failingField(b []byte, dst any) string {
	return failingPath(b, reflect.TypeOf(dst).Elem(), "")
}

func failingPath(b []byte, t reflect.Type, path string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && len(b) > 0 && b[0] == '{':
		var fields map[string]json.RawMessage
		if json.Unmarshal(b, &fields) != nil {
			return path
		}
		for k, v := range fields {
			one, _ := json.Marshal(map[string]json.RawMessage{k: v})
			if json.Unmarshal(one, reflect.New(t).Interface()) == nil {
				continue
			}
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			if ft, ok := fieldType(t, k); ok && !reflect.PointerTo(ft).Implements(unmarshalerType) {
				return failingPath(v, ft, sub)
			}
			return sub
		}
	case t.Kind() == reflect.Slice && len(b) > 0 && b[0] == '[':
		var elems []json.RawMessage
		if json.Unmarshal(b, &elems) != nil {
			return path
		}
		for i, v := range elems {
			if json.Unmarshal(v, reflect.New(t.Elem()).Interface()) != nil {
				return failingPath(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	return path
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// fieldType finds the type of the struct field encoded as name, looking
// into embedded structs.
func fieldType(t reflect.Type, name string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		if f.Anonymous && tag == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if typ, ok := fieldType(ft, name); ok {
					return typ, true
				}
			}
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if strings.EqualFold(tag, name) {
			return f.Type, true
		}
	}
	return nil, false
}

func trimErr(err error) string {
	s := err.Error()
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func jsonKind(c byte) string {
	switch c {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

func goKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int64", "int32", "float64", "float32", "uint", "uint64":
		return "a number"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return k
}

// Query parameters.

func queryInt(r *http.Request, name string, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, apitype.Invalid(name, "Invalid '%s': expected an integer, got %q.", name, clip(s))
	}
	if n < lo || n > hi {
		return 0, apitype.Invalid(name, "Invalid '%s': must be between %d and %d, got %d.", name, lo, hi, n)
	}
	return n, nil
}

// listParams reads limit, order, after and before; the engine checks that
// the cursors are ids of the right kind.
func listParams(r *http.Request) (apitype.ListParams, error) {
	q := r.URL.Query()
	limit, err := queryInt(r, "limit", 1, apitype.MaxListLimit)
	if err != nil {
		return apitype.ListParams{}, err
	}
	p := apitype.ListParams{Limit: limit, Order: q.Get("order"), After: q.Get("after"), Before: q.Get("before")}
	switch p.Order {
	case "", apitype.OrderAsc, apitype.OrderDesc:
	default:
		return p, apitype.Invalid("order", "Invalid 'order': expected 'asc' or 'desc', got %q.", clip(p.Order))
	}
	return p, nil
}

// queryArray reads name[] (how SDKs send arrays) and plain repeated name.
func queryArray(r *http.Request, name string) []string {
	q := r.URL.Query()
	return append(q[name+"[]"], q[name]...)
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// newLike returns a pointer to a fresh zero value of what dst points to.
func newLike(dst any) any { return reflect.New(reflect.TypeOf(dst).Elem()).Interface() }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
