package engine

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/store"
)

// The file_search tool of the Responses API: the model's query searches
// the tool's vector stores, the call and its results become a
// file_search_call output item (streamed as
// response.file_search_call.in_progress / searching / completed), the model
// reads the results behind markers, and the answer's markers become
// file_citation annotations.

// prefixFileSearchCall is the id prefix of file_search_call items.
const prefixFileSearchCall = "fs_"

// fileSearchToolOf is the response's file_search tool, if it has one.
func fileSearchToolOf(r *apitype.Response) *apitype.ResponseTool {
	for i := range r.Tools {
		if r.Tools[i].Type == apitype.ToolTypeFileSearch {
			return &r.Tools[i]
		}
	}
	return nil
}

// checkFileSearchTools refuses what the file_search tools of a request
// name but the store does not hold, or holds expired: a clear 4xx, nothing
// written. (Their
// filters were checked with the request; one on an attribute no file has
// is valid and matches nothing.)
func (e *Engine) checkFileSearchTools(tx store.Tx, tools []apitype.ResponseTool) error {
	for i, t := range tools {
		if t.Type != apitype.ToolTypeFileSearch {
			continue
		}
		for j, id := range t.VectorStoreIDs {
			param := fmt.Sprintf("tools[%d].vector_store_ids[%d]", i, j)
			v, err := tx.GetVectorStore(id)
			if err != nil {
				if e, ok := err.(*apitype.Error); ok {
					c := *e
					c.Param = param
					return &c
				}
				return err
			}
			if e.markExpired(v); v.Status == apitype.StatusExpired {
				return apitype.Invalid(param, "Vector store %s has expired and cannot be searched.", id)
			}
		}
	}
	return nil
}

// runFileSearch runs one file_search call of the reply as an output item.
func (x *responseRun) runFileSearch(call llm.ToolCall) error {
	tool := fileSearchToolOf(x.resp)
	query := decodeArgs(call.Arguments, "query")
	it := &apitype.FileSearchCallItem{ID: x.e.newID(prefixFileSearchCall), Queries: []string{query}, Status: "in_progress"}
	idx := len(x.resp.Output)
	x.resp.Output = append(x.resp.Output, apitype.ItemOf(it))
	added := cloneItem(x.resp.Output[idx])
	x.log.publish(
		apitype.ResponseStreamEvent{Type: apitype.EventOutputItemAdded, OutputIndex: idx, Item: &added},
		apitype.ResponseStreamEvent{Type: apitype.EventFileSearchCallInProgress, ItemID: it.ID, OutputIndex: idx},
		apitype.ResponseStreamEvent{Type: apitype.EventFileSearchCallSearching, ItemID: it.ID, OutputIndex: idx})
	max, ranking := DefaultFileSearchResults, apitype.RankingOptions{Ranker: apitype.RankerAuto}
	if tool != nil {
		if tool.MaxNumResults != nil {
			max = *tool.MaxNumResults
		}
		if r := tool.RankingOptions; r != nil {
			if r.Ranker != "" {
				ranking.Ranker = r.Ranker
			}
			if r.ScoreThreshold != nil {
				ranking.ScoreThreshold = *r.ScoreThreshold
			}
		}
	}
	var ids []string
	var filter *apitype.Filter
	if tool != nil {
		ids, filter = tool.VectorStoreIDs, tool.Filters
	}
	res, err := x.e.searchStores(x.ctx, ids, query, max, ranking, filter, x.searchOrdinal(idx))
	if err != nil {
		if x.ctx.Err() != nil {
			return x.ctx.Err()
		}
		it.Status = "failed"
		x.e.log.LogAttrs(x.ctx, 0, "file search failed", x.ids()...)
	} else {
		it.Status = "completed"
		it.Results = []apitype.FileSearchCallResult{}
		for _, h := range res.hits {
			it.Results = append(it.Results, apitype.FileSearchCallResult{FileID: h.FileID, Filename: h.Filename, Score: h.Score,
				Text: h.Text, Attributes: orAttrs(h.Attributes)})
		}
	}
	x.resp.Output[idx] = apitype.ItemOf(it)
	done := cloneItem(x.resp.Output[idx])
	x.log.publish(
		apitype.ResponseStreamEvent{Type: apitype.EventFileSearchCallCompleted, ItemID: it.ID, OutputIndex: idx},
		apitype.ResponseStreamEvent{Type: apitype.EventOutputItemDone, OutputIndex: idx, Item: &done})
	x.builtinCalls++
	return nil
}

// searchOrdinal is the number of file_search calls before output index
// idx: the ordinal its results' markers carry.
func (x *responseRun) searchOrdinal(idx int) int {
	n := 0
	for _, it := range x.resp.Output[:idx] {
		if it.FileSearchCall != nil {
			n++
		}
	}
	return n
}

// searches are the response's file_search results so far, by ordinal.
func (x *responseRun) searches() [][]apitype.FileSearchResult {
	var out [][]apitype.FileSearchResult
	for _, it := range x.resp.Output {
		if c := it.FileSearchCall; c != nil {
			rs := make([]apitype.FileSearchResult, len(c.Results))
			for i, r := range c.Results {
				rs[i] = apitype.FileSearchResult{FileID: r.FileID, FileName: r.Filename}
			}
			out = append(out, rs)
		}
	}
	return out
}

// outputCitations are the file_citation annotations of text, its markers
// resolved through the response's searches; Index counts characters up to
// the marker's end, where the hosted API places a citation.
func (x *responseRun) outputCitations(text string) []apitype.OutputAnnotation {
	out := []apitype.OutputAnnotation{}
	searches := x.searches()
	if len(searches) == 0 || !strings.Contains(text, "】") {
		return out
	}
	for _, a := range citations(text, searches) {
		name := ""
		for _, s := range searches {
			for _, r := range s {
				if r.FileID == a.FileCitation.FileID {
					name = r.FileName
				}
			}
		}
		out = append(out, apitype.OutputAnnotation{Type: apitype.AnnotationFileCitation, FileID: a.FileCitation.FileID,
			Filename: name, Index: a.EndIndex})
	}
	return out
}

// fileSearchText is what the model reads of a file_search_call: its
// results behind their markers (ordinal: the call's among the response's,
// negative for an earlier response's, whose markers cannot be cited).
func fileSearchText(c *apitype.FileSearchCallItem, ordinal int) string {
	if c.Status == "failed" {
		return "error: the search failed."
	}
	if len(c.Results) == 0 {
		return "No results."
	}
	var b strings.Builder
	for i, r := range c.Results {
		b.WriteString(searchHit(ordinal, i, r.Filename, r.Text))
	}
	return b.String()
}

// fileSearchMessages are a file_search_call as the model's call and the
// tool's answer (text: the results, as fitted).
func fileSearchMessages(c *apitype.FileSearchCallItem, text string) []llm.Message {
	q := ""
	if len(c.Queries) > 0 {
		q = c.Queries[0]
	}
	args, _ := json.Marshal(map[string]string{"query": q})
	return []llm.Message{
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: c.ID, Name: string(apitype.ToolTypeFileSearch), Arguments: args}}},
		{Role: llm.RoleTool, ToolCallID: c.ID, ToolName: string(apitype.ToolTypeFileSearch), Content: text},
	}
}
