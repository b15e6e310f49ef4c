package engine

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// Responses creates and reads responses (the Responses API): a model's
// answer to an input, continuing a previous response or a conversation.
//
// A response runs on the same worker pool as runs, bounded by
// MaxConcurrentRuns. Create returns when it has ended (or, for a
// background response, as soon as it is queued); CreateStream yields its
// events as they happen, from response.created to the event that ends it.
type Responses struct{ e *Engine }

// Create makes a response and waits until it ends; a background response
// is returned queued at once (Retrieve or Stream it, Cancel stops it). A
// request the API refuses returns its *apitype.Error and writes nothing.
func (s *Responses) Create(ctx context.Context, p *apitype.ResponseCreateParams) (*apitype.Response, error) {
	r, log, err := s.e.createResponse(ctx, p, true)
	if err != nil {
		return nil, err
	}
	if r.Background {
		return r, nil
	}
	for ev, err := range log.events(ctx, 0) {
		if err != nil {
			return nil, err
		}
		if ev.Response != nil && ev.Response.Status.Terminal() {
			return responseFor(ev.Response, p.Include), nil
		}
	}
	return nil, ErrClosed
}

// CreateStream makes a response and yields its events, each with its
// sequence_number, ending after response.completed, response.failed,
// response.incomplete (response.failed for a cancelled one, whose status
// says cancelled), or an error event.
//
// The stream is lazy and single use: the response is made when the first
// range begins, and ranging again yields ErrStreamUsed. Breaking out of
// the loop stops the stream, not the response.
func (s *Responses) CreateStream(ctx context.Context, p *apitype.ResponseCreateParams) iter.Seq2[apitype.ResponseStreamEvent, error] {
	var used atomic.Bool
	return func(yield func(apitype.ResponseStreamEvent, error) bool) {
		if used.Swap(true) {
			yield(apitype.ResponseStreamEvent{}, ErrStreamUsed)
			return
		}
		_, log, err := s.e.createResponse(ctx, p, false)
		if err != nil {
			yield(apitype.ResponseStreamEvent{}, err)
			return
		}
		for ev, err := range log.events(ctx, 0) {
			if !yield(eventFor(ev, p.Include), err) || err != nil {
				return
			}
		}
	}
}

// Retrieve reads a stored response with its output (file_search_call
// results only when p.Include asks for them).
func (s *Responses) Retrieve(ctx context.Context, id string, p apitype.ResponseRetrieveParams) (*apitype.Response, error) {
	if err := apitype.CheckInclude("include", p.Include); err != nil {
		return nil, err
	}
	r, err := read(ctx, s.e, func(tx store.Tx) (*apitype.Response, error) { return tx.GetResponse(id) })
	if err != nil {
		return nil, err
	}
	return responseFor(r, p.Include), nil
}

// Stream yields a stored response's events after sequence number
// startingAfter (-1: from the first): the events of an execution still
// running or recently ended as they were sent, and for a response whose
// events are no longer held (an older one, or one from before a restart)
// the events that rebuild its final state. It ends as CreateStream does.
func (s *Responses) Stream(ctx context.Context, id string, startingAfter int) iter.Seq2[apitype.ResponseStreamEvent, error] {
	return s.StreamIncluding(ctx, id, startingAfter, nil)
}

// StreamIncluding is Stream showing what include asks for
// (file_search_call.results).
func (s *Responses) StreamIncluding(ctx context.Context, id string, startingAfter int, include []string) iter.Seq2[apitype.ResponseStreamEvent, error] {
	return func(yield func(apitype.ResponseStreamEvent, error) bool) {
		r, err := s.Retrieve(ctx, id, apitype.ResponseRetrieveParams{})
		if err != nil {
			yield(apitype.ResponseStreamEvent{}, err)
			return
		}
		log := s.e.heldLog(id)
		if log == nil {
			if !r.Status.Terminal() {
				// Queued behind others, or just resumed: its log appears
				// when it starts; until then there is nothing to replay.
				log = s.e.responseLog(id)
			} else {
				log = replayLog(r)
			}
		}
		for ev, err := range log.events(ctx, startingAfter+1) {
			if !yield(eventFor(ev, include), err) || err != nil {
				return
			}
		}
	}
}

// Delete removes a stored response (stopping it if it is running).
func (s *Responses) Delete(ctx context.Context, id string) (apitype.Deleted, error) {
	e := s.e
	err := e.store.Update(ctx, func(tx store.Tx) error { return tx.DeleteResponse(id) })
	if err != nil {
		return apitype.Deleted{}, err
	}
	e.signal(ctx, id, SignalDelete, errResponseDeleted)
	return apitype.ResponseDeleted(id), nil
}

// Cancel stops a background response: queued or in progress, it ends
// cancelled; cancelled already, it is returned as it is. Only background
// responses can be cancelled, and not once they have ended otherwise.
func (s *Responses) Cancel(ctx context.Context, id string) (*apitype.Response, error) {
	e := s.e
	var r *apitype.Response
	direct := false
	err := e.store.Update(ctx, func(tx store.Tx) error {
		var err error
		if r, err = tx.GetResponse(id); err != nil {
			return err
		}
		switch {
		case !r.Background:
			return apitype.Invalid("", "Only responses created with background set to true can be cancelled.")
		case r.Status == apitype.ResponseCancelled:
			return errNoChange
		case r.Status.Terminal():
			return apitype.InvalidState("Cannot cancel a response with status '%s'.", r.Status)
		case r.Status == apitype.ResponseQueued && !e.executing(id):
			r.Status, direct = apitype.ResponseCancelled, true
			return tx.PutResponse(r, nil)
		}
		return nil
	})
	if errors.Is(err, errNoChange) {
		return responseFor(r, nil), nil
	}
	if err != nil {
		return nil, err
	}
	if direct {
		if log := e.heldLog(id); log != nil {
			log.publish(apitype.ResponseStreamEvent{Type: apitype.ResponseEventFor(r.Status), Response: r})
			log.close(nil)
		}
		return r, nil
	}
	log := e.heldLog(id)
	stopped := e.stopExecutor(id, errCancelled)
	if !stopped && e.jobs != nil {
		return s.cancelShared(ctx, id)
	}
	if !stopped || log == nil {
		// It ended meanwhile, or is between claim and start: read it.
		return s.Retrieve(ctx, id, apitype.ResponseRetrieveParams{})
	}
	for ev, err := range log.events(ctx, 0) {
		if err != nil {
			break
		}
		if ev.Response != nil && ev.Response.Status.Terminal() {
			return responseFor(ev.Response, nil), nil
		}
	}
	return s.Retrieve(ctx, id, apitype.ResponseRetrieveParams{})
}

// cancelShared cancels a background response that this replica does not
// execute, on a shared queue: the replica executing it is signalled and
// ends it (its events are that replica's, so this one reads the store until
// it has); when none does (its replica died, its job waits for rescue),
// it is cancelled here, and the job finds it so.
func (s *Responses) cancelShared(ctx context.Context, id string) (*apitype.Response, error) {
	e := s.e
	if !e.signal(ctx, id, SignalCancel, errCancelled) {
		var r *apitype.Response
		err := e.store.Update(ctx, func(tx store.Tx) (err error) {
			if r, err = tx.GetResponse(id); err != nil {
				return err
			}
			if r.Status.Terminal() {
				return nil
			}
			r.Status = apitype.ResponseCancelled
			return tx.PutResponse(r, nil)
		})
		if err != nil {
			return nil, err
		}
		return responseFor(r, nil), nil
	}
	t := time.NewTicker(sharedPoll)
	defer t.Stop()
	for {
		r, err := s.Retrieve(ctx, id, apitype.ResponseRetrieveParams{})
		if err != nil || r.Status.Terminal() {
			return r, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// sharedPoll is how often a replica reads the store for what another
// replica's execution does (cancelShared), having no events of it.
const sharedPoll = 20 * time.Millisecond

// InputItems returns one page of a stored response's input items (newest
// first unless p.Order is asc).
func (s *Responses) InputItems(ctx context.Context, id string, p apitype.InputItemListParams) (apitype.Page[apitype.Item], error) {
	if err := firstErr(checkList(p.ListParams, ""), apitype.CheckInclude("include", p.Include)); err != nil {
		return apitype.Page[apitype.Item]{}, err
	}
	if p.Order == "" {
		p.Order = apitype.OrderDesc
	}
	page, err := read(ctx, s.e, func(tx store.Tx) (apitype.Page[apitype.Item], error) {
		return tx.ListResponseInputItems(id, p.ListParams)
	})
	page.Data = itemsFor(page.Data, p.Include)
	return page, err
}

// AllInputItems iterates over a response's input items from p's position.
func (s *Responses) AllInputItems(ctx context.Context, id string, p apitype.InputItemListParams) iter.Seq2[apitype.Item, error] {
	return func(yield func(apitype.Item, error) bool) {
		for {
			page, err := s.InputItems(ctx, id, p)
			if err != nil {
				yield(apitype.Item{}, err)
				return
			}
			for _, it := range page.Data {
				if !yield(it, nil) {
					return
				}
			}
			if !page.HasMore || page.LastID == nil {
				return
			}
			p.After = *page.LastID
		}
	}
}

func (e *Engine) executing(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.inflight[id]
	return ok
}

// createResponse checks a request against what is stored, stores the new
// response (unless store is false) with its input in one transaction,
// queues it, and returns it with the log its events go to.
//
// quiet is Create's call, whose caller learns of a foreground response only
// when it has ended: nobody can name it before (there is no list of
// responses, and no event has told its id), so it is checked here without
// a write and stored, input and output, by the transaction that ends it —
// one commit where it would be two. A crash meanwhile leaves nothing, as
// the request it answered is gone with the process. A stream's response is
// stored first: its response.created event names it.
func (e *Engine) createResponse(ctx context.Context, p *apitype.ResponseCreateParams, quiet bool) (*apitype.Response, *respLog, error) {
	if p.Model == "" && p.Prompt == nil && e.cfg.DefaultModel != "" {
		q := *p
		q.Model, p = e.cfg.DefaultModel, &q
	}
	if err := p.Validate(); err != nil {
		return nil, nil, err
	}
	if p.Prompt != nil {
		if err := e.store.View(ctx, func(tx store.Tx) (err error) {
			p, err = withPrompt(tx, p)
			return err
		}); err != nil {
			return nil, nil, err
		}
		if p.Model == "" {
			p.Model = e.cfg.DefaultModel
		}
		if err := p.Validate(); err != nil {
			return nil, nil, err
		}
	}
	if p.Text != nil && p.Text.Format != nil && p.Text.Format.Type == apitype.ResponseFormatJSONSchema {
		if err := checkSchema("text.format.schema", p.Text.Format.Schema); err != nil {
			return nil, nil, err
		}
	}
	for i, t := range p.Tools {
		if t.Type == apitype.ToolTypeFunction && len(t.Parameters) > 0 {
			if err := checkSchema(fmt.Sprintf("tools[%d].parameters", i), t.Parameters); err != nil {
				return nil, nil, err
			}
		}
	}
	in := p.Input.AsItems()
	input := make([]apitype.Item, 0, len(in))
	tokens := make([]int, 0, len(in))
	r := apitype.NewResponse(e.newID(store.PrefixResponse), e.now(), p)
	log := newRespLog()
	deferred := quiet && r.Store && !r.Background
	write := e.store.Update
	if deferred {
		write = e.store.View
	}
	err := write(ctx, func(tx store.Tx) error {
		var err error
		if err := firstErr(e.checkFileSearchTools(tx, p.Tools), e.checkCodeTools(tx, p.Tools), checkInputFiles(tx, in)); err != nil {
			return err
		}
		if input, err = e.resolveInput(tx, p, in); err != nil {
			return err
		}
		tokens = tokens[:0]
		for _, it := range input {
			tokens = append(tokens, itemTokens(it))
		}
		if r.Truncation != apitype.TruncationAuto {
			// Refused here, before anything is written, when it cannot fit.
			window := e.cfg.ContextWindow
			if _, _, err := e.responsePrompt(ctx, tx, &r, input, tokens, nil, nil, responseTools(&r), window); err != nil {
				var f *runFailure
				if errors.As(err, &f) && f.code == codeContextLengthExceeded {
					return &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Code: codeContextLengthExceeded, Status: 400, Param: "input", Message: f.msg}
				}
			}
		}
		if !r.Store || deferred {
			return nil
		}
		if err := tx.CreateResponse(&r, input, tokens); err != nil {
			return err
		}
		if r.Background {
			_, err = e.enqueue(ctx, tx, Job{Response: true, ID: r.ID})
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	created := r
	log.publish(apitype.ResponseStreamEvent{Type: apitype.EventResponseCreated, Response: &created})
	if r.Background {
		queued := r
		log.publish(apitype.ResponseStreamEvent{Type: apitype.EventResponseQueued, Response: &queued})
	}
	e.holdLog(r.ID, log, r.Background)
	if e.jobs != nil && r.Store && r.Background {
		return &r, log, nil // its job is queued, for any replica
	}
	j := &respJob{id: r.ID, resp: &r, input: input, tokens: tokens, requestID: RequestID(ctx), unstored: deferred}
	e.queue.push(queuedRun{response: j})
	return &r, log, nil
}

// resolveInput checks the input against the state it continues: the
// previous response and conversation exist, every function_call_output
// answers a call made before it, and a previous response's calls are all
// answered. It returns the input items as they are stored (with ids).
func (e *Engine) resolveInput(tx store.Tx, p *apitype.ResponseCreateParams, in []apitype.Item) ([]apitype.Item, error) {
	var prev *apitype.Response
	if p.PreviousResponseID != nil {
		var err error
		if prev, err = tx.GetResponse(*p.PreviousResponseID); err != nil {
			return nil, &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Status: 400, Param: "previous_response_id",
				Code: "previous_response_not_found", Message: fmt.Sprintf("Previous response with id '%s' not found.", *p.PreviousResponseID)}
		}
		if !prev.Status.Terminal() {
			return nil, &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Status: 400, Param: "previous_response_id", Code: apitype.ErrInvalidState.Code,
				Message: fmt.Sprintf("Previous response with id '%s' is still %s; wait until it ends.", prev.ID, prev.Status)}
		}
	}
	if p.Conversation != nil {
		if _, err := tx.GetConversation(p.Conversation.ID); err != nil {
			return nil, err
		}
	}
	calls := map[string]bool{}    // call ids made before the input's outputs
	answered := map[string]bool{} // call ids the input answers
	var unknown []string
	out := make([]apitype.Item, 0, len(in))
	for i, it := range in {
		if ref := it.Reference; ref != nil {
			return nil, &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Code: apitype.CodeUnsupported, Status: 400, Param: fmt.Sprintf("input[%d]", i),
				Message: "item_reference inputs are not supported: send the item itself, or continue with previous_response_id or conversation."}
		}
		switch v := it.AsAny().(type) {
		case *apitype.FunctionCallItem:
			calls[v.CallID] = true
		case *apitype.FunctionCallOutputItem:
			answered[v.CallID] = true
			if !calls[v.CallID] {
				unknown = append(unknown, v.CallID)
			}
		}
		out = append(out, e.storedItem(it))
	}
	if len(unknown) > 0 || prev != nil {
		// Look back through the history for the calls answered, and for
		// the previous response's own calls left unanswered.
		pending := map[string]bool{}
		for _, id := range unknown {
			pending[id] = true
		}
		if prev != nil {
			for _, it := range prev.Output {
				if c := it.FunctionCall; c != nil && !answered[c.CallID] {
					return nil, &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Status: 400, Param: "input",
						Message: fmt.Sprintf("No tool output found for function call %s.", c.CallID)}
				}
			}
		}
		seen := 0
		look := func(it *apitype.Item, _ int) (bool, error) {
			if c := it.FunctionCall; c != nil {
				delete(pending, c.CallID)
			}
			seen++
			return len(pending) > 0 && seen < maxCallLookback, nil
		}
		if len(pending) > 0 {
			var err error
			switch {
			case prev != nil:
				err = tx.ResponseHistory(prev.ID, look)
			case p.Conversation != nil:
				err = tx.EachConversationItem(p.Conversation.ID, true, look)
			}
			if err != nil {
				return nil, err
			}
		}
		for _, id := range unknown {
			if pending[id] {
				return nil, &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Status: 400, Param: "input",
					Message: fmt.Sprintf("No tool call found for function call output with call_id %s.", id)}
			}
		}
	}
	return out, nil
}

// maxCallLookback bounds how far back a function_call_output's call is
// looked for: a call is answered soon after it is made.
const maxCallLookback = 10_000

// respLog is one response execution's events in order, for every stream
// that reads it (CreateStream's, Stream's replays from a sequence number).
// The executor only appends; readers keep their own position.
type respLog struct {
	mu     sync.Mutex
	evs    []apitype.ResponseStreamEvent
	wake   chan struct{} // closed and replaced at each append
	done   bool
	err    error // set when it ended without a final event (closing, a write that failed)
	closed chan struct{}
}

func newRespLog() *respLog {
	return &respLog{wake: make(chan struct{}), closed: make(chan struct{})}
}

// publish appends events, numbering them.
func (l *respLog) publish(evs ...apitype.ResponseStreamEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return
	}
	for _, ev := range evs {
		ev.SequenceNumber = len(l.evs)
		l.evs = append(l.evs, ev)
	}
	close(l.wake)
	l.wake = make(chan struct{})
}

// close ends the log; err, when set, is what readers get after the events.
func (l *respLog) close(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return
	}
	l.done, l.err = true, err
	close(l.wake)
	close(l.closed)
}

// events yields the events from index from on, waiting for more until the
// log ends.
func (l *respLog) events(ctx context.Context, from int) iter.Seq2[apitype.ResponseStreamEvent, error] {
	return func(yield func(apitype.ResponseStreamEvent, error) bool) {
		i := max(from, 0)
		for {
			l.mu.Lock()
			evs, done, err, wake := l.evs[min(i, len(l.evs)):], l.done, l.err, l.wake
			l.mu.Unlock()
			for _, ev := range evs {
				i++
				if !yield(ev, nil) {
					return
				}
			}
			if len(evs) > 0 {
				continue
			}
			if done {
				if err != nil {
					yield(apitype.ResponseStreamEvent{Type: apitype.EventResponseError}, err)
				}
				return
			}
			select {
			case <-wake:
			case <-ctx.Done():
				yield(apitype.ResponseStreamEvent{}, ctx.Err())
				return
			}
		}
	}
}

// replayLog is an ended log that rebuilds a finished response's events
// from its stored state: what a stream replays once the live events are
// no longer held.
func replayLog(r *apitype.Response) *respLog {
	l := newRespLog()
	start := *r
	start.Status, start.Output, start.Usage, start.CompletedAt = apitype.ResponseInProgress, []apitype.Item{}, nil, nil
	if r.Background {
		q := start
		q.Status = apitype.ResponseQueued
		l.publish(apitype.ResponseStreamEvent{Type: apitype.EventResponseCreated, Response: &q},
			apitype.ResponseStreamEvent{Type: apitype.EventResponseQueued, Response: &q})
	} else {
		l.publish(apitype.ResponseStreamEvent{Type: apitype.EventResponseCreated, Response: &start})
	}
	l.publish(apitype.ResponseStreamEvent{Type: apitype.EventResponseInProgress, Response: &start})
	for i, it := range r.Output {
		switch {
		case it.Message != nil:
			m := *it.Message
			added := m
			added.Status, added.Content = "in_progress", []apitype.ContentPart{}
			ai, done := apitype.ItemOf(&added), it
			l.publish(apitype.ResponseStreamEvent{Type: apitype.EventOutputItemAdded, OutputIndex: i, Item: &ai})
			for ci, part := range m.Content {
				empty := part
				empty.Text = ""
				p := part
				l.publish(apitype.ResponseStreamEvent{Type: apitype.EventContentPartAdded, ItemID: m.ID, OutputIndex: i, ContentIndex: ci, Part: &empty},
					apitype.ResponseStreamEvent{Type: apitype.EventOutputTextDelta, ItemID: m.ID, OutputIndex: i, ContentIndex: ci, Delta: part.Text},
					apitype.ResponseStreamEvent{Type: apitype.EventOutputTextDone, ItemID: m.ID, OutputIndex: i, ContentIndex: ci, Text: part.Text},
					apitype.ResponseStreamEvent{Type: apitype.EventContentPartDone, ItemID: m.ID, OutputIndex: i, ContentIndex: ci, Part: &p})
			}
			l.publish(apitype.ResponseStreamEvent{Type: apitype.EventOutputItemDone, OutputIndex: i, Item: &done})
		case it.FunctionCall != nil:
			c := *it.FunctionCall
			added := c
			added.Status, added.Arguments = "in_progress", ""
			ai, done := apitype.ItemOf(&added), it
			l.publish(apitype.ResponseStreamEvent{Type: apitype.EventOutputItemAdded, OutputIndex: i, Item: &ai},
				apitype.ResponseStreamEvent{Type: apitype.EventFunctionCallArgumentsDelta, ItemID: c.ID, OutputIndex: i, Delta: c.Arguments},
				apitype.ResponseStreamEvent{Type: apitype.EventFunctionCallArgumentsDone, ItemID: c.ID, OutputIndex: i, Arguments: c.Arguments},
				apitype.ResponseStreamEvent{Type: apitype.EventOutputItemDone, OutputIndex: i, Item: &done})
		case it.CodeInterpreterCall != nil:
			replayCodeCall(l, i, it.CodeInterpreterCall) // respcode.go
		default:
			ai := it
			l.publish(apitype.ResponseStreamEvent{Type: apitype.EventOutputItemAdded, OutputIndex: i, Item: &ai},
				apitype.ResponseStreamEvent{Type: apitype.EventOutputItemDone, OutputIndex: i, Item: &ai})
		}
	}
	final := *r
	l.publish(apitype.ResponseStreamEvent{Type: apitype.ResponseEventFor(r.Status), Response: &final})
	l.close(nil)
	return l
}

// keptLogs is how many ended background responses' logs are held for
// replay by sequence number; older ones are rebuilt from the store.
const keptLogs = 64

// holdLog registers a response's log; background ones stay held after
// they end, up to keptLogs.
func (e *Engine) holdLog(id string, l *respLog, background bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.holdLogLocked(id, l, background)
}

// holdLogLocked is holdLog with e.mu held.
func (e *Engine) holdLogLocked(id string, l *respLog, background bool) {
	if e.rlogs == nil {
		e.rlogs = map[string]*respLog{}
	}
	e.rlogs[id] = l
	if e.closed {
		l.close(ErrClosed)
		return
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		select {
		case <-l.closed:
		case <-e.ctx.Done():
			l.close(ErrClosed)
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if !background {
			delete(e.rlogs, id)
			return
		}
		e.rended = append(e.rended, id)
		if len(e.rended) > keptLogs {
			delete(e.rlogs, e.rended[0])
			e.rended = e.rended[1:]
		}
	}()
}

// heldLog is the response's log, if it is held.
func (e *Engine) heldLog(id string) *respLog {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rlogs[id]
}

// responseLog is the response's held log, or a new one held for it (a
// resumed response's).
// The look-up and the registration are one critical section: a resumed
// response's executor and a Stream reader ask at the same moment, and must
// get the same log.
func (e *Engine) responseLog(id string) *respLog {
	e.mu.Lock()
	defer e.mu.Unlock()
	if l := e.rlogs[id]; l != nil {
		return l
	}
	l := newRespLog()
	e.holdLogLocked(id, l, true)
	return l
}

// resumeLeftResponses ends or resumes what a previous process left: a
// background response queued or in progress runs again from its input (at
// most maxResumes times); any other (a streamed one: Create's foreground
// responses are stored only as they end) was being answered to a client
// that is gone, and ends failed saying so.
func (e *Engine) resumeLeftResponses(ctx context.Context) error {
	var ids []string
	if err := e.store.View(ctx, func(tx store.Tx) error {
		return tx.LiveResponses(func(id string) error { ids = append(ids, id); return nil })
	}); err != nil {
		return err
	}
	for _, id := range ids {
		resume := false
		err := e.store.Update(ctx, func(tx store.Tx) error {
			r, err := tx.GetResponse(id)
			if err != nil {
				return err
			}
			msg := "The server stopped while this response was in progress; create it again."
			if r.Background {
				n, err := tx.CountResume(id)
				if err != nil {
					return err
				}
				if resume = n <= maxResumes; resume {
					return nil
				}
				msg = fmt.Sprintf("The server stopped %d times while running this response; it was not resumed again.", n)
			}
			r.Status, r.Error = apitype.ResponseFailed, &apitype.ResponseError{Code: apitype.ErrorCodeServer, Message: msg}
			return tx.PutResponse(r, nil)
		})
		if err != nil {
			return err
		}
		if resume {
			e.log.Info("resuming background response", "response", id)
			e.queue.push(queuedRun{response: &respJob{id: id}})
		}
	}
	return nil
}
