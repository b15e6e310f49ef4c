package engine

import (
	"strings"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/truncate"
)

// Items of the Responses and Conversations APIs, as they are stored.

// storedItem returns it as a conversation (or a response) keeps it: with an
// id when it came without one (msg_, fc_, fco_, rs_ by type) and, for a
// message, status completed when unset. The variant is copied, so the
// caller's item is left as it was.
func (e *Engine) storedItem(it apitype.Item) apitype.Item {
	switch v := it.AsAny().(type) {
	case *apitype.MessageItem:
		c := *v
		if c.ID == "" {
			c.ID = e.newID(store.PrefixMessage)
		}
		if c.Status == "" {
			c.Status = apitype.ItemCompleted
		}
		return apitype.ItemOf(&c)
	case *apitype.FunctionCallItem:
		c := *v
		if c.ID == "" {
			c.ID = e.newID(store.PrefixFunctionCall)
		}
		return apitype.ItemOf(&c)
	case *apitype.FunctionCallOutputItem:
		c := *v
		if c.ID == "" {
			c.ID = e.newID(store.PrefixFunctionCallOutput)
		}
		return apitype.ItemOf(&c)
	case *apitype.ReasoningItem:
		c := *v
		if c.ID == "" {
			c.ID = e.newID(store.PrefixReasoning)
		}
		return apitype.ItemOf(&c)
	}
	return it
}

// itemTokens counts an item's tokens as a prompt would carry it, with the
// default encoding: a message's text parts (and its images), a function
// call's name and arguments, a function's output, a reasoning item's
// summary, a tool call's code or queries.
func itemTokens(it apitype.Item) int {
	text, images := itemText(it)
	if enc, err := truncate.Default(); err == nil {
		return enc.CountMessage(text, images)
	}
	return (len(text)+3)/4 + images*truncate.ImageTokens + truncate.MessageOverhead
}

// textOnly reports whether a message is text parts alone: what a prompt
// keeps of it is its role and its text.
func textOnly(m *apitype.MessageItem) bool {
	for _, p := range m.Content {
		switch p.Type {
		case apitype.PartInputText, apitype.PartOutputText, apitype.PartText:
		default:
			return false
		}
	}
	return true
}

// itemText is the text of an item itemTokens counts, and its images.
func itemText(it apitype.Item) (string, int) {
	switch v := it.AsAny().(type) {
	case *apitype.MessageItem:
		images, texts, text := 0, 0, ""
		for _, p := range v.Content {
			switch p.Type {
			case apitype.PartInputImage:
				images++
			case apitype.PartInputText, apitype.PartOutputText, apitype.PartText:
				texts, text = texts+1, p.Text
			}
		}
		if texts > 1 {
			text = v.Text()
		}
		// One part (a prompt's usual message) is its own text: no copy.
		return text, images
	case *apitype.FunctionCallItem:
		return v.Name + "\n" + v.Arguments, 0
	case *apitype.FunctionCallOutputItem:
		images := 0
		for _, p := range v.Output.Parts {
			if p.Type == apitype.PartInputImage {
				images++
			}
		}
		return v.Output.String(), images
	case *apitype.ReasoningItem:
		var b strings.Builder
		for _, p := range v.Summary {
			b.WriteString(p.Text)
		}
		return b.String(), 0
	case *apitype.CodeInterpreterCallItem:
		// The code and what the model reads back of it: both are in the prompt.
		return codeOf(v) + "\n" + codeCallText(v), 0
	case *apitype.FileSearchCallItem:
		return strings.Join(v.Queries, "\n") + "\n" + fileSearchText(v, -1), 0
	}
	return "", 0
}
