package apitype

import (
	"encoding/json"
	"fmt"
	"reflect"
	"unicode/utf8"
)

// Filter types: comparisons of one attribute with a value, and compounds
// of filters.
const (
	FilterEq  = "eq"
	FilterNe  = "ne"
	FilterGt  = "gt"
	FilterGte = "gte"
	FilterLt  = "lt"
	FilterLte = "lte"
	FilterIn  = "in"
	FilterNin = "nin"
	FilterAnd = "and"
	FilterOr  = "or"
)

var filterTypes = []string{FilterEq, FilterNe, FilterGt, FilterGte, FilterLt, FilterLte, FilterIn, FilterNin, FilterAnd, FilterOr}

// MaxFilterDepth bounds how deep compound filters nest.
const MaxFilterDepth = 16

// Filter is a file search filter over vector store file attributes (the
// API's ComparisonFilter and CompoundFilter, told apart by Type):
//
//	eq, ne, gt, gte, lt, lte, in, nin: Key and Value
//	and, or: Filters
//
// Value is a string, a float64 or a bool for eq and ne, a float64 for gt,
// gte, lt and lte, and a []any of strings and float64s for in and nin (as
// decoded; a filter built in Go may use any integer type, and any slice
// for in and nin).
type Filter struct {
	Type    string
	Key     string
	Value   any
	Filters []Filter
}

// Compound reports whether f combines other filters.
func (f *Filter) Compound() bool { return f.Type == FilterAnd || f.Type == FilterOr }

func (f Filter) MarshalJSON() ([]byte, error) {
	if f.Compound() {
		fs := f.Filters
		if fs == nil {
			fs = []Filter{}
		}
		return json.Marshal(struct {
			Type    string   `json:"type"`
			Filters []Filter `json:"filters"`
		}{f.Type, fs})
	}
	return json.Marshal(struct {
		Type  string `json:"type"`
		Key   string `json:"key"`
		Value any    `json:"value"`
	}{f.Type, f.Key, f.Value})
}

// UnmarshalJSON decodes strictly, naming the failing parameter under
// "filters" (where every filter of the API sits).
func (f *Filter) UnmarshalJSON(b []byte) error {
	return decodeStrict(b, func(b []byte) error {
		v, err := DecodeFilter("filters", b)
		if err == nil {
			*f = *v
		}
		return err
	})
}

// DecodeFilter decodes the filter b at path strictly: unknown fields,
// missing ones, a value of the wrong type for the comparison, or nesting
// past MaxFilterDepth are a 400 naming the exact parameter.
func DecodeFilter(path string, b []byte) (*Filter, error) {
	return decodeFilter(path, b, 0)
}

func decodeFilter(path string, b []byte, depth int) (*Filter, error) {
	if depth >= MaxFilterDepth {
		return nil, invalidCode(path, CodeInvalidValue, "Invalid '%s': filters nest at most %d deep.", path, MaxFilterDepth)
	}
	o, err := readObject(path, b)
	if err != nil {
		return nil, err
	}
	f := &Filter{}
	typ, ok := o.typeOf()
	o.take("type")
	if !ok {
		if v, has := o.get("type"); has && !isNull(v) {
			return nil, badType(o.at("type"), "a string", v)
		}
		return nil, missingParam(o.at("type"))
	}
	if !contains(filterTypes, typ) {
		return nil, badValue(o.at("type"), typ, filterTypes...)
	}
	f.Type = typ
	if f.Compound() {
		v, ok := o.raw("filters")
		if !ok {
			return nil, missingParam(o.at("filters"))
		}
		f.Filters = []Filter{}
		err := readArray(o.at("filters"), v, func(p string, _ int, e json.RawMessage) error {
			sub, err := decodeFilter(p, e, depth+1)
			if err == nil {
				f.Filters = append(f.Filters, *sub)
			}
			return err
		}, nil)
		if err != nil {
			return nil, err
		}
		if len(f.Filters) == 0 {
			p := o.at("filters")
			return nil, invalidCode(p, CodeEmptyArray, "Invalid '%s': empty array. Expected an array with minimum length 1, but got an empty array instead.", p)
		}
		return f, o.done()
	}
	if err := o.reqStr("key", &f.Key); err != nil {
		return nil, err
	}
	if f.Key == "" || utf8.RuneCountInString(f.Key) > 64 {
		return nil, invalidCode(o.at("key"), CodeInvalidValue, "Invalid '%s': an attribute key is 1 to 64 characters, got %d.", o.at("key"), utf8.RuneCountInString(f.Key))
	}
	v, has := o.get("value")
	o.take("value")
	if !has {
		return nil, missingParam(o.at("value"))
	}
	if f.Value, err = filterValue(o.at("value"), typ, v); err != nil {
		return nil, err
	}
	return f, o.done()
}

// filterValue decodes a comparison's value, refusing one of a type the
// comparison cannot use.
func filterValue(path, typ string, v json.RawMessage) (any, error) {
	switch typ {
	case FilterIn, FilterNin:
		if len(v) == 0 || v[0] != '[' {
			return nil, badType(path, "an array of strings or numbers", v)
		}
		list := []any{}
		err := readArray(path, v, func(p string, _ int, e json.RawMessage) error {
			x, err := scalar(p, e, "a string or a number", false)
			if err == nil {
				list = append(list, x)
			}
			return err
		}, nil)
		return list, err
	case FilterGt, FilterGte, FilterLt, FilterLte:
		if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
			return nil, badType(path, "a number", v)
		}
		return scalar(path, v, "a number", false)
	}
	return scalar(path, v, "a string, a number or a boolean", true)
}

func scalar(path string, v json.RawMessage, want string, bools bool) (any, error) {
	if len(v) == 0 {
		return nil, badType(path, want, v)
	}
	switch c := v[0]; {
	case c == '"':
		s, ok := unquote(v)
		if !ok {
			return nil, badJSON(path)
		}
		return s, nil
	case c == '-' || (c >= '0' && c <= '9'):
		var x float64
		if json.Unmarshal(v, &x) != nil {
			return nil, badType(path, want, v)
		}
		return x, nil
	case bools && (c == 't' || c == 'f'):
		var x bool
		if json.Unmarshal(v, &x) != nil {
			return nil, badType(path, want, v)
		}
		return x, nil
	}
	return nil, badType(path, want, v)
}

// Match reports whether attrs (a vector store file's attributes) pass f.
// A comparison on an attribute the file does not have does not match,
// whatever the operator (ne and nin included), as in the hosted API; a
// value of another type than the attribute's is unequal, never ordered.
func (f *Filter) Match(attrs map[string]any) bool {
	switch f.Type {
	case FilterAnd:
		for i := range f.Filters {
			if !f.Filters[i].Match(attrs) {
				return false
			}
		}
		return true
	case FilterOr:
		for i := range f.Filters {
			if f.Filters[i].Match(attrs) {
				return true
			}
		}
		return false
	}
	a, ok := attrs[f.Key]
	if !ok || a == nil {
		return false
	}
	a = NormalizeAttribute(a)
	switch f.Type {
	case FilterEq:
		return a == NormalizeAttribute(f.Value)
	case FilterNe:
		return a != NormalizeAttribute(f.Value)
	case FilterIn, FilterNin:
		in := false
		if list, ok := f.Value.([]any); ok {
			for _, v := range list {
				if a == NormalizeAttribute(v) {
					in = true
					break
				}
			}
		} else if rv := reflect.ValueOf(f.Value); rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
			// Built in Go: []string, []int…
			for i := range rv.Len() {
				if a == NormalizeAttribute(rv.Index(i).Interface()) {
					in = true
					break
				}
			}
		}
		return in == (f.Type == FilterIn)
	}
	x, ok1 := a.(float64)
	y, ok2 := NormalizeAttribute(f.Value).(float64)
	if !ok1 || !ok2 {
		return false
	}
	switch f.Type {
	case FilterGt:
		return x > y
	case FilterGte:
		return x >= y
	case FilterLt:
		return x < y
	case FilterLte:
		return x <= y
	}
	return false
}

// NormalizeAttribute turns Go's integer types into float64, the number
// type attributes have once through JSON; other values are returned as
// they are.
func NormalizeAttribute(v any) any {
	switch n := v.(type) {
	case int:
		return float64(n)
	case int8:
		return float64(n)
	case int16:
		return float64(n)
	case int32:
		return float64(n)
	case int64:
		return float64(n)
	case uint:
		return float64(n)
	case uint8:
		return float64(n)
	case uint16:
		return float64(n)
	case uint32:
		return float64(n)
	case uint64:
		return float64(n)
	case float32:
		return float64(n)
	case json.Number:
		if f, err := n.Float64(); err == nil {
			return f
		}
	}
	return v
}

// Check validates a filter built in Go as DecodeFilter would the same
// JSON, naming path in its error.
func (f *Filter) Check(path string) error {
	b, err := json.Marshal(f)
	if err != nil {
		return invalidCode(path, CodeInvalidValue, "Invalid '%s': %v.", path, err)
	}
	_, err = DecodeFilter(path, b)
	return err
}

// String is the filter as JSON, for logs.
func (f *Filter) String() string {
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Sprintf("%+v", *f)
	}
	return string(b)
}
