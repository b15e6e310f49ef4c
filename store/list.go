package store

import (
	"bytes"
	"encoding/json"
	"slices"
	"unsafe"

	"github.com/hearth-go/hearth/apitype"
	bolt "go.etcd.io/bbolt"
)

// Pagination. Keys are prefix+id and ids sort by creation time, so a page is
// one cursor Seek and at most limit+1 steps:
//
//   - order "desc" (default) lists newest first, "asc" oldest first;
//   - after=X starts strictly after X in list order;
//   - before=Y alone returns the limit items just before Y in list order (the
//     previous page), still in list order;
//   - both bound the page on each side;
//   - has_more says whether more items lie beyond the page in the direction
//     the page was read (for before=Y alone: further before).
//
// A cursor is a position, not a reference: a cursor naming a deleted (or never
// existing) id of the right shape pages from where that id sorts, so clients
// that delete while paging neither fail nor skip items.

func listJSON[T any](b *bolt.Bucket, prefix []byte, p apitype.ListParams) (apitype.Page[T], error) {
	return listWhere(b, prefix, p, false, func(_, v []byte, out *T) (bool, error) {
		return true, json.Unmarshal(v, out)
	})
}

func listFiltered[T any](b *bolt.Bucket, p apitype.ListParams, keep func(*T) bool) (apitype.Page[T], error) {
	return listWhere(b, nil, p, true, func(_, v []byte, out *T) (bool, error) {
		if err := json.Unmarshal(v, out); err != nil {
			return false, err
		}
		return keep(out), nil
	})
}

// listWhere cuts one page. fn decodes the record at k into out and says
// whether it belongs in the list; when filtered is false every record does,
// so the one past the page is counted for has_more without being decoded.
func listWhere[T any](b *bolt.Bucket, prefix []byte, p apitype.ListParams, filtered bool, fn func(k, v []byte, out *T) (bool, error)) (apitype.Page[T], error) {
	limit := pageLimit(p)
	asc := p.Order == apitype.OrderAsc
	key := func(id string) []byte {
		if id == "" {
			return nil
		}
		return append(slices.Clip(prefix), id...)
	}
	start, stop, forward := key(p.After), key(p.Before), asc
	reverse := p.Before != "" && p.After == ""
	if reverse {
		start, stop, forward = key(p.Before), nil, !asc
	}
	page := apitype.Page[T]{Object: apitype.ObjectList, Data: make([]T, 0, limit)}
	var first, last []byte // keys of the page's ends, valid while the tx is
	var err error
	walk(b.Cursor(), prefix, forward, start, stop, func(k, v []byte) bool {
		if len(page.Data) == limit && !filtered {
			page.HasMore = true
			return false
		}
		if len(page.Data) == limit {
			// Filtered: decode the candidate in a scratch slot first.
			var item T
			ok, e := fn(k, v, &item)
			if e != nil || ok {
				err, page.HasMore = e, e == nil
				return false
			}
			return true
		}
		// Decode in place: no copy of T, no per-item allocation.
		var zero T
		page.Data = append(page.Data, zero)
		ok, e := fn(k, v, &page.Data[len(page.Data)-1])
		if e != nil {
			err = e
			return false
		}
		if !ok {
			page.Data = page.Data[:len(page.Data)-1]
			return true
		}
		if first == nil {
			first = k
		}
		last = k
		return true
	})
	if err != nil {
		return apitype.Page[T]{}, err
	}
	if reverse {
		slices.Reverse(page.Data)
		first, last = last, first
	}
	if first != nil {
		f, l := string(first[len(prefix):]), string(last[len(prefix):])
		page.FirstID, page.LastID = &f, &l
	}
	return page, nil
}

// pageLimit is the page size p asks for: 1–100, 0 meaning the default.
func pageLimit(p apitype.ListParams) int {
	if p.Limit <= 0 {
		return apitype.DefaultListLimit
	}
	return min(p.Limit, apitype.MaxListLimit)
}

// walk visits keys under prefix in ascending (forward) or descending order,
// strictly after start and strictly before stop (in walking order), until fn
// returns false.
func walk(c *bolt.Cursor, prefix []byte, forward bool, start, stop []byte, fn func(k, v []byte) bool) {
	for k, v := walkStart(c, prefix, forward, start); walkIn(k, prefix, stop, forward); k, v = step(c, !forward) {
		if v == nil && isBucket(c, k) {
			continue
		}
		if !fn(k, v) {
			return
		}
	}
}

// walkStart positions c for a walk and returns the first key to consider.
func walkStart(c *bolt.Cursor, prefix []byte, forward bool, start []byte) (k, v []byte) {
	switch {
	case forward && start == nil:
		if prefix == nil {
			return c.First()
		}
		return c.Seek(prefix)
	case forward:
		k, v = c.Seek(start)
		if bytes.Equal(k, start) {
			k, v = c.Next()
		}
		return k, v
	}
	from := start
	var end [64]byte
	if from == nil && len(prefix) <= len(end) {
		from = prefixEndIn(end[:0], prefix) // on the stack: a page from the end is the usual read
	} else if from == nil {
		from = prefixEnd(prefix)
	}
	if from == nil {
		return c.Last()
	}
	if k, v = c.Seek(from); k == nil {
		return c.Last()
	}
	return c.Prev()
}

// walkIn reports whether a walk's key k is still in its range. (The common
// case, a whole bucket without a bound, is checked inline.)
func walkIn(k, prefix, stop []byte, forward bool) bool {
	if len(prefix) == 0 && stop == nil {
		return k != nil
	}
	return walkInRange(k, prefix, stop, forward)
}

func walkInRange(k, prefix, stop []byte, forward bool) bool {
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return false
	}
	return stop == nil || forward && bytes.Compare(k, stop) < 0 || !forward && bytes.Compare(k, stop) > 0
}

// cursorKey appends prefix+id to buf, or is nil for no id.
func cursorKey(buf, prefix []byte, id string) []byte {
	if id == "" {
		return nil
	}
	return append(append(buf, prefix...), id...)
}

// stepper returns the cursor method that walks forward or backward.
func stepper(forward bool) func(*bolt.Cursor) ([]byte, []byte) {
	if forward {
		return (*bolt.Cursor).Next
	}
	return (*bolt.Cursor).Prev
}

// isBucket reports whether k names a nested bucket (never a listed object).
func isBucket(c *bolt.Cursor, k []byte) bool { return c.Bucket().Bucket(k) != nil }

// prefixEnd is the smallest key greater than every key with the prefix, or
// nil when there is none (no prefix, or all 0xff).
func prefixEnd(prefix []byte) []byte { return prefixEndIn(nil, prefix) }

// prefixEndIn is prefixEnd appended to buf.
func prefixEndIn(buf, prefix []byte) []byte {
	end := append(buf, prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// PageInfo describes the page a scan visited: the ids at its ends ("" when
// it is empty) and whether more items lie beyond it, exactly as the Page a
// List call with the same params would carry them. It owns its strings.
type PageInfo struct {
	FirstID string
	LastID  string
	HasMore bool
}

// pageRecord is one record of a page: its id (the key without the prefix)
// and its value, both the transaction's memory.
type pageRecord struct{ id, v []byte }

// pageBuffer returns room for the records of a page p selects: small, a
// caller's array on its stack sized for the default page, when it fits.
func pageBuffer(small []pageRecord, p apitype.ListParams) []pageRecord {
	if n := pageLimit(p); n > len(small) {
		return make([]pageRecord, n)
	}
	return small
}

// cutPage fills recs (room for pageLimit(p)) with the records of the page
// p selects from the keys under prefix, in list order, with the semantics
// of listWhere (unfiltered), and returns how many there are and has_more.
// A previous page (before=Y alone) is walked backwards and then reversed.
func cutPage(b *bolt.Bucket, prefix []byte, p apitype.ListParams, recs []pageRecord) (n int, hasMore bool) {
	limit := pageLimit(p)
	var afterBuf, beforeBuf [64]byte // cursor keys of usual size, on the stack
	start, stop := cursorKey(afterBuf[:0], prefix, p.After), cursorKey(beforeBuf[:0], prefix, p.Before)
	forward := p.Order == apitype.OrderAsc
	reverse := stop != nil && start == nil
	if reverse {
		start, stop, forward = stop, nil, !forward
	}
	c := b.Cursor()
	next := stepper(forward)
	for k, v := walkStart(c, prefix, forward, start); walkIn(k, prefix, stop, forward); k, v = next(c) {
		if v == nil && isBucket(c, k) {
			continue
		}
		if n == limit {
			hasMore = true
			break
		}
		recs[n] = pageRecord{k[len(prefix):], v}
		n++
	}
	if reverse {
		slices.Reverse(recs[:n])
	}
	return n, hasMore
}

// ownIDs copies a page's end ids out of the transaction's memory in one
// allocation.
func ownIDs(first, last []byte) (string, string) {
	b := make([]byte, len(first)+len(last))
	copy(b[copy(b, first):], last)
	s := unsafe.String(&b[0], len(b))
	return s[:len(first)], s[len(first):]
}
