package engine

import (
	"context"
	"iter"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// Conversations manages conversations: the items (messages, function calls
// and their outputs, reasoning) a response given a conversation reads
// before its input and appends its turn to.
type Conversations struct {
	e *Engine
	// Items manages a conversation's items.
	Items *ConversationItems
}

// ConversationItems manages the items of conversations.
type ConversationItems struct{ e *Engine }

func newConversations(e *Engine) *Conversations {
	return &Conversations{e: e, Items: &ConversationItems{e}}
}

// Create validates p and stores a conversation with its initial items, in
// one transaction.
func (s *Conversations) Create(ctx context.Context, p apitype.ConversationCreateParams) (*apitype.Conversation, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	c := &apitype.Conversation{ID: s.e.newID(store.PrefixConversation), Object: apitype.ObjectConversation,
		CreatedAt: s.e.now(), Metadata: orMeta(p.Metadata)}
	items, tokens := s.e.storedItems(p.Items)
	err := s.e.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutConversation(c); err != nil {
			return err
		}
		return tx.AppendConversationItems(c.ID, items, tokens)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// storedItems returns items as storedItem makes them, with their token
// counts (counted here, not in the transaction every writer waits for).
func (e *Engine) storedItems(in []apitype.Item) ([]apitype.Item, []int) {
	items, tokens := make([]apitype.Item, len(in)), make([]int, len(in))
	for i, it := range in {
		items[i] = e.storedItem(it)
		tokens[i] = itemTokens(items[i])
	}
	return items, tokens
}

// Retrieve reads a conversation.
func (s *Conversations) Retrieve(ctx context.Context, id string) (*apitype.Conversation, error) {
	return read(ctx, s.e, func(tx store.Tx) (*apitype.Conversation, error) { return tx.GetConversation(id) })
}

// Update replaces a conversation's metadata (null clears it).
func (s *Conversations) Update(ctx context.Context, id string, p apitype.ConversationUpdateParams) (*apitype.Conversation, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var c *apitype.Conversation
	err := s.e.store.Update(ctx, func(tx store.Tx) error {
		var err error
		if c, err = tx.GetConversation(id); err != nil {
			return err
		}
		c.Metadata = orMeta(p.Metadata)
		return tx.PutConversation(c)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Delete deletes a conversation and its items. Responses that used it keep
// its id.
func (s *Conversations) Delete(ctx context.Context, id string) (apitype.Deleted, error) {
	if err := s.e.store.Update(ctx, func(tx store.Tx) error { return tx.DeleteConversation(id) }); err != nil {
		return apitype.Deleted{}, err
	}
	return apitype.ConversationDeleted(id), nil
}

// Create validates p and appends its items to the conversation, in one
// transaction, returning them as stored (with their ids) as a list.
func (s *ConversationItems) Create(ctx context.Context, convID string, p apitype.ConversationItemCreateParams) (apitype.Page[apitype.Item], error) {
	if err := p.Validate(); err != nil {
		return apitype.Page[apitype.Item]{}, err
	}
	items, tokens := s.e.storedItems(p.Items)
	err := s.e.store.Update(ctx, func(tx store.Tx) error { return tx.AppendConversationItems(convID, items, tokens) })
	if err != nil {
		return apitype.Page[apitype.Item]{}, err
	}
	return apitype.NewItemList(items), nil
}

// List returns one page of a conversation's items, newest first unless
// p.Order is asc, after the item p.After names. Before is not part of
// this list.
func (s *ConversationItems) List(ctx context.Context, convID string, p apitype.ListParams) (apitype.Page[apitype.Item], error) {
	if err := checkItemList(p); err != nil {
		return apitype.Page[apitype.Item]{}, err
	}
	return read(ctx, s.e, func(tx store.Tx) (apitype.Page[apitype.Item], error) { return tx.ListConversationItems(convID, p) })
}

// checkItemList validates the paging of an item list: item ids have
// several prefixes (and may be a client's own), so after is any id.
func checkItemList(p apitype.ListParams) error {
	if p.Before != "" {
		return apitype.Invalid("before", "conversation items page with 'after' only.")
	}
	if p.Limit < 0 || p.Limit > apitype.MaxListLimit {
		return apitype.Invalid("limit", "'limit' must be between 1 and %d, got %d.", apitype.MaxListLimit, p.Limit)
	}
	switch p.Order {
	case "", apitype.OrderAsc, apitype.OrderDesc:
	default:
		return apitype.Invalid("order", "'order' must be asc or desc, got %q.", truncateForError(p.Order))
	}
	return nil
}

// All iterates over a conversation's items from p's position, page by page.
func (s *ConversationItems) All(ctx context.Context, convID string, p apitype.ListParams) iter.Seq2[apitype.Item, error] {
	return paginate(p, func(p apitype.ListParams) (*apitype.Page[apitype.Item], error) {
		page, err := s.List(ctx, convID, p)
		return &page, err
	})
}

// Retrieve reads one item of a conversation.
func (s *ConversationItems) Retrieve(ctx context.Context, convID, itemID string) (*apitype.Item, error) {
	return read(ctx, s.e, func(tx store.Tx) (*apitype.Item, error) { return tx.GetConversationItem(convID, itemID) })
}

// Delete deletes one item of a conversation and returns the conversation,
// as the API does.
func (s *ConversationItems) Delete(ctx context.Context, convID, itemID string) (*apitype.Conversation, error) {
	var c *apitype.Conversation
	err := s.e.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteConversationItem(convID, itemID); err != nil {
			return err
		}
		var err error
		c, err = tx.GetConversation(convID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}
