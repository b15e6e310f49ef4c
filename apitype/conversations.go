package apitype

import "encoding/json"

// The Conversations API: a conversation holds items (messages, function
// calls and outputs, reasoning, tool calls) that a response given
// conversation reads before its input and appends its input and output to.
// Items list as Page[Item] (object "list", data, first_id, last_id,
// has_more), as the API shapes its conversation and input item lists.

// Conversation is a conversation object.
type Conversation struct {
	ID        string   `json:"id"`
	Object    string   `json:"object"`
	CreatedAt int64    `json:"created_at"`
	Metadata  Metadata `json:"metadata"`
}

// MarshalJSON writes object "conversation" and metadata as {} when empty.
func (c Conversation) MarshalJSON() ([]byte, error) {
	type plain Conversation
	c.Object = ObjectConversation
	if c.Metadata == nil {
		c.Metadata = Metadata{}
	}
	return json.Marshal(plain(c))
}

// ConversationDeleted is the answer of DELETE /v1/conversations/{id}.
func ConversationDeleted(id string) Deleted {
	return Deleted{ID: id, Object: ObjectConversationDeleted, Deleted: true}
}

// ResponseDeleted is the answer of DELETE /v1/responses/{id}.
func ResponseDeleted(id string) Deleted {
	return Deleted{ID: id, Object: ObjectResponse, Deleted: true}
}

// MaxConversationCreateItems is how many items a create or item create may
// carry, as on the hosted API.
const MaxConversationCreateItems = 20

// ConversationCreateParams creates a conversation, optionally with items.
type ConversationCreateParams struct {
	Items    []Item   `json:"items,omitempty"`
	Metadata Metadata `json:"metadata,omitempty"`
}

// UnmarshalJSON decodes strictly, as DecodeResponseCreateParams does.
func (p *ConversationCreateParams) UnmarshalJSON(b []byte) error {
	return decodeStrict(b, func(b []byte) error {
		o, err := readObject("", b)
		if err != nil {
			return err
		}
		var v ConversationCreateParams
		if err := o.metadata("metadata", &v.Metadata); err != nil {
			return err
		}
		if raw, ok := o.raw("items"); ok {
			if v.Items, err = decodeItems("items", raw); err != nil {
				return err
			}
		}
		if err := o.done(); err != nil {
			return err
		}
		*p = v
		return nil
	})
}

// Validate refuses more than 20 items, bad items and bad metadata.
func (p *ConversationCreateParams) Validate() error {
	if len(p.Items) > MaxConversationCreateItems {
		return tooManyItems("items", len(p.Items))
	}
	return firstErr(checkItems("items", p.Items), checkStoredItems("items", p.Items), p.Metadata.Check("metadata"))
}

func tooManyItems(param string, n int) error {
	return invalidCode(param, CodeArrayTooLong, "Invalid '%s': array too long. Expected an array with maximum length %d, but got an array with length %d instead.", param, MaxConversationCreateItems, n)
}

// checkStoredItems refuses item references among items to be stored: a
// conversation holds items, not pointers to them.
func checkStoredItems(param string, items []Item) error {
	for i, it := range items {
		if it.Reference != nil {
			return unsupported(index(param, i), "an item_reference cannot be stored in a conversation; send the item itself")
		}
	}
	return nil
}

// ConversationUpdateParams replaces a conversation's metadata.
type ConversationUpdateParams struct {
	Metadata Metadata `json:"metadata"`
}

// UnmarshalJSON decodes strictly; metadata is required (null clears it).
func (p *ConversationUpdateParams) UnmarshalJSON(b []byte) error {
	return decodeStrict(b, func(b []byte) error {
		o, err := readObject("", b)
		if err != nil {
			return err
		}
		if !o.has("metadata") {
			return missingParam("metadata")
		}
		var v ConversationUpdateParams
		if err := firstErr(o.metadata("metadata", &v.Metadata), o.done()); err != nil {
			return err
		}
		*p = v
		return nil
	})
}

// Validate refuses bad metadata.
func (p *ConversationUpdateParams) Validate() error { return p.Metadata.Check("metadata") }

// ConversationItemCreateParams adds up to 20 items to a conversation. Include
// is the query's include[].
type ConversationItemCreateParams struct {
	Items   []Item   `json:"items"`
	Include []string `json:"-"`
}

// UnmarshalJSON decodes strictly; items is required.
func (p *ConversationItemCreateParams) UnmarshalJSON(b []byte) error {
	return decodeStrict(b, func(b []byte) error {
		o, err := readObject("", b)
		if err != nil {
			return err
		}
		var v ConversationItemCreateParams
		raw, ok := o.raw("items")
		if !ok {
			if o.has("items") {
				return badType("items", "an array", raw)
			}
			return missingParam("items")
		}
		if v.Items, err = decodeItems("items", raw); err != nil {
			return err
		}
		if err := o.done(); err != nil {
			return err
		}
		*p = v
		return nil
	})
}

// Validate refuses an empty or too long list, bad items and bad include[].
func (p *ConversationItemCreateParams) Validate() error {
	if len(p.Items) == 0 {
		return invalidCode("items", CodeEmptyArray, "Invalid 'items': empty array. Expected an array with minimum length 1, but got an empty array instead.")
	}
	if len(p.Items) > MaxConversationCreateItems {
		return tooManyItems("items", len(p.Items))
	}
	return firstErr(checkItems("items", p.Items), checkStoredItems("items", p.Items), CheckInclude("include", p.Include))
}

// ConversationItemList is the answer of POST /v1/conversations/{id}/items:
// the items added, as a list.
type ConversationItemList = Page[Item]

// NewItemList returns a list of items with its first and last ids.
func NewItemList(items []Item) Page[Item] {
	p := Page[Item]{Object: ObjectList, Data: items}
	if p.Data == nil {
		p.Data = []Item{}
	}
	if n := len(items); n > 0 {
		first, last := items[0].ID(), items[n-1].ID()
		p.FirstID, p.LastID = &first, &last
	}
	return p
}
