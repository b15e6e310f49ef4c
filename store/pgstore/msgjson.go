package pgstore

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/hearth-go/hearth/apitype"
)

// decodeMessage decodes a message record. Pages and walks decode many,
// and encoding/json took 10–20 µs a message, as long as the query that
// read a page of 20: readMessage reads the usual record — a message with
// text parts, exactly as json.Marshal writes apitype.Message — in a
// fraction of that, and anything else (images, annotations, attachments,
// a field out of place) goes to encoding/json. Both give the same Message
// (TestMessageDecodeMatchesEncodingJSON).
func decodeMessage(v []byte, id string) (*apitype.Message, error) {
	m := new(apitype.Message)
	if readMessage(v, m) {
		return m, nil
	}
	*m = apitype.Message{}
	if err := json.Unmarshal(v, m); err != nil {
		return nil, &decodeError{"message", id, err}
	}
	return m, nil
}

type decodeError struct {
	kind, id string
	err      error
}

func (e *decodeError) Error() string {
	return "pgstore: decode " + e.kind + " " + e.id + ": " + e.err.Error()
}
func (e *decodeError) Unwrap() error { return e.err }

// jreader steps through a record json.Marshal wrote.
type jreader struct {
	b []byte
	i int
}

func (r *jreader) lit(s string) bool {
	if len(r.b)-r.i < len(s) || string(r.b[r.i:r.i+len(s)]) != s {
		return false
	}
	r.i += len(s)
	return true
}

// str reads a string: copied as it is when it has no escapes, unquoted by
// encoding/json when it has.
func (r *jreader) str() (string, bool) {
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		return "", false
	}
	start, escaped := r.i+1, false
	for j := start; j < len(r.b); j++ {
		switch c := r.b[j]; {
		case c == '\\':
			escaped = true
			j++
		case c == '"':
			r.i = j + 1
			if !escaped {
				if !utf8.Valid(r.b[start:j]) {
					return "", false
				}
				return string(r.b[start:j]), true
			}
			var s string
			if err := json.Unmarshal(r.b[start-1:j+1], &s); err != nil {
				return "", false
			}
			return s, true
		case c < 0x20:
			return "", false
		}
	}
	return "", false
}

func (r *jreader) int() (int64, bool) {
	j := r.i
	if j < len(r.b) && r.b[j] == '-' {
		j++
	}
	for j < len(r.b) && r.b[j] >= '0' && r.b[j] <= '9' {
		j++
	}
	n, err := strconv.ParseInt(string(r.b[r.i:j]), 10, 64)
	if err != nil {
		return 0, false
	}
	r.i = j
	return n, true
}

func (r *jreader) optStr() (*string, bool) {
	if r.lit("null") {
		return nil, true
	}
	s, ok := r.str()
	return &s, ok
}

func (r *jreader) optInt() (*int64, bool) {
	if r.lit("null") {
		return nil, true
	}
	n, ok := r.int()
	return &n, ok
}

func readMessage(b []byte, m *apitype.Message) bool {
	r := &jreader{b: b}
	var ok bool
	if !r.lit(`{"id":`) {
		return false
	}
	if m.ID, ok = r.str(); !ok || !r.lit(`,"object":`) {
		return false
	}
	if m.Object, ok = r.str(); !ok || !r.lit(`,"created_at":`) {
		return false
	}
	if m.CreatedAt, ok = r.int(); !ok || !r.lit(`,"thread_id":`) {
		return false
	}
	if m.ThreadID, ok = r.str(); !ok || !r.lit(`,"status":`) {
		return false
	}
	status, ok := r.str()
	if !ok || !r.lit(`,"incomplete_details":`) {
		return false
	}
	m.Status = apitype.MessageStatus(status)
	if !r.lit("null") {
		if !r.lit(`{"reason":`) {
			return false
		}
		reason, ok := r.str()
		if !ok || !r.lit(`}`) {
			return false
		}
		m.IncompleteDetails = &apitype.IncompleteDetails{Reason: reason}
	}
	if !r.lit(`,"completed_at":`) {
		return false
	}
	if m.CompletedAt, ok = r.optInt(); !ok || !r.lit(`,"incomplete_at":`) {
		return false
	}
	if m.IncompleteAt, ok = r.optInt(); !ok || !r.lit(`,"role":`) {
		return false
	}
	role, ok := r.str()
	if !ok || !r.lit(`,"content":`) {
		return false
	}
	m.Role = apitype.Role(role)
	if !r.lit("null") {
		if !r.lit("[") {
			return false
		}
		m.Content = []apitype.MessageContent{}
		for first := true; !r.lit("]"); first = false {
			if !first && !r.lit(",") || !r.lit(`{"type":"text","text":{"value":`) {
				return false
			}
			text, ok := r.str()
			if !ok || !r.lit(`,"annotations":`) {
				return false
			}
			tc := &apitype.TextContent{Value: text}
			switch {
			case r.lit("[]"):
				tc.Annotations = []apitype.Annotation{}
			case r.lit("null"):
			default:
				return false
			}
			if !r.lit("}}") {
				return false
			}
			m.Content = append(m.Content, apitype.MessageContent{Type: apitype.ContentText, Text: tc})
		}
	}
	if !r.lit(`,"assistant_id":`) {
		return false
	}
	if m.AssistantID, ok = r.optStr(); !ok || !r.lit(`,"run_id":`) {
		return false
	}
	if m.RunID, ok = r.optStr(); !ok || !r.lit(`,"attachments":`) {
		return false
	}
	switch {
	case r.lit("[]"):
		m.Attachments = []apitype.Attachment{}
	case r.lit("null"):
	default:
		return false
	}
	if !r.lit(`,"metadata":`) {
		return false
	}
	if !r.lit("null") {
		if !r.lit("{") {
			return false
		}
		m.Metadata = apitype.Metadata{}
		for first := true; !r.lit("}"); first = false {
			if !first && !r.lit(",") {
				return false
			}
			k, ok := r.str()
			if !ok || !r.lit(":") {
				return false
			}
			v, ok := r.str()
			if !ok {
				return false
			}
			m.Metadata[k] = v
		}
	}
	return r.lit("}") && r.i == len(r.b)
}
