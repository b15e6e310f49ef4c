package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
)

// newResponse is a stored response's head as the engine makes it.
func newResponse(id string, status apitype.ResponseStatus, prev string) *apitype.Response {
	r := apitype.NewResponse(id, 1, &apitype.ResponseCreateParams{Model: "m"})
	r.Status = status
	if prev != "" {
		r.PreviousResponseID = &prev
	}
	return &r
}

// respItems are n user messages named <name>_in_<i>, with token counts
// 100+i.
func respItems(name string, n int) ([]apitype.Item, []int) {
	items, tokens := make([]apitype.Item, n), make([]int, n)
	for i := range n {
		items[i] = convMessage(fmt.Sprintf("msg_%s_in_%03d", name, i), fmt.Sprintf("%s input %d", name, i))
		tokens[i] = 100 + i
	}
	return items, tokens
}

func assistantItem(id, text string) apitype.Item {
	return apitype.ItemOf(&apitype.MessageItem{ID: id, Type: apitype.ItemMessage, Role: apitype.RoleAssistant,
		Status: apitype.ItemCompleted, Content: []apitype.ContentPart{apitype.OutputText(text)}})
}

func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func liveResponses(t *testing.T, s *Store) []string {
	t.Helper()
	var ids []string
	view(t, s, func(tx Tx) error {
		return tx.LiveResponses(func(id string) error { ids = append(ids, id); return nil })
	})
	slices.Sort(ids)
	return ids
}

// TestResponseRecords: a response is stored with its input, rewritten with
// its output as it grows, indexed as live while queued or in progress, and
// read back whole; bad writes are refused.
func TestResponseRecords(t *testing.T) {
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	id := gen.New(PrefixResponse)
	code := "print(1)"
	input := []apitype.Item{
		convMessage("msg_a", "hello"),
		apitype.ItemOf(&apitype.FunctionCallOutputItem{ID: "fco_a", CallID: "call_1", Output: apitype.FunctionCallOutput{Text: "sunny"}, Status: apitype.ItemCompleted}),
		apitype.ItemOf(&apitype.CodeInterpreterCallItem{ID: "ci_1", Code: &code, ContainerID: "cntr_1", Status: apitype.ItemCompleted}),
	}
	r := newResponse(id, apitype.ResponseQueued, "")
	r.Metadata = apitype.Metadata{"k": "v"}
	update(t, s, func(tx Tx) error { return tx.CreateResponse(r, input, []int{3, 5, 7}) })
	if got := liveResponses(t, s); !slices.Equal(got, []string{id}) {
		t.Fatalf("live %v", got)
	}
	view(t, s, func(tx Tx) error {
		got, err := tx.GetResponse(id)
		if err != nil || got.ID != id || got.Status != apitype.ResponseQueued || got.Metadata["k"] != "v" || got.Output == nil || len(got.Output) != 0 {
			return fmt.Errorf("GetResponse %+v %v", got, err)
		}
		if ok, err := tx.HasResponse(id); !ok || err != nil {
			return fmt.Errorf("HasResponse(stored) = %v, %v", ok, err)
		}
		if ok, err := tx.HasResponse(gen.New(PrefixResponse)); ok || err != nil {
			return fmt.Errorf("HasResponse(unknown) = %v, %v", ok, err)
		}
		for _, desc := range []bool{false, true} {
			var ids []string
			var tokens []int
			if err := tx.ResponseInput(id, desc, func(it *apitype.Item, n int) (bool, error) {
				ids, tokens = append(ids, it.ID()), append(tokens, n)
				return true, nil
			}); err != nil {
				return err
			}
			want, wantTokens := []string{"msg_a", "fco_a", "ci_1"}, []int{3, 5, 7}
			if desc {
				slices.Reverse(want)
				slices.Reverse(wantTokens)
			}
			if !slices.Equal(ids, want) || !slices.Equal(tokens, wantTokens) {
				return fmt.Errorf("ResponseInput desc=%v: %v %v", desc, ids, tokens)
			}
		}
		var seen []apitype.Item
		if err := tx.ResponseInput(id, false, func(it *apitype.Item, _ int) (bool, error) { seen = append(seen, *it); return true, nil }); err != nil {
			return err
		}
		if a, b := jsonOf(input), jsonOf(seen); a != b {
			return fmt.Errorf("input round trip: wrote %s, read %s", a, b)
		}
		// Stopping early stops.
		n := 0
		if err := tx.ResponseInput(id, false, func(*apitype.Item, int) (bool, error) { n++; return false, nil }); err != nil || n != 1 {
			return fmt.Errorf("early stop: %d %v", n, err)
		}
		return nil
	})

	// Refused, writing nothing: the same id again, token counts that do
	// not match the items.
	if err := s.Update(context.Background(), func(tx Tx) error { return tx.CreateResponse(r, input, []int{1, 2, 3}) }); !errors.Is(err, apitype.ErrConflict) {
		t.Fatalf("create again: %v", err)
	}
	other := newResponse(gen.New(PrefixResponse), apitype.ResponseQueued, "")
	if err := s.Update(context.Background(), func(tx Tx) error { return tx.CreateResponse(other, input, []int{1}) }); err == nil {
		t.Fatal("create with 1 count for 3 items")
	}
	view(t, s, func(tx Tx) error {
		if ok, err := tx.HasResponse(other.ID); ok || err != nil {
			return fmt.Errorf("refused response stored: %v, %v", ok, err)
		}
		return nil
	})

	// In progress with a partial output, then completed with its final one.
	r.Status = apitype.ResponseInProgress
	r.Output = []apitype.Item{assistantItem("msg_out1", "par")}
	update(t, s, func(tx Tx) error { return tx.PutResponse(r, []int{1}) })
	if got := liveResponses(t, s); !slices.Equal(got, []string{id}) {
		t.Fatalf("live while in progress %v", got)
	}
	if err := s.Update(context.Background(), func(tx Tx) error { return tx.PutResponse(r, []int{1, 2}) }); err == nil {
		t.Fatal("put with 2 counts for 1 output item")
	}
	r.Status = apitype.ResponseCompleted
	r.Output = []apitype.Item{assistantItem("msg_out1", "Paris"), assistantItem("msg_out2", "is the capital.")}
	update(t, s, func(tx Tx) error { return tx.PutResponse(r, []int{4, 6}) })
	if got := liveResponses(t, s); len(got) != 0 {
		t.Fatalf("live after completion %v", got)
	}
	// A head-only rewrite (nil tokens) keeps the output.
	r.Metadata = apitype.Metadata{"k": "w"}
	head := *r
	head.Output = nil
	update(t, s, func(tx Tx) error { return tx.PutResponse(&head, nil) })
	view(t, s, func(tx Tx) error {
		got, err := tx.GetResponse(id)
		if err != nil {
			return err
		}
		if got.Status != apitype.ResponseCompleted || got.Metadata["k"] != "w" || jsonOf(got.Output) != jsonOf(r.Output) {
			return fmt.Errorf("completed response %+v", got)
		}
		// The output's counts were replaced, not added to: two records.
		var tokens []int
		err = tx.(*boltTx).eachResponseItem(id, rOutput, false, func(_ *apitype.Item, n int) (bool, error) { tokens = append(tokens, n); return true, nil })
		if err != nil || !slices.Equal(tokens, []int{4, 6}) {
			return fmt.Errorf("output tokens %v %v", tokens, err)
		}
		if _, err := tx.GetResponse(gen.New(PrefixResponse)); !errors.Is(err, apitype.ErrNotFound) {
			return fmt.Errorf("unknown response: %v", err)
		}
		return nil
	})
	// Back to live (a resumed response) and off again by status alone.
	r.Status = apitype.ResponseQueued
	update(t, s, func(tx Tx) error { return tx.PutResponse(r, nil) })
	if got := liveResponses(t, s); !slices.Equal(got, []string{id}) {
		t.Fatalf("live after requeue %v", got)
	}
	r.Status = apitype.ResponseFailed
	update(t, s, func(tx Tx) error { return tx.PutResponse(r, nil) })
	if got := liveResponses(t, s); len(got) != 0 {
		t.Fatalf("live after failure %v", got)
	}
}

// historyIDs walks ResponseHistory from id, returning the item ids seen
// and their token counts, stopping after limit items (0: no limit).
func historyIDs(t *testing.T, s *Store, id string, limit int) ([]string, []int) {
	t.Helper()
	var ids []string
	var tokens []int
	view(t, s, func(tx Tx) error {
		return tx.ResponseHistory(id, func(it *apitype.Item, n int) (bool, error) {
			ids, tokens = append(ids, it.ID()), append(tokens, n)
			return limit == 0 || len(ids) < limit, nil
		})
	})
	return ids, tokens
}

// TestResponseHistoryChain: the history a response carries is its output
// then its input, newest first, then its previous response's, back to the
// chain's start; a walk stops when told; a deleted response ends the chain.
func TestResponseHistoryChain(t *testing.T) {
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	var ids []string
	var want []string
	for i := range 4 {
		id := gen.New(PrefixResponse)
		prev := ""
		if i > 0 {
			prev = ids[i-1]
		}
		in, tokens := respItems(fmt.Sprint(i), 2)
		r := newResponse(id, apitype.ResponseInProgress, prev)
		update(t, s, func(tx Tx) error {
			if err := tx.CreateResponse(r, in, tokens); err != nil {
				return err
			}
			r.Status = apitype.ResponseCompleted
			r.Output = []apitype.Item{assistantItem(fmt.Sprintf("msg_%d_out_0", i), "a"), assistantItem(fmt.Sprintf("msg_%d_out_1", i), "b")}
			return tx.PutResponse(r, []int{10, 11})
		})
		ids = append(ids, id)
		want = append([]string{fmt.Sprintf("msg_%d_out_1", i), fmt.Sprintf("msg_%d_out_0", i), fmt.Sprintf("msg_%d_in_001", i), fmt.Sprintf("msg_%d_in_000", i)}, want...)
	}
	got, tokens := historyIDs(t, s, ids[3], 0)
	if !slices.Equal(got, want) {
		t.Fatalf("history\n%v\nwant\n%v", got, want)
	}
	if !slices.Equal(tokens[:4], []int{11, 10, 101, 100}) {
		t.Fatalf("tokens %v", tokens)
	}
	// From the middle of the chain: what came after it is not history.
	if got, _ := historyIDs(t, s, ids[1], 0); !slices.Equal(got, want[8:]) {
		t.Fatalf("history of the second %v", got)
	}
	// Stopping inside a response's output, and inside its input.
	for _, limit := range []int{1, 3, 6} {
		if got, _ := historyIDs(t, s, ids[3], limit); !slices.Equal(got, want[:limit]) {
			t.Fatalf("history stopped at %d: %v", limit, got)
		}
	}
	// An unknown id has no history.
	if got, _ := historyIDs(t, s, gen.New(PrefixResponse), 0); len(got) != 0 {
		t.Fatalf("unknown response's history %v", got)
	}
	// Deleting the second ends the chain of the fourth after the third.
	update(t, s, func(tx Tx) error { return tx.DeleteResponse(ids[1]) })
	if got, _ := historyIDs(t, s, ids[3], 0); !slices.Equal(got, want[:8]) {
		t.Fatalf("history after deleting the second %v", got)
	}
}

// TestResponseInputItemPages pages a response's input both ways, from
// either end and from after and before cursors.
func TestResponseInputItemPages(t *testing.T) {
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	id := gen.New(PrefixResponse)
	const n = 25
	in, tokens := respItems("p", n)
	update(t, s, func(tx Tx) error {
		return tx.CreateResponse(newResponse(id, apitype.ResponseCompleted, ""), in, tokens)
	})
	// A neighbour with the same item ids: its keys must not show.
	update(t, s, func(tx Tx) error {
		return tx.CreateResponse(newResponse(gen.New(PrefixResponse), apitype.ResponseCompleted, ""), in, tokens)
	})
	name := func(i int) string { return fmt.Sprintf("msg_p_in_%03d", i) }
	span := func(from, to int) []string { // from..to inclusive, either way
		var out []string
		for i := from; ; {
			out = append(out, name(i))
			if i == to {
				return out
			}
			if from < to {
				i++
			} else {
				i--
			}
		}
	}
	cases := []struct {
		p       apitype.ListParams
		want    []string
		hasMore bool
	}{
		{apitype.ListParams{Limit: 10, Order: apitype.OrderAsc}, span(0, 9), true},
		{apitype.ListParams{Limit: 10, Order: apitype.OrderDesc}, span(24, 15), true},
		{apitype.ListParams{Limit: 10, Order: apitype.OrderAsc, After: name(9)}, span(10, 19), true},
		{apitype.ListParams{Limit: 10, Order: apitype.OrderAsc, After: name(19)}, span(20, 24), false},
		{apitype.ListParams{Limit: 10, Order: apitype.OrderDesc, After: name(15)}, span(14, 5), true},
		{apitype.ListParams{Limit: 10, Order: apitype.OrderDesc, After: name(5)}, span(4, 0), false},
		{apitype.ListParams{Limit: 5, Order: apitype.OrderAsc, After: name(24)}, nil, false},
		{apitype.ListParams{Limit: 5, Order: apitype.OrderDesc, After: name(0)}, nil, false},
		{apitype.ListParams{Limit: 25, Order: apitype.OrderAsc}, span(0, 24), false},
		{apitype.ListParams{Order: apitype.OrderDesc}, span(24, 5), true}, // the default limit, 20
		{apitype.ListParams{Limit: 10, Order: apitype.OrderAsc, After: name(3), Before: name(8)}, span(4, 7), false},
		{apitype.ListParams{Limit: 10, Order: apitype.OrderDesc, After: name(20), Before: name(16)}, span(19, 17), false},
		{apitype.ListParams{Limit: 3, Order: apitype.OrderAsc, After: name(3), Before: name(20)}, span(4, 6), true},
		{apitype.ListParams{Limit: 10, Order: apitype.OrderAsc, Before: name(4)}, span(0, 3), false},
	}
	view(t, s, func(tx Tx) error {
		for _, c := range cases {
			page, err := tx.ListResponseInputItems(id, c.p)
			if err != nil {
				return fmt.Errorf("%+v: %v", c.p, err)
			}
			got := itemIDs(page.Data)
			if !slices.Equal(got, c.want) || page.HasMore != c.hasMore {
				return fmt.Errorf("%+v: %v has_more %v, want %v %v", c.p, got, page.HasMore, c.want, c.hasMore)
			}
			if len(got) > 0 && (page.FirstID == nil || *page.FirstID != got[0] || page.LastID == nil || *page.LastID != got[len(got)-1]) {
				return fmt.Errorf("%+v: first %v last %v", c.p, page.FirstID, page.LastID)
			}
			if len(got) == 0 && (page.FirstID != nil || page.LastID != nil || page.Data == nil) {
				return fmt.Errorf("%+v: empty page %+v", c.p, page)
			}
		}
		// Walking every page by its last id gives every item once.
		for _, order := range []string{apitype.OrderAsc, apitype.OrderDesc} {
			var all []string
			p := apitype.ListParams{Limit: 7, Order: order}
			for {
				page, err := tx.ListResponseInputItems(id, p)
				if err != nil {
					return err
				}
				all = append(all, itemIDs(page.Data)...)
				if !page.HasMore {
					break
				}
				p.After = *page.LastID
			}
			want := span(0, n-1)
			if order == apitype.OrderDesc {
				want = span(n-1, 0)
			}
			if !slices.Equal(all, want) {
				return fmt.Errorf("%s pages %v", order, all)
			}
		}
		// Cursors that name no input item, and an unknown response.
		for _, p := range []apitype.ListParams{{After: "msg_nope"}, {Before: "msg_nope"}} {
			var e *apitype.Error
			_, err := tx.ListResponseInputItems(id, p)
			want := "after"
			if p.Before != "" {
				want = "before"
			}
			if !errors.As(err, &e) || !errors.Is(err, apitype.ErrInvalidRequest) || e.Param != want {
				return fmt.Errorf("cursor %+v: %v", p, err)
			}
		}
		if _, err := tx.ListResponseInputItems(gen.New(PrefixResponse), apitype.ListParams{}); !errors.Is(err, apitype.ErrNotFound) {
			return fmt.Errorf("unknown response: %v", err)
		}
		return nil
	})
}

// TestDeleteResponseLeavesNoKeys: deleting a response removes its record,
// its live entry and every key it had in response_data (input, output,
// input index, chain link), and nothing of its neighbours'.
func TestDeleteResponseLeavesNoKeys(t *testing.T) {
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	first, doomed, last := gen.New(PrefixResponse), gen.New(PrefixResponse), gen.New(PrefixResponse)
	for i, id := range []string{first, doomed, last} {
		prev := ""
		if i > 0 {
			prev = first
		}
		in, tokens := respItems(id, 5)
		r := newResponse(id, apitype.ResponseInProgress, prev)
		update(t, s, func(tx Tx) error {
			if err := tx.CreateResponse(r, in, tokens); err != nil {
				return err
			}
			r.Output = []apitype.Item{assistantItem("msg_o1", "a"), assistantItem("msg_o2", "b"), assistantItem("msg_o3", "c")}
			return tx.PutResponse(r, []int{1, 2, 3})
		})
	}
	keys := func() map[string]int {
		n := map[string]int{}
		view(t, s, func(tx Tx) error {
			for _, b := range [][]byte{bResponses, bResponseData, bLiveResps} {
				n[string(b)] = tx.(*boltTx).tx.Bucket(b).Stats().KeyN
			}
			return nil
		})
		return n
	}
	before := keys()
	update(t, s, func(tx Tx) error { return tx.DeleteResponse(doomed) })
	after := keys()
	// doomed had 5 input records, 5 index entries, 3 output records and
	// its chain link.
	want := map[string]int{"responses": before["responses"] - 1, "response_data": before["response_data"] - 14,
		"live_responses": before["live_responses"] - 1}
	if !reflect.DeepEqual(after, want) {
		t.Fatalf("keys after delete %v, want %v (before %v)", after, want, before)
	}
	view(t, s, func(tx Tx) error {
		for _, b := range [][]byte{bResponses, bResponseData, bLiveResps} {
			c := tx.(*boltTx).tx.Bucket(b).Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				if bytes.HasPrefix(k, []byte(doomed)) {
					return fmt.Errorf("%s keeps key %q", b, k)
				}
			}
		}
		if _, err := tx.GetResponse(doomed); !errors.Is(err, apitype.ErrNotFound) {
			return fmt.Errorf("deleted response: %v", err)
		}
		for _, id := range []string{first, last} {
			r, err := tx.GetResponse(id)
			if err != nil || len(r.Output) != 3 {
				return fmt.Errorf("neighbour %s: %+v %v", id, r, err)
			}
			page, err := tx.ListResponseInputItems(id, apitype.ListParams{Limit: 10})
			if err != nil || len(page.Data) != 5 {
				return fmt.Errorf("neighbour %s input: %v %v", id, itemIDs(page.Data), err)
			}
		}
		return nil
	})
	if got := liveResponses(t, s); !slices.Equal(got, []string{first, last}) {
		t.Fatalf("live after delete %v", got)
	}
	if got, _ := historyIDs(t, s, last, 0); len(got) != 16 {
		t.Fatalf("the last response's chain to the first: %v", got)
	}
	if err := s.Update(context.Background(), func(tx Tx) error { return tx.DeleteResponse(doomed) }); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("delete again: %v", err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestPlainMessageDecode: the store's fast reader of text messages makes
// exactly what the strict decoder makes of every record it takes, takes
// the plain text messages prompts read by the thousand, and leaves every
// other record to the strict decoder.
func TestPlainMessageDecode(t *testing.T) {
	msg := func(role apitype.Role, status string, parts ...apitype.ContentPart) apitype.Item {
		return apitype.ItemOf(&apitype.MessageItem{ID: "msg_1", Role: role, Status: status, Content: parts})
	}
	phase := "final_answer"
	withAnnotation := apitype.OutputText("see [1]")
	withAnnotation.Annotations = []apitype.OutputAnnotation{{Type: apitype.AnnotationFileCitation, FileID: "file-1", Filename: "a.txt", Index: 4}}
	withLogprobs := apitype.OutputText("4")
	withLogprobs.Logprobs = []apitype.Logprob{{Token: "4", Bytes: []int{52}, Logprob: -0.1, TopLogprobs: []apitype.TopLogprob{}}}
	texts := []string{"", "hello", "two\nlines\tand \"quotes\" and \\ backslash", "<b>&amp;</b>", "héllo wörld — ✓ 🎉",
		"\u2028\u2029 and \x01 control", "\ufffd", `{"type":"message"}`, strings.Repeat("long text ", 500)}
	var plain []apitype.Item
	for _, text := range texts {
		plain = append(plain,
			msg(apitype.RoleUser, apitype.ItemCompleted, apitype.InputText(text)),
			msg(apitype.RoleAssistant, apitype.ItemCompleted, apitype.OutputText(text)),
			msg(apitype.RoleSystem, "", apitype.InputText(text)),
			msg(apitype.RoleDeveloper, apitype.ItemInProgress, apitype.InputText(text), apitype.InputText(text)))
	}
	plain = append(plain, msg(apitype.RoleUser, apitype.ItemIncomplete), msg(apitype.RoleAssistant, apitype.ItemCompleted),
		apitype.ItemOf(&apitype.MessageItem{Role: apitype.RoleUser, Content: []apitype.ContentPart{apitype.InputText("no id")}}))
	url := "https://example.com/a.png"
	others := []apitype.Item{
		msg(apitype.RoleAssistant, apitype.ItemCompleted, withAnnotation),
		msg(apitype.RoleAssistant, apitype.ItemCompleted, withLogprobs),
		msg(apitype.RoleAssistant, apitype.ItemCompleted, apitype.ContentPart{Type: apitype.PartRefusal, Refusal: "no"}),
		msg(apitype.RoleAssistant, apitype.ItemCompleted, apitype.OutputText("a"), apitype.ContentPart{Type: apitype.PartRefusal, Refusal: "no"}),
		msg(apitype.RoleUser, apitype.ItemCompleted, apitype.InputText("look"), apitype.ContentPart{Type: apitype.PartInputImage, ImageURL: &url}),
		apitype.ItemOf(&apitype.MessageItem{ID: "msg_2", Role: apitype.RoleAssistant, Status: apitype.ItemCompleted, Phase: &phase,
			Content: []apitype.ContentPart{apitype.OutputText("done")}}),
		apitype.ItemOf(&apitype.FunctionCallItem{ID: "fc_1", CallID: "call_1", Name: "f", Arguments: "{}", Status: apitype.ItemCompleted}),
		apitype.ItemOf(&apitype.FunctionCallOutputItem{ID: "fco_1", CallID: "call_1", Output: apitype.FunctionCallOutput{Text: "sunny"}}),
		apitype.ItemOf(&apitype.ReasoningItem{ID: "rs_1", Summary: []apitype.ContentPart{{Type: apitype.PartSummaryText, Text: "think"}}}),
	}
	strict := func(b []byte) *apitype.Item {
		var it apitype.Item
		if err := json.Unmarshal(b, &it); err != nil {
			t.Fatalf("strict decode of %s: %v", b, err)
		}
		return &it
	}
	scratch := new(plainItem)
	three, _ := json.Marshal(msg(apitype.RoleUser, "", apitype.InputText("a"), apitype.InputText("b"), apitype.InputText("c")))
	if _, ok := plainMessage(three, scratch, true); !ok {
		t.Fatalf("plainMessage refused %s", three)
	}
	for i, it := range append(plain, others...) {
		b, err := json.Marshal(it)
		if err != nil {
			t.Fatal(err)
		}
		m, ok := plainMessage(b, new(plainItem), false)
		if want := i < len(plain); ok != want {
			t.Fatalf("plainMessage took %s: %v, want %v", b, ok, want)
		}
		want := strict(b)
		got, err := unmarshalItem(b)
		if err != nil {
			t.Fatalf("unmarshalItem %s: %v", b, err)
		}
		if ok && !reflect.DeepEqual(m, want) || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: read %+v, the strict decoder %+v", b, got.AsAny(), want.AsAny())
		}
		// Lent into a scratch already used (with more parts than this).
		lent, ok := plainMessage(b, scratch, true)
		if ok != (i < len(plain)) || ok && !reflect.DeepEqual(lent, want) {
			t.Fatalf("%s: lent %+v, the strict decoder %+v", b, lent, want.AsAny())
		}
	}
	// Records that are not what json.Marshal writes are left to the strict
	// decoder (which refuses the broken ones as it always did).
	for _, b := range []string{
		`{"type":"message","role":"user","content":[{"type":"input_text","text":"a"}]}`[:40],
		`{"id":"m","type":"message","role":"robot","content":[]}`,
		`{"id":"m","type":"message","role":"user","status":"done","content":[]}`,
		`{"id":"m","type":"message","role":"user","content":[{"type":"input_text","text":"a"}],"extra":1}`,
		`{"id":"m","type":"message","role":"user","content":[{"type":"input_text","text":"a"}]} `,
		`{"id":"m","type":"message","role":"user","content":[{"type":"input_text","text":"a` + "\n" + `"}]}`,
		`{"id":"m","type":"message","role":"user","content":[{"type":"input_text","text":"\x"}]}`,
		`{"id":"m","type":"message","role":"user","content":[{"type":"input_text","text":"` + "\xff" + `"}]}`,
		`{"id":"m","type":"message","role":"user","content":[{"type":"output_text","text":"a","annotations":[]}]}`,
		`{"id":"m","type":"message","role":"user","content":"a"}`,
		`{"id":"m","type":"message","role":"user","content":[{"type":"input_text","text":"a"}{"type":"input_text","text":"b"}]}`,
	} {
		if _, ok := plainMessage([]byte(b), new(plainItem), false); ok {
			t.Fatalf("plainMessage took %q", b)
		}
	}
}

// TestLentItems: the lending walks give what the owning ones give, item
// for item, plain messages and others alike.
func TestLentItems(t *testing.T) {
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	conv := newConversation(t, s, gen, 0)
	var items []apitype.Item
	for i := range 30 {
		switch i % 5 {
		case 0, 1:
			items = append(items, convMessage(fmt.Sprintf("msg_c%02d", i), fmt.Sprintf("say \"%d\"\n", i)))
		case 2:
			items = append(items, assistantItem(fmt.Sprintf("msg_c%02d", i), fmt.Sprintf("answer %d", i)))
		case 3:
			items = append(items, apitype.ItemOf(&apitype.FunctionCallItem{ID: fmt.Sprintf("fc_%02d", i), CallID: "call", Name: "f", Arguments: "{}"}))
		case 4:
			items = append(items, apitype.ItemOf(&apitype.MessageItem{ID: fmt.Sprintf("msg_c%02d", i), Role: apitype.RoleUser,
				Content: []apitype.ContentPart{apitype.InputText("two"), apitype.InputText("parts")}}))
		}
	}
	tokens := make([]int, len(items))
	for i := range tokens {
		tokens[i] = i + 1
	}
	update(t, s, func(tx Tx) error { return tx.AppendConversationItems(conv, items, tokens) })
	var prev string
	for i := 0; i < len(items); i += 3 {
		id := gen.New(PrefixResponse)
		r := newResponse(id, apitype.ResponseCompleted, prev)
		r.Output = items[i+2 : i+3]
		update(t, s, func(tx Tx) error { return tx.CreateResponseOutput(r, items[i:i+2], tokens[i:i+2], tokens[i+2:i+3]) })
		prev = id
	}
	collect := func(walk func(fn func(*apitype.Item, int) (bool, error)) error) []string {
		var out []string
		view(t, s, func(tx Tx) error {
			return walk(func(it *apitype.Item, n int) (bool, error) {
				out = append(out, fmt.Sprintf("%d %s", n, jsonOf(it)))
				return true, nil
			})
		})
		return out
	}
	for _, desc := range []bool{true, false} {
		var owned, lent []string
		owned = collect(func(fn func(*apitype.Item, int) (bool, error)) error {
			return s.View(context.Background(), func(tx Tx) error { return tx.EachConversationItem(conv, desc, fn) })
		})
		lent = collect(func(fn func(*apitype.Item, int) (bool, error)) error {
			return s.View(context.Background(), func(tx Tx) error { return tx.LendConversationItems(conv, desc, fn) })
		})
		if len(owned) != len(items) || !slices.Equal(owned, lent) {
			t.Fatalf("desc=%v: lent\n%v\nowned\n%v", desc, lent, owned)
		}
	}
	owned := collect(func(fn func(*apitype.Item, int) (bool, error)) error {
		return s.View(context.Background(), func(tx Tx) error { return tx.ResponseHistory(prev, fn) })
	})
	lent := collect(func(fn func(*apitype.Item, int) (bool, error)) error {
		return s.View(context.Background(), func(tx Tx) error { return tx.LendResponseHistory(prev, fn) })
	})
	if len(owned) != len(items) || !slices.Equal(owned, lent) {
		t.Fatalf("history: lent\n%v\nowned\n%v", lent, owned)
	}
}
