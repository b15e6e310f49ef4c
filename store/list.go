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
	limit := p.Limit
	if limit <= 0 {
		limit = apitype.DefaultListLimit
	}
	limit = min(limit, apitype.MaxListLimit)
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

// walk visits keys under prefix in ascending (forward) or descending order,
// strictly after start and strictly before stop (in walking order), until fn
// returns false.
func walk(c *bolt.Cursor, prefix []byte, forward bool, start, stop []byte, fn func(k, v []byte) bool) {
	var k, v []byte
	switch {
	case forward && start == nil:
		if prefix == nil {
			k, v = c.First()
		} else {
			k, v = c.Seek(prefix)
		}
	case forward:
		k, v = c.Seek(start)
		if bytes.Equal(k, start) {
			k, v = c.Next()
		}
	default:
		from := start
		if from == nil {
			from = prefixEnd(prefix)
		}
		if from == nil {
			k, v = c.Last()
		} else if k, v = c.Seek(from); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = step(c, !forward) {
		if stop != nil && (forward && bytes.Compare(k, stop) >= 0 || !forward && bytes.Compare(k, stop) <= 0) {
			return
		}
		if v == nil && isBucket(c, k) {
			continue
		}
		if !fn(k, v) {
			return
		}
	}
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
