package engine

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// Default and cap of file_search results.
const (
	DefaultFileSearchResults = 20
)

// runFileSearch is the built-in file_search tool: it searches the vector
// stores of the assistant's and the thread's tool_resources, waiting for
// files still being ingested, and returns results behind source markers
// 【call:index†filename】 the answer can cite.
func (e *Engine) runFileSearch(ctx context.Context, call *ToolCall, ordinal int) (*ToolResult, error) {
	var ids []string
	for _, r := range []*apitype.ToolResources{assistantResources(call.Assistant), threadResources(call.Thread)} {
		if r != nil && r.FileSearch != nil {
			ids = append(ids, r.FileSearch.VectorStoreIDs...)
		}
	}
	if len(ids) == 0 {
		msg := "error: no vector store is attached to this assistant or thread, so there is nothing to search."
		return &ToolResult{Output: msg}, nil
	}
	max := DefaultFileSearchResults
	ranking := apitype.RankingOptions{Ranker: apitype.RankerAuto}
	if fs := call.Tool.FileSearch; fs != nil {
		if fs.MaxNumResults > 0 {
			max = fs.MaxNumResults
		}
		if fs.RankingOptions != nil {
			ranking = *fs.RankingOptions
		}
	}
	return e.searchStores(ctx, ids, decodeArgs(call.Arguments, "query"), max, ranking, nil, ordinal)
}

// searchStores searches vector stores for query (once the files being
// ingested are in) and returns the results behind the markers the answer
// cites: 【ordinal:index†filename】, ordinal being the search's among the
// execution's, or 【index†filename】 when it is negative. filter (nil: none)
// keeps the search to files whose attributes pass it.
func (e *Engine) searchStores(ctx context.Context, ids []string, query string, max int, ranking apitype.RankingOptions, filter *apitype.Filter, ordinal int) (*ToolResult, error) {
	for _, id := range ids {
		if _, err := e.VectorStores.Wait(ctx, id); err != nil && ctx.Err() != nil {
			return nil, err
		}
	}
	hits, err := e.search(ctx, ids, query, max, ranking, filter)
	if err != nil {
		return nil, err
	}
	res := &ToolResult{FileSearch: &apitype.FileSearchCall{RankingOptions: &ranking, Results: []apitype.FileSearchResult{}}, hits: hits}
	var b strings.Builder
	if len(hits) == 0 {
		b.WriteString("No results.")
	}
	for i, h := range hits {
		res.FileSearch.Results = append(res.FileSearch.Results, apitype.FileSearchResult{FileID: h.FileID, FileName: h.Filename,
			Score: h.Score, Content: []apitype.FileSearchText{{Type: "text", Text: h.Text}}})
		b.WriteString(searchHit(ordinal, i, h.Filename, h.Text))
	}
	res.Output = b.String()
	for _, id := range ids {
		e.touch(context.WithoutCancel(ctx), id)
	}
	return res, nil
}

// searchHit is one result as the model reads it, behind its marker.
func searchHit(ordinal, i int, filename, text string) string {
	if ordinal < 0 {
		return fmt.Sprintf("【%d†%s】\n%s\n\n", i, filename, text)
	}
	return fmt.Sprintf("【%d:%d†%s】\n%s\n\n", ordinal, i, filename, text)
}

func assistantResources(a *apitype.Assistant) *apitype.ToolResources {
	if a == nil {
		return nil
	}
	return a.ToolResources
}

func threadResources(t *apitype.Thread) *apitype.ToolResources {
	if t == nil {
		return nil
	}
	return t.ToolResources
}

var markerRE = regexp.MustCompile(`【(\d+)(?::(\d+))?†([^】]*)】`)

// citations turns the source markers in text into file_citation
// annotations, resolving each marker through the run's file_search results
// (call ordinal → results). Indices count characters (code points), as the
// hosted API's did; markers stay in the text, as they did there.
func citations(text string, searches [][]apitype.FileSearchResult) []apitype.Annotation {
	out := []apitype.Annotation{}
	for _, m := range markerRE.FindAllStringSubmatchIndex(text, -1) {
		call, _ := strconv.Atoi(text[m[2]:m[3]])
		idx := -1
		if m[4] >= 0 {
			idx, _ = strconv.Atoi(text[m[4]:m[5]])
		} else {
			// 【n†name】: n indexes the latest search.
			idx, call = call, len(searches)-1
		}
		name := text[m[6]:m[7]]
		fileID := resolveCitation(searches, call, idx, name)
		if fileID == "" {
			continue
		}
		start := utf8.RuneCountInString(text[:m[0]])
		out = append(out, apitype.Annotation{Type: apitype.AnnotationFileCitation, Text: text[m[0]:m[1]],
			StartIndex: start, EndIndex: start + utf8.RuneCountInString(text[m[0]:m[1]]),
			FileCitation: &apitype.FileCitation{FileID: fileID}})
	}
	return out
}

func resolveCitation(searches [][]apitype.FileSearchResult, call, idx int, name string) string {
	if call >= 0 && call < len(searches) && idx >= 0 && idx < len(searches[call]) {
		return searches[call][idx].FileID
	}
	// A model that garbles the numbers often keeps the name.
	for i := len(searches) - 1; i >= 0; i-- {
		for _, r := range searches[i] {
			if r.FileName == name {
				return r.FileID
			}
		}
	}
	return ""
}

// runSearches collects the results of the run's file_search calls in order.
func runSearches(tx store.Tx, r *apitype.Run) ([][]apitype.FileSearchResult, error) {
	var out [][]apitype.FileSearchResult
	after := ""
	for {
		page, err := tx.ListSteps(r.ThreadID, r.ID, apitype.ListParams{Limit: apitype.MaxListLimit, Order: apitype.OrderAsc, After: after})
		if err != nil {
			return nil, err
		}
		for _, s := range page.Data {
			for _, c := range s.StepDetails.ToolCalls {
				if c.FileSearch != nil {
					out = append(out, c.FileSearch.Results)
				}
			}
		}
		if !page.HasMore {
			return out, nil
		}
		after = *page.LastID
	}
}

// attachToThread adds files attached to a message to the thread's tool
// resources, as the hosted API did: code_interpreter attachments join the
// thread's code_interpreter files (so the code finds them in /mnt/data),
// file_search attachments go into the thread's vector store, made for the
// thread when it has none. It returns the vector store files to ingest.
func (e *Engine) attachToThread(tx store.Tx, th *apitype.Thread, param string, atts []apitype.Attachment) ([]*apitype.VectorStoreFile, error) {
	var ids []string
	changed := false
	for _, a := range atts {
		for _, t := range a.Tools {
			switch t.Type {
			case apitype.ToolTypeFileSearch:
				if !slices.Contains(ids, a.FileID) {
					ids = append(ids, a.FileID)
				}
			case apitype.ToolTypeCodeInterpreter:
				if th.ToolResources == nil {
					th.ToolResources = &apitype.ToolResources{}
				}
				ci := th.ToolResources.CodeInterpreter
				if ci == nil {
					ci = &apitype.CodeInterpreterResources{}
					th.ToolResources.CodeInterpreter = ci
				}
				if slices.Contains(ci.FileIDs, a.FileID) {
					continue
				}
				if len(ci.FileIDs) >= MaxCodeFiles {
					return nil, apitype.Invalid(param, "the thread's code_interpreter already has %d files, the most it can hold; remove some with threads.update before attaching %s.", len(ci.FileIDs), a.FileID)
				}
				ci.FileIDs = append(ci.FileIDs, a.FileID)
				changed = true
			}
		}
	}
	if len(ids) == 0 {
		if changed {
			return nil, tx.PutThread(th)
		}
		return nil, nil
	}
	if th.ToolResources == nil {
		th.ToolResources = &apitype.ToolResources{}
	}
	fs := th.ToolResources.FileSearch
	if fs == nil || len(fs.VectorStoreIDs) == 0 {
		now := e.now()
		v := &apitype.VectorStore{ID: e.newID(store.PrefixVectorStore), Object: apitype.ObjectVectorStore, CreatedAt: now,
			Name: "Vector store for " + th.ID, Status: apitype.StatusCompleted, LastActiveAt: &now, Metadata: apitype.Metadata{},
			ExpiresAfter: &apitype.ExpiresAfter{Anchor: "last_active_at", Days: 7}}
		setExpiry(v)
		if err := tx.PutVectorStore(v); err != nil {
			return nil, err
		}
		th.ToolResources.FileSearch = &apitype.FileSearchResources{VectorStoreIDs: []string{v.ID}}
		changed = true
	}
	if changed {
		if err := tx.PutThread(th); err != nil {
			return nil, err
		}
	}
	vsID := th.ToolResources.FileSearch.VectorStoreIDs[0]
	var fresh []string
	for _, id := range ids {
		if _, err := tx.GetVectorStoreFile(vsID, id); err != nil {
			fresh = append(fresh, id)
		}
	}
	files, err := e.attach(tx, vsID, "", fresh, nil, nil, "attachments")
	if err != nil {
		return nil, err
	}
	return files, e.recount(tx, vsID, "")
}

// createInlineStores makes the vector stores a tool_resources.file_search
// .vector_stores helper asks for and names them in vector_store_ids.
func (e *Engine) createInlineStores(tx store.Tx, r *apitype.ToolResources) ([]*apitype.VectorStoreFile, error) {
	if r == nil || r.FileSearch == nil || len(r.FileSearch.VectorStores) == 0 {
		return nil, nil
	}
	// r may share its FileSearch with the caller's params; work on a copy.
	fs := *r.FileSearch
	fs.VectorStoreIDs = slices.Clone(fs.VectorStoreIDs)
	r.FileSearch = &fs
	var all []*apitype.VectorStoreFile
	for i, h := range fs.VectorStores {
		param := fmt.Sprintf("tool_resources.file_search.vector_stores[%d]", i)
		if err := firstErr(checkFileIDs(param+".file_ids", h.FileIDs), checkChunking(param+".chunking_strategy", h.ChunkingStrategy),
			checkMetadata(param+".metadata", h.Metadata)); err != nil {
			return nil, err
		}
		now := e.now()
		v := &apitype.VectorStore{ID: e.newID(store.PrefixVectorStore), Object: apitype.ObjectVectorStore, CreatedAt: now,
			Status: apitype.StatusCompleted, LastActiveAt: &now, Metadata: orMeta(h.Metadata)}
		if err := tx.PutVectorStore(v); err != nil {
			return nil, err
		}
		files, err := e.attach(tx, v.ID, "", h.FileIDs, h.ChunkingStrategy, nil, param+".file_ids")
		if err != nil {
			return nil, err
		}
		if err := e.recount(tx, v.ID, ""); err != nil {
			return nil, err
		}
		all = append(all, files...)
		r.FileSearch.VectorStoreIDs = append(r.FileSearch.VectorStoreIDs, v.ID)
	}
	r.FileSearch.VectorStores = nil
	return all, nil
}
