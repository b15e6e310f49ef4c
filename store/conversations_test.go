package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/hearth-go/hearth/apitype"
)

func convMessage(id, text string) apitype.Item {
	return apitype.ItemOf(&apitype.MessageItem{ID: id, Type: apitype.ItemMessage, Role: apitype.RoleUser,
		Status: apitype.ItemCompleted, Content: []apitype.ContentPart{apitype.InputText(text)}})
}

// newConversation stores a conversation with n messages msg_0000… and
// returns its id.
func newConversation(t testing.TB, s *Store, gen *IDGenerator, n int) string {
	t.Helper()
	id := gen.New(PrefixConversation)
	update(t, s, func(tx Tx) error { return tx.PutConversation(&apitype.Conversation{ID: id, CreatedAt: 1}) })
	for start := 0; start < n; start += 5000 {
		var items []apitype.Item
		var tokens []int
		for i := start; i < min(n, start+5000); i++ {
			items = append(items, convMessage(fmt.Sprintf("msg_%06d", i), benchText(i)))
			tokens = append(tokens, i)
		}
		update(t, s, func(tx Tx) error { return tx.AppendConversationItems(id, items, tokens) })
	}
	return id
}

func itemIDs(items []apitype.Item) []string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID()
	}
	return ids
}

func TestConversationItems(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	conv := gen.New(PrefixConversation)
	meta := apitype.Metadata{"topic": "math"}
	update(t, s, func(tx Tx) error {
		return tx.PutConversation(&apitype.Conversation{ID: conv, CreatedAt: 7, Metadata: meta})
	})

	// Every variant round-trips, with its token count, in insertion order
	// whatever the ids (a client may name items; these do not sort).
	code := "print(1)"
	items := []apitype.Item{
		convMessage("msg_z", "hello"),
		apitype.ItemOf(&apitype.FunctionCallItem{ID: "fc_b", CallID: "call_1", Name: "weather", Arguments: `{"city":"Oslo"}`, Status: apitype.ItemCompleted}),
		apitype.ItemOf(&apitype.FunctionCallOutputItem{ID: "fco_a", CallID: "call_1", Output: apitype.FunctionCallOutput{Text: "sunny"}, Status: apitype.ItemCompleted}),
		apitype.ItemOf(&apitype.ReasoningItem{ID: "rs_y", Summary: []apitype.ContentPart{{Type: apitype.PartSummaryText, Text: "think"}}}),
		apitype.ItemOf(&apitype.MessageItem{ID: "msg_c", Role: apitype.RoleAssistant, Status: apitype.ItemCompleted,
			Content: []apitype.ContentPart{apitype.OutputText("4")}}),
		apitype.ItemOf(&apitype.CodeInterpreterCallItem{ID: "ci_1", Code: &code, ContainerID: "cntr_1", Status: apitype.ItemCompleted}),
	}
	update(t, s, func(tx Tx) error { return tx.AppendConversationItems(conv, items, []int{1, 2, 3, 4, 5, 6}) })
	want := itemIDs(items)

	view(t, s, func(tx Tx) error {
		c, err := tx.GetConversation(conv)
		if err != nil || c.ID != conv || c.CreatedAt != 7 || c.Metadata["topic"] != "math" {
			return fmt.Errorf("GetConversation: %+v %v", c, err)
		}
		if n, err := tx.CountConversationItems(conv); n != 6 || err != nil {
			return fmt.Errorf("count %d %v", n, err)
		}
		for i, it := range items {
			got, err := tx.GetConversationItem(conv, it.ID())
			if err != nil {
				return err
			}
			a, _ := it.MarshalJSON()
			b, _ := got.MarshalJSON()
			if !bytes.Equal(a, b) {
				return fmt.Errorf("item %d: stored %s, read %s", i, a, b)
			}
		}
		var seen []string
		var toks []int
		if err := tx.EachConversationItem(conv, false, func(it *apitype.Item, tokens int) (bool, error) {
			seen, toks = append(seen, it.ID()), append(toks, tokens)
			return true, nil
		}); err != nil {
			return err
		}
		if !slices.Equal(seen, want) || !slices.Equal(toks, []int{1, 2, 3, 4, 5, 6}) {
			return fmt.Errorf("oldest first: %v %v", seen, toks)
		}
		seen = nil
		if err := tx.EachConversationItem(conv, true, func(it *apitype.Item, tokens int) (bool, error) {
			seen = append(seen, it.ID())
			return len(seen) < 2, nil
		}); err != nil {
			return err
		}
		if !slices.Equal(seen, []string{"ci_1", "msg_c"}) {
			return fmt.Errorf("newest first, stopped after 2: %v", seen)
		}
		return nil
	})

	// Ids must be present and unique in the conversation; a refused append
	// writes nothing (the transaction is the caller's, and fails whole).
	for name, bad := range map[string][]apitype.Item{
		"duplicate of stored": {convMessage("msg_new", "x"), convMessage("fc_b", "x")},
		"duplicate in batch":  {convMessage("msg_new", "x"), convMessage("msg_new", "y")},
		"no id":               {convMessage("", "x")},
	} {
		err := s.Update(ctx, func(tx Tx) error { return tx.AppendConversationItems(conv, bad, make([]int, len(bad))) })
		if !errors.Is(err, apitype.ErrInvalidRequest) {
			t.Fatalf("%s: %v, want invalid request", name, err)
		}
	}
	view(t, s, func(tx Tx) error {
		if n, _ := tx.CountConversationItems(conv); n != 6 {
			return fmt.Errorf("count after refused appends %d", n)
		}
		if _, err := tx.GetConversationItem(conv, "msg_new"); !errors.Is(err, apitype.ErrNotFound) {
			return fmt.Errorf("refused item readable: %v", err)
		}
		return nil
	})

	// Unknown ids are 404s with the API's messages.
	view(t, s, func(tx Tx) error {
		_, err := tx.GetConversation("conv_nope")
		var ae *apitype.Error
		if !errors.As(err, &ae) || ae.Status != 404 || ae.Message != "Conversation with id 'conv_nope' not found." {
			return fmt.Errorf("unknown conversation: %v", err)
		}
		for _, err := range []error{
			func() error { _, err := tx.GetConversationItem(conv, "msg_nope"); return err }(),
			func() error { _, err := tx.GetConversationItem("conv_nope", "msg_z"); return err }(),
			func() error { _, err := tx.ListConversationItems("conv_nope", apitype.ListParams{}); return err }(),
			func() error { _, err := tx.CountConversationItems("conv_nope"); return err }(),
			tx.EachConversationItem("conv_nope", true, nil),
		} {
			if !errors.Is(err, apitype.ErrNotFound) {
				return fmt.Errorf("want not found, got %v", err)
			}
		}
		if _, err := tx.ListConversationItems(conv, apitype.ListParams{After: "msg_nope"}); !errors.Is(err, apitype.ErrInvalidRequest) {
			return fmt.Errorf("after naming no item: %v", err)
		}
		return nil
	})
	for name, fn := range map[string]func(tx Tx) error{
		"append":      func(tx Tx) error { return tx.AppendConversationItems("conv_nope", items[:1], []int{1}) },
		"delete item": func(tx Tx) error { return tx.DeleteConversationItem(conv, "msg_nope") },
		"delete":      func(tx Tx) error { return tx.DeleteConversation("conv_nope") },
	} {
		if err := s.Update(ctx, fn); !errors.Is(err, apitype.ErrNotFound) {
			t.Fatalf("%s: %v, want not found", name, err)
		}
	}
}

func TestConversationItemPages(t *testing.T) {
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	conv := newConversation(t, s, gen, 25)
	var all []string
	for i := range 25 {
		all = append(all, fmt.Sprintf("msg_%06d", i))
	}
	rev := slices.Clone(all)
	slices.Reverse(rev)

	// Walks every page by after=last_id, in both orders; the default is desc.
	walkAll := func(order string, limit int) (ids []string, pages int) {
		p := apitype.ListParams{Order: order, Limit: limit}
		for {
			var page apitype.Page[apitype.Item]
			view(t, s, func(tx Tx) (err error) { page, err = tx.ListConversationItems(conv, p); return err })
			pages++
			ids = append(ids, itemIDs(page.Data)...)
			if len(page.Data) > 0 && (*page.FirstID != page.Data[0].ID() || *page.LastID != page.Data[len(page.Data)-1].ID()) {
				t.Fatalf("page ends %s %s for %v", *page.FirstID, *page.LastID, itemIDs(page.Data))
			}
			if !page.HasMore {
				return ids, pages
			}
			p.After = *page.LastID
		}
	}
	for _, c := range []struct {
		order string
		limit int
		want  []string
		pages int
	}{
		{"asc", 10, all, 3}, {"desc", 10, rev, 3}, {"", 0, rev, 2}, {"asc", 25, all, 1}, {"desc", 1, rev, 25}, {"asc", 100, all, 1},
	} {
		got, pages := walkAll(c.order, c.limit)
		if !slices.Equal(got, c.want) || pages != c.pages {
			t.Fatalf("order %q limit %d: %d pages %v", c.order, c.limit, pages, got)
		}
	}

	// Deleting in the middle: the item goes, the count follows, the
	// neighbours page across the gap, and a cursor naming the deleted item
	// still pages from where it was.
	update(t, s, func(tx Tx) error { return tx.DeleteConversationItem(conv, "msg_000012") })
	view(t, s, func(tx Tx) error {
		if n, _ := tx.CountConversationItems(conv); n != 24 {
			return fmt.Errorf("count after delete %d", n)
		}
		if _, err := tx.GetConversationItem(conv, "msg_000012"); !errors.Is(err, apitype.ErrNotFound) {
			return fmt.Errorf("deleted item: %v", err)
		}
		if err := tx.DeleteConversationItem(conv, "msg_000012"); !errors.Is(err, apitype.ErrNotFound) {
			return fmt.Errorf("second delete: %v", err)
		}
		for _, c := range []struct {
			p    apitype.ListParams
			want []string
		}{
			{apitype.ListParams{Order: "asc", After: "msg_000010", Limit: 3}, []string{"msg_000011", "msg_000013", "msg_000014"}},
			{apitype.ListParams{Order: "desc", After: "msg_000014", Limit: 3}, []string{"msg_000013", "msg_000011", "msg_000010"}},
			{apitype.ListParams{Order: "asc", After: "msg_000012", Limit: 2}, []string{"msg_000013", "msg_000014"}},
			{apitype.ListParams{Order: "desc", After: "msg_000012", Limit: 2}, []string{"msg_000011", "msg_000010"}},
			{apitype.ListParams{Order: "asc", After: "msg_000024"}, []string{}},
			{apitype.ListParams{Order: "desc", After: "msg_000000"}, []string{}},
		} {
			page, err := tx.ListConversationItems(conv, c.p)
			if err != nil {
				return err
			}
			if got := itemIDs(page.Data); !slices.Equal(got, c.want) {
				return fmt.Errorf("%+v: %v, want %v", c.p, got, c.want)
			}
			if len(c.want) == 0 && (page.FirstID != nil || page.HasMore) {
				return fmt.Errorf("empty page %+v", page)
			}
		}
		return nil
	})
	// A deleted id may be added again, at the end.
	update(t, s, func(tx Tx) error {
		return tx.AppendConversationItems(conv, []apitype.Item{convMessage("msg_000012", "again")}, []int{3})
	})
	view(t, s, func(tx Tx) error {
		page, err := tx.ListConversationItems(conv, apitype.ListParams{Limit: 2})
		if got := itemIDs(page.Data); err != nil || !slices.Equal(got, []string{"msg_000012", "msg_000024"}) {
			return fmt.Errorf("newest after re-adding: %v %v", got, err)
		}
		if n, _ := tx.CountConversationItems(conv); n != 25 {
			return fmt.Errorf("count %d", n)
		}
		return nil
	})
}

// TestDeleteConversationLeavesNoKeys: a conversation's record, items,
// index and counts all go; another conversation's stay.
func TestDeleteConversationLeavesNoKeys(t *testing.T) {
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	keep := newConversation(t, s, gen, 30)
	doomed := newConversation(t, s, gen, 40)
	update(t, s, func(tx Tx) error { return tx.DeleteConversationItem(doomed, "msg_000003") })
	keys := func() (n map[string]int) {
		n = map[string]int{}
		view(t, s, func(tx Tx) error {
			for _, b := range [][]byte{bConversations, bConvItems, bConvItemIDs} {
				n[string(b)] = tx.(*boltTx).tx.Bucket(b).Stats().KeyN
			}
			return nil
		})
		return n
	}
	before := keys()
	update(t, s, func(tx Tx) error { return tx.DeleteConversation(doomed) })
	after := keys()
	// doomed had its record; 39 items and its counts; 40 index entries
	// (one a deleted item's).
	want := map[string]int{"conversations": before["conversations"] - 1,
		"conversation_items": before["conversation_items"] - 40, "conversation_item_ids": before["conversation_item_ids"] - 40}
	if !reflect.DeepEqual(after, want) {
		t.Fatalf("keys after delete %v, want %v (before %v)", after, want, before)
	}
	view(t, s, func(tx Tx) error {
		for _, b := range [][]byte{bConvItems, bConvItemIDs} {
			c := tx.(*boltTx).tx.Bucket(b).Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				if bytes.HasPrefix(k, []byte(doomed)) {
					return fmt.Errorf("%s keeps key %q", b, k)
				}
			}
		}
		if n, err := tx.CountConversationItems(keep); n != 30 || err != nil {
			return fmt.Errorf("other conversation: %d %v", n, err)
		}
		if _, err := tx.GetConversation(doomed); !errors.Is(err, apitype.ErrNotFound) {
			return fmt.Errorf("deleted conversation: %v", err)
		}
		return nil
	})
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestLargeConversationPage: in a conversation of 100,000 items a page from
// the middle and a newest-first walk start where they should (their cost
// beside a small conversation's is BenchmarkConversationItems).
func TestLargeConversationPage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 100,000 items")
	}
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	conv := newConversation(t, s, gen, 100_000)
	view(t, s, func(tx Tx) error {
		if n, _ := tx.CountConversationItems(conv); n != 100_000 {
			return fmt.Errorf("count %d", n)
		}
		page, err := tx.ListConversationItems(conv, apitype.ListParams{Limit: 20, After: "msg_050000"})
		if err != nil {
			return err
		}
		if got := itemIDs(page.Data); got[0] != "msg_049999" || got[19] != "msg_049980" || !page.HasMore {
			return fmt.Errorf("page after the middle: %v", got)
		}
		seen := 0
		if err := tx.EachConversationItem(conv, true, func(it *apitype.Item, tokens int) (bool, error) {
			if want := fmt.Sprintf("msg_%06d", 99_999-seen); it.ID() != want || tokens != 99_999-seen {
				return false, fmt.Errorf("walk %d: %s %d", seen, it.ID(), tokens)
			}
			seen++
			return seen < 50, nil
		}); err != nil {
			return err
		}
		return nil
	})
}

func BenchmarkConversationItems(b *testing.B) {
	for _, n := range []int{100, 100_000} {
		s := openBench(b)
		gen := NewIDGenerator(nil, nil)
		conv := newConversation(b, s, gen, n)
		mid := fmt.Sprintf("msg_%06d", n/2)
		b.Run(fmt.Sprintf("page20/items=%d", n), func(b *testing.B) {
			for b.Loop() {
				view(b, s, func(tx Tx) error {
					page, err := tx.ListConversationItems(conv, apitype.ListParams{Limit: 20, After: mid})
					if err == nil && len(page.Data) != 20 {
						err = fmt.Errorf("page of %d", len(page.Data))
					}
					return err
				})
			}
		})
		b.Run(fmt.Sprintf("newest50/items=%d", n), func(b *testing.B) {
			for b.Loop() {
				view(b, s, func(tx Tx) error {
					seen := 0
					return tx.EachConversationItem(conv, true, func(*apitype.Item, int) (bool, error) {
						seen++
						return seen < 50, nil
					})
				})
			}
		})
		s.Close()
	}
}

func openBench(b *testing.B) *Store {
	b.Helper()
	s, err := Open(b.TempDir()+"/conv.db", Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// TestConversationOutputItemsRoundTrip: the items a response appends (the
// model's output, with annotations, logprobs, reasoning text and tool call
// results) read back exactly as written.
func TestConversationOutputItemsRoundTrip(t *testing.T) {
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	conv := newConversation(t, s, gen, 0)
	code, enc := "print(2+2)", "opaque"
	text := apitype.OutputText("4 【0:0†a.txt】")
	text.Annotations = []apitype.OutputAnnotation{{Type: apitype.AnnotationFileCitation, FileID: "file-1", Filename: "a.txt", Index: 2},
		{Type: apitype.AnnotationURLCitation, URL: "https://example.com", Title: "Ex", StartIndex: 1, EndIndex: 3}}
	text.Logprobs = []apitype.Logprob{{Token: "4", Bytes: []int{52}, Logprob: -0.1, TopLogprobs: []apitype.TopLogprob{}}}
	items := []apitype.Item{
		apitype.ItemOf(&apitype.MessageItem{ID: "msg_1", Role: apitype.RoleAssistant, Status: apitype.ItemCompleted,
			Content: []apitype.ContentPart{text, {Type: apitype.PartRefusal, Refusal: "no"}}}),
		apitype.ItemOf(&apitype.ReasoningItem{ID: "rs_1", Status: apitype.ItemCompleted, EncryptedContent: &enc,
			Summary: []apitype.ContentPart{{Type: apitype.PartSummaryText, Text: "sum"}},
			Content: []apitype.ContentPart{{Type: apitype.PartReasoningText, Text: "thoughts"}}}),
		apitype.ItemOf(&apitype.FileSearchCallItem{ID: "fs_1", Queries: []string{"warranty"}, Status: apitype.ItemCompleted,
			Results: []apitype.FileSearchCallResult{{FileID: "file-1", Filename: "a.txt", Score: 0.5, Text: "two years", Attributes: map[string]any{"k": "v"}}}}),
		apitype.ItemOf(&apitype.CodeInterpreterCallItem{ID: "ci_1", Code: &code, ContainerID: "cntr_1", Status: apitype.ItemCompleted,
			Outputs: []apitype.CodeInterpreterCallOutput{{Type: "logs", Logs: "4\n"}}}),
		apitype.ItemOf(&apitype.FunctionCallItem{ID: "fc_1", CallID: "call_1", Name: "f", Arguments: "{}", Status: apitype.ItemCompleted}),
		apitype.ItemOf(&apitype.FunctionCallOutputItem{ID: "fco_1", CallID: "call_1", Status: apitype.ItemCompleted,
			Output: apitype.FunctionCallOutput{Parts: []apitype.ContentPart{apitype.InputText("out")}}}),
	}
	update(t, s, func(tx Tx) error { return tx.AppendConversationItems(conv, items, make([]int, len(items))) })
	view(t, s, func(tx Tx) error {
		page, err := tx.ListConversationItems(conv, apitype.ListParams{Order: apitype.OrderAsc})
		if err != nil {
			return err
		}
		for i, it := range page.Data {
			a, _ := json.Marshal(items[i])
			b, _ := json.Marshal(it)
			if !bytes.Equal(a, b) {
				return fmt.Errorf("item %d: wrote %s, read %s", i, a, b)
			}
		}
		return nil
	})
}
