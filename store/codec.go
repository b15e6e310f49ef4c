package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"unsafe"

	"github.com/hearth-go/hearth/apitype"
)

// Messages are the one object listed at volume, so they have a compact
// binary encoding instead of JSON (which cost ~100× a raw cursor step per
// listed message). Parts the fast form does not cover (annotations, images,
// refusals, attachments) are kept as JSON inside the record, so every
// message round-trips exactly as through encoding/json.
//
// A value starting with '{' is a JSON message (whose token count lives in
// the thread's "k" bucket); one starting with msgCodecV1 is this encoding:
// the version byte, the cached token count (uvarint), then the fields. The
// count rides in the record so an append dirties one B+tree, not two
// (pages written per commit are what a group commit's fsync waits for).
const msgCodecV1 = 0x01

// Field-presence tags.
const (
	tagNil   = 0 // nil pointer, slice or map
	tagEmpty = 1 // non-nil and empty (or the fast form)
	tagJSON  = 2 // JSON of the field follows
)

var errCorrupt = errors.New("store: corrupt message record")

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendOptStr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, tagNil)
	}
	return appendStr(append(b, tagEmpty), *s)
}

func appendOptInt(b []byte, v *int64) []byte {
	if v == nil {
		return append(b, tagNil)
	}
	return binary.AppendVarint(append(b, tagEmpty), *v)
}

func appendJSON(b []byte, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	b = binary.AppendUvarint(append(b, tagJSON), uint64(len(data)))
	return append(b, data...), nil
}

// fastContent reports whether every part is plain text without annotations.
func fastContent(parts []apitype.MessageContent) bool {
	for _, p := range parts {
		if p.Type != apitype.ContentText || p.Text == nil || p.Index != nil || p.ImageFile != nil ||
			p.ImageURL != nil || p.Refusal != nil || len(p.Text.Annotations) != 0 {
			return false
		}
	}
	return true
}

// encodeMessage appends m's record, with its token count, to b.
func encodeMessage(b []byte, m *apitype.Message, tokens int) ([]byte, error) {
	b = append(b, msgCodecV1)
	b = binary.AppendUvarint(b, uint64(max(tokens, 0)))
	b = appendStr(b, m.ID)
	b = appendStr(b, m.Object)
	b = binary.AppendVarint(b, m.CreatedAt)
	b = appendStr(b, m.ThreadID)
	b = appendStr(b, string(m.Status))
	if m.IncompleteDetails == nil {
		b = append(b, tagNil)
	} else {
		b = appendStr(append(b, tagEmpty), m.IncompleteDetails.Reason)
	}
	b = appendOptInt(b, m.CompletedAt)
	b = appendOptInt(b, m.IncompleteAt)
	b = appendStr(b, string(m.Role))
	var err error
	switch {
	case m.Content == nil:
		b = append(b, tagNil)
	case fastContent(m.Content):
		b = binary.AppendUvarint(append(b, tagEmpty), uint64(len(m.Content)))
		for _, p := range m.Content {
			b = appendStr(b, p.Text.Value)
			if p.Text.Annotations == nil {
				b = append(b, tagNil)
			} else {
				b = append(b, tagEmpty)
			}
		}
	default:
		if b, err = appendJSON(b, m.Content); err != nil {
			return nil, err
		}
	}
	b = appendOptStr(b, m.AssistantID)
	b = appendOptStr(b, m.RunID)
	switch {
	case m.Attachments == nil:
		b = append(b, tagNil)
	case len(m.Attachments) == 0:
		b = append(b, tagEmpty)
	default:
		if b, err = appendJSON(b, m.Attachments); err != nil {
			return nil, err
		}
	}
	if m.Metadata == nil {
		b = append(b, tagNil)
	} else {
		b = binary.AppendUvarint(append(b, tagEmpty), uint64(len(m.Metadata)))
		for k, v := range m.Metadata {
			b = appendStr(appendStr(b, k), v)
		}
	}
	return b, nil
}

// msgArena backs the messages of one read (a page, or one Get): the records
// are copied into shared chunks that decoded strings point into, and the
// small objects come from slabs, so a page of 20 costs a few allocations
// instead of hundreds. A message kept alive keeps its chunk alive.
type msgArena struct {
	hint  int // messages expected, sizes the slabs
	buf   []byte
	parts []apitype.MessageContent
	texts []apitype.TextContent
	strs  []string
	ints  []int64
}

func newMsgArena(hint int) *msgArena { return &msgArena{hint: max(hint, 1)} }

// hold copies v into the arena; strings made from the copy stay valid after
// the transaction ends. Bytes once handed out are never written again.
func (a *msgArena) hold(v []byte) []byte {
	if cap(a.buf)-len(a.buf) < len(v) {
		// Size the chunk for the rest of the read from this record's size.
		a.buf = make([]byte, 0, len(v)*a.hint+len(v)/2)
	}
	off := len(a.buf)
	a.buf = append(a.buf, v...)
	return a.buf[off:len(a.buf):len(a.buf)]
}

func (a *msgArena) newParts(n int) []apitype.MessageContent {
	if n == 0 {
		// Non-nil even before the first slab: [] and null differ on the
		// wire. (A zero-length slice allocates nothing.)
		return []apitype.MessageContent{}
	}
	if cap(a.parts)-len(a.parts) < n {
		a.parts = make([]apitype.MessageContent, 0, max(n, a.hint))
	}
	off := len(a.parts)
	a.parts = a.parts[:off+n]
	return a.parts[off : off+n : off+n]
}

func (a *msgArena) newText() *apitype.TextContent {
	if len(a.texts) == cap(a.texts) {
		a.texts = make([]apitype.TextContent, 0, a.hint)
	}
	a.texts = a.texts[:len(a.texts)+1]
	return &a.texts[len(a.texts)-1]
}

func (a *msgArena) newStr(s string) *string {
	if len(a.strs) == cap(a.strs) {
		a.strs = make([]string, 0, 2*a.hint)
	}
	a.strs = append(a.strs, s)
	return &a.strs[len(a.strs)-1]
}

func (a *msgArena) newInt(v int64) *int64 {
	if len(a.ints) == cap(a.ints) {
		a.ints = make([]int64, 0, a.hint)
	}
	a.ints = append(a.ints, v)
	return &a.ints[len(a.ints)-1]
}

// msgReader reads a record held in an arena; the first error sticks.
type msgReader struct {
	b   []byte
	err error
}

func (r *msgReader) fail() {
	if r.err == nil {
		r.err = errCorrupt
	}
	r.b = nil
}

func (r *msgReader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// present reads a tagNil/tagEmpty presence tag.
func (r *msgReader) present() bool {
	switch r.byte() {
	case tagNil:
		return false
	case tagEmpty:
		return true
	}
	r.fail()
	return false
}

func (r *msgReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *msgReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *msgReader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

// str returns a string sharing the arena's memory, which is never modified.
func (r *msgReader) str() string {
	b := r.bytes()
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// count reads a length that must be backed by at least min bytes each.
func (r *msgReader) count(minEach int) int {
	n := r.uvarint()
	if n > uint64(len(r.b)/minEach) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *msgReader) json(tag byte, v any) {
	if tag != tagJSON {
		r.fail()
		return
	}
	if data := r.bytes(); r.err == nil {
		if err := json.Unmarshal(data, v); err != nil {
			r.err = fmt.Errorf("%w: %v", errCorrupt, err)
		}
	}
}

// decodeMessage decodes a record written by encodeMessage or, for older
// files, by encoding/json.
func decodeMessage(v []byte, a *msgArena, m *apitype.Message) error {
	if len(v) > 0 && v[0] == '{' {
		return json.Unmarshal(v, m)
	}
	if len(v) == 0 || v[0] != msgCodecV1 {
		return errCorrupt
	}
	_, n := binary.Uvarint(v[1:])
	if n <= 0 {
		return errCorrupt
	}
	r := msgReader{b: a.hold(v[1+n:])}
	m.ID = r.str()
	m.Object = r.str()
	m.CreatedAt = r.varint()
	m.ThreadID = r.str()
	m.Status = apitype.MessageStatus(r.str())
	if r.present() {
		m.IncompleteDetails = &apitype.IncompleteDetails{Reason: r.str()}
	}
	if r.present() {
		m.CompletedAt = a.newInt(r.varint())
	}
	if r.present() {
		m.IncompleteAt = a.newInt(r.varint())
	}
	m.Role = apitype.Role(r.str())
	switch tag := r.byte(); tag {
	case tagNil:
	case tagEmpty:
		n := r.count(2)
		m.Content = a.newParts(n)
		for i := range m.Content {
			t := a.newText()
			t.Value = r.str()
			if r.present() {
				t.Annotations = []apitype.Annotation{}
			}
			m.Content[i] = apitype.MessageContent{Type: apitype.ContentText, Text: t}
		}
	default:
		r.json(tag, &m.Content)
	}
	if r.present() {
		m.AssistantID = a.newStr(r.str())
	}
	if r.present() {
		m.RunID = a.newStr(r.str())
	}
	switch tag := r.byte(); tag {
	case tagNil:
	case tagEmpty:
		m.Attachments = []apitype.Attachment{}
	default:
		r.json(tag, &m.Attachments)
	}
	if r.present() {
		n := r.count(2)
		m.Metadata = make(apitype.Metadata, n)
		for range n {
			k := r.str()
			m.Metadata[k] = r.str()
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errCorrupt
	}
	return r.err
}

// messageRunID reads only the run id of a stored message.
func messageRunID(v []byte) (string, bool, error) {
	var m apitype.Message
	if err := decodeMessage(v, newMsgArena(1), &m); err != nil {
		return "", false, err
	}
	if m.RunID == nil {
		return "", false, nil
	}
	return *m.RunID, true, nil
}

// recordTokens reads the token count of a binary record; ok is false for a
// JSON record, whose count is kept beside it.
func recordTokens(v []byte) (tokens int, ok bool) {
	if len(v) == 0 || v[0] != msgCodecV1 {
		return 0, false
	}
	t, n := binary.Uvarint(v[1:])
	if n <= 0 {
		return 0, false
	}
	return int(t), true
}
