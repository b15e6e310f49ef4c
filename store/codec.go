package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"unsafe"

	"github.com/hearth-go/hearth/apitype"
)

// Messages are the one object listed at volume, so they have a compact
// binary encoding instead of JSON (which cost ~100× a raw cursor step per
// listed message). Parts the plain form does not cover (annotations,
// images, refusals, attachments) are kept as JSON inside the record, so
// every message round-trips exactly as through encoding/json.
//
// A record's first byte says its form: '{' is a JSON message (schema 1,
// whose token count lives in the thread's "k" bucket); msgCodecV1 a
// varint-framed record (read, no longer written); msgCodecV2 the current
// one. Both binary forms carry the message's token count, so an append
// dirties one B+tree, not two (pages written per commit are what a group
// commit's fsync waits for).
//
// V2 is laid out for the lent scan, which decodes every listed message:
// a fixed header, then strings in a fixed order, present only when the
// header's flags say so.
//
//	[0]      msgCodecV2
//	[1:5]    flags, uint32 little-endian (v2Incomplete …)
//	[5:9]    token count, uint32
//	[9:17]   created_at, int64
//	         completed_at, incomplete_at (8 bytes each, when flagged)
//	         object, status, role unless the flags give them; incomplete
//	         reason, assistant_id, run_id when flagged (uint32 length +
//	         bytes each)
//	         content: one plain text part (its text), plain parts (uint32
//	         count, then per part a byte, 1 when annotations is [] rather
//	         than null, and the text), or JSON, as the flags say
//	         attachments JSON, when flagged
//	         metadata pairs (uint32 count, then keys and values), when
//	         flagged
//
// Ints at fixed offsets, fixed-width lengths and the usual shapes in flags
// (one text part, empty metadata, enums for status, role and object)
// replace v1's varints and nine tag bytes, so the reader is a straight
// line of inlined loads and bound checks. The ids are not stored: a record
// is its thread's bucket's value under the message id, and the reader
// supplies both.
const (
	msgCodecV1 = 0x01
	msgCodecV2 = 0x02
)

// V1 field-presence tags.
const (
	tagNil   = 0 // nil pointer, slice or map
	tagEmpty = 1 // non-nil and empty (or the plain form)
	tagJSON  = 2 // JSON of the field follows
)

// V2 header and flags.
const (
	v2Header = 17

	v2Incomplete   = 1 << 0 // incomplete_details is set
	v2CompletedAt  = 1 << 1
	v2IncompleteAt = 1 << 2
	v2Assistant    = 1 << 3
	v2Run          = 1 << 4
	v2Meta         = 1 << 5 // metadata is non-nil
	v2MetaPairs    = 1 << 6 // … and not empty: its pairs follow
	v2AttachShift  = 7      // 2 bits: the attachments' form
	v2ContentShift = 9      // 2 bits: the content's form
	v2Annotated    = 1 << 11
	v2StatusShift  = 12 // 2 bits: 1 completed, 2 in_progress, 3 incomplete
	v2RoleShift    = 14 // 2 bits: 1 user, 2 assistant (3 is never written)
	v2ObjectMsg    = 1 << 16
	v2Unused       = ^uint32(1<<17 - 1) // never written

	// Forms of content and attachments.
	formNil   = 0
	formPlain = 1 // content: plain text parts; attachments: []
	formJSON  = 2
	formOne   = 3 // content: one plain text part (v2Annotated: annotations is [])
)

var errCorrupt = errors.New("store: corrupt message record")

// appendLen appends a v2 length or count. Strings longer than 4 GiB do not
// occur: a message's text is capped far below.
func appendLen(b []byte, n int) []byte {
	return binary.LittleEndian.AppendUint32(b, uint32(min(uint64(n), math.MaxUint32)))
}

func appendStr(b []byte, s string) []byte { return append(appendLen(b, len(s)), s...) }

// appendJSONField appends v's JSON with its length.
func appendJSONField(b []byte, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(appendLen(b, len(data)), data...), nil
}

// plainContent reports whether every part is text without annotations.
func plainContent(parts []apitype.MessageContent) bool {
	for _, p := range parts {
		if p.Type != apitype.ContentText || p.Text == nil || p.Index != nil || p.ImageFile != nil ||
			p.ImageURL != nil || p.Refusal != nil || len(p.Text.Annotations) != 0 {
			return false
		}
	}
	return true
}

func statusCode(s apitype.MessageStatus) byte {
	switch s {
	case apitype.MessageCompleted:
		return 1
	case apitype.MessageInProgress:
		return 2
	case apitype.MessageIncomplete:
		return 3
	}
	return 0
}

func roleCode(r apitype.Role) byte {
	switch r {
	case apitype.RoleUser:
		return 1
	case apitype.RoleAssistant:
		return 2
	}
	return 0
}

// encodeMessage appends m's record (v2), with its token count, to b.
// Metadata is written in key order, so equal messages give equal records.
func encodeMessage(b []byte, m *apitype.Message, tokens int) ([]byte, error) {
	var f uint32
	set := func(bit uint32, on bool) {
		if on {
			f |= bit
		}
	}
	set(v2Incomplete, m.IncompleteDetails != nil)
	set(v2CompletedAt, m.CompletedAt != nil)
	set(v2IncompleteAt, m.IncompleteAt != nil)
	set(v2Assistant, m.AssistantID != nil)
	set(v2Run, m.RunID != nil)
	set(v2Meta, m.Metadata != nil)
	set(v2MetaPairs, len(m.Metadata) > 0)
	switch {
	case m.Attachments == nil:
	case len(m.Attachments) == 0:
		f |= formPlain << v2AttachShift
	default:
		f |= formJSON << v2AttachShift
	}
	switch {
	case m.Content == nil:
	case !plainContent(m.Content):
		f |= formJSON << v2ContentShift
	case len(m.Content) == 1:
		f |= formOne << v2ContentShift
		set(v2Annotated, m.Content[0].Text.Annotations != nil)
	default:
		f |= formPlain << v2ContentShift
	}
	status, role := statusCode(m.Status), roleCode(m.Role)
	f |= uint32(status)<<v2StatusShift | uint32(role)<<v2RoleShift
	set(v2ObjectMsg, m.Object == apitype.ObjectMessage)
	b = binary.LittleEndian.AppendUint32(append(b, msgCodecV2), f)
	b = binary.LittleEndian.AppendUint32(b, uint32(min(uint64(max(tokens, 0)), math.MaxUint32)))
	b = binary.LittleEndian.AppendUint64(b, uint64(m.CreatedAt))
	if m.CompletedAt != nil {
		b = binary.LittleEndian.AppendUint64(b, uint64(*m.CompletedAt))
	}
	if m.IncompleteAt != nil {
		b = binary.LittleEndian.AppendUint64(b, uint64(*m.IncompleteAt))
	}
	if f&v2ObjectMsg == 0 {
		b = appendStr(b, m.Object)
	}
	if status == 0 {
		b = appendStr(b, string(m.Status))
	}
	if role == 0 {
		b = appendStr(b, string(m.Role))
	}
	if m.IncompleteDetails != nil {
		b = appendStr(b, m.IncompleteDetails.Reason)
	}
	if m.AssistantID != nil {
		b = appendStr(b, *m.AssistantID)
	}
	if m.RunID != nil {
		b = appendStr(b, *m.RunID)
	}
	var err error
	switch f >> v2ContentShift & 3 {
	case formOne:
		b = appendStr(b, m.Content[0].Text.Value)
	case formPlain:
		b = appendLen(b, len(m.Content))
		for _, p := range m.Content {
			annotated := byte(0)
			if p.Text.Annotations != nil {
				annotated = 1
			}
			b = appendStr(append(b, annotated), p.Text.Value)
		}
	case formJSON:
		if b, err = appendJSONField(b, m.Content); err != nil {
			return nil, err
		}
	}
	if f>>v2AttachShift&3 == formJSON {
		if b, err = appendJSONField(b, m.Attachments); err != nil {
			return nil, err
		}
	}
	if len(m.Metadata) > 0 {
		b = appendLen(b, len(m.Metadata))
		for _, k := range slices.Sorted(maps.Keys(m.Metadata)) {
			b = appendStr(appendStr(b, k), m.Metadata[k])
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
	thread string // the thread whose records are read (v2 does not store it)
	hint   int    // messages expected, sizes the slabs
	lend   bool   // decode in place into reused storage
	buf    []byte
	parts  []apitype.MessageContent
	texts  []apitype.TextContent
	strs   []string
	ints   []int64

	ls *lendStorage // lending only
}

func newMsgArena(thread string, hint int) *msgArena {
	return &msgArena{thread: thread, hint: max(hint, 1)}
}

// lendStorage is what only a lender has: the message it lends, its metadata
// map, and the first slabs' storage, so a scan of plain messages allocates
// nothing. It is apart from msgArena so that an owning arena, whose fields'
// addresses are never handed out, can stay on its caller's stack.
type lendStorage struct {
	thread     string // the arena's, for lendV2
	msg        apitype.Message
	meta       apitype.Metadata
	incomplete apitype.IncompleteDetails
	// lendV2's slots.
	head v2Head
	part [1]apitype.MessageContent
	text apitype.TextContent
	// The first slabs.
	parts0 [1]apitype.MessageContent
	texts0 [1]apitype.TextContent
	strs0  [2]string
	ints0  [2]int64
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
	ls.msg, ls.incomplete, a.thread, ls.thread = apitype.Message{}, apitype.IncompleteDetails{}, "", ""
	ls.head, ls.part, ls.text = v2Head{}, [1]apitype.MessageContent{}, apitype.TextContent{}
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

// setThread sets the thread whose records a reads.
func (a *msgArena) setThread(thread string) {
	a.thread = thread
	if a.ls != nil {
		a.ls.thread = thread
	}
}

// str returns b as a string in a's memory: b itself when lending, else a
// copy in the arena.
func (a *msgArena) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	h := a.hold(b)
	return unsafe.String(&h[0], len(h))
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

// decodeMessage decodes the record v of message id (its key) written by
// encodeMessage or, for older files, by the v1 encoder or encoding/json,
// into m (replacing what it held), in a's mode; id must live as long as
// the decoded message is used (the arena's or the transaction's memory).
// It is the one reader of message records: lent scans, owned pages and
// single reads all come through it.
func decodeMessage(v []byte, id string, a *msgArena, m *apitype.Message) error {
	if a.lend {
		return lendMessage(v, id, a, m)
	}
	if len(v) > 0 && v[0] == msgCodecV2 {
		return decodeV2(a.hold(v), id, a, m)
	}
	return decodeOlder(v, a, m)
}

// lendMessage is decodeMessage for a lender: the usual record through
// lendV2, any other through lendOther. (A scan's loop calls the two itself.)
func lendMessage(v []byte, id string, a *msgArena, m *apitype.Message) error {
	if m == &a.ls.msg && a.ls.lendV2(v, id) {
		return nil
	}
	return lendOther(v, id, a, m)
}

// lendOther lends the records lendV2 leaves: unusual v2 records and those
// of older files.
func lendOther(v []byte, id string, a *msgArena, m *apitype.Message) error {
	a.reset()
	if len(v) > 0 && v[0] == msgCodecV2 {
		return decodeV2(v, id, a, m)
	}
	return decodeOlder(v, a, m)
}

// lendUnusual are the flags of a v2 record lendV2 leaves to decodeV2.
// (An attachments' form with its formJSON bit set is JSON or invalid.)
const lendUnusual = v2Unused | v2MetaPairs | formJSON<<v2AttachShift

// lendV2 decodes the usual v2 record of message id — content absent or one
// plain text part, attachments absent or [], metadata absent or empty —
// into the lender's message, pointing it at the lender's fixed slots. It is
// a scan's one decode per listed message, so it is decodeV2 without the
// slabs and the general cases. It reports false for any other record, and
// for damage, leaving the message half-written (lendOther then decides).
// FuzzMessageDecode holds it to decodeV2.
func (ls *lendStorage) lendV2(b []byte, id string) bool {
	if len(b) < v2Header || b[0] != msgCodecV2 {
		return false
	}
	f := binary.LittleEndian.Uint32(b[1:5])
	content := f >> v2ContentShift & 3
	if f&lendUnusual != 0 || content == formPlain || content == formJSON || f>>v2RoleShift&3 == 3 {
		return false // (lendUnusual covers the rest of v2FlagsValid)
	}
	m, h := &ls.msg, &ls.head
	// The head's optional fields land in the lender's slots, which the
	// message points to.
	i := readV2Head(b, f, id, ls.thread, m, h)
	var completed, incompleteAt *int64
	if f&v2CompletedAt != 0 {
		completed = &h.completed
	}
	setPtr(&m.CompletedAt, completed)
	if f&v2IncompleteAt != 0 {
		incompleteAt = &h.incompleteAt
	}
	setPtr(&m.IncompleteAt, incompleteAt)
	var incomplete *apitype.IncompleteDetails
	if f&v2Incomplete != 0 {
		setStr(&ls.incomplete.Reason, h.reason)
		incomplete = &ls.incomplete
	}
	setPtr(&m.IncompleteDetails, incomplete)
	var asst, run *string
	if f&v2Assistant != 0 {
		asst = &h.asst
	}
	setPtr(&m.AssistantID, asst)
	if f&v2Run != 0 {
		run = &h.run
	}
	setPtr(&m.RunID, run)
	var parts []apitype.MessageContent
	if content == formOne {
		ls.text.Value, i = strAt(b, i)
		var none []apitype.Annotation
		if f&v2Annotated != 0 {
			none = []apitype.Annotation{} // allocates nothing
		}
		setSlice(&ls.text.Annotations, none)
		setTextPart(&ls.part[0], &ls.text)
		parts = ls.part[:]
	}
	setSlice(&m.Content, parts)
	var attachments []apitype.Attachment
	if f>>v2AttachShift&3 == formPlain {
		attachments = []apitype.Attachment{} // allocates nothing
	}
	setSlice(&m.Attachments, attachments)
	var meta apitype.Metadata
	if f&v2Meta != 0 {
		if ls.meta == nil {
			ls.meta = make(apitype.Metadata)
		}
		if len(ls.meta) > 0 {
			clear(ls.meta) // written through a lent message
		}
		meta = ls.meta
	}
	if !sameMap(m.Metadata, meta) {
		m.Metadata = meta
	}
	return i == len(b)
}

// decodeOlder reads the records of older files: v1 and JSON.
func decodeOlder(v []byte, a *msgArena, m *apitype.Message) error {
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
	var x apitype.Message
	if err := decodeV1(a.hold(b), a, &x); err != nil {
		return err
	}
	if a.lend {
		lendStore(m, &x)
	} else {
		*m = x
	}
	return nil
}

// v2Head holds what readV2Head reads that a decoder stores its own way.
type v2Head struct {
	completed, incompleteAt int64
	reason, asst, run       string // incomplete_details.reason, assistant_id, run_id
}

// readV2Head reads a v2 record's header and strings, whose flags f are
// valid: it sets m's id and thread_id (to those given), created_at,
// object, status and role, fills h with the optional fields the flags say
// are present, and returns the index of the content (-1: damaged).
func readV2Head(b []byte, f uint32, id, thread string, m *apitype.Message, h *v2Head) int {
	m.CreatedAt = int64(binary.LittleEndian.Uint64(b[9:17]))
	i := v2Header
	if f&v2CompletedAt != 0 {
		if len(b)-i < 8 {
			return -1
		}
		h.completed, i = int64(binary.LittleEndian.Uint64(b[i:i+8])), i+8
	}
	if f&v2IncompleteAt != 0 {
		if len(b)-i < 8 {
			return -1
		}
		h.incompleteAt, i = int64(binary.LittleEndian.Uint64(b[i:i+8])), i+8
	}
	var str string
	m.ID = id
	setStr(&m.ThreadID, thread)
	object := apitype.ObjectMessage
	if f&v2ObjectMsg == 0 {
		object, i = strAt(b, i)
	}
	setStr(&m.Object, object)
	status := apitype.MessageCompleted
	switch f >> v2StatusShift & 3 {
	case 0:
		str, i = strAt(b, i)
		status = apitype.MessageStatus(str)
	case 2:
		status = apitype.MessageInProgress
	case 3:
		status = apitype.MessageIncomplete
	}
	setStr((*string)(&m.Status), string(status))
	role := apitype.RoleUser
	switch f >> v2RoleShift & 3 {
	case 0:
		str, i = strAt(b, i)
		role = apitype.Role(str)
	case 2:
		role = apitype.RoleAssistant
	}
	setStr((*string)(&m.Role), string(role))
	if f&v2Incomplete != 0 {
		h.reason, i = strAt(b, i)
	}
	if f&v2Assistant != 0 {
		h.asst, i = strAt(b, i)
	}
	if f&v2Run != 0 {
		h.run, i = strAt(b, i)
	}
	return i
}

// v2FlagsValid reports whether f holds only what encodeMessage writes.
func v2FlagsValid(f uint32) bool {
	return f&v2Unused == 0 && f>>v2AttachShift&3 <= formJSON && f>>v2RoleShift&3 != 3
}

// decodeV2 reads a v2 record, setting every field of m exactly once (so m
// needs no zeroing first) through set* (see lendStore), so that a lent
// message rewritten record after record costs few write barriers. On an
// error m is half-written.
func decodeV2(b []byte, id string, a *msgArena, m *apitype.Message) error {
	if len(b) < v2Header {
		return errCorrupt
	}
	f := binary.LittleEndian.Uint32(b[1:5])
	if !v2FlagsValid(f) {
		return errCorrupt
	}
	var h v2Head
	i := readV2Head(b, f, id, a.thread, m, &h)
	var completed, incompleteAt *int64
	if f&v2CompletedAt != 0 {
		completed = a.newInt(h.completed)
	}
	setPtr(&m.CompletedAt, completed)
	if f&v2IncompleteAt != 0 {
		incompleteAt = a.newInt(h.incompleteAt)
	}
	setPtr(&m.IncompleteAt, incompleteAt)
	var incomplete *apitype.IncompleteDetails
	if f&v2Incomplete != 0 {
		incomplete = a.newIncomplete(h.reason)
	}
	setPtr(&m.IncompleteDetails, incomplete)
	var asst, run *string
	if f&v2Assistant != 0 {
		asst = a.newStr(h.asst)
	}
	setPtr(&m.AssistantID, asst)
	if f&v2Run != 0 {
		run = a.newStr(h.run)
	}
	setPtr(&m.RunID, run)
	var str string
	var parts []apitype.MessageContent
	switch f >> v2ContentShift & 3 {
	case formOne:
		str, i = strAt(b, i)
		parts = a.newParts(1)
		setTextPart(&parts[0], a.newText(str, f&v2Annotated != 0))
	case formPlain:
		var n int
		if n, i = countAt(b, i, 5); i < 0 {
			return errCorrupt
		}
		parts = a.newParts(n)
		for j := range parts {
			if i >= len(b) || b[i] > 1 {
				return errCorrupt
			}
			annotated := b[i]
			if str, i = strAt(b, i+1); i < 0 {
				return errCorrupt
			}
			setTextPart(&parts[j], a.newText(str, annotated == 1))
		}
	case formJSON:
		var c []apitype.MessageContent // on the heap (json), and only here
		var err error
		if i, err = jsonAt(b, i, &c); err != nil {
			return err
		}
		parts = c
	}
	setSlice(&m.Content, parts)
	var attachments []apitype.Attachment
	switch f >> v2AttachShift & 3 {
	case formPlain:
		attachments = []apitype.Attachment{} // allocates nothing
	case formJSON:
		var at []apitype.Attachment // on the heap (json), and only here
		var err error
		if i, err = jsonAt(b, i, &at); err != nil {
			return err
		}
		attachments = at
	}
	setSlice(&m.Attachments, attachments)
	var meta apitype.Metadata
	switch {
	case f&v2MetaPairs != 0:
		if f&v2Meta == 0 {
			return errCorrupt
		}
		var n int
		if n, i = countAt(b, i, 8); i < 0 {
			return errCorrupt
		}
		meta = a.newMeta(n)
		for range n {
			var k, v string
			k, i = strAt(b, i)
			v, i = strAt(b, i)
			if i < 0 {
				return errCorrupt
			}
			meta[k] = v
		}
	case f&v2Meta != 0:
		meta = a.newMeta(0)
	}
	if !sameMap(m.Metadata, meta) {
		m.Metadata = meta
	}
	if i != len(b) {
		return errCorrupt // damaged, or bytes left over
	}
	return nil
}

// strAt reads a length-prefixed string at b[i:], sharing the record's
// memory (which is never modified: the arena's copy, or the transaction's
// pages when lending), and the index after it. i is -1 (and stays so) when
// the bytes are malformed, so a record needs one check at its end. Lengths
// are fixed-width so this stays small enough to inline.
func strAt(b []byte, i int) (string, int) {
	if i < 0 || i > len(b)-4 {
		return "", -1
	}
	n, j := uint64(binary.LittleEndian.Uint32(b[i:i+4])), i+4
	if n > uint64(len(b)-j) {
		return "", -1
	}
	if n == 0 {
		return "", j
	}
	// In bounds: 0 < n <= len(b)-j. (Indexing b[j] would check again.)
	return unsafe.String((*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), j)), n), j + int(n)
}

// countAt reads a count at b[i:] of items taking at least minEach bytes
// each, which the rest of b must hold (so damage never sizes an
// allocation), and the index after it (-1 when there is none).
func countAt(b []byte, i, minEach int) (int, int) {
	if i < 0 || i > len(b)-4 {
		return 0, -1
	}
	n, j := uint64(binary.LittleEndian.Uint32(b[i:i+4])), i+4
	if n > uint64((len(b)-j)/minEach) {
		return 0, -1
	}
	return int(n), j
}

// jsonAt decodes the length-prefixed JSON at b[i:] into v.
func jsonAt(b []byte, i int, v any) (int, error) {
	n, j := countAt(b, i, 1)
	if j < 0 {
		return -1, errCorrupt
	}
	if err := json.Unmarshal(b[j:j+n], v); err != nil {
		return -1, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	return j + n, nil
}

// decodeV1 reads the fields of a v1 record (after the token count).
func decodeV1(b []byte, a *msgArena, x *apitype.Message) error {
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

// sameArray reports whether a and b are slices of one array with the same
// capacity (so a can be resliced to b). Equal array pointers also mean both
// are nil or neither is: a nil slice is the one with a nil pointer.
func sameArray[T any](a, b []T) bool {
	return unsafe.SliceData(a) == unsafe.SliceData(b) && cap(a) == cap(b)
}

// sameMap reports whether a and b are the same map (or both nil).
func sameMap(a, b apitype.Metadata) bool {
	return *(*unsafe.Pointer)(unsafe.Pointer(&a)) == *(*unsafe.Pointer)(unsafe.Pointer(&b))
}

// messageRunID reads only the run id of a stored message.
func messageRunID(v []byte) (string, bool, error) {
	var m apitype.Message
	if err := decodeMessage(v, "", newMsgArena("", 1), &m); err != nil {
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
	switch {
	case len(v) >= v2Header && v[0] == msgCodecV2:
		return int(binary.LittleEndian.Uint32(v[5:9])), true
	case len(v) > 0 && v[0] == msgCodecV1:
		t, n := binary.Uvarint(v[1:])
		return int(t), n > 0
	}
	return 0, false
}
