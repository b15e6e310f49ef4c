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

// msgArena is where decoded messages live, in one of two modes.
//
// Owning (newMsgArena) backs the messages of one read (a page, or one Get):
// the records are copied into shared chunks that decoded strings point into,
// and the small objects come from slabs, so a page of 20 costs a few
// allocations instead of hundreds. A message kept alive keeps its chunk alive.
//
// Lending (newMsgLender) decodes without copying: strings point into the
// record itself (the read transaction's memory), and the small objects, the
// metadata map and the message come from storage reused for every message,
// so a scan allocates nothing per message. What it decodes is valid only
// until the next decode.
type msgArena struct {
	hint  int  // messages expected, sizes the slabs
	lend  bool // decode in place into reused storage
	buf   []byte
	parts []apitype.MessageContent
	texts []apitype.TextContent
	strs  []string
	ints  []int64

	ls *lendStorage // lending only
}

func newMsgArena(hint int) *msgArena { return &msgArena{hint: max(hint, 1)} }

// lendStorage is what only a lender has: the message it lends, its metadata
// map, and the first slabs' storage, so a scan of plain messages allocates
// nothing. It is apart from msgArena so that an owning arena, whose fields'
// addresses are never handed out, can stay on its caller's stack.
type lendStorage struct {
	msg        apitype.Message
	meta       apitype.Metadata
	incomplete apitype.IncompleteDetails
	thread     string // the thread being scanned, see internThread
	parts0     [1]apitype.MessageContent
	texts0     [1]apitype.TextContent
	strs0      [2]string
	ints0      [2]int64
}

func newMsgLender() *msgArena {
	ls := new(lendStorage)
	a := &msgArena{hint: 1, lend: true, ls: ls}
	a.parts, a.texts, a.strs, a.ints = ls.parts0[:0], ls.texts0[:0], ls.strs0[:0], ls.ints0[:0]
	return a
}

// reset makes a lender's storage free for the next message. (One slice a
// statement: reslicing a slice into itself writes no pointer.)
func (a *msgArena) reset() {
	a.parts = a.parts[:0]
	a.texts = a.texts[:0]
	a.strs = a.strs[:0]
	a.ints = a.ints[:0]
}

// scrub drops every pointer a lender holds into the records it read.
func (a *msgArena) scrub() {
	ls := a.ls
	ls.msg, ls.incomplete, ls.thread = apitype.Message{}, apitype.IncompleteDetails{}, ""
	clear(a.parts[:cap(a.parts)])
	clear(a.texts[:cap(a.texts)])
	clear(a.strs[:cap(a.strs)])
	clear(ls.meta)
	a.reset()
}

// hold returns the bytes decoded strings may point into: v itself when
// lending, else a copy in the arena, whose strings stay valid after the
// transaction ends. Bytes once handed out are never written again.
func (a *msgArena) hold(v []byte) []byte {
	if a.lend {
		return v
	}
	if cap(a.buf)-len(a.buf) < len(v) {
		// Size the chunk for the rest of the read from this record's size.
		a.buf = make([]byte, 0, len(v)*a.hint+len(v)/2)
	}
	off := len(a.buf)
	a.buf = append(a.buf, v...)
	return a.buf[off:len(a.buf):len(a.buf)]
}

// newParts returns n content parts and makes room for n texts.
func (a *msgArena) newParts(n int) []apitype.MessageContent {
	if n == 0 {
		// Non-nil even before the first slab: [] and null differ on the
		// wire. (A zero-length slice allocates nothing.)
		return []apitype.MessageContent{}
	}
	if cap(a.parts)-len(a.parts) < n {
		a.parts = make([]apitype.MessageContent, 0, max(n, a.hint))
	}
	if cap(a.texts)-len(a.texts) < n {
		a.texts = make([]apitype.TextContent, 0, max(n, a.hint))
	}
	off := len(a.parts)
	a.parts = a.parts[:off+n]
	return a.parts[off : off+n : off+n]
}

// newText stores a text part (newParts made room for it), writing only
// what changed (see lendStore).
func (a *msgArena) newText(value string, annotated bool) *apitype.TextContent {
	a.texts = a.texts[:len(a.texts)+1]
	t := &a.texts[len(a.texts)-1]
	t.Value = value
	var none []apitype.Annotation
	if annotated {
		none = []apitype.Annotation{} // allocates nothing
	}
	if !sameArray(t.Annotations, none) {
		t.Annotations = none
	}
	return t
}

// setTextPart makes *p a plain text part holding t, writing only what
// changed (see lendStore).
func setTextPart(p *apitype.MessageContent, t *apitype.TextContent) {
	if p.Type != apitype.ContentText {
		p.Type = apitype.ContentText
	}
	if p.Text != t {
		p.Text = t
	}
	if p.Index != nil || p.ImageFile != nil || p.ImageURL != nil || p.Refusal != nil {
		p.Index, p.ImageFile, p.ImageURL, p.Refusal = nil, nil, nil, nil
	}
}

func (a *msgArena) newStr(s string) *string {
	if len(a.strs) == cap(a.strs) {
		a.strs = make([]string, 0, 2*a.hint)
	}
	a.strs = a.strs[:len(a.strs)+1]
	p := &a.strs[len(a.strs)-1]
	*p = s
	return p
}

func (a *msgArena) newInt(v int64) *int64 {
	if len(a.ints) == cap(a.ints) {
		a.ints = make([]int64, 0, a.hint)
	}
	a.ints = append(a.ints, v)
	return &a.ints[len(a.ints)-1]
}

func (a *msgArena) newIncomplete(reason string) *apitype.IncompleteDetails {
	if a.lend {
		a.ls.incomplete.Reason = reason
		return &a.ls.incomplete
	}
	return &apitype.IncompleteDetails{Reason: reason}
}

// newMeta returns an empty metadata map for n pairs: a fresh one when
// owning, the lender's one map, cleared, when lending.
func (a *msgArena) newMeta(n int) apitype.Metadata {
	if !a.lend {
		return make(apitype.Metadata, n)
	}
	ls := a.ls
	if ls.meta == nil {
		ls.meta = make(apitype.Metadata, n)
	}
	if len(ls.meta) > 0 {
		clear(ls.meta)
	}
	return ls.meta
}

// Record readers. Each takes the unread rest of a record and returns what it
// read and the new rest. They are small enough to inline (a call per field
// was most of a lent scan's cost), so instead of an error each returns
// poison as the rest when the bytes are malformed: every reader given
// poison fails again and returns it, and a record decoded correctly leaves
// no rest, so one check at the end catches any failure.
var poison = []byte{0xff} // never written

// readUvarint reads a uvarint, accepting exactly what binary.Uvarint does.
func readUvarint(b []byte) (uint64, []byte) {
	var x uint64
	for i, c := range b {
		x |= uint64(c&0x7f) << (7 * uint(i)) // 0 once past 64 bits
		if c < 0x80 {
			if i > 9 || i == 9 && c > 1 {
				break // overflows 64 bits
			}
			return x, b[i+1:]
		}
	}
	return 0, poison
}

// readVarint reads a zig-zag varint, as binary.Varint.
func readVarint(b []byte) (int64, []byte) {
	ux, b := readUvarint(b)
	return int64(ux>>1) ^ -int64(ux&1), b
}

// readStr reads a length-prefixed string sharing the record's memory, which
// is never modified (the arena's copy, or the transaction's pages when
// lending).
func readStr(b []byte) (string, []byte) {
	n, b := readUvarint(b)
	if n > uint64(len(b)) {
		b, n = poison, 0
	}
	return unsafe.String(unsafe.SliceData(b), n), b[n:]
}

// readTag reads a tag byte; 0xff (no tag) when there is none.
func readTag(b []byte) (byte, []byte) {
	if len(b) == 0 {
		return 0xff, poison
	}
	return b[0], b[1:]
}

// readPresent reads a tagNil/tagEmpty presence tag.
func readPresent(b []byte) (bool, []byte) {
	if len(b) == 0 || b[0] > tagEmpty {
		return false, poison
	}
	return b[0] == tagEmpty, b[1:]
}

// readCount reads a length that must be backed by at least minEach bytes
// each.
func readCount(b []byte, minEach int) (int, []byte) {
	n, b := readUvarint(b)
	if n > uint64(len(b)/minEach) {
		b, n = poison, 0
	}
	return int(n), b
}

// readJSON decodes the JSON field a tagJSON introduces.
func readJSON(tag byte, b []byte, v any) ([]byte, error) {
	if tag != tagJSON {
		return poison, nil
	}
	n, b := readUvarint(b)
	if n > uint64(len(b)) {
		return poison, nil
	}
	if err := json.Unmarshal(b[:n], v); err != nil {
		return poison, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	return b[n:], nil
}

// decodeMessage decodes a record written by encodeMessage or, for older
// files, by encoding/json, into m (replacing what it held), in a's mode. It
// is the one reader of message records: lent scans, owned pages and single
// reads all come through it.
func decodeMessage(v []byte, a *msgArena, m *apitype.Message) error {
	return decode(v, a, m, true)
}

// decode is decodeMessage; fast false skips the fast path (for tests that
// hold it to the general reader).
func decode(v []byte, a *msgArena, m *apitype.Message, fast bool) error {
	if a.lend {
		a.reset()
	}
	if len(v) > 0 && v[0] == '{' {
		*m = apitype.Message{}
		return json.Unmarshal(v, m)
	}
	if len(v) == 0 || v[0] != msgCodecV1 {
		return errCorrupt
	}
	_, b := readUvarint(v[1:]) // the token count
	if len(b) > 0 && &b[0] == &poison[0] {
		return errCorrupt
	}
	b = a.hold(b)
	// The fast path reads the common record, whose lengths fit one byte
	// (texts: two), straight through with an index, setting every field of
	// m exactly once (so m needs no zeroing first); anything else, and any
	// damage, falls back to the general reader, which is the reference
	// (FuzzMessageDecode holds the two to the same result). Writes go
	// through set* (see lendStore) so a lent message rewritten record after
	// record costs few write barriers.
	if fast && decodeFast(b, a, m) {
		return nil
	}
	if a.lend {
		a.reset()
	}
	var x apitype.Message
	if err := decodeSlow(b, a, &x); err != nil {
		return err
	}
	if a.lend {
		lendStore(m, &x)
	} else {
		*m = x
	}
	return nil
}

// decodeFast is decode's fast path; false means m is half-written and the
// general reader must decide.
func decodeFast(b []byte, a *msgArena, m *apitype.Message) bool {
	var tag byte
	var str string
	var t int64
	i := 0 // -1 once anything is unexpected
	m.ID, i = str1(b, i)
	str, i = str1(b, i)
	setStr(&m.Object, internObject(str))
	m.CreatedAt, i = varint1(b, i)
	str, i = str1(b, i)
	setStr(&m.ThreadID, a.internThread(str))
	str, i = str1(b, i)
	setStr((*string)(&m.Status), string(internStatus(str)))
	var incomplete *apitype.IncompleteDetails
	if tag, i = tag1(b, i); tag == tagEmpty {
		str, i = str1(b, i)
		incomplete = a.newIncomplete(str)
	} else if tag != tagNil {
		return false
	}
	setPtr(&m.IncompleteDetails, incomplete)
	var completed, incompleteAt *int64
	if tag, i = tag1(b, i); tag == tagEmpty {
		t, i = varint1(b, i)
		completed = a.newInt(t)
	} else if tag != tagNil {
		return false
	}
	setPtr(&m.CompletedAt, completed)
	if tag, i = tag1(b, i); tag == tagEmpty {
		t, i = varint1(b, i)
		incompleteAt = a.newInt(t)
	} else if tag != tagNil {
		return false
	}
	setPtr(&m.IncompleteAt, incompleteAt)
	str, i = str1(b, i)
	setStr((*string)(&m.Role), string(internRole(str)))
	var parts []apitype.MessageContent
	if tag, i = tag1(b, i); tag == tagEmpty {
		var n byte
		if n, i = tag1(b, i); n >= 0x80 {
			return false // a long list, or damage
		}
		parts = a.newParts(int(n))
		for j := range parts {
			str, i = str2(b, i)
			if tag, i = tag1(b, i); tag > tagEmpty {
				return false
			}
			setTextPart(&parts[j], a.newText(str, tag == tagEmpty))
		}
	} else if tag != tagNil {
		return false // JSON content
	}
	setSlice(&m.Content, parts)
	var asst, run *string
	if tag, i = tag1(b, i); tag == tagEmpty {
		str, i = str1(b, i)
		asst = a.newStr(str)
	} else if tag != tagNil {
		return false
	}
	setPtr(&m.AssistantID, asst)
	if tag, i = tag1(b, i); tag == tagEmpty {
		str, i = str1(b, i)
		run = a.newStr(str)
	} else if tag != tagNil {
		return false
	}
	setPtr(&m.RunID, run)
	var attachments []apitype.Attachment
	if tag, i = tag1(b, i); tag == tagEmpty {
		attachments = []apitype.Attachment{} // allocates nothing
	} else if tag != tagNil {
		return false // JSON attachments
	}
	setSlice(&m.Attachments, attachments)
	var meta apitype.Metadata
	if tag, i = tag1(b, i); tag == tagEmpty {
		var n byte
		if n, i = tag1(b, i); n >= 0x80 {
			return false
		}
		meta = a.newMeta(int(n))
		for range n {
			var k, v string
			k, i = str1(b, i)
			v, i = str1(b, i)
			if i < 0 {
				return false
			}
			meta[k] = v
		}
	} else if tag != tagNil {
		return false
	}
	if !sameMap(m.Metadata, meta) {
		m.Metadata = meta
	}
	return i == len(b)
}

// str1 reads a string with a one-byte length at b[i:] and the index after
// it; i becomes -1 (and stays so) when there is none.
func str1(b []byte, i int) (string, int) {
	if uint(i) < uint(len(b)) {
		if n := int(b[i]); n < 0x80 && n <= len(b)-i-1 {
			if n == 0 {
				return "", i + 1
			}
			return unsafe.String(&b[i+1], n), i + 1 + n
		}
	}
	return "", -1
}

// str2 is str1 for a length of one or two bytes.
func str2(b []byte, i int) (string, int) {
	if uint(i) >= uint(len(b)) {
		return "", -1
	}
	n, j := int(b[i]), i+1
	if n >= 0x80 {
		if j >= len(b) || b[j] >= 0x80 {
			return "", -1
		}
		n, j = n&0x7f|int(b[j])<<7, j+1
	}
	if n > len(b)-j {
		return "", -1
	}
	if n == 0 {
		return "", j
	}
	return unsafe.String(&b[j], n), j + n
}

// varint1 reads a zig-zag varint of up to nine bytes at b[i:].
func varint1(b []byte, i int) (int64, int) {
	var x uint64
	for s := uint(0); uint(i) < uint(len(b)) && s < 63; s += 7 {
		c := b[i]
		i++
		x |= uint64(c&0x7f) << s
		if c < 0x80 {
			return int64(x>>1) ^ -int64(x&1), i
		}
	}
	return 0, -1
}

// tag1 reads one byte at b[i:]; 0xff (no tag) with -1 when there is none.
func tag1(b []byte, i int) (byte, int) {
	if uint(i) < uint(len(b)) {
		return b[i], i + 1
	}
	return 0xff, -1
}

// decodeSlow is the general reader of a record's fields (after the token
// count), for whatever the fast path does not take.
func decodeSlow(b []byte, a *msgArena, x *apitype.Message) error {
	var ok bool
	var tag byte
	var str string
	var err error
	x.ID, b = readStr(b)
	x.Object, b = readStr(b)
	x.CreatedAt, b = readVarint(b)
	x.ThreadID, b = readStr(b)
	str, b = readStr(b)
	x.Status = apitype.MessageStatus(str)
	if ok, b = readPresent(b); ok {
		str, b = readStr(b)
		x.IncompleteDetails = a.newIncomplete(str)
	}
	if ok, b = readPresent(b); ok {
		var t int64
		t, b = readVarint(b)
		x.CompletedAt = a.newInt(t)
	}
	if ok, b = readPresent(b); ok {
		var t int64
		t, b = readVarint(b)
		x.IncompleteAt = a.newInt(t)
	}
	str, b = readStr(b)
	x.Role = apitype.Role(str)
	switch tag, b = readTag(b); tag {
	case tagNil:
	case tagEmpty:
		var n int
		n, b = readCount(b, 2)
		x.Content = a.newParts(n)
		for i := range x.Content {
			str, b = readStr(b)
			ok, b = readPresent(b)
			setTextPart(&x.Content[i], a.newText(str, ok))
		}
	default:
		var c []apitype.MessageContent // on the heap (json), and only here
		if b, err = readJSON(tag, b, &c); err != nil {
			return err
		}
		x.Content = c
	}
	if ok, b = readPresent(b); ok {
		str, b = readStr(b)
		x.AssistantID = a.newStr(str)
	}
	if ok, b = readPresent(b); ok {
		str, b = readStr(b)
		x.RunID = a.newStr(str)
	}
	switch tag, b = readTag(b); tag {
	case tagNil:
	case tagEmpty:
		x.Attachments = []apitype.Attachment{}
	default:
		var at []apitype.Attachment
		if b, err = readJSON(tag, b, &at); err != nil {
			return err
		}
		x.Attachments = at
	}
	if ok, b = readPresent(b); ok {
		var n int
		n, b = readCount(b, 2)
		x.Metadata = a.newMeta(n)
		for range n {
			var k, v string
			k, b = readStr(b)
			v, b = readStr(b)
			x.Metadata[k] = v
		}
	}
	if len(b) != 0 {
		return errCorrupt // poisoned, or bytes left over
	}
	return nil
}

// lendStore sets *m = *x for a lent message. A lender's storage lives on
// the heap and is rewritten for every record: while the collector marks
// (a quarter of the time in the benchmark), each pointer written costs a
// write barrier, and those to heap objects were a large part of a scan's
// time. So pointers to the lender's slabs and map, the same from one record
// to the next, are compared (cheap) and not written again; strings, which
// point into the records and change, are written.
func lendStore(m, x *apitype.Message) {
	m.ID = x.ID
	setStr(&m.Object, x.Object)
	setStr(&m.ThreadID, x.ThreadID)
	setStr((*string)(&m.Status), string(x.Status))
	setStr((*string)(&m.Role), string(x.Role))
	m.CreatedAt = x.CreatedAt
	setPtr(&m.IncompleteDetails, x.IncompleteDetails)
	setPtr(&m.CompletedAt, x.CompletedAt)
	setPtr(&m.IncompleteAt, x.IncompleteAt)
	setPtr(&m.AssistantID, x.AssistantID)
	setPtr(&m.RunID, x.RunID)
	setSlice(&m.Content, x.Content)
	setSlice(&m.Attachments, x.Attachments)
	if !sameMap(m.Metadata, x.Metadata) {
		m.Metadata = x.Metadata
	}
}

// setPtr writes v to *p unless *p already is v.
func setPtr[T any](p **T, v *T) {
	if *p != v {
		*p = v
	}
}

// setSlice makes *p equal v (same array, length and capacity, and nil-ness),
// writing the pointer only when the array changes.
func setSlice[T any](p *[]T, v []T) {
	if sameArray(*p, v) {
		*p = (*p)[:len(v)] // reslicing into itself writes no pointer
	} else {
		*p = v
	}
}

// setStr writes v to *p unless *p is already the same string (same bytes
// at the same address: no comparison of contents). With the interning
// below, a lent message's object, status, role and thread id keep their
// address from record to record, so they cost no write barrier.
func setStr(p *string, v string) {
	if unsafe.StringData(*p) != unsafe.StringData(v) || len(*p) != len(v) {
		*p = v
	}
}

// internObject, internStatus and internRole return the constant a decoded
// value equals, if any (comparisons with constants compile to a few loads).
func internObject(s string) string {
	if s == apitype.ObjectMessage {
		return apitype.ObjectMessage
	}
	return s
}

func internStatus(s string) apitype.MessageStatus {
	switch st := apitype.MessageStatus(s); st {
	case apitype.MessageCompleted:
		return apitype.MessageCompleted
	case apitype.MessageInProgress:
		return apitype.MessageInProgress
	case apitype.MessageIncomplete:
		return apitype.MessageIncomplete
	default:
		return st
	}
}

func internRole(s string) apitype.Role {
	switch r := apitype.Role(s); r {
	case apitype.RoleUser:
		return apitype.RoleUser
	case apitype.RoleAssistant:
		return apitype.RoleAssistant
	default:
		return r
	}
}

// internThread returns the thread id a lender scans (set by its scan) when
// s equals it, else s.
func (a *msgArena) internThread(s string) string {
	if a.ls != nil && a.ls.thread != "" && s == a.ls.thread {
		return a.ls.thread
	}
	return s
}

// sameArray reports whether a and b are slices of one array with the same
// capacity (so a can be resliced to b), both nil or both non-nil.
func sameArray[T any](a, b []T) bool {
	return unsafe.SliceData(a) == unsafe.SliceData(b) && cap(a) == cap(b) && (a == nil) == (b == nil)
}

// sameMap reports whether a and b are the same map (or both nil).
func sameMap(a, b apitype.Metadata) bool {
	return *(*unsafe.Pointer)(unsafe.Pointer(&a)) == *(*unsafe.Pointer)(unsafe.Pointer(&b))
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
