package engine

import (
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// TestStoredItem: every variant without an id gets one of its type's
// prefix; the caller's item is not changed.
func TestStoredItem(t *testing.T) {
	e := &Engine{cfg: Config{IDs: store.NewIDGenerator(nil, nil).New}}
	msg := &apitype.MessageItem{Role: apitype.RoleUser}
	for _, c := range []struct {
		in     apitype.Item
		prefix string
	}{
		{apitype.ItemOf(msg), store.PrefixMessage},
		{apitype.ItemOf(&apitype.FunctionCallItem{CallID: "c"}), store.PrefixFunctionCall},
		{apitype.ItemOf(&apitype.FunctionCallOutputItem{CallID: "c"}), store.PrefixFunctionCallOutput},
		{apitype.ItemOf(&apitype.ReasoningItem{}), store.PrefixReasoning},
	} {
		out := e.storedItem(c.in)
		if !strings.HasPrefix(out.ID(), c.prefix) || c.in.ID() != "" {
			t.Errorf("%s: stored id %q, input id %q", c.in.Type(), out.ID(), c.in.ID())
		}
	}
	if out := e.storedItem(apitype.ItemOf(msg)); out.Message.Status != apitype.ItemCompleted || msg.Status != "" {
		t.Errorf("message status %q (input %q)", out.Message.Status, msg.Status)
	}
	kept := e.storedItem(apitype.ItemOf(&apitype.MessageItem{ID: "msg_x", Status: apitype.ItemIncomplete}))
	if kept.ID() != "msg_x" || kept.Message.Status != apitype.ItemIncomplete {
		t.Errorf("kept %+v", kept.Message)
	}
}
