package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Ollama's tool types keep only type, description, enum, items, anyOf,
// properties, required and $defs; everything else in a caller's schema never
// reaches the model. Fold and Describe turn the lost constraints into text.

// foldedKeywords lists, in the order they are described, the keywords whose
// meaning is lost on the way to the model.
var foldedKeywords = []string{
	"const", "format", "pattern", "minLength", "maxLength",
	"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf",
	"minItems", "maxItems", "uniqueItems", "contains",
	"minProperties", "maxProperties", "additionalProperties", "patternProperties", "propertyNames",
	"dependentRequired", "dependencies", "oneOf", "allOf", "not", "$ref",
	"default", "examples",
}

// maxRefDepth and maxInlines bound $ref inlining so recursive or
// many-times-referenced schemas stay small.
const (
	maxRefDepth = 8
	maxInlines  = 64
)

type foldState struct {
	root   *object
	budget int
}

// Describe returns the constraints of one schema node that Ollama would
// drop, as text for a model, e.g. "minimum 1; pattern ^[A-Z]+$; default 3".
// It returns "" when raw is not a JSON object or has no such constraints.
func Describe(raw json.RawMessage) string {
	v, err := parseOrdered(raw)
	if err != nil {
		return ""
	}
	o, ok := v.(*object)
	if !ok {
		return ""
	}
	return strings.Join(constraints(o), "; ")
}

// Fold returns a copy of the schema raw in which every node's description
// also states the constraints Ollama drops (see Describe), the title stands
// in for a missing description, "const" is mirrored as a one-value "enum",
// "oneOf" as "anyOf", and local "$ref"s are inlined (to a bounded depth).
// Key order is kept, so properties reach the model in the caller's order.
// The original keywords stay in place: validate against the original schema.
// The root's folded description belongs to the tool's description, since
// Ollama keeps no description for the parameters object itself.
func Fold(raw json.RawMessage) (json.RawMessage, error) {
	v, err := parseOrdered(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: not valid JSON: %v", ErrInvalidSchema, err)
	}
	root, ok := v.(*object)
	if !ok {
		return nil, fmt.Errorf("%w: a schema must be a JSON object, got %s", ErrInvalidSchema, kindOf(v))
	}
	out := foldNode(root, &foldState{root: root, budget: maxInlines}, 0)
	if !hasRef(out, true) {
		// Every reference was inlined: the definitions would only repeat
		// themselves in the prompt.
		out = out.without("$defs", "definitions")
	}
	var buf bytes.Buffer
	writeJSON(&buf, out)
	return buf.Bytes(), nil
}

func foldNode(n *object, st *foldState, depth int) *object {
	isRoot := n == st.root && depth == 0
	n = n.clone()
	if ref, ok := n.get("$ref").(string); ok && depth < maxRefDepth && st.budget > 0 {
		if target, ok := resolveLocal(st.root, ref); ok {
			st.budget--
			merged := target.clone()
			for _, k := range n.keys {
				if k != "$ref" {
					merged.set(k, n.vals[k])
				}
			}
			n = merged
			depth++
		}
	}
	if props, ok := n.get("properties").(*object); ok {
		p := props.clone()
		for _, k := range p.keys {
			switch c := p.vals[k].(type) {
			case *object:
				p.vals[k] = foldNode(c, st, depth)
			case bool:
				p.vals[k] = boolSchema(c)
			}
		}
		n.set("properties", p)
	}
	for _, k := range []string{"items", "additionalProperties", "not", "contains"} {
		switch c := n.get(k).(type) {
		case *object:
			n.set(k, foldNode(c, st, depth))
		case []any:
			n.set(k, foldList(c, st, depth))
		}
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf", "prefixItems"} {
		if c, ok := n.get(k).([]any); ok {
			n.set(k, foldList(c, st, depth))
		}
	}
	for _, k := range []string{"$defs", "definitions"} {
		if defs, ok := n.get(k).(*object); ok {
			d := defs.clone()
			for _, name := range d.keys {
				if c, ok := d.vals[name].(*object); ok {
					d.vals[name] = foldNode(c, st, depth)
				}
			}
			n.set(k, d)
		}
	}
	if c, ok := n.vals["const"]; ok && !n.has("enum") {
		n.set("enum", []any{c})
	}
	if c, ok := n.get("oneOf").([]any); ok && !n.has("anyOf") {
		n.set("anyOf", c)
	}

	desc, _ := n.get("description").(string)
	if desc == "" {
		desc, _ = n.get("title").(string)
	}
	cons := constraints(n)
	if req, ok := n.get("required").([]any); ok && len(req) > 0 && !isRoot {
		// Ollama keeps "required" only on the parameters object itself.
		cons = append([]string{"required: " + joinStrings(req)}, cons...)
	}
	if len(cons) > 0 {
		if desc != "" {
			desc += " (" + strings.Join(cons, "; ") + ")"
		} else {
			desc = strings.Join(cons, "; ")
		}
	}
	if desc != "" {
		n.set("description", desc)
	}
	return n
}

func foldList(list []any, st *foldState, depth int) []any {
	out := make([]any, len(list))
	for i, c := range list {
		switch o := c.(type) {
		case *object:
			out[i] = foldNode(o, st, depth)
		case bool:
			out[i] = boolSchema(o)
		default:
			out[i] = c
		}
	}
	return out
}

// hasRef reports whether a reference is left in v, outside the root's
// definitions when skipDefs.
func hasRef(v any, skipDefs bool) bool {
	switch t := v.(type) {
	case *object:
		for _, k := range t.keys {
			if k == "$ref" || k == "$dynamicRef" || k == "$recursiveRef" {
				return true
			}
			if skipDefs && (k == "$defs" || k == "definitions") {
				continue
			}
			if hasRef(t.vals[k], false) {
				return true
			}
		}
	case []any:
		for _, x := range t {
			if hasRef(x, false) {
				return true
			}
		}
	}
	return false
}

func joinStrings(list []any) string {
	parts := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

// boolSchema spells the schemas true and false as objects, which Ollama's
// types can hold.
func boolSchema(b bool) *object {
	o := &object{vals: map[string]any{}}
	if !b {
		o.set("not", &object{vals: map[string]any{}})
		o.set("description", "must not be present")
	}
	return o
}

// resolveLocal follows a "#/..." JSON Pointer inside root.
func resolveLocal(root *object, ref string) (*object, bool) {
	if ref == "#" {
		return root, true
	}
	if !strings.HasPrefix(ref, "#/") {
		return nil, false
	}
	var cur any = root
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		o, ok := cur.(*object)
		if !ok || !o.has(tok) {
			return nil, false
		}
		cur = o.vals[tok]
	}
	o, ok := cur.(*object)
	return o, ok
}

// constraints describes the dropped keywords of one node.
func constraints(n *object) []string {
	var out []string
	for _, k := range foldedKeywords {
		v, ok := n.vals[k]
		if !ok {
			continue
		}
		switch k {
		case "const":
			out = append(out, "must be "+compact(v))
		case "uniqueItems":
			if b, _ := v.(bool); b {
				out = append(out, "items must be unique")
			}
		case "additionalProperties":
			switch a := v.(type) {
			case bool:
				if !a {
					out = append(out, "no other properties allowed")
				}
			case *object:
				if t := typeText(a); t != "" {
					out = append(out, "other properties: "+t)
				} else {
					out = append(out, "other properties: "+compact(a))
				}
			}
		case "oneOf":
			out = append(out, "exactly one of the alternatives")
		case "allOf":
			out = append(out, "must also match all of "+compact(v))
		case "not":
			out = append(out, "must not match "+compact(v))
		case "$ref":
			out = append(out, "see "+compact(v))
		case "examples":
			out = append(out, "e.g. "+compact(v))
		default:
			if s, ok := v.(string); ok {
				out = append(out, k+" "+s)
			} else {
				out = append(out, k+" "+compact(v))
			}
		}
	}
	return out
}

func typeText(o *object) string {
	switch t := o.get("type").(type) {
	case string:
		return t
	case []any:
		parts := make([]string, 0, len(t))
		for _, x := range t {
			if s, ok := x.(string); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, " or ")
	}
	return ""
}

// maxCompact bounds how much schema text one constraint adds to a description.
const maxCompact = 200

func compact(v any) string {
	var b bytes.Buffer
	writeJSON(&b, v)
	s := b.String()
	if len(s) > maxCompact {
		s = s[:maxCompact] + "…"
	}
	return s
}

// object is a JSON object that remembers its key order.
type object struct {
	keys []string
	vals map[string]any
}

func (o *object) has(k string) bool { _, ok := o.vals[k]; return ok }
func (o *object) get(k string) any  { return o.vals[k] }

func (o *object) set(k string, v any) {
	if !o.has(k) {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// without returns a copy of o lacking keys.
func (o *object) without(keys ...string) *object {
	c := &object{vals: make(map[string]any, len(o.vals))}
	for _, k := range o.keys {
		drop := false
		for _, d := range keys {
			drop = drop || k == d
		}
		if !drop {
			c.keys = append(c.keys, k)
			c.vals[k] = o.vals[k]
		}
	}
	return c
}

// clone copies the object shallowly: foldNode replaces children, never
// mutates them.
func (o *object) clone() *object {
	c := &object{keys: append([]string(nil), o.keys...), vals: make(map[string]any, len(o.vals))}
	for k, v := range o.vals {
		c.vals[k] = v
	}
	return c
}

// parseOrdered decodes one JSON document into *object, []any, string,
// json.Number, bool and nil, keeping key order.
func parseOrdered(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := parseValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

// maxNesting bounds recursion on hostile input.
const maxNesting = 512

func parseValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("nesting deeper than %d", maxNesting)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &object{vals: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key is not a string")
				}
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o.set(k, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return o, nil
		case '[':
			list := []any{}
			for dec.More() {
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return list, nil
		default:
			return nil, fmt.Errorf("unexpected %q", t)
		}
	default:
		return t, nil
	}
}

func writeJSON(b *bytes.Buffer, v any) {
	switch t := v.(type) {
	case *object:
		b.WriteByte('{')
		for i, k := range t.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			writeJSON(b, t.vals[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, x := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, x)
		}
		b.WriteByte(']')
	case string:
		writeString(b, t)
	case json.Number:
		b.WriteString(t.String())
	case bool:
		if t {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case nil:
		b.WriteString("null")
	default:
		// parseOrdered produces no other types.
		bs, _ := json.Marshal(t)
		b.Write(bs)
	}
}

func writeString(b *bytes.Buffer, s string) {
	bs, _ := json.Marshal(s)
	b.Write(bs)
}
