package engine

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"sync/atomic"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// Runs creates and drives runs: an assistant answering on a thread.
//
// Every variant comes three ways: the plain call returns as soon as the run
// is stored (queued); the …AndWait call returns when the run needs action or
// is over; the …Stream call yields the run's events as they commit, ending
// after thread.run.requires_action or the terminal run event.
type Runs struct{ e *Engine }

// Create starts a run on a thread. It fails with apitype.ErrActiveRun while
// another run is active there.
func (s *Runs) Create(ctx context.Context, threadID string, p apitype.RunCreateParams) (*apitype.Run, error) {
	return s.create(ctx, threadID, p, s.e.newID(store.PrefixRun))
}

// CreateAndWait starts a run and waits until it needs action or is over.
func (s *Runs) CreateAndWait(ctx context.Context, threadID string, p apitype.RunCreateParams) (*apitype.Run, error) {
	id := s.e.newID(store.PrefixRun)
	return s.e.waitFor(ctx, id, func() (string, error) {
		_, err := s.create(ctx, threadID, p, id)
		return threadID, err
	})
}

// CreateStream starts a run and streams its events, from thread.run.created
// to the one that ends the run or asks for tool outputs.
//
// The stream is lazy and single use, like every *Stream method: the run is
// created when the first range over it begins (so a stream never ranged
// over creates nothing), and ranging again yields ErrStreamUsed. Breaking
// out of the loop stops the stream, not the run; Cancel stops the run.
func (s *Runs) CreateStream(ctx context.Context, threadID string, p apitype.RunCreateParams) iter.Seq2[apitype.Event, error] {
	id := s.e.newID(store.PrefixRun)
	return s.e.stream(ctx, id, func() error {
		_, err := s.create(ctx, threadID, p, id)
		return err
	})
}

// CreateThreadAndRun creates a thread (with its messages) and starts a run
// on it, in one transaction.
func (s *Runs) CreateThreadAndRun(ctx context.Context, p apitype.ThreadAndRunCreateParams) (*apitype.Run, error) {
	return s.createThreadAndRun(ctx, p, s.e.newID(store.PrefixRun))
}

// CreateThreadAndRunAndWait creates a thread and a run and waits until the
// run needs action or is over.
func (s *Runs) CreateThreadAndRunAndWait(ctx context.Context, p apitype.ThreadAndRunCreateParams) (*apitype.Run, error) {
	id := s.e.newID(store.PrefixRun)
	var threadID string
	return s.e.waitFor(ctx, id, func() (string, error) {
		r, err := s.createThreadAndRun(ctx, p, id)
		if r != nil {
			threadID = r.ThreadID
		}
		return threadID, err
	})
}

// CreateThreadAndRunStream creates a thread and a run and streams events,
// starting with thread.created.
func (s *Runs) CreateThreadAndRunStream(ctx context.Context, p apitype.ThreadAndRunCreateParams) iter.Seq2[apitype.Event, error] {
	id := s.e.newID(store.PrefixRun)
	return s.e.stream(ctx, id, func() error {
		_, err := s.createThreadAndRun(ctx, p, id)
		return err
	})
}

func (s *Runs) createThreadAndRun(ctx context.Context, p apitype.ThreadAndRunCreateParams, runID string) (*apitype.Run, error) {
	tp := apitype.ThreadCreateParams{}
	if p.Thread != nil {
		tp = *p.Thread
	}
	rp := apitype.RunCreateParams{
		AssistantID: p.AssistantID, Model: p.Model, Instructions: p.Instructions, Tools: p.Tools, Metadata: p.Metadata,
		Temperature: p.Temperature, TopP: p.TopP, MaxPromptTokens: p.MaxPromptTokens, MaxCompletionTokens: p.MaxCompletionTokens,
		TruncationStrategy: p.TruncationStrategy, ToolChoice: p.ToolChoice, ParallelToolCalls: p.ParallelToolCalls,
		ResponseFormat: p.ResponseFormat,
	}
	if err := s.check(&rp); err != nil {
		return nil, err
	}
	if p.ToolResources != nil {
		// Run-level tool_resources apply to the new thread, through the same
		// validation and inline vector store creation as the thread's own.
		tp.ToolResources = p.ToolResources
	}
	var run *apitype.Run
	th, _, err := s.e.Threads.create(ctx, tp, func(tx store.Tx, th *apitype.Thread) error {
		var err error
		run, err = s.e.insertRun(ctx, tx, th.ID, &rp, runID)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.e.bus.Publish(runID, apitype.Event{Event: apitype.EventThreadCreated, Thread: th})
	s.e.started(ctx, run)
	return run, nil
}

func (s *Runs) check(p *apitype.RunCreateParams) error {
	if p.AssistantID == "" {
		return apitype.Invalid("assistant_id", "'assistant_id' is required.")
	}
	if err := firstErr(
		checkOptText("instructions", p.Instructions, MaxInstructionsChars),
		checkOptText("additional_instructions", p.AdditionalInstructions, MaxInstructionsChars),
		checkTools("tools", p.Tools),
		checkMetadata("metadata", p.Metadata),
		checkRange("temperature", p.Temperature, 0, 2),
		checkRange("top_p", p.TopP, 0, 1),
		checkTokenLimit("max_prompt_tokens", p.MaxPromptTokens),
		checkTokenLimit("max_completion_tokens", p.MaxCompletionTokens),
		checkTruncation("truncation_strategy", p.TruncationStrategy),
		checkResponseFormat("response_format", p.ResponseFormat),
	); err != nil {
		return err
	}
	if p.Model != nil {
		if err := checkModel("model", *p.Model); err != nil {
			return err
		}
	}
	if len(p.AdditionalMessages) > MaxInitialMessages {
		return apitype.Invalid("additional_messages", "at most %d additional messages, got %d.", MaxInitialMessages, len(p.AdditionalMessages))
	}
	for i := range p.AdditionalMessages {
		if err := checkMessage(fmt.Sprintf("additional_messages[%d]", i), &p.AdditionalMessages[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Runs) create(ctx context.Context, threadID string, p apitype.RunCreateParams, runID string) (*apitype.Run, error) {
	if err := s.check(&p); err != nil {
		return nil, err
	}
	e := s.e
	// The run is made from what a read sees and queued for execution as
	// soon as its write is, so the prompt is built and the model called
	// while that write syncs; the write re-checks what the run depends on,
	// and the execution's claim, queued behind it, fails if it did.
	var a *apitype.Assistant
	err := e.store.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetThread(threadID); err != nil {
			return err
		}
		if active, err := tx.ActiveRun(threadID); err != nil {
			return err
		} else if active != "" {
			return apitype.ActiveRunError(threadID, active)
		}
		var err error
		a, err = assistantFor(tx, p.AssistantID)
		return err
	})
	if err != nil {
		return nil, err
	}
	run, err := e.newRun(threadID, &p, a, runID)
	if err != nil {
		return nil, err
	}
	pub, exec := *run, *run // the events' and the executor's own copies
	var ingest []*apitype.VectorStoreFile
	created := e.store.Submit(ctx, func(tx store.Tx) (err error) {
		// Re-checked, not re-read: this runs on the committer.
		if ok, err := tx.HasThread(threadID); err != nil {
			return err
		} else if !ok {
			return apitype.NotFound("thread", threadID)
		}
		if ok, err := tx.HasAssistant(p.AssistantID); err != nil {
			return err
		} else if !ok {
			return noAssistant(p.AssistantID)
		}
		if ingest, err = e.storeRun(tx, &p, run); err != nil {
			return err
		}
		_, err = e.enqueue(ctx, tx, Job{ThreadID: threadID, ID: runID})
		return err
	}, func(err error) {
		if err == nil {
			e.bus.Publish(runID, apitype.Event{Event: apitype.EventRunCreated, Run: &pub},
				apitype.Event{Event: apitype.EventRunQueued, Run: &pub})
			e.ingestLater(ingest...)
		}
	})
	if e.jobs == nil {
		e.queue.push(queuedRun{threadID: threadID, runID: runID, created: &created, run: &exec,
			waitCreated: len(p.AdditionalMessages) > 0, requestID: RequestID(ctx)})
	}
	if err := created.Wait(); err != nil {
		return nil, err
	}
	return run, nil
}

func assistantFor(tx store.Tx, id string) (*apitype.Assistant, error) {
	a, err := tx.GetAssistant(id)
	if err != nil {
		return nil, noAssistant(id)
	}
	return a, nil
}

// noAssistant is the hosted API's 404 for an assistant_id that names no
// assistant (runs and create-thread-and-run alike), with the parameter named.
func noAssistant(id string) error {
	err := apitype.NotFound("assistant", id)
	err.Param = "assistant_id"
	return err
}

// insertRun resolves a run from its params and assistant and stores it
// queued, with its additional messages, in tx.
func (e *Engine) insertRun(ctx context.Context, tx store.Tx, threadID string, p *apitype.RunCreateParams, runID string) (*apitype.Run, error) {
	a, err := assistantFor(tx, p.AssistantID)
	if err != nil {
		return nil, err
	}
	r, err := e.newRun(threadID, p, a, runID)
	if err != nil {
		return nil, err
	}
	if _, err := e.storeRun(tx, p, r); err != nil {
		return nil, err
	}
	if _, err := e.enqueue(ctx, tx, Job{ThreadID: threadID, ID: runID}); err != nil {
		return nil, err
	}
	return r, nil
}

// newRun resolves a queued run from its params and assistant.
func (e *Engine) newRun(threadID string, p *apitype.RunCreateParams, a *apitype.Assistant, runID string) (*apitype.Run, error) {
	now := e.now()
	r := &apitype.Run{
		ID: runID, Object: apitype.ObjectRun, CreatedAt: now, ThreadID: threadID, AssistantID: a.ID,
		Status: apitype.RunQueued, ExpiresAt: apitype.Ptr(now + int64(e.cfg.RunTimeout.Seconds())),
		Model: a.Model, Tools: slices.Clone(a.Tools), Metadata: orMeta(p.Metadata),
		Temperature: a.Temperature, TopP: a.TopP, MaxPromptTokens: p.MaxPromptTokens, MaxCompletionTokens: p.MaxCompletionTokens,
		TruncationStrategy: &apitype.TruncationStrategy{Type: apitype.TruncationAuto},
		ToolChoice:         &apitype.ToolChoice{Mode: apitype.ToolChoiceAuto},
		ParallelToolCalls:  true, ResponseFormat: a.ResponseFormat,
	}
	if a.Instructions != nil {
		r.Instructions = *a.Instructions
	}
	set(&r.Model, p.Model)
	set(&r.Instructions, p.Instructions)
	if p.AdditionalInstructions != nil && *p.AdditionalInstructions != "" {
		if r.Instructions != "" {
			r.Instructions += "\n\n"
		}
		r.Instructions += *p.AdditionalInstructions
	}
	if p.Tools != nil {
		r.Tools = slices.Clone(p.Tools)
	}
	if r.Tools == nil {
		r.Tools = []apitype.Tool{}
	}
	override(&r.Temperature, p.Temperature)
	override(&r.TopP, p.TopP)
	override(&r.TruncationStrategy, p.TruncationStrategy)
	override(&r.ToolChoice, p.ToolChoice)
	if p.ParallelToolCalls != nil {
		r.ParallelToolCalls = *p.ParallelToolCalls
	}
	override(&r.ResponseFormat, p.ResponseFormat)
	if r.ResponseFormat == nil {
		r.ResponseFormat = &apitype.ResponseFormat{Type: apitype.ResponseFormatAuto}
	}
	if err := checkToolChoice("tool_choice", r.ToolChoice, r.Tools); err != nil {
		return nil, err
	}
	if r.ResponseFormat.Type == apitype.ResponseFormatJSONObject || r.ResponseFormat.Type == apitype.ResponseFormatJSONSchema {
		for _, t := range r.Tools {
			if t.Type == apitype.ToolTypeFileSearch {
				return nil, apitype.Invalid("response_format", "response_format %s cannot be combined with the file_search tool.", r.ResponseFormat.Type)
			}
		}
	}
	return r, nil
}

// storeRun stores a new queued run with its additional messages, unless
// the thread has an active run. Their attachments join the thread's tool
// resources as a created message's do; it returns the files to ingest.
func (e *Engine) storeRun(tx store.Tx, p *apitype.RunCreateParams, r *apitype.Run) ([]*apitype.VectorStoreFile, error) {
	threadID := r.ThreadID
	if active, err := tx.ActiveRun(threadID); err != nil {
		return nil, err
	} else if active != "" {
		return nil, apitype.ActiveRunError(threadID, active)
	}
	var ingest []*apitype.VectorStoreFile
	for i := range p.AdditionalMessages {
		m := e.newMessage(threadID, &p.AdditionalMessages[i])
		param := fmt.Sprintf("additional_messages[%d].", i)
		if err := e.checkFilesOf(tx, param, m); err != nil {
			return nil, err
		}
		if err := tx.PutMessage(m, e.countTokens(m)); err != nil {
			return nil, err
		}
		if len(m.Attachments) == 0 {
			continue
		}
		th, err := tx.GetThread(threadID)
		if err != nil {
			return nil, err
		}
		files, err := e.attachToThread(tx, th, param+"attachments", m.Attachments)
		if err != nil {
			return nil, err
		}
		ingest = append(ingest, files...)
	}
	return ingest, tx.PutRun(r)
}

// started publishes a new run's first events and schedules it.
func (e *Engine) started(ctx context.Context, r *apitype.Run) {
	e.bus.Publish(r.ID,
		apitype.Event{Event: apitype.EventRunCreated, Run: r},
		apitype.Event{Event: apitype.EventRunQueued, Run: r})
	if e.jobs == nil { // else insertRun enqueued its job
		e.schedule(ctx, r.ThreadID, r.ID, false)
	}
}

// Retrieve reads a run; an overdue run is expired on the way.
func (s *Runs) Retrieve(ctx context.Context, threadID, runID string) (*apitype.Run, error) {
	r, err := read(ctx, s.e, func(tx store.Tx) (*apitype.Run, error) { return tx.GetRun(threadID, runID) })
	if err != nil {
		return nil, err
	}
	if s.e.overdue(r) {
		if x, err := s.e.expire(ctx, threadID, runID); err == nil && x != nil {
			return x, nil
		}
		return s.Retrieve(ctx, threadID, runID)
	}
	return r, nil
}

// Update replaces a run's metadata.
func (s *Runs) Update(ctx context.Context, threadID, runID string, p apitype.RunUpdateParams) (*apitype.Run, error) {
	if err := checkMetadata("metadata", p.Metadata); err != nil {
		return nil, err
	}
	return s.e.updateRun(ctx, threadID, runID, func(_ store.Tx, r *apitype.Run) error {
		if p.Metadata != nil {
			r.Metadata = maps.Clone(p.Metadata)
		}
		return nil
	})
}

// List returns one page of a thread's runs.
func (s *Runs) List(ctx context.Context, threadID string, p apitype.ListParams) (*apitype.Page[apitype.Run], error) {
	if err := checkList(p, store.PrefixRun); err != nil {
		return nil, err
	}
	page, err := read(ctx, s.e, func(tx store.Tx) (apitype.Page[apitype.Run], error) { return tx.ListRuns(threadID, p) })
	return &page, err
}

// All iterates over every run of a thread from p's position, page by page.
func (s *Runs) All(ctx context.Context, threadID string, p apitype.ListParams) iter.Seq2[apitype.Run, error] {
	return paginate(p, func(p apitype.ListParams) (*apitype.Page[apitype.Run], error) { return s.List(ctx, threadID, p) })
}

// Wait returns when the run needs action or is over, without polling.
func (s *Runs) Wait(ctx context.Context, threadID, runID string) (*apitype.Run, error) {
	return s.e.waitFor(ctx, runID, func() (string, error) { return threadID, nil })
}

// Cancel asks a run to stop: it moves to cancelling, and to cancelled once
// its model call (cancelled through its context) has stopped.
func (s *Runs) Cancel(ctx context.Context, threadID, runID string) (*apitype.Run, error) {
	// Held across commit and publish so the executor's thread.run.cancelled
	// (see finish) never overtakes this thread.run.cancelling on a stream.
	s.e.cancelMu.Lock()
	r, err := s.e.updateRun(ctx, threadID, runID, func(_ store.Tx, r *apitype.Run) error {
		switch r.Status {
		case apitype.RunQueued, apitype.RunInProgress, apitype.RunRequiresAction:
			r.Status = apitype.RunCancelling
			return nil
		case apitype.RunCancelling:
			return errNoChange
		default:
			return apitype.InvalidState("Cannot cancel run with status '%s'.", r.Status)
		}
	})
	if err == nil {
		s.e.bus.Publish(runID, apitype.Event{Event: apitype.EventRunCancelling, Run: r})
	}
	s.e.cancelMu.Unlock()
	if err == errNoChange {
		return s.Retrieve(ctx, threadID, runID)
	}
	if err != nil {
		return nil, err
	}
	if !s.e.signal(ctx, runID, SignalCancel, errCancelled) {
		// No executor holds it (queued or waiting for outputs): finish here.
		s.e.finish(context.WithoutCancel(ctx), threadID, runID, errCancelled, nil)
	}
	return r, nil
}

// SubmitToolOutputs answers every pending call of a run in requires_action
// and sends it back to the model.
func (s *Runs) SubmitToolOutputs(ctx context.Context, threadID, runID string, p apitype.SubmitToolOutputsParams) (*apitype.Run, error) {
	return s.e.submit(ctx, threadID, runID, p)
}

// SubmitToolOutputsAndWait submits outputs and waits until the run needs
// action again or is over.
func (s *Runs) SubmitToolOutputsAndWait(ctx context.Context, threadID, runID string, p apitype.SubmitToolOutputsParams) (*apitype.Run, error) {
	return s.e.waitFor(ctx, runID, func() (string, error) {
		_, err := s.e.submit(ctx, threadID, runID, p)
		return threadID, err
	})
}

// SubmitToolOutputsStream submits outputs and streams the continuation.
func (s *Runs) SubmitToolOutputsStream(ctx context.Context, threadID, runID string, p apitype.SubmitToolOutputsParams) iter.Seq2[apitype.Event, error] {
	answered := map[string]bool{}
	for _, o := range p.ToolOutputs {
		answered[o.ToolCallID] = true
	}
	// The requires_action event that asked for these outputs is stale once
	// they are submitted: on a bus across replicas the replica that
	// published it may write it after this stream began following.
	stale := func(ev apitype.Event) bool {
		if ev.Event != apitype.EventRunRequiresAction || ev.Run == nil || ev.Run.RequiredAction == nil {
			return false
		}
		for _, c := range ev.Run.RequiredAction.SubmitToolOutputs.ToolCalls {
			if answered[c.ID] {
				return true
			}
		}
		return false
	}
	return s.e.stream(ctx, runID, func() error {
		_, err := s.e.submit(ctx, threadID, runID, p)
		return err
	}, stale)
}

// Steps reads run steps.
type Steps struct{ e *Engine }

// List returns one page of a run's steps. File search result content is
// included only when p.Include names apitype.IncludeFileSearchContent.
func (s *Steps) List(ctx context.Context, threadID, runID string, p apitype.StepListParams) (*apitype.Page[apitype.RunStep], error) {
	if err := firstErr(checkList(p.ListParams, store.PrefixStep), checkInclude(p.Include)); err != nil {
		return nil, err
	}
	var page apitype.Page[apitype.RunStep]
	err := s.e.store.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetRun(threadID, runID); err != nil {
			return err
		}
		var err error
		page, err = tx.ListSteps(threadID, runID, p.ListParams)
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range page.Data {
		stripContent(&page.Data[i], p.Include)
	}
	return &page, nil
}

// All iterates over every step of a run from p's position, page by page.
func (s *Steps) All(ctx context.Context, threadID, runID string, p apitype.StepListParams) iter.Seq2[apitype.RunStep, error] {
	return paginate(p.ListParams, func(lp apitype.ListParams) (*apitype.Page[apitype.RunStep], error) {
		q := p
		q.ListParams = lp
		return s.List(ctx, threadID, runID, q)
	})
}

// Retrieve reads one step.
func (s *Steps) Retrieve(ctx context.Context, threadID, runID, stepID string, include []string) (*apitype.RunStep, error) {
	if err := checkInclude(include); err != nil {
		return nil, err
	}
	st, err := read(ctx, s.e, func(tx store.Tx) (*apitype.RunStep, error) { return tx.GetStep(threadID, runID, stepID) })
	if err != nil {
		return nil, err
	}
	stripContent(st, include)
	return st, nil
}

func checkInclude(include []string) error {
	for i, v := range include {
		if v != apitype.IncludeFileSearchContent {
			return apitype.Invalid(fmt.Sprintf("include[%d]", i), "unknown include value %q; the only one is %q.", truncateForError(v), apitype.IncludeFileSearchContent)
		}
	}
	return nil
}

func stripContent(st *apitype.RunStep, include []string) {
	if slices.Contains(include, apitype.IncludeFileSearchContent) {
		return
	}
	for i := range st.StepDetails.ToolCalls {
		if fs := st.StepDetails.ToolCalls[i].FileSearch; fs != nil {
			for j := range fs.Results {
				fs.Results[j].Content = nil
			}
		}
	}
}

// waitFor subscribes to a run, runs start, and returns the run once it needs
// action or is over. start returns the run's thread id.
func (e *Engine) waitFor(ctx context.Context, runID string, start func() (string, error)) (*apitype.Run, error) {
	f := e.follow(ctx, runID)
	defer f.close()
	threadID, err := start()
	if err != nil {
		return nil, err
	}
	f.threadID = threadID
	r, err := e.Runs.Retrieve(ctx, threadID, runID)
	if err != nil {
		return nil, err
	}
	for r.Status.Active() && r.Status != apitype.RunRequiresAction {
		ev, err := f.next()
		if err != nil {
			return nil, err
		}
		if ev.Event == apitype.EventError {
			return nil, ev.Error
		}
		if ev.Run != nil && ends(ev) {
			return ev.Run, nil
		}
	}
	return r, nil
}

// follower reads a run's events for a stream or a wait.
type follower struct {
	e      *Engine
	sb     Subscription
	caller context.Context
	ctx    context.Context // caller's, also ended by the engine's Close on a caller's bus
	stop   func()
	runID  string
	// threadID is the run's thread, once known: what a lagging
	// subscription's check of the store reads the run with.
	threadID string
}

func (e *Engine) follow(ctx context.Context, runID string) *follower {
	f := &follower{e: e, sb: e.bus.Subscribe(runID), caller: ctx, ctx: ctx, stop: func() {}, runID: runID}
	if e.ownBus == nil {
		// The caller's bus outlives the engine: end the wait with it.
		var cancel context.CancelFunc
		f.ctx, cancel = context.WithCancel(ctx)
		unhook := context.AfterFunc(e.ctx, cancel)
		f.stop = func() { unhook(); cancel() }
	}
	return f
}

func (f *follower) close() {
	f.sb.Close()
	f.stop()
}

// next returns the run's next event. When the bus says it may have missed
// some, the run is read from the store: one that has ended (or waits for
// tool outputs) there yields the event that says so, which ends the
// stream; one still going is followed on.
func (f *follower) next() (apitype.Event, error) {
	for {
		ev, err := f.sb.Next(f.ctx)
		switch {
		case err == nil:
			switch {
			case ev.Run != nil:
				f.threadID = ev.Run.ThreadID
			case ev.Step != nil:
				f.threadID = ev.Step.ThreadID
			}
			return ev, nil
		case errors.Is(err, ErrEventsLagging):
			if ev, ok := f.fromStore(); ok {
				return ev, nil
			}
			continue
		case f.ctx.Err() != nil && f.caller.Err() == nil:
			return apitype.Event{}, ErrClosed
		}
		return ev, err
	}
}

// fromStore is the event ending the stream if the stored run says it has
// ended (or is gone).
func (f *follower) fromStore() (apitype.Event, bool) {
	if f.threadID == "" {
		return apitype.Event{}, false
	}
	r, err := read(f.ctx, f.e, func(tx store.Tx) (*apitype.Run, error) { return tx.GetRun(f.threadID, f.runID) })
	var ae *apitype.Error
	switch {
	case errors.As(err, &ae) && errors.Is(err, apitype.ErrNotFound):
		return apitype.Event{Event: apitype.EventError, Error: ae}, true
	case err != nil:
		return apitype.Event{}, false
	}
	ev := apitype.Event{Event: apitype.RunEventFor(r.Status), Run: r}
	return ev, ends(ev)
}

// ErrStreamUsed is what a stream yields when it is ranged over a second
// time: each *Stream call starts its work once.
var ErrStreamUsed = errors.New("engine: this stream was already iterated; call the *Stream method again for a new one")

// stream subscribes to a run, runs start, and yields events until the run
// needs action or is over. Breaking out of the loop leaves the run going.
// Nothing happens until the first range; a second range yields
// ErrStreamUsed instead of starting the work again.
// stream follows runID's events from before start, until one ends the
// stream; events stale says are from before start (when not nil) are
// skipped.
func (e *Engine) stream(ctx context.Context, runID string, start func() error, stale ...func(apitype.Event) bool) iter.Seq2[apitype.Event, error] {
	var used atomic.Bool
	return func(yield func(apitype.Event, error) bool) {
		if used.Swap(true) {
			yield(apitype.Event{}, ErrStreamUsed)
			return
		}
		f := e.follow(ctx, runID)
		defer f.close()
		if err := start(); err != nil {
			yield(apitype.Event{}, err)
			return
		}
		for {
			ev, err := f.next()
			if err != nil {
				yield(apitype.Event{}, err)
				return
			}
			if len(stale) > 0 && stale[0](ev) {
				continue
			}
			if ev.Event == apitype.EventError {
				// The event carries the error too, for servers relaying it.
				yield(ev, ev.Error)
				return
			}
			if !yield(ev, nil) || ends(ev) {
				return
			}
		}
	}
}
