package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/truncate"
)

func userText(id, text string) apitype.Item {
	return apitype.ItemOf(&apitype.MessageItem{ID: id, Role: apitype.RoleUser, Content: []apitype.ContentPart{apitype.InputText(text)}})
}

func TestConversations(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, scripted.New())
	call := &apitype.FunctionCallItem{CallID: "call_1", Name: "get_weather", Arguments: `{"city":"Oslo"}`}
	c, err := e.Conversations.Create(ctx, apitype.ConversationCreateParams{
		Metadata: apitype.Metadata{"topic": "weather"},
		Items: []apitype.Item{userText("", "What is the weather in Oslo?"), apitype.ItemOf(call),
			apitype.ItemOf(&apitype.FunctionCallOutputItem{CallID: "call_1", Output: apitype.FunctionCallOutput{Text: "sunny"}}),
			apitype.ItemOf(&apitype.ReasoningItem{ID: "rs_1", Summary: []apitype.ContentPart{{Type: apitype.PartSummaryText, Text: "checked"}}}),
			userText("msg_mine", "thanks")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.ID, store.PrefixConversation) || c.Metadata["topic"] != "weather" || c.CreatedAt == 0 {
		t.Fatalf("created %+v", c)
	}
	if call.ID != "" {
		t.Fatal("Create wrote an id into the caller's item")
	}

	// Items got ids by type (a client's own kept; input reasoning comes
	// with one) and messages status completed, in order; newest first by
	// default.
	page, err := e.Conversations.Items.List(ctx, c.ID, apitype.ListParams{Order: apitype.OrderAsc})
	if err != nil {
		t.Fatal(err)
	}
	var prefixes []string
	for _, it := range page.Data {
		prefixes = append(prefixes, it.ID()[:strings.IndexByte(it.ID(), '_')+1])
	}
	if !slices.Equal(prefixes, []string{"msg_", "fc_", "fco_", "rs_", "msg_"}) || page.Data[4].ID() != "msg_mine" {
		t.Fatalf("stored ids %v", itemIDsOf(page.Data))
	}
	if s := page.Data[0].Message.Status; s != apitype.ItemCompleted {
		t.Fatalf("message status %q", s)
	}
	desc, err := e.Conversations.Items.List(ctx, c.ID, apitype.ListParams{Limit: 2})
	if err != nil || !slices.Equal(itemIDsOf(desc.Data), []string{"msg_mine", page.Data[3].ID()}) || !desc.HasMore {
		t.Fatalf("default page %v %v", itemIDsOf(desc.Data), err)
	}

	// Token counts are stored with the items, counted over their text.
	enc, err := truncate.Default()
	if err != nil {
		t.Fatal(err)
	}
	want := []int{enc.CountMessage("What is the weather in Oslo?", 0), enc.CountMessage("get_weather\n"+`{"city":"Oslo"}`, 0),
		enc.CountMessage("sunny", 0), enc.CountMessage("checked", 0), enc.CountMessage("thanks", 0)}
	var got []int
	if err := e.Driver().View(ctx, func(tx store.Tx) error {
		return tx.EachConversationItem(c.ID, false, func(_ *apitype.Item, tokens int) (bool, error) {
			got = append(got, tokens)
			return true, nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("stored tokens %v, want %v", got, want)
	}

	// Items.Create appends and answers with the items as stored.
	added, err := e.Conversations.Items.Create(ctx, c.ID, apitype.ConversationItemCreateParams{
		Items: []apitype.Item{userText("", "and tomorrow?"), userText("", "and after?")}})
	if err != nil || len(added.Data) != 2 || *added.FirstID != added.Data[0].ID() || *added.LastID != added.Data[1].ID() {
		t.Fatalf("items create %+v %v", added, err)
	}
	var all []string
	for it, err := range e.Conversations.Items.All(ctx, c.ID, apitype.ListParams{Limit: 2, Order: apitype.OrderAsc}) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, it.ID())
	}
	if len(all) != 7 || all[6] != added.Data[1].ID() {
		t.Fatalf("All %v", all)
	}
	it, err := e.Conversations.Items.Retrieve(ctx, c.ID, "msg_mine")
	if err != nil || it.Message.Text() != "thanks" {
		t.Fatalf("retrieve %+v %v", it, err)
	}

	// Update replaces the metadata; null clears it.
	if u, err := e.Conversations.Update(ctx, c.ID, apitype.ConversationUpdateParams{Metadata: apitype.Metadata{"a": "b"}}); err != nil || len(u.Metadata) != 1 || u.Metadata["a"] != "b" {
		t.Fatalf("update %+v %v", u, err)
	}
	if u, err := e.Conversations.Update(ctx, c.ID, apitype.ConversationUpdateParams{}); err != nil || len(u.Metadata) != 0 {
		t.Fatalf("clear %+v %v", u, err)
	}
	if r, err := e.Conversations.Retrieve(ctx, c.ID); err != nil || len(r.Metadata) != 0 {
		t.Fatalf("retrieve after clear %+v %v", r, err)
	}

	// Deleting an item returns the conversation; deleting the conversation
	// takes its items.
	if conv, err := e.Conversations.Items.Delete(ctx, c.ID, "msg_mine"); err != nil || conv.ID != c.ID {
		t.Fatalf("item delete %+v %v", conv, err)
	}
	if _, err := e.Conversations.Items.Retrieve(ctx, c.ID, "msg_mine"); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("deleted item %v", err)
	}
	if d, err := e.Conversations.Delete(ctx, c.ID); err != nil || d != apitype.ConversationDeleted(c.ID) {
		t.Fatalf("delete %+v %v", d, err)
	}
	for _, err := range []error{
		func() error { _, err := e.Conversations.Retrieve(ctx, c.ID); return err }(),
		func() error { _, err := e.Conversations.Items.List(ctx, c.ID, apitype.ListParams{}); return err }(),
		func() error { _, err := e.Conversations.Delete(ctx, c.ID); return err }(),
	} {
		if !errors.Is(err, apitype.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	}
}

func itemIDsOf(items []apitype.Item) []string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID()
	}
	return ids
}

// TestConversationBadInput: refused calls return typed errors naming the
// parameter and write nothing.
func TestConversationBadInput(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, scripted.New())
	c, err := e.Conversations.Create(ctx, apitype.ConversationCreateParams{Items: []apitype.Item{userText("msg_a", "hi")}})
	if err != nil {
		t.Fatal(err)
	}
	many := make([]apitype.Item, 21)
	for i := range many {
		many[i] = userText("", "x")
	}
	ref := []apitype.Item{apitype.ItemOf(&apitype.ItemReference{ID: "msg_a"})}
	cases := []struct {
		name  string
		call  func() error
		is    error
		param string
	}{
		{"create 21 items", func() error {
			_, err := e.Conversations.Create(ctx, apitype.ConversationCreateParams{Items: many})
			return err
		}, apitype.ErrInvalidRequest, "items"},
		{"create item_reference", func() error {
			_, err := e.Conversations.Create(ctx, apitype.ConversationCreateParams{Items: ref})
			return err
		}, apitype.ErrInvalidRequest, "items[0]"},
		{"create bad metadata", func() error {
			_, err := e.Conversations.Create(ctx, apitype.ConversationCreateParams{Metadata: apitype.Metadata{strings.Repeat("k", 65): "v"}})
			return err
		}, apitype.ErrInvalidRequest, "metadata"},
		{"items none", func() error {
			_, err := e.Conversations.Items.Create(ctx, c.ID, apitype.ConversationItemCreateParams{})
			return err
		}, apitype.ErrInvalidRequest, "items"},
		{"items duplicate id", func() error {
			_, err := e.Conversations.Items.Create(ctx, c.ID, apitype.ConversationItemCreateParams{Items: []apitype.Item{userText("msg_b", "x"), userText("msg_a", "x")}})
			return err
		}, apitype.ErrInvalidRequest, "items[1].id"},
		{"items unknown conversation", func() error {
			_, err := e.Conversations.Items.Create(ctx, "conv_nope", apitype.ConversationItemCreateParams{Items: []apitype.Item{userText("", "x")}})
			return err
		}, apitype.ErrNotFound, ""},
		{"items bad include", func() error {
			_, err := e.Conversations.Items.Create(ctx, c.ID, apitype.ConversationItemCreateParams{Items: []apitype.Item{userText("", "x")}, Include: []string{"nope"}})
			return err
		}, apitype.ErrInvalidRequest, "include[0]"},
		{"list limit", func() error {
			_, err := e.Conversations.Items.List(ctx, c.ID, apitype.ListParams{Limit: 101})
			return err
		}, apitype.ErrInvalidRequest, "limit"},
		{"list order", func() error {
			_, err := e.Conversations.Items.List(ctx, c.ID, apitype.ListParams{Order: "up"})
			return err
		}, apitype.ErrInvalidRequest, "order"},
		{"list after unknown", func() error {
			_, err := e.Conversations.Items.List(ctx, c.ID, apitype.ListParams{After: "msg_nope"})
			return err
		}, apitype.ErrInvalidRequest, "after"},
		{"update unknown", func() error {
			_, err := e.Conversations.Update(ctx, "conv_nope", apitype.ConversationUpdateParams{})
			return err
		}, apitype.ErrNotFound, ""},
		{"item delete unknown", func() error { _, err := e.Conversations.Items.Delete(ctx, c.ID, "msg_nope"); return err }, apitype.ErrNotFound, ""},
	}
	for _, tc := range cases {
		err := tc.call()
		var ae *apitype.Error
		if !errors.Is(err, tc.is) || !errors.As(err, &ae) || ae.Param != tc.param {
			t.Errorf("%s: %v, want %v with param %q", tc.name, err, tc.is, tc.param)
		}
	}
	// Nothing was written: one conversation with its one item.
	err = e.Driver().View(ctx, func(tx store.Tx) error {
		n, err := tx.CountConversationItems(c.ID)
		if err == nil && n != 1 {
			t.Errorf("conversation holds %d items after refused calls", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
