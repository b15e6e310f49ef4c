package store

import (
	"bytes"
	"encoding/json"
	"slices"

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
	if from == nil {
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

// walkIn reports whether a walk's key k is still in its range.
func walkIn(k, prefix, stop []byte, forward bool) bool {
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return false
	}
	return stop == nil || forward && bytes.Compare(k, stop) < 0 || !forward && bytes.Compare(k, stop) > 0
}

// isBucket reports whether k names a nested bucket (never a listed object).
func isBucket(c *bolt.Cursor, k []byte) bool { return c.Bucket().Bucket(k) != nil }

// prefixEnd is the smallest key greater than every key with the prefix, or
// nil when there is none (no prefix, or all 0xff).
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
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

// scanPage visits the records of the page p selects in list order, with the
// semantics of listWhere (unfiltered), calling visit once per item, and
// returns the page's end ids (the transaction's memory) and has_more. Only
// a previous page (before=Y alone), which is walked backwards, is collected
// first, on the stack, to be visited in its real order. (The loops are
// written out, not walk's callback, so the cursor's keys stay in locals.)
func scanPage(b *bolt.Bucket, prefix []byte, p apitype.ListParams, visit func(id, v []byte) error) (first, last []byte, hasMore bool, err error) {
	limit := pageLimit(p)
	key := func(id string) []byte {
		if id == "" {
			return nil
		}
		return append(slices.Clip(prefix), id...)
	}
	asc := p.Order == apitype.OrderAsc
	c := b.Cursor()
	if p.Before != "" && p.After == "" {
		var stack [apitype.MaxListLimit]pageRecord
		n := 0
		for k, v := walkStart(c, prefix, !asc, key(p.Before)); walkIn(k, prefix, nil, !asc); k, v = step(c, asc) {
			if v == nil && isBucket(c, k) {
				continue
			}
			if n == limit {
				hasMore = true
				break
			}
			stack[n] = pageRecord{k[len(prefix):], v}
			n++
		}
		for i := n - 1; i >= 0; i-- {
			if err := visit(stack[i].id, stack[i].v); err != nil {
				return nil, nil, false, err
			}
		}
		if n > 0 {
			first, last = stack[n-1].id, stack[0].id
		}
		return first, last, hasMore, nil
	}
	n, stop := 0, key(p.Before)
	for k, v := walkStart(c, prefix, asc, key(p.After)); walkIn(k, prefix, stop, asc); k, v = step(c, !asc) {
		if v == nil && isBucket(c, k) {
			continue
		}
		if n == limit {
			hasMore = true
			break
		}
		id := k[len(prefix):]
		if err := visit(id, v); err != nil {
			return nil, nil, false, err
		}
		if n == 0 {
			first = id
		}
		last = id
		n++
	}
	return first, last, hasMore, nil
}

// ownIDs copies a page's end ids out of the transaction's memory in one
// allocation.
func ownIDs(first, last []byte) (string, string) {
	if first == nil {
		return "", ""
	}
	s := string(first) + string(last) // no temporary copies
	return s[:len(first)], s[len(first):]
}
