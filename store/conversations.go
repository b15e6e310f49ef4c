package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"github.com/hearth-go/hearth/apitype"
	bolt "go.etcd.io/bbolt"
)

// Conversations. A conversation's record is in bConversations by id; its
// items are flat keys of two root buckets, so no conversation costs a
// bucket (or a page) of its own and deleting one is a walk of its keys:
//
//	conversation_items     conv id                → count, next position (uint64 each)
//	                       conv id \x00 position  → uvarint tokens, item JSON
//	conversation_item_ids  conv id \x00 item id   → position (uint64)
//
// Positions (big endian, from 1) make a conversation's items one sorted
// range in insertion order, whatever their ids (a client may name items
// itself, so ids need not sort by time): a page is one Seek and limit+1
// steps, the newest-first walk a prompt reads starts at the range's end,
// and Retrieve, Delete and an after cursor are one index lookup each. The
// index is its own bucket because its keys (item ids) do not grow at the
// end as positions do.
//
// Deleting an item leaves its index entry, naming a position that no
// longer holds a record: an after cursor naming a deleted item still pages
// from where it was (as every cursor here is a position), and the id may
// be added again.
var (
	bConversations = []byte("conversations")
	bConvItems     = []byte("conversation_items")
	bConvItemIDs   = []byte("conversation_item_ids")
)

// ConversationNotFound is the API's 404 for an unknown conversation.
func ConversationNotFound(id string) *apitype.Error {
	return &apitype.Error{Type: apitype.ErrorTypeNotFound, Status: 404,
		Message: fmt.Sprintf("Conversation with id '%s' not found.", id)}
}

// conversationItemNotFound is the API's 404 for an unknown item.
func conversationItemNotFound(convID, itemID string) *apitype.Error {
	return &apitype.Error{Type: apitype.ErrorTypeNotFound, Status: 404,
		Message: fmt.Sprintf("Item with id '%s' not found in conversation '%s'.", itemID, convID)}
}

// PutConversation inserts or replaces a conversation (its metadata).
func (t *boltTx) PutConversation(c *apitype.Conversation) error {
	return putJSON(t.appending(t.tx.Bucket(bConversations)), []byte(c.ID), c)
}

// GetConversation reads a conversation.
func (t *boltTx) GetConversation(id string) (*apitype.Conversation, error) {
	v := t.tx.Bucket(bConversations).Get([]byte(id))
	if v == nil {
		return nil, ConversationNotFound(id)
	}
	var c apitype.Conversation
	if err := json.Unmarshal(v, &c); err != nil {
		return nil, fmt.Errorf("store: decode conversation %s: %w", id, err)
	}
	return &c, nil
}

func (t *boltTx) hasConversation(id string) error {
	if t.tx.Bucket(bConversations).Get([]byte(id)) == nil {
		return ConversationNotFound(id)
	}
	return nil
}

// DeleteConversation deletes a conversation and all its items.
func (t *boltTx) DeleteConversation(id string) error {
	if err := t.hasConversation(id); err != nil {
		return err
	}
	items, ids := t.tx.Bucket(bConvItems), t.tx.Bucket(bConvItemIDs)
	prefix := convPrefix(id)
	if err := deletePrefix(items, prefix); err != nil {
		return err
	}
	if err := deletePrefix(ids, prefix); err != nil {
		return err
	}
	if err := items.Delete([]byte(id)); err != nil {
		return err
	}
	return t.tx.Bucket(bConversations).Delete([]byte(id))
}

// ListConversations pages through conversations (their metadata).
func (t *boltTx) ListConversations(p apitype.ListParams) (apitype.Page[apitype.Conversation], error) {
	return listJSON[apitype.Conversation](t.tx.Bucket(bConversations), nil, p)
}

// convPrefix is the key prefix of a conversation's items and index entries.
func convPrefix(convID string) []byte { return append([]byte(convID), 0) }

// itemKey is the record key of position pos.
func itemKey(buf []byte, convID string, pos uint64) []byte {
	buf = append(append(buf, convID...), 0)
	return binary.BigEndian.AppendUint64(buf, pos)
}

// convCounts reads a conversation's item count and next position.
func convCounts(items *bolt.Bucket, convID string) (n, next uint64) {
	if v := items.Get([]byte(convID)); len(v) == 16 {
		return binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])
	}
	return 0, 1
}

func putCounts(items *bolt.Bucket, convID string, n, next uint64) error {
	v := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(make([]byte, 0, 16), n), next)
	return items.Put([]byte(convID), v)
}

// AppendConversationItems appends items, in order, to a conversation, with
// their token counts. Every item must have an id no item of the
// conversation has.
func (t *boltTx) AppendConversationItems(convID string, items []apitype.Item, tokens []int) error {
	if len(tokens) != len(items) {
		return fmt.Errorf("store: %d items with %d token counts", len(items), len(tokens))
	}
	if err := t.hasConversation(convID); err != nil {
		return err
	}
	ib, ids := t.tx.Bucket(bConvItems), t.tx.Bucket(bConvItemIDs)
	n, next := convCounts(ib, convID)
	if len(items) > 0 {
		// Pages split full only when the items go at the bucket's end (the
		// newest conversation): within the bucket a full left page would
		// split again at the next append, leaving a trail of near-empty ones.
		if k, _ := ib.Cursor().Seek(itemKey(nil, convID, next)); k == nil {
			t.appending(ib)
		}
	}
	var kbuf, ibuf [96]byte
	for i, it := range items {
		id := it.ID()
		if id == "" {
			return apitype.Invalid(fmt.Sprintf("items[%d].id", i), "an item stored in a conversation needs an id")
		}
		ikey := append(append(append(ibuf[:0], convID...), 0), id...)
		if v := ids.Get(ikey); len(v) == 8 && ib.Get(itemKey(kbuf[:0], convID, binary.BigEndian.Uint64(v))) != nil {
			return apitype.Invalid(fmt.Sprintf("items[%d].id", i), "Conversation '%s' already has an item with id '%s'.", convID, id)
		}
		data, err := json.Marshal(it)
		if err != nil {
			return fmt.Errorf("store: encode item %s: %w", id, err)
		}
		rec := binary.AppendUvarint(make([]byte, 0, len(data)+binary.MaxVarintLen32), uint64(max(tokens[i], 0)))
		if err := ib.Put(itemKey(kbuf[:0], convID, next), append(rec, data...)); err != nil {
			return err
		}
		if err := ids.Put(ikey, u64(next)); err != nil {
			return err
		}
		n, next = n+1, next+1
	}
	return putCounts(ib, convID, n, next)
}

// itemPos finds an item's position; ok is false for an id the conversation
// never held.
func itemPos(ids *bolt.Bucket, convID, itemID string) (pos uint64, ok bool) {
	var buf [96]byte
	v := ids.Get(append(append(append(buf[:0], convID...), 0), itemID...))
	if len(v) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(v), true
}

// itemRecord reads the record of an item that is in the conversation.
func (t *boltTx) itemRecord(convID, itemID string) (key, rec []byte, err error) {
	if err := t.hasConversation(convID); err != nil {
		return nil, nil, err
	}
	pos, ok := itemPos(t.tx.Bucket(bConvItemIDs), convID, itemID)
	if ok {
		key = itemKey(nil, convID, pos)
		rec = t.tx.Bucket(bConvItems).Get(key)
	}
	if rec == nil {
		return nil, nil, conversationItemNotFound(convID, itemID)
	}
	return key, rec, nil
}

// decodeItem decodes an item record; k names it in errors.
func decodeItem(rec []byte, k []byte) (*apitype.Item, int, error) {
	tokens, n := binary.Uvarint(rec)
	if n <= 0 {
		return nil, 0, fmt.Errorf("store: item record %x: bad token count", k)
	}
	it, err := unmarshalItem(rec[n:])
	if err != nil {
		return nil, 0, fmt.Errorf("store: decode item record %x: %w", k, err)
	}
	return it, int(tokens), nil
}

// unmarshalItem decodes a stored item. The records the store reads most —
// the text messages of a conversation or a chain, thousands per prompt —
// are read by plainMessage; anything else by the strict apitype decoder,
// which costs several times as much (it checks every field as a request's
// are checked, which what the store wrote needs no more).
func unmarshalItem(b []byte) (*apitype.Item, error) {
	if it, ok := plainMessage(b, new(plainItem), false); ok {
		return it, nil
	}
	var it apitype.Item
	if err := json.Unmarshal(b, &it); err != nil {
		return nil, err
	}
	return &it, nil
}

// plainMessage reads a text message exactly as json.Marshal writes a
// MessageItem — {"id":…,"type":"message","role":…,"status":…,"content":[…]}
// with input_text parts (output_text ones, without annotations or
// logprobs, for an assistant) — into what the strict decoder makes of it.
// ok is false for any other record, which the caller decodes strictly.
//
// The message is made in x. lend makes its strings the record's own bytes
// where they need no unescaping: valid while the transaction is, and only
// until x is reused.
func plainMessage(b []byte, x *plainItem, lend bool) (*apitype.Item, bool) {
	r := plainReader{b: b, lend: lend}
	content := x.part[:0]
	if lend && x.m.Content != nil {
		content = x.m.Content[:0] // a lender's scratch keeps what it grew to
	}
	*x = plainItem{}
	m, ok := &x.m, false
	m.Type = apitype.ItemMessage
	if !r.lit(`{`) {
		return nil, false
	}
	if r.lit(`"id":`) {
		if m.ID, ok = r.str(); !ok || !r.lit(`,`) {
			return nil, false
		}
	}
	if !r.lit(`"type":"message","role":`) {
		return nil, false
	}
	role, ok := r.str()
	switch apitype.Role(role) {
	case apitype.RoleUser, apitype.RoleAssistant, apitype.RoleSystem, apitype.RoleDeveloper:
		m.Role = apitype.Role(role)
	default:
		return nil, false
	}
	if r.lit(`,"status":`) {
		switch m.Status, ok = r.str(); m.Status {
		case apitype.ItemInProgress, apitype.ItemCompleted, apitype.ItemIncomplete:
		default:
			return nil, false
		}
	}
	if !ok || !r.lit(`,"content":[`) {
		return nil, false
	}
	part, tail := `{"type":"input_text","text":`, `}`
	if m.Role == apitype.RoleAssistant {
		part, tail = `{"type":"output_text","text":`, `,"annotations":[]}`
	}
	m.Content = content
	for first := true; !r.lit(`]`); first = false {
		if !first && !r.lit(`,`) || !r.lit(part) {
			return nil, false
		}
		text, ok := r.str()
		if !ok || !r.lit(tail) {
			return nil, false
		}
		p := apitype.ContentPart{Type: apitype.PartInputText, Text: text}
		if m.Role == apitype.RoleAssistant {
			p = apitype.OutputText(text)
		}
		m.Content = append(m.Content, p)
	}
	if !r.lit(`}`) || r.i != len(b) {
		return nil, false
	}
	x.it.Message = m
	return &x.it, true
}

// plainItem is an item, its message and its (usual) one part in one
// allocation.
type plainItem struct {
	it   apitype.Item
	m    apitype.MessageItem
	part [1]apitype.ContentPart
}

// plainReader steps through a JSON record the store wrote.
type plainReader struct {
	b    []byte
	i    int
	lend bool // strings alias b where they can
}

// lit consumes s if the input continues with it.
func (r *plainReader) lit(s string) bool {
	if len(r.b)-r.i < len(s) || string(r.b[r.i:r.i+len(s)]) != s {
		return false
	}
	r.i += len(s)
	return true
}

// str consumes a string: copied as it is when it has no escapes (and is
// valid UTF-8, as json.Marshal writes), unquoted by encoding/json when it
// has some.
func (r *plainReader) str() (string, bool) {
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		return "", false
	}
	start, escaped := r.i+1, false
	for j := start; j < len(r.b); j++ {
		switch c := r.b[j]; {
		case c == '\\':
			escaped = true
			j++ // the escaped byte is never the closing quote
		case c == '"':
			r.i = j + 1
			if !escaped {
				if !utf8.Valid(r.b[start:j]) {
					return "", false
				}
				if r.lend && j > start {
					return unsafe.String(&r.b[start], j-start), true
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

// GetConversationItem reads one item of a conversation.
func (t *boltTx) GetConversationItem(convID, itemID string) (*apitype.Item, error) {
	key, rec, err := t.itemRecord(convID, itemID)
	if err != nil {
		return nil, err
	}
	it, _, err := decodeItem(rec, key)
	return it, err
}

// DeleteConversationItem deletes one item of a conversation.
func (t *boltTx) DeleteConversationItem(convID, itemID string) error {
	key, _, err := t.itemRecord(convID, itemID)
	if err != nil {
		return err
	}
	ib := t.tx.Bucket(bConvItems)
	if err := ib.Delete(key); err != nil {
		return err
	}
	n, next := convCounts(ib, convID)
	if n > 0 { // never wrap, whatever a damaged file holds
		n--
	}
	return putCounts(ib, convID, n, next)
}

// CountConversationItems returns how many items a conversation holds.
func (t *boltTx) CountConversationItems(convID string) (int, error) {
	if err := t.hasConversation(convID); err != nil {
		return 0, err
	}
	n, _ := convCounts(t.tx.Bucket(bConvItems), convID)
	return int(n), nil
}

// ListConversationItems pages through a conversation's items in insertion
// order (asc) or newest first (desc; the engine's default), after the item
// p.After names. p.Before is not part of this list.
func (t *boltTx) ListConversationItems(convID string, p apitype.ListParams) (apitype.Page[apitype.Item], error) {
	if p.Before != "" {
		return apitype.Page[apitype.Item]{}, apitype.Invalid("before", "conversation items page with after only")
	}
	if err := t.hasConversation(convID); err != nil {
		return apitype.Page[apitype.Item]{}, err
	}
	var start []byte
	if p.After != "" {
		pos, ok := itemPos(t.tx.Bucket(bConvItemIDs), convID, p.After)
		if !ok {
			return apitype.Page[apitype.Item]{}, apitype.Invalid("after", "No item with id '%s' in conversation '%s'.", p.After, convID)
		}
		start = itemKey(nil, convID, pos)
	}
	limit := pageLimit(p)
	page := apitype.Page[apitype.Item]{Object: apitype.ObjectList, Data: make([]apitype.Item, 0, min(limit, 32))}
	err := t.walkItems(convID, p.Order == apitype.OrderAsc, start, func(k, rec []byte) (bool, error) {
		if len(page.Data) == limit {
			page.HasMore = true
			return false, nil
		}
		it, _, err := decodeItem(rec, k)
		if err != nil {
			return false, err
		}
		page.Data = append(page.Data, *it)
		return true, nil
	})
	if err != nil {
		return apitype.Page[apitype.Item]{}, err
	}
	if n := len(page.Data); n > 0 {
		f, l := page.Data[0].ID(), page.Data[n-1].ID()
		page.FirstID, page.LastID = &f, &l
	}
	return page, nil
}

// EachConversationItem walks a conversation's items newest first (desc) or
// oldest first with their token counts, until fn returns false: one cursor
// step and one decode per item, for readers that stop early (a prompt).
func (t *boltTx) EachConversationItem(convID string, desc bool, fn func(it *apitype.Item, tokens int) (bool, error)) error {
	if err := t.hasConversation(convID); err != nil {
		return err
	}
	return t.walkItems(convID, !desc, nil, func(k, rec []byte) (bool, error) {
		it, tokens, err := decodeItem(rec, k)
		if err != nil {
			return false, err
		}
		return fn(it, tokens)
	})
}

// LendConversationItems is EachConversationItem for a reader that keeps
// nothing it is given past its call but what it copies (a prompt, which
// keeps only texts): the plain text messages — nearly all a conversation
// holds — are lent, made in one scratch item reused for every one, their
// strings the stored bytes; every other item is the caller's, as
// EachConversationItem's are.
func (t *boltTx) LendConversationItems(convID string, desc bool, fn func(it *apitype.Item, tokens int) (bool, error)) error {
	if err := t.hasConversation(convID); err != nil {
		return err
	}
	var scratch plainItem
	return t.walkItems(convID, !desc, nil, func(k, rec []byte) (bool, error) {
		it, tokens, err := lendItem(rec, &scratch)
		if err != nil {
			return false, fmt.Errorf("%w (key %x)", err, k)
		}
		return fn(it, tokens)
	})
}

// lendItem reads a token-counted item record, lending a plain message in
// scratch.
func lendItem(rec []byte, scratch *plainItem) (*apitype.Item, int, error) {
	tokens, n := binary.Uvarint(rec)
	if n <= 0 {
		return nil, 0, fmt.Errorf("store: corrupt item record: bad token count")
	}
	if it, ok := plainMessage(rec[n:], scratch, true); ok {
		return it, int(tokens), nil
	}
	var it apitype.Item
	if err := json.Unmarshal(rec[n:], &it); err != nil {
		return nil, 0, fmt.Errorf("store: corrupt item record: %w", err)
	}
	return &it, int(tokens), nil
}

// walkItems visits a conversation's item records forward or backward,
// strictly after the key start when it is set.
func (t *boltTx) walkItems(convID string, forward bool, start []byte, fn func(k, rec []byte) (bool, error)) error {
	prefix := convPrefix(convID)
	c := t.tx.Bucket(bConvItems).Cursor()
	for k, v := walkStart(c, prefix, forward, start); k != nil && bytes.HasPrefix(k, prefix); k, v = step(c, !forward) {
		if more, err := fn(k, v); err != nil || !more {
			return err
		}
	}
	return nil
}
