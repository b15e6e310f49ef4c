package engine

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/hearth-go/hearth/filesearch/extract"
	"github.com/hearth-go/hearth/store"

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
	case *apitype.CodeInterpreterCallItem:
		t.Role, t.Group, t.ToolOutput, t.Text = "tool", "ci:"+v.ID, true, codeCallText(v)
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
			text := k.Text // itemText's, shortened by Fit or with the files' text before it
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
		case *apitype.CodeInterpreterCallItem:
			out = append(out, codeCallMessages(v, k.Text)...)
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
			b, err := e.readBytes(e.ctx, SpaceFiles, *p.FileID, maxImageBytes)
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

// maxInputFileBytes caps one input_file a prompt reads.
const maxInputFileBytes = 64 << 20

// hasInputFiles reports whether a message item carries input_file parts.
func hasInputFiles(it *apitype.Item) bool {
	return it.Message != nil && slices.ContainsFunc(it.Message.Content, func(p apitype.ContentPart) bool { return p.Type == apitype.PartInputFile })
}

// withInputFiles is a message's prompt candidate with the text of its
// input_file parts before its own (extracted as file search extracts
// documents, PDFs included), counted now: the files' text is not stored.
func (e *Engine) withInputFiles(tx store.Tx, t truncate.Item, m *apitype.MessageItem) (truncate.Item, error) {
	var b strings.Builder
	for _, p := range m.Content {
		if p.Type != apitype.PartInputFile {
			continue
		}
		name, data, err := e.inputFile(tx, p)
		if err != nil {
			return t, failure(apitype.ErrorCodeInvalidPrompt, "input_file of item %s: %v", m.ID, err)
		}
		text, err := extract.Bytes(name, data)
		if err != nil {
			return t, failure(apitype.ErrorCodeInvalidPrompt, "input_file %s of item %s: %v", name, m.ID, err)
		}
		fmt.Fprintf(&b, "File %s:\n%s\n\n", name, text)
	}
	t.Text, t.Tokens = b.String()+t.Text, 0
	return t, nil
}

// inputFile reads an input_file part: an uploaded file (file_id) or inline
// base64 data (file_data, a data: URL or bare base64, with its filename).
func (e *Engine) inputFile(tx store.Tx, p apitype.ContentPart) (string, []byte, error) {
	switch {
	case p.FileID != nil && *p.FileID != "":
		f, err := tx.GetFile(*p.FileID)
		if err != nil {
			return "", nil, err
		}
		data, err := e.readBytes(e.ctx, SpaceFiles, f.ID, maxInputFileBytes)
		return f.Filename, data, err
	case p.FileData != nil:
		name := "file"
		if p.Filename != nil && *p.Filename != "" {
			name = *p.Filename
		}
		d := *p.FileData
		if strings.HasPrefix(d, "data:") {
			data, err := decodeDataURL(d)
			return name, data, err
		}
		data, err := base64.StdEncoding.DecodeString(d)
		return name, data, err
	}
	return "", nil, fmt.Errorf("only file_id and file_data can be read offline")
}

// checkInputFiles refuses, before anything is written, input_file and
// input_image parts naming files the store does not hold, and URLs that
// cannot be fetched offline.
func checkInputFiles(tx store.Tx, items []apitype.Item) error {
	for i, it := range items {
		if it.Message == nil {
			continue
		}
		for j, p := range it.Message.Content {
			param := fmt.Sprintf("input[%d].content[%d]", i, j)
			switch p.Type {
			case apitype.PartInputFile, apitype.PartInputImage:
				if p.FileID != nil && *p.FileID != "" {
					if _, err := tx.GetFile(*p.FileID); err != nil {
						return &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Status: 400, Param: param + ".file_id",
							Message: fmt.Sprintf("No file found with id '%s'.", *p.FileID)}
					}
				}
				if p.FileURL != nil && *p.FileURL != "" {
					return &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Code: apitype.CodeUnsupported, Status: 400, Param: param + ".file_url",
						Message: "Hearth runs offline and cannot fetch file_url; upload the file and send its file_id, or send file_data."}
				}
				if p.Type == apitype.PartInputImage && p.ImageURL != nil && !strings.HasPrefix(*p.ImageURL, "data:") {
					return &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Code: apitype.CodeUnsupported, Status: 400, Param: param + ".image_url",
						Message: "Hearth runs offline and cannot fetch image_url; send a data: URL or an uploaded file's file_id."}
				}
			}
		}
	}
	return nil
}
