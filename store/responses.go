package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/hearth-go/hearth/apitype"
)

// Responses are kept in two buckets. bResponses holds each response object
// without its output, which lives beside its input items in the flat
// bResponseData, so that a response's output can be rewritten as it grows
// and a prompt built from a previous_response_id chain reads only the items
// it keeps:
//
//	id "i" position → uvarint tokens, input item JSON (position: uint32 BE)
//	id "o" position → uvarint tokens, output item JSON
//	id "x" item id  → position of that input item (input_items cursors)
//	id "p"          → the previous response's id, for walking the chain
//
// Ids are fixed-length, so one response's keys never interleave another's.
var (
	bResponses    = []byte("responses")      // id → response JSON, output omitted
	bResponseData = []byte("response_data")  // the flat keys above
	bLiveResps    = []byte("live_responses") // id → present, every queued or in_progress stored response
	rInput        = byte('i')
	rOutput       = byte('o')
	rInputIndex   = byte('x')
	rPrevious     = byte('p')
)

// responseNotFound is the API's 404 for an unknown response id.
func responseNotFound(id string) error {
	return &apitype.Error{Type: apitype.ErrorTypeNotFound, Status: 404, Message: fmt.Sprintf("Response with id '%s' not found.", id)}
}

func rkey(id string, kind byte, rest []byte) []byte {
	k := make([]byte, 0, len(id)+1+len(rest))
	return append(append(append(k, id...), kind), rest...)
}

func posKey(id string, kind byte, pos int) []byte {
	var p [4]byte
	binary.BigEndian.PutUint32(p[:], uint32(pos))
	return rkey(id, kind, p[:])
}

func tokenRecord(it *apitype.Item, tokens int) ([]byte, error) {
	js, err := json.Marshal(it)
	if err != nil {
		return nil, err
	}
	v := binary.AppendUvarint(make([]byte, 0, len(js)+3), uint64(max(tokens, 0)))
	return append(v, js...), nil
}

func readTokenRecord(v []byte) (*apitype.Item, int, error) {
	n, w := binary.Uvarint(v)
	if w <= 0 {
		return nil, 0, fmt.Errorf("store: corrupt item record")
	}
	it, err := unmarshalItem(v[w:])
	if err != nil {
		return nil, 0, fmt.Errorf("store: corrupt item record: %w", err)
	}
	return it, int(n), nil
}

// CreateResponse stores a new response with its input items (each with an
// id, and its token count in tokens) and links it to its previous response.
// A response that is queued or in_progress is indexed as live.
func (t *boltTx) CreateResponse(r *apitype.Response, input []apitype.Item, tokens []int) error {
	return t.CreateResponseOutput(r, input, tokens, nil)
}

// CreateResponseOutput is CreateResponse for a response stored with its
// output too (outTokens[i] counts r.Output[i]; nil: no output is written),
// as a response stored only when it ends is.
func (t *boltTx) CreateResponseOutput(r *apitype.Response, input []apitype.Item, tokens, outTokens []int) error {
	if len(tokens) != len(input) {
		return fmt.Errorf("store: %d input items, %d token counts", len(input), len(tokens))
	}
	if t.tx.Bucket(bResponses).Get([]byte(r.ID)) != nil {
		return &apitype.Error{Type: apitype.ErrorTypeConflict, Status: 409, Message: fmt.Sprintf("Response %s already exists.", r.ID)}
	}
	data := t.appending(t.tx.Bucket(bResponseData))
	for i := range input {
		v, err := tokenRecord(&input[i], tokens[i])
		if err != nil {
			return err
		}
		if err := data.Put(posKey(r.ID, rInput, i), v); err != nil {
			return err
		}
		if id := input[i].ID(); id != "" {
			var p [4]byte
			binary.BigEndian.PutUint32(p[:], uint32(i))
			if err := data.Put(rkey(r.ID, rInputIndex, []byte(id)), p[:]); err != nil {
				return err
			}
		}
	}
	if r.PreviousResponseID != nil {
		if err := data.Put(rkey(r.ID, rPrevious, nil), []byte(*r.PreviousResponseID)); err != nil {
			return err
		}
	}
	return t.PutResponse(r, outTokens)
}

// PutResponse replaces a stored response and, when tokens is not nil, its
// output items (tokens[i] counts r.Output[i]); the live index follows its
// status.
func (t *boltTx) PutResponse(r *apitype.Response, tokens []int) error {
	if tokens != nil {
		if len(tokens) != len(r.Output) {
			return fmt.Errorf("store: %d output items, %d token counts", len(r.Output), len(tokens))
		}
		data := t.tx.Bucket(bResponseData)
		if err := deletePrefix(data, rkey(r.ID, rOutput, nil)); err != nil {
			return err
		}
		for i := range r.Output {
			v, err := tokenRecord(&r.Output[i], tokens[i])
			if err != nil {
				return err
			}
			if err := data.Put(posKey(r.ID, rOutput, i), v); err != nil {
				return err
			}
		}
	}
	head := *r
	head.Output = nil
	if err := putJSON(t.appending(t.tx.Bucket(bResponses)), []byte(r.ID), &head); err != nil {
		return err
	}
	live := t.tx.Bucket(bLiveResps)
	if r.Status.Terminal() {
		return live.Delete([]byte(r.ID))
	}
	return live.Put([]byte(r.ID), present)
}

// GetResponse reads a response with its output.
func (t *boltTx) GetResponse(id string) (*apitype.Response, error) {
	v := t.tx.Bucket(bResponses).Get([]byte(id))
	if v == nil {
		return nil, responseNotFound(id)
	}
	var r apitype.Response
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("store: response %s: %w", id, err)
	}
	r.Output = []apitype.Item{}
	err := t.eachResponseItem(id, rOutput, false, func(it *apitype.Item, _ int) (bool, error) {
		r.Output = append(r.Output, *it)
		return true, nil
	})
	return &r, err
}

// HasResponse reports whether a response is stored.
func (t *boltTx) HasResponse(id string) (bool, error) {
	return t.tx.Bucket(bResponses).Get([]byte(id)) != nil, nil
}

// ListResponses pages through stored responses, each with its output as
// GetResponse reads it.
func (t *boltTx) ListResponses(p apitype.ListParams) (apitype.Page[apitype.Response], error) {
	page, err := listJSON[apitype.Response](t.tx.Bucket(bResponses), nil, p)
	if err != nil {
		return page, err
	}
	for i := range page.Data {
		r := &page.Data[i]
		r.Output = []apitype.Item{}
		if err := t.eachResponseItem(r.ID, rOutput, false, func(it *apitype.Item, _ int) (bool, error) {
			r.Output = append(r.Output, *it)
			return true, nil
		}); err != nil {
			return page, err
		}
	}
	return page, nil
}

// DeleteResponse removes a response, its items and its chain link. The
// responses that name it as previous keep their own items; their chain
// ends there.
func (t *boltTx) DeleteResponse(id string) error {
	b := t.tx.Bucket(bResponses)
	if b.Get([]byte(id)) == nil {
		return responseNotFound(id)
	}
	if err := b.Delete([]byte(id)); err != nil {
		return err
	}
	if err := t.tx.Bucket(bLiveResps).Delete([]byte(id)); err != nil {
		return err
	}
	return deletePrefix(t.tx.Bucket(bResponseData), []byte(id))
}

// LiveResponses calls fn with every stored response still queued or
// in_progress, for recovery after a restart.
func (t *boltTx) LiveResponses(fn func(id string) error) error {
	return t.tx.Bucket(bLiveResps).ForEach(func(k, _ []byte) error { return fn(string(k)) })
}

// ResponseInput calls fn with a response's input items in order (desc:
// newest first) and their token counts, until fn returns false.
func (t *boltTx) ResponseInput(id string, desc bool, fn func(it *apitype.Item, tokens int) (bool, error)) error {
	return t.eachResponseItem(id, rInput, desc, fn)
}

// ResponseHistory walks the conversation state a response carries for the
// next one, newest first: its output items, then its input items, then its
// previous response's, back along the previous_response_id chain until fn
// returns false or the chain ends (at its first response, or one deleted).
// Each response costs one seek — to its chain link, the key after its
// outputs, which come after its inputs — so a prompt that keeps the newest
// items of a long chain reads only those.
func (t *boltTx) ResponseHistory(id string, fn func(it *apitype.Item, tokens int) (bool, error)) error {
	return t.responseHistory(id, nil, fn)
}

// LendResponseHistory is ResponseHistory for a reader that keeps nothing
// past its call but what it copies: plain text messages are lent, as
// LendConversationItems lends them.
func (t *boltTx) LendResponseHistory(id string, fn func(it *apitype.Item, tokens int) (bool, error)) error {
	return t.responseHistory(id, new(plainItem), fn)
}

func (t *boltTx) responseHistory(id string, scratch *plainItem, fn func(it *apitype.Item, tokens int) (bool, error)) error {
	c := t.tx.Bucket(bResponseData).Cursor()
	var link [64]byte
	for id != "" {
		lk := append(append(link[:0], id...), rPrevious)
		k, v := c.Seek(lk)
		prev := ""
		if bytes.Equal(k, lk) {
			prev = string(v)
		}
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		// A deleted response has no keys left: its chain ends here.
		for ; len(k) == len(id)+5 && string(k[:len(id)]) == id && (k[len(id)] == rOutput || k[len(id)] == rInput); k, v = c.Prev() {
			read := readTokenRecord
			if scratch != nil {
				read = func(v []byte) (*apitype.Item, int, error) { return lendItem(v, scratch) }
			}
			it, n, err := read(v)
			if err != nil {
				return err
			}
			if more, err := fn(it, n); err != nil || !more {
				return err
			}
		}
		id = prev
	}
	return nil
}

func (t *boltTx) eachResponseItem(id string, kind byte, desc bool, fn func(it *apitype.Item, tokens int) (bool, error)) error {
	prefix := rkey(id, kind, nil)
	c := t.tx.Bucket(bResponseData).Cursor()
	var k, v []byte
	if desc {
		k, v = walkStart(c, prefix, false, nil)
	} else {
		k, v = c.Seek(prefix)
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = step(c, desc) {
		it, n, err := readTokenRecord(v)
		if err != nil {
			return err
		}
		if ok, err := fn(it, n); err != nil || !ok {
			return err
		}
	}
	return nil
}

// ListResponseInputItems returns one page of a response's input items
// (order desc unless p says asc; after and before are item ids).
func (t *boltTx) ListResponseInputItems(id string, p apitype.ListParams) (apitype.Page[apitype.Item], error) {
	page := apitype.Page[apitype.Item]{Object: apitype.ObjectList, Data: []apitype.Item{}}
	if t.tx.Bucket(bResponses).Get([]byte(id)) == nil {
		return page, responseNotFound(id)
	}
	data := t.tx.Bucket(bResponseData)
	forward := p.Order == apitype.OrderAsc
	prefix := rkey(id, rInput, nil)
	c := data.Cursor()
	var k, v []byte
	start := func(param, cursor string) ([]byte, error) {
		pos := data.Get(rkey(id, rInputIndex, []byte(cursor)))
		if pos == nil {
			return nil, apitype.Invalid(param, "No item with id '%s' is in the input of response %s.", cursor, id)
		}
		return rkey(id, rInput, pos), nil
	}
	stopAt := []byte(nil)
	if p.Before != "" {
		sk, err := start("before", p.Before)
		if err != nil {
			return page, err
		}
		stopAt = sk
	}
	if p.After != "" {
		sk, err := start("after", p.After)
		if err != nil {
			return page, err
		}
		k, v = c.Seek(sk)
		if k != nil {
			k, v = stepper(forward)(c)
		}
	} else if forward {
		k, v = c.Seek(prefix)
	} else {
		k, v = walkStart(c, prefix, false, nil)
	}
	limit := pageLimit(p)
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = stepper(forward)(c) {
		if stopAt != nil && bytes.Equal(k, stopAt) {
			break
		}
		if len(page.Data) == limit {
			page.HasMore = true
			break
		}
		it, _, err := readTokenRecord(v)
		if err != nil {
			return page, err
		}
		page.Data = append(page.Data, *it)
	}
	if n := len(page.Data); n > 0 {
		first, last := page.Data[0].ID(), page.Data[n-1].ID()
		page.FirstID, page.LastID = &first, &last
	}
	return page, nil
}
