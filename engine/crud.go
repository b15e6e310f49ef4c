package engine

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/truncate"
)

// Assistants manages assistants.
type Assistants struct{ e *Engine }

// Create validates p and stores a new assistant.
func (s *Assistants) Create(ctx context.Context, p apitype.AssistantCreateParams) (*apitype.Assistant, error) {
	if p.Model == "" {
		p.Model = s.e.cfg.DefaultModel
	}
	if err := firstErr(
		checkModel("model", p.Model),
		checkOptText("name", p.Name, MaxNameChars),
		checkOptText("description", p.Description, MaxDescriptionChars),
		checkOptText("instructions", p.Instructions, MaxInstructionsChars),
		checkTools("tools", p.Tools),
		checkToolResources("tool_resources", p.ToolResources),
		checkMetadata("metadata", p.Metadata),
		checkRange("temperature", p.Temperature, 0, 2),
		checkRange("top_p", p.TopP, 0, 1),
		checkResponseFormat("response_format", p.ResponseFormat),
	); err != nil {
		return nil, err
	}
	a := &apitype.Assistant{
		ID: s.e.newID(store.PrefixAssistant), Object: apitype.ObjectAssistant, CreatedAt: s.e.now(),
		Name: p.Name, Description: p.Description, Model: p.Model, Instructions: p.Instructions,
		Tools: orEmpty(p.Tools), ToolResources: normResources(p.ToolResources), Metadata: orMeta(p.Metadata),
		Temperature: orFloat(p.Temperature, 1), TopP: orFloat(p.TopP, 1), ResponseFormat: orFormat(p.ResponseFormat),
	}
	var ingest []*apitype.VectorStoreFile
	err := s.e.store.Update(ctx, func(tx store.Tx) error {
		res := *a.ToolResources
		var err error
		if ingest, err = s.e.storeResources(tx, &res); err != nil {
			return err
		}
		b := *a
		b.ToolResources = &res
		if err := tx.PutAssistant(&b); err != nil {
			return err
		}
		*a = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.e.ingestLater(ingest...)
	return a, nil
}

// Retrieve reads an assistant.
func (s *Assistants) Retrieve(ctx context.Context, id string) (*apitype.Assistant, error) {
	return read(ctx, s.e, func(tx store.Tx) (*apitype.Assistant, error) { return tx.GetAssistant(id) })
}

// Update modifies the fields p sets; metadata, when given, replaces the old.
func (s *Assistants) Update(ctx context.Context, id string, p apitype.AssistantUpdateParams) (*apitype.Assistant, error) {
	var tools []apitype.Tool
	if p.Tools != nil {
		tools = *p.Tools
	}
	if err := firstErr(
		checkOptText("name", p.Name, MaxNameChars),
		checkOptText("description", p.Description, MaxDescriptionChars),
		checkOptText("instructions", p.Instructions, MaxInstructionsChars),
		checkTools("tools", tools),
		checkToolResources("tool_resources", p.ToolResources),
		checkMetadata("metadata", p.Metadata),
		checkRange("temperature", p.Temperature, 0, 2),
		checkRange("top_p", p.TopP, 0, 1),
		checkResponseFormat("response_format", p.ResponseFormat),
	); err != nil {
		return nil, err
	}
	if p.Model != nil {
		if err := checkModel("model", *p.Model); err != nil {
			return nil, err
		}
	}
	var a *apitype.Assistant
	var ingest []*apitype.VectorStoreFile
	err := s.e.store.Update(ctx, func(tx store.Tx) error {
		var err error
		if a, err = tx.GetAssistant(id); err != nil {
			return err
		}
		set(&a.Model, p.Model)
		override(&a.Name, p.Name)
		override(&a.Description, p.Description)
		override(&a.Instructions, p.Instructions)
		if p.Tools != nil {
			a.Tools = orEmpty(tools)
		}
		if p.ToolResources != nil {
			a.ToolResources = normResources(p.ToolResources)
			if ingest, err = s.e.storeResources(tx, a.ToolResources); err != nil {
				return err
			}
		}
		if p.Metadata != nil {
			a.Metadata = maps.Clone(p.Metadata)
		}
		override(&a.Temperature, p.Temperature)
		override(&a.TopP, p.TopP)
		override(&a.ResponseFormat, p.ResponseFormat)
		return tx.PutAssistant(a)
	})
	if err != nil {
		return nil, err
	}
	s.e.ingestLater(ingest...)
	return a, nil
}

// Delete deletes an assistant. Threads and runs that used it keep its id.
func (s *Assistants) Delete(ctx context.Context, id string) (*apitype.Deleted, error) {
	err := s.e.store.Update(ctx, func(tx store.Tx) error { return tx.DeleteAssistant(id) })
	if err != nil {
		return nil, err
	}
	return &apitype.Deleted{ID: id, Object: "assistant.deleted", Deleted: true}, nil
}

// List returns one page of assistants.
func (s *Assistants) List(ctx context.Context, p apitype.ListParams) (*apitype.Page[apitype.Assistant], error) {
	if err := checkList(p, store.PrefixAssistant); err != nil {
		return nil, err
	}
	page, err := read(ctx, s.e, func(tx store.Tx) (apitype.Page[apitype.Assistant], error) { return tx.ListAssistants(p) })
	return &page, err
}

// All iterates over every assistant from p's position, page by page.
func (s *Assistants) All(ctx context.Context, p apitype.ListParams) iter.Seq2[apitype.Assistant, error] {
	return paginate(p, func(p apitype.ListParams) (*apitype.Page[apitype.Assistant], error) { return s.List(ctx, p) })
}

// Threads manages threads.
type Threads struct{ e *Engine }

// List pages through threads, newest first unless p.Order is asc. It is a
// Hearth extension: the hosted API has no thread list.
func (s *Threads) List(ctx context.Context, p apitype.ListParams) (*apitype.Page[apitype.Thread], error) {
	if err := checkList(p, store.PrefixThread); err != nil {
		return nil, err
	}
	page, err := read(ctx, s.e, func(tx store.Tx) (apitype.Page[apitype.Thread], error) { return tx.ListThreads(p) })
	return &page, err
}

// All iterates over every thread from p's position, page by page.
func (s *Threads) All(ctx context.Context, p apitype.ListParams) iter.Seq2[apitype.Thread, error] {
	return paginate(p, func(p apitype.ListParams) (*apitype.Page[apitype.Thread], error) { return s.List(ctx, p) })
}

// Create stores a thread with its initial messages, in one transaction.
func (s *Threads) Create(ctx context.Context, p apitype.ThreadCreateParams) (*apitype.Thread, error) {
	th, _, err := s.create(ctx, p, nil)
	return th, err
}

// create validates p and returns the thread and its messages, stored by fn's
// transaction (extra, when set, runs in the same transaction).
func (s *Threads) create(ctx context.Context, p apitype.ThreadCreateParams, extra func(store.Tx, *apitype.Thread) error) (*apitype.Thread, []*apitype.Message, error) {
	th, msgs, err := s.prepare(p)
	if err != nil {
		return nil, nil, err
	}
	tokens := make([]int, len(msgs)) // counted here, not in the transaction every writer waits for
	for i, m := range msgs {
		tokens[i] = s.e.countTokens(m)
	}
	var ingest []*apitype.VectorStoreFile
	err = s.e.store.Update(ctx, func(tx store.Tx) error {
		ingest = nil
		res := *th.ToolResources
		t := *th
		t.ToolResources = &res
		files, err := s.e.storeResources(tx, t.ToolResources)
		if err != nil {
			return err
		}
		ingest = append(ingest, files...)
		if err := tx.PutThread(&t); err != nil {
			return err
		}
		for i, m := range msgs {
			if err := s.e.checkFilesOf(tx, fmt.Sprintf("messages[%d].", i), m); err != nil {
				return err
			}
			if err := tx.PutMessage(m, tokens[i]); err != nil {
				return err
			}
			files, err := s.e.attachToThread(tx, &t, fmt.Sprintf("messages[%d].attachments", i), m.Attachments)
			if err != nil {
				return err
			}
			ingest = append(ingest, files...)
		}
		if extra != nil {
			if err := extra(tx, &t); err != nil {
				return err
			}
		}
		*th = t
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	s.e.ingestLater(ingest...)
	return th, msgs, nil
}

func (s *Threads) prepare(p apitype.ThreadCreateParams) (*apitype.Thread, []*apitype.Message, error) {
	if len(p.Messages) > MaxInitialMessages {
		return nil, nil, apitype.Invalid("messages", "at most %d initial messages, got %d.", MaxInitialMessages, len(p.Messages))
	}
	if err := firstErr(checkToolResources("tool_resources", p.ToolResources), checkMetadata("metadata", p.Metadata)); err != nil {
		return nil, nil, err
	}
	for i := range p.Messages {
		if err := checkMessage(fmt.Sprintf("messages[%d]", i), &p.Messages[i]); err != nil {
			return nil, nil, err
		}
	}
	th := &apitype.Thread{ID: s.e.newID(store.PrefixThread), Object: apitype.ObjectThread, CreatedAt: s.e.now(),
		ToolResources: normResources(p.ToolResources), Metadata: orMeta(p.Metadata)}
	msgs := make([]*apitype.Message, len(p.Messages))
	for i := range p.Messages {
		msgs[i] = s.e.newMessage(th.ID, &p.Messages[i])
	}
	return th, msgs, nil
}

// Retrieve reads a thread.
func (s *Threads) Retrieve(ctx context.Context, id string) (*apitype.Thread, error) {
	return read(ctx, s.e, func(tx store.Tx) (*apitype.Thread, error) { return tx.GetThread(id) })
}

// Update modifies a thread's tool_resources and metadata.
func (s *Threads) Update(ctx context.Context, id string, p apitype.ThreadUpdateParams) (*apitype.Thread, error) {
	if err := firstErr(checkToolResources("tool_resources", p.ToolResources), checkMetadata("metadata", p.Metadata)); err != nil {
		return nil, err
	}
	var th *apitype.Thread
	var ingest []*apitype.VectorStoreFile
	err := s.e.store.Update(ctx, func(tx store.Tx) error {
		var err error
		if th, err = tx.GetThread(id); err != nil {
			return err
		}
		if p.ToolResources != nil {
			th.ToolResources = normResources(p.ToolResources)
			if ingest, err = s.e.storeResources(tx, th.ToolResources); err != nil {
				return err
			}
		}
		if p.Metadata != nil {
			th.Metadata = maps.Clone(p.Metadata)
		}
		return tx.PutThread(th)
	})
	if err != nil {
		return nil, err
	}
	s.e.ingestLater(ingest...)
	return th, nil
}

// Delete deletes a thread with its messages, runs and steps. A run in
// flight on it is cancelled first.
func (s *Threads) Delete(ctx context.Context, id string) (*apitype.Deleted, error) {
	var active string
	err := s.e.store.Update(ctx, func(tx store.Tx) (err error) {
		if active, err = tx.ActiveRun(id); err != nil {
			return err
		}
		return tx.DeleteThread(id)
	})
	if err != nil {
		return nil, err
	}
	if active != "" {
		s.e.signal(ctx, active, SignalDelete, errThreadDeleted)
		s.e.bus.Publish(active, apitype.Event{Event: apitype.EventError,
			Error: apitype.NotFound("thread", id)})
	}
	if sb := s.e.cfg.CodeInterpreter; sb != nil {
		// Its /mnt/data goes with it, not at the next eviction.
		if err := sb.CloseSession(id); err != nil {
			s.e.log.Warn("close the deleted thread's sandbox session", "thread", id, "err", err)
		}
		s.e.mounts.forget(id)
	}
	return &apitype.Deleted{ID: id, Object: "thread.deleted", Deleted: true}, nil
}

// Messages manages a thread's messages.
type Messages struct{ e *Engine }

// Create adds a message to a thread. It fails with apitype.ErrActiveRun
// while a run is active on the thread.
func (s *Messages) Create(ctx context.Context, threadID string, p apitype.MessageCreateParams) (*apitype.Message, error) {
	if err := checkMessage("", &p); err != nil {
		return nil, trimParam(err)
	}
	m := s.e.newMessage(threadID, &p)
	tokens := s.e.countTokens(m) // here, not in the transaction every writer waits for
	var ingest []*apitype.VectorStoreFile
	err := s.e.store.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.GetThread(threadID); err != nil {
			return err
		}
		if run, err := tx.ActiveRun(threadID); err != nil {
			return err
		} else if run != "" {
			return apitype.ActiveRunMessageError(threadID, run)
		}
		if err := s.e.checkFilesOf(tx, "", m); err != nil {
			return err
		}
		if err := tx.PutMessage(m, tokens); err != nil {
			return err
		}
		th, err := tx.GetThread(threadID)
		if err != nil {
			return err
		}
		ingest, err = s.e.attachToThread(tx, th, "attachments", m.Attachments)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.e.ingestLater(ingest...)
	return m, nil
}

// Retrieve reads a message.
func (s *Messages) Retrieve(ctx context.Context, threadID, id string) (*apitype.Message, error) {
	return read(ctx, s.e, func(tx store.Tx) (*apitype.Message, error) { return tx.GetMessage(threadID, id) })
}

// Update replaces a message's metadata.
func (s *Messages) Update(ctx context.Context, threadID, id string, p apitype.MessageUpdateParams) (*apitype.Message, error) {
	if err := checkMetadata("metadata", p.Metadata); err != nil {
		return nil, err
	}
	var m *apitype.Message
	err := s.e.store.Update(ctx, func(tx store.Tx) error {
		var err error
		if m, err = tx.GetMessage(threadID, id); err != nil {
			return err
		}
		if p.Metadata != nil {
			m.Metadata = maps.Clone(p.Metadata)
		}
		return tx.PutMessage(m, -1)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Delete deletes a message. Messages of an active run cannot be deleted.
func (s *Messages) Delete(ctx context.Context, threadID, id string) (*apitype.Deleted, error) {
	err := s.e.store.Update(ctx, func(tx store.Tx) error {
		m, err := tx.GetMessage(threadID, id)
		if err != nil {
			return err
		}
		run, err := tx.ActiveRun(threadID)
		if err != nil {
			return err
		}
		if run != "" && m.RunID != nil && *m.RunID == run {
			return apitype.InvalidState("message %s belongs to run %s, which is still active.", id, run)
		}
		return tx.DeleteMessage(threadID, id)
	})
	if err != nil {
		return nil, err
	}
	return &apitype.Deleted{ID: id, Object: "thread.message.deleted", Deleted: true}, nil
}

// List returns one page of a thread's messages.
func (s *Messages) List(ctx context.Context, threadID string, p apitype.MessageListParams) (*apitype.Page[apitype.Message], error) {
	if err := checkList(p.ListParams, store.PrefixMessage); err != nil {
		return nil, err
	}
	if p.RunID != "" && !store.ValidID(store.PrefixRun, p.RunID) {
		return nil, apitype.Invalid("run_id", "'run_id' must be a run id, got %q.", truncateForError(p.RunID))
	}
	page, err := read(ctx, s.e, func(tx store.Tx) (apitype.Page[apitype.Message], error) { return tx.ListMessages(threadID, p) })
	return &page, err
}

// All iterates over a thread's messages from p's position, page by page.
func (s *Messages) All(ctx context.Context, threadID string, p apitype.MessageListParams) iter.Seq2[apitype.Message, error] {
	return paginate(p.ListParams, func(lp apitype.ListParams) (*apitype.Page[apitype.Message], error) {
		q := p
		q.ListParams = lp
		return s.List(ctx, threadID, q)
	})
}

// read runs get in a read transaction and returns what it read.
func read[T any](ctx context.Context, e *Engine, get func(store.Tx) (T, error)) (T, error) {
	var out T
	err := e.store.View(ctx, func(tx store.Tx) (err error) {
		out, err = get(tx)
		return err
	})
	return out, err
}

// paginate follows has_more with after=<last_id>.
func paginate[T any](p apitype.ListParams, page func(apitype.ListParams) (*apitype.Page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			pg, err := page(p)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range pg.Data {
				if !yield(item, nil) {
					return
				}
			}
			if !pg.HasMore || pg.LastID == nil {
				return
			}
			if p.Before != "" && p.After == "" {
				p.Before = *pg.FirstID
			} else {
				p.After = *pg.LastID
			}
		}
	}
}

func (e *Engine) newMessage(threadID string, p *apitype.MessageCreateParams) *apitype.Message {
	m := &apitype.Message{
		ID: e.newID(store.PrefixMessage), Object: apitype.ObjectMessage, CreatedAt: e.now(), ThreadID: threadID,
		Status: apitype.MessageCompleted, Role: p.Role, Attachments: orEmpty(p.Attachments), Metadata: orMeta(p.Metadata),
	}
	m.CompletedAt = apitype.Ptr(m.CreatedAt)
	if p.Content.Parts == nil {
		m.Content = []apitype.MessageContent{textPart(p.Content.Text)}
	} else {
		for _, part := range p.Content.Parts {
			part.Index = nil
			if part.Text != nil {
				part = textPart(part.Text.Value)
			}
			m.Content = append(m.Content, part)
		}
	}
	return m
}

func textPart(s string) apitype.MessageContent {
	return apitype.MessageContent{Type: apitype.ContentText, Text: &apitype.TextContent{Value: s, Annotations: []apitype.Annotation{}}}
}

// checkResources verifies that the files and vector stores named exist.
func (e *Engine) checkResources(tx store.Tx, param string, r *apitype.ToolResources) error {
	if r == nil {
		return nil
	}
	if r.CodeInterpreter != nil {
		for i, id := range r.CodeInterpreter.FileIDs {
			if _, err := tx.GetFile(id); err != nil {
				return apitype.Invalid(fmt.Sprintf("%s.code_interpreter.file_ids[%d]", param, i), "file %s not found.", id)
			}
		}
	}
	if r.FileSearch != nil {
		for i, id := range r.FileSearch.VectorStoreIDs {
			if _, err := tx.GetVectorStore(id); err != nil {
				return apitype.Invalid(fmt.Sprintf("%s.file_search.vector_store_ids[%d]", param, i), "vector store %s not found.", id)
			}
		}
	}
	return nil
}

// checkFilesOf verifies that a message's image files and attachments exist.
func (e *Engine) checkFilesOf(tx store.Tx, param string, m *apitype.Message) error {
	for i, c := range m.Content {
		if c.ImageFile != nil {
			if _, err := tx.GetFile(c.ImageFile.FileID); err != nil {
				return apitype.Invalid(fmt.Sprintf("%scontent[%d].image_file.file_id", param, i), "file %s not found.", c.ImageFile.FileID)
			}
		}
	}
	return e.checkAttachments(tx, param+"attachments", m.Attachments)
}

func (e *Engine) checkAttachments(tx store.Tx, param string, atts []apitype.Attachment) error {
	for i, a := range atts {
		if _, err := tx.GetFile(a.FileID); err != nil {
			return apitype.Invalid(fmt.Sprintf("%s[%d].file_id", param, i), "file %s not found.", a.FileID)
		}
	}
	return nil
}

// countTokens counts a message's tokens for the prompt budget, once, when
// it is written; truncation then reads only the cached counts.
func (e *Engine) countTokens(m *apitype.Message) int {
	images := 0
	for _, c := range m.Content {
		if c.ImageFile != nil || c.ImageURL != nil {
			images++
		}
	}
	if enc, err := truncate.Default(); err == nil {
		return enc.CountMessage(messageText(m), images)
	}
	return (len(messageText(m))+3)/4 + images*truncate.ImageTokens + truncate.MessageOverhead
}

// trimParam removes the leading "." a nested check puts on a top-level param.
func trimParam(err error) error {
	if e, ok := err.(*apitype.Error); ok && len(e.Param) > 0 && e.Param[0] == '.' {
		c := *e
		c.Param = c.Param[1:]
		return &c
	}
	return err
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return slices.Clone(s)
}

func orMeta(m apitype.Metadata) apitype.Metadata {
	if m == nil {
		return apitype.Metadata{}
	}
	return maps.Clone(m)
}

func orFloat(v *float64, def float64) *float64 {
	if v == nil {
		return &def
	}
	return v
}

func orFormat(f *apitype.ResponseFormat) *apitype.ResponseFormat {
	if f == nil {
		return &apitype.ResponseFormat{Type: apitype.ResponseFormatAuto}
	}
	return f
}

// storeResources creates the vector stores r asks for inline and checks
// that every file and vector store it names exists, in tx; it returns the
// files to ingest once tx commits.
func (e *Engine) storeResources(tx store.Tx, r *apitype.ToolResources) ([]*apitype.VectorStoreFile, error) {
	ingest, err := e.createInlineStores(tx, r)
	if err != nil {
		return nil, err
	}
	return ingest, e.checkResources(tx, "tool_resources", r)
}

func normResources(r *apitype.ToolResources) *apitype.ToolResources {
	if r == nil {
		return &apitype.ToolResources{}
	}
	c := *r
	return &c
}

// set copies *src to *dst when src is given.
func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// override points *dst at src when src is given: optional params replace
// optional fields.
func override[T any](dst **T, src *T) {
	if src != nil {
		*dst = src
	}
}
