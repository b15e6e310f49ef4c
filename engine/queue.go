package engine

import (
	"context"
	"sync"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// schedule queues the run for the worker pool. Runs start in the order
// they were queued, as MaxConcurrentRuns workers free up.
// ctx's request id (WithRequestID) goes on the execution's log lines.
func (e *Engine) schedule(ctx context.Context, threadID, runID string, resume bool) {
	e.queue.push(queuedRun{threadID: threadID, runID: runID, resume: resume, requestID: RequestID(ctx)})
}

type queuedRun struct {
	threadID, runID string
	resume          bool
	// requestID is the API request that queued the run, for its log lines.
	requestID string
	// A run queued by Runs.Create before its write committed: the write,
	// and the run it stores (the executor's own copy).
	created     *store.Pending
	run         *apitype.Run
	waitCreated bool // its prompt needs what the write adds (additional_messages)
	// A resumed run the last process stopped by shutting down cleanly: it
	// does not count against maxResumes.
	cleanClose bool
	// response, when set, is a response to execute instead of a run.
	response *respJob
}

// runQueue is the FIFO the workers take runs from; unbounded, since a
// queued run is small.
type runQueue struct {
	mu     sync.Mutex
	items  []queuedRun
	notify chan struct{}
}

func newRunQueue() *runQueue { return &runQueue{notify: make(chan struct{}, 1)} }

func (q *runQueue) push(r queuedRun) {
	q.mu.Lock()
	q.items = append(q.items, r)
	q.mu.Unlock()
	q.signal()
}

func (q *runQueue) signal() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

func (q *runQueue) pop() (queuedRun, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return queuedRun{}, false
	}
	r := q.items[0]
	q.items[0] = queuedRun{}
	q.items = q.items[1:]
	if len(q.items) > 0 {
		q.signal() // wake another idle worker for the rest
	}
	return r, true
}

// worker executes queued runs one at a time until the engine closes.
func (e *Engine) worker() {
	defer e.wg.Done()
	for {
		if e.isDraining() {
			e.queue.signal() // pass the word on to the next idle worker
			return
		}
		r, ok := e.queue.pop()
		if !ok {
			select {
			case <-e.queue.notify:
				continue
			case <-e.ctx.Done():
				return
			}
		}
		if e.ctx.Err() != nil {
			return
		}
		if r.response != nil {
			e.executeResponse(r.response)
			continue
		}
		e.execute(r)
	}
}

// stopExecutor cancels the executor holding the run, if any.
func (e *Engine) stopExecutor(runID string, cause error) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if cancel, ok := e.inflight[runID]; ok {
		cancel(cause)
		return true
	}
	return false
}
