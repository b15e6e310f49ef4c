package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// The bridge from the Assistants API, which OpenAI never shipped: an
// assistant can stand where a prompt does (prompt: {id: "asst_…"}), and a
// thread can be carried into a conversation, so an app moves to Responses
// one call site at a time on the same data.

// withPrompt returns p with what its prompt's assistant gives where p sets
// nothing: the model, the instructions (its {{variables}} substituted),
// the tools with the assistant's tool resources, temperature, top_p and
// response_format as text.format. p itself is left as it was.
func withPrompt(tx store.Tx, p *apitype.ResponseCreateParams) (*apitype.ResponseCreateParams, error) {
	if p.Prompt == nil {
		return p, nil
	}
	id := p.Prompt.ID
	if !strings.HasPrefix(id, store.PrefixAssistant) {
		return nil, &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Code: apitype.CodeUnsupported, Status: 400, Param: "prompt.id",
			Message: fmt.Sprintf("Prompt '%s' is not an assistant: Hearth takes an assistant id (asst_…) as a prompt; OpenAI's stored prompts live on its platform.", id)}
	}
	a, err := tx.GetAssistant(id)
	if err != nil {
		return nil, &apitype.Error{Type: apitype.ErrorTypeNotFound, Status: 404, Param: "prompt.id", Message: fmt.Sprintf("No assistant found with id '%s'.", id)}
	}
	q := *p
	if q.Model == "" {
		q.Model = a.Model
	}
	if q.Instructions == nil && a.Instructions != nil {
		q.Instructions = apitype.Ptr(substitute(*a.Instructions, p.Prompt.Variables))
	}
	if q.Temperature == nil {
		q.Temperature = a.Temperature
	}
	if q.TopP == nil {
		q.TopP = a.TopP
	}
	if q.Text == nil && a.ResponseFormat != nil {
		switch f := a.ResponseFormat; f.Type {
		case apitype.ResponseFormatJSONObject:
			q.Text = &apitype.ResponseTextConfig{Format: &apitype.TextFormat{Type: apitype.ResponseFormatJSONObject}}
		case apitype.ResponseFormatJSONSchema:
			if s := f.JSONSchema; s != nil {
				tf := &apitype.TextFormat{Type: apitype.ResponseFormatJSONSchema, Name: s.Name, Schema: s.Schema, Strict: s.Strict}
				if s.Description != "" {
					tf.Description = apitype.Ptr(s.Description)
				}
				q.Text = &apitype.ResponseTextConfig{Format: tf}
			}
		}
	}
	if len(q.Tools) == 0 {
		q.Tools = assistantTools(a)
	}
	return &q, nil
}

// assistantTools are an assistant's tools as Responses tools, its tool
// resources folded in: file_search searches its vector stores, and
// code_interpreter gets an automatic container with its files.
func assistantTools(a *apitype.Assistant) []apitype.ResponseTool {
	var out []apitype.ResponseTool
	res := a.ToolResources
	for _, t := range a.Tools {
		switch t.Type {
		case apitype.ToolTypeFunction:
			if t.Function == nil {
				continue
			}
			rt := apitype.ResponseTool{Type: apitype.ToolTypeFunction, Name: t.Function.Name, Parameters: t.Function.Parameters,
				Strict: apitype.Ptr(t.Function.Strict != nil && *t.Function.Strict)}
			if t.Function.Description != "" {
				rt.Description = apitype.Ptr(t.Function.Description)
			}
			out = append(out, rt)
		case apitype.ToolTypeFileSearch:
			rt := apitype.ResponseTool{Type: apitype.ToolTypeFileSearch}
			if res != nil && res.FileSearch != nil {
				rt.VectorStoreIDs = res.FileSearch.VectorStoreIDs
			}
			if len(rt.VectorStoreIDs) == 0 {
				continue // nothing to search: the hosted API refuses an empty list
			}
			if fs := t.FileSearch; fs != nil {
				if fs.MaxNumResults > 0 {
					rt.MaxNumResults = apitype.Ptr(fs.MaxNumResults)
				}
				if r := fs.RankingOptions; r != nil {
					rt.RankingOptions = &apitype.ResponseRankingOptions{Ranker: r.Ranker, ScoreThreshold: apitype.Ptr(r.ScoreThreshold)}
				}
			}
			out = append(out, rt)
		case apitype.ToolTypeCodeInterpreter:
			auto := &apitype.ContainerAuto{Type: "auto"}
			if res != nil && res.CodeInterpreter != nil {
				auto.FileIDs = res.CodeInterpreter.FileIDs
			}
			out = append(out, apitype.ResponseTool{Type: apitype.ToolTypeCodeInterpreter, Container: &apitype.ToolContainer{Auto: auto}})
		}
	}
	return out
}

// substitute replaces each {{name}} in s by its variable's value; names
// without a value are left as they are.
func substitute(s string, vars map[string]string) string {
	if len(vars) == 0 || !strings.Contains(s, "{{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			break
		}
		name := strings.TrimSpace(s[i+2 : i+j])
		b.WriteString(s[:i])
		if v, ok := vars[name]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(s[i : i+j+2])
		}
		s = s[i+j+2:]
	}
	b.WriteString(s)
	return b.String()
}

// Hearth's metadata keys on a conversation carried over from a thread.
const (
	MetaFromThread     = "hearth_thread_id"
	MetaVectorStoreIDs = "hearth_vector_store_ids"
	MetaCodeFileIDs    = "hearth_code_file_ids"
)

// FromThread carries a thread into a new conversation, in one transaction:
// its messages in order as message items (text, and images as
// input_image parts; an assistant's text as output_text), its metadata,
// and in Hearth's metadata keys the thread it came from and its tool
// resources (vector store ids and code interpreter file ids, comma
// separated) for the file_search and code_interpreter tools of the
// responses that continue it. The thread is left as it was. The thread's
// run steps (tool calls) are not carried: the messages hold the answers.
func (s *Conversations) FromThread(ctx context.Context, threadID string) (*apitype.Conversation, error) {
	e := s.e
	var c *apitype.Conversation
	err := e.store.Update(ctx, func(tx store.Tx) error {
		th, err := tx.GetThread(threadID)
		if err != nil {
			return err
		}
		md := apitype.Metadata{}
		for k, v := range th.Metadata {
			md[k] = v
		}
		md[MetaFromThread] = th.ID
		if r := th.ToolResources; r != nil {
			if r.FileSearch != nil && len(r.FileSearch.VectorStoreIDs) > 0 {
				md[MetaVectorStoreIDs] = strings.Join(r.FileSearch.VectorStoreIDs, ",")
			}
			if r.CodeInterpreter != nil && len(r.CodeInterpreter.FileIDs) > 0 {
				md[MetaCodeFileIDs] = strings.Join(r.CodeInterpreter.FileIDs, ",")
			}
		}
		if err := md.Check("metadata"); err != nil {
			return &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Status: 400, Param: "thread_id",
				Message: fmt.Sprintf("Thread %s cannot be carried over: its metadata and Hearth's keys for its tool resources (%s, %s, %s) do not fit a conversation's metadata: %v", th.ID, MetaFromThread, MetaVectorStoreIDs, MetaCodeFileIDs, err)}
		}
		c = &apitype.Conversation{ID: e.newID(store.PrefixConversation), Object: apitype.ObjectConversation, CreatedAt: e.now(), Metadata: md}
		if err := tx.PutConversation(c); err != nil {
			return err
		}
		var items []apitype.Item
		var tokens []int
		flush := func() error {
			if len(items) == 0 {
				return nil
			}
			err := tx.AppendConversationItems(c.ID, items, tokens)
			items, tokens = items[:0], tokens[:0]
			return err
		}
		err = tx.EachMessage(threadID, false, func(m *apitype.Message, _ int) (bool, error) {
			it := e.storedItem(messageItem(m))
			items, tokens = append(items, it), append(tokens, itemTokens(it))
			if len(items) == 1000 {
				return true, flush()
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		return flush()
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// messageItem is a thread's message as a conversation's message item.
func messageItem(m *apitype.Message) apitype.Item {
	mi := &apitype.MessageItem{Role: m.Role, Status: apitype.ItemCompleted}
	for _, c := range m.Content {
		switch {
		case c.Text != nil && m.Role == apitype.RoleAssistant:
			mi.Content = append(mi.Content, apitype.OutputText(c.Text.Value))
		case c.Text != nil:
			mi.Content = append(mi.Content, apitype.InputText(c.Text.Value))
		case c.ImageFile != nil:
			mi.Content = append(mi.Content, apitype.ContentPart{Type: apitype.PartInputImage, FileID: apitype.Ptr(c.ImageFile.FileID), Detail: "auto"})
		case c.ImageURL != nil:
			mi.Content = append(mi.Content, apitype.ContentPart{Type: apitype.PartInputImage, ImageURL: apitype.Ptr(c.ImageURL.URL), Detail: "auto"})
		}
	}
	return apitype.ItemOf(mi)
}
