package engine

import (
	"slices"

	"github.com/hearth-go/hearth/apitype"
)

// What a caller sees of a response depends on its include[], as in the
// hosted API: file_search_call items carry their results only when include
// names file_search_call.results. The stored response keeps them (the model
// reads them on a follow-up, and a later retrieve with include shows them).

// includes reports whether include names inc.
func includes(include []string, inc string) bool { return slices.Contains(include, inc) }

// responseFor is r as seen with include; r itself is not changed.
func responseFor(r *apitype.Response, include []string) *apitype.Response {
	if r == nil || includes(include, apitype.IncludeFileSearchResults) || !hasResults(r.Output) {
		return r
	}
	c := *r
	c.Output = itemsFor(r.Output, include)
	return &c
}

// itemsFor is items as seen with include, copied only where they change.
func itemsFor(items []apitype.Item, include []string) []apitype.Item {
	if includes(include, apitype.IncludeFileSearchResults) || !hasResults(items) {
		return items
	}
	out := make([]apitype.Item, len(items))
	for i, it := range items {
		out[i] = itemFor(it, include)
	}
	return out
}

func itemFor(it apitype.Item, include []string) apitype.Item {
	if c := it.FileSearchCall; c != nil && c.Results != nil && !includes(include, apitype.IncludeFileSearchResults) {
		h := *c
		h.Results = nil
		return apitype.ItemOf(&h)
	}
	return it
}

func hasResults(items []apitype.Item) bool {
	for _, it := range items {
		if it.FileSearchCall != nil && it.FileSearchCall.Results != nil {
			return true
		}
	}
	return false
}

// eventFor is ev as seen with include.
func eventFor(ev apitype.ResponseStreamEvent, include []string) apitype.ResponseStreamEvent {
	if ev.Response != nil {
		ev.Response = responseFor(ev.Response, include)
	}
	if ev.Item != nil && ev.Item.FileSearchCall != nil {
		it := itemFor(*ev.Item, include)
		ev.Item = &it
	}
	return ev
}
