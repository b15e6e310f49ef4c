package engine

import (
	"context"
	"errors"
	"time"

	"github.com/hearth-go/hearth/codeinterp"
	"github.com/hearth-go/hearth/store"
)

// Observer is told what the engine does, so that a program can feed any
// metrics system (package metrics adapts it to Prometheus) without the
// engine importing one. Its methods are called on the engine's goroutines
// and must return quickly; embed NopObserver to implement only some.
type Observer interface {
	// RunStarted: an execution claimed the run (queued or resumed).
	RunStarted(ctx context.Context, r RunEvent)
	// RunEnded: the execution stopped at requires_action or a terminal status.
	RunEnded(ctx context.Context, r RunEvent)
	// ModelCall: one call of the model backend ended.
	ModelCall(ctx context.Context, c ModelCallEvent)
	// FileIngested: a vector store file reached completed or failed.
	FileIngested(ctx context.Context, f IngestEvent)
	// SessionEvent: a code interpreter session started, was reset or evicted.
	SessionEvent(ctx context.Context, s SessionEvent)
	// StoreCommit: one database transaction committed (writes is how many
	// writes shared it).
	StoreCommit(d time.Duration, writes int)
}

// RunEvent describes a run at the start or end of an execution.
type RunEvent struct {
	RunID, ThreadID, AssistantID, Model string
	// Status is the run's status when the execution ended ("" at start).
	Status string
	// Duration is the execution's wall time (RunEnded).
	Duration time.Duration
	// PromptTokens and CompletionTokens are the run's usage so far.
	PromptTokens, CompletionTokens int
	// LastError is the failure's message, for failed runs.
	LastError string
}

// ModelCallEvent describes one model call.
type ModelCallEvent struct {
	RunID, Model string
	Duration     time.Duration
	// FirstToken is the wait until the first chunk with text or a call
	// (0 when none came).
	FirstToken                     time.Duration
	PromptTokens, CompletionTokens int
	Err                            error
}

// IngestEvent describes one file's ingestion into a vector store.
type IngestEvent struct {
	VectorStoreID, FileID string
	Status                string // completed or failed
	Bytes                 int64  // the file's size
	Duration              time.Duration
	LastError             string
}

// SessionEvent describes a code interpreter session's life.
type SessionEvent struct {
	ThreadID string
	Kind     string // "start", "reset" or "evict"
}

// NopObserver ignores every event; embed it to observe only some.
type NopObserver struct{}

func (NopObserver) RunStarted(context.Context, RunEvent)       {}
func (NopObserver) RunEnded(context.Context, RunEvent)         {}
func (NopObserver) ModelCall(context.Context, ModelCallEvent)  {}
func (NopObserver) FileIngested(context.Context, IngestEvent)  {}
func (NopObserver) SessionEvent(context.Context, SessionEvent) {}
func (NopObserver) StoreCommit(time.Duration, int)             {}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the id of the API request on whose
// behalf the engine is called (openaihttp sets its X-Request-Id): the log
// lines of the run executions that request queues carry it as request_id,
// so an operator can join a request to the run it started.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID is the request id WithRequestID put in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Stats is a snapshot of the engine's load, for gauges read at scrape time.
type Stats struct {
	QueuedRuns, BusyWorkers, Workers int
	// DatabaseBytes is the database file's size (0 with a store that does
	// not know its size: see store.Sizer).
	DatabaseBytes int64
	// Sandbox is the code interpreter's load, when its sandbox reports it
	// (codeinterp.StatsReporter, as the wasi sandbox does).
	Sandbox codeinterp.Stats
}

// Stats reports the engine's current load.
func (e *Engine) Stats() Stats {
	e.queue.mu.Lock()
	q := len(e.queue.items)
	e.queue.mu.Unlock()
	e.mu.Lock()
	busy := len(e.inflight)
	e.mu.Unlock()
	st := Stats{QueuedRuns: q, BusyWorkers: busy, Workers: e.cfg.MaxConcurrentRuns}
	if sz, ok := e.store.(store.Sizer); ok {
		st.DatabaseBytes = sz.Size()
	}
	if r, ok := e.cfg.CodeInterpreter.(codeinterp.StatsReporter); ok {
		st.Sandbox = r.Stats()
	}
	return st
}

// Ready reports whether the database takes writes: it commits an empty
// transaction.
func (e *Engine) Ready(ctx context.Context) error {
	if e.isDraining() {
		return errors.New("engine: shutting down")
	}
	return e.store.Update(ctx, func(store.Tx) error { return nil })
}
