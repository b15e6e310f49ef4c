package engine

import (
	"strings"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/truncate"
)

// Items of the Responses API as prompt messages (items.go: as stored).

// promptItem is an item as a fitting candidate (tokens 0: count it now);
// history marks it as an earlier turn's (a conversation's, a previous
// response's); ordinal numbers a file_search_call among this response's,
// for its markers (-1: not citable).
func promptItem(it *apitype.Item, tokens int, history bool, ordinal int) truncate.Item {
	text, images := itemText(*it)
	t := truncate.Item{ID: it.ID(), Text: text, Tokens: tokens, Images: images, History: history, Ref: it}
	switch v := it.AsAny().(type) {
	case *apitype.FileSearchCallItem:
		t.Role, t.Group, t.ToolOutput, t.Text = "tool", "fs:"+v.ID, true, fileSearchText(v, ordinal)
	case *apitype.MessageItem:
		t.Role = "user"
		switch v.Role {
		case apitype.RoleAssistant:
			t.Role = "assistant"
		case "system", "developer":
			t.Role = "system"
		}
	case *apitype.FunctionCallItem:
		t.Role, t.Group = "assistant", "call:"+v.CallID
	case *apitype.FunctionCallOutputItem:
		t.Role, t.Group, t.ToolOutput = "tool", "call:"+v.CallID, true
	default:
		t.Role = "system"
	}
	return t
}

// itemMessages turns kept items back into the model's messages, oldest
// first: consecutive function calls become one assistant message that
// calls them all; reasoning items are not sent back.
func (e *Engine) itemMessages(kept []truncate.Item) ([]llm.Message, error) {
	out := make([]llm.Message, 0, len(kept))
	for _, k := range kept {
		it := k.Ref.(*apitype.Item)
		switch v := it.AsAny().(type) {
		case *apitype.MessageItem:
			role := llm.RoleUser
			switch v.Role {
			case apitype.RoleAssistant:
				role = llm.RoleAssistant
			case "system", "developer":
				role = llm.RoleSystem
			}
			text := v.Text()
			if k.Shortened {
				text = k.Text
			}
			images, err := e.itemImageBytes(v)
			if err != nil {
				return nil, err
			}
			out = append(out, llm.Message{Role: role, Content: text, Images: images})
		case *apitype.FunctionCallItem:
			call := llm.ToolCall{ID: v.CallID, Name: v.Name, Arguments: []byte(orJSON(v.Arguments))}
			if n := len(out); n > 0 && out[n-1].Role == llm.RoleAssistant && len(out[n-1].ToolCalls) > 0 && out[n-1].Content == "" {
				out[n-1].ToolCalls = append(out[n-1].ToolCalls, call)
				continue
			}
			out = append(out, llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{call}})
		case *apitype.FunctionCallOutputItem:
			text := v.Output.String()
			if k.Shortened {
				text = k.Text
			}
			out = append(out, llm.Message{Role: llm.RoleTool, ToolCallID: v.CallID, Content: text})
		case *apitype.FileSearchCallItem:
			out = append(out, fileSearchMessages(v, k.Text)...)
		}
	}
	return out, nil
}

func orJSON(args string) string {
	if strings.TrimSpace(args) == "" {
		return "{}"
	}
	return args
}

// itemImageBytes loads a message item's input_image parts: uploaded files
// (file_id) and data: URLs; a remote URL cannot be fetched offline.
func (e *Engine) itemImageBytes(m *apitype.MessageItem) ([][]byte, error) {
	var out [][]byte
	for _, p := range m.Content {
		if p.Type != apitype.PartInputImage {
			continue
		}
		switch {
		case p.FileID != nil && *p.FileID != "":
			b, err := readAll(e.filePath(*p.FileID), maxImageBytes)
			if err != nil {
				return nil, failure(apitype.ErrorCodeInvalidPrompt, "image file %s of item %s cannot be read: %v", *p.FileID, m.ID, err)
			}
			out = append(out, b)
		case p.ImageURL != nil:
			b, err := decodeDataURL(*p.ImageURL)
			if err != nil {
				return nil, failure(apitype.ErrorCodeInvalidPrompt, "input_image of item %s: %v", m.ID, err)
			}
			out = append(out, b)
		}
	}
	return out, nil
}
