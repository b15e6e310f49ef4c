package engine

import (
	"slices"

	"github.com/hearth-go/hearth/apitype"
)

// What a caller sees of a response depends on its include[], as in the
// hosted API: file_search_call items carry their results only when include
// names file_search_call.results, code_interpreter_call items their
// outputs only when it names code_interpreter_call.outputs. The stored
// response keeps them (the model reads them on a follow-up, and a later
// retrieve with include shows them).

// includes reports whether include names inc.
func includes(include []string, inc string) bool { return slices.Contains(include, inc) }

// responseFor is r as seen with include; r itself is not changed.
func responseFor(r *apitype.Response, include []string) *apitype.Response {
	if r == nil || !hidden(r.Output, include) {
		return r
	}
	c := *r
	c.Output = itemsFor(r.Output, include)
	return &c
}

// itemsFor is items as seen with include, copied only where they change.
func itemsFor(items []apitype.Item, include []string) []apitype.Item {
	if !hidden(items, include) {
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
	if c := it.CodeInterpreterCall; c != nil && c.Outputs != nil && !includes(include, apitype.IncludeCodeInterpreterOutputs) {
		h := *c
		h.Outputs = nil
		return apitype.ItemOf(&h)
	}
	return it
}

// hidden reports whether include hides part of any of items.
func hidden(items []apitype.Item, include []string) bool {
	for _, it := range items {
		if it.FileSearchCall != nil && it.FileSearchCall.Results != nil && !includes(include, apitype.IncludeFileSearchResults) ||
			it.CodeInterpreterCall != nil && it.CodeInterpreterCall.Outputs != nil && !includes(include, apitype.IncludeCodeInterpreterOutputs) {
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
	if ev.Item != nil && (ev.Item.FileSearchCall != nil || ev.Item.CodeInterpreterCall != nil) {
		it := itemFor(*ev.Item, include)
		ev.Item = &it
	}
	return ev
}
