package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// Jobs is a job queue shared by every replica of a deployment (issue 23):
// with Postgres, River (package store/pgstore/pgjobs). Set as Config.Jobs,
// it executes runs and background responses instead of the engine's
// in-process queue (queue.go): each execution — a run from queued to
// requires_action or an end, a background response — is a job inserted in
// the transaction that makes the run or response ready, so there is no run
// without its job and no job without its run; any replica's workers take
// it; a job whose replica died is given to another (the queue's rescue),
// which resumes the run from its last committed step. Expiry sweeps run on
// one replica at a time. Foreground responses (a client waiting on this
// replica) keep the in-process queue.
//
// Nil (the default): the in-process queue, as for one bbolt file.
type Jobs interface {
	// Enqueue adds j in tx: it exists once tx commits, and never if tx
	// rolls back. tx is a transaction of the engine's store, which must be
	// the one the queue keeps its jobs in.
	Enqueue(tx store.Tx, j Job) error
	// Start starts the workers: each job is given to x.Execute, at most
	// workers at once on this replica, and x.Sweep is called every sweep
	// on one replica at a time. Signals sent by any replica reach
	// x.Signalled on the replica executing the job.
	Start(ctx context.Context, x JobExecutor, workers int, sweep time.Duration) error
	// Stop stops taking jobs and waits for the Execute calls in flight to
	// return (the engine has cancelled them, or, from Shutdown, lets them
	// end) or for ctx to end.
	Stop(ctx context.Context) error
	// Signal tells the replica executing id, if any, that id's status was
	// changed (reason), and reports whether one is executing it: false
	// means no execution holds id, so the caller may end it itself.
	Signal(ctx context.Context, id string, reason SignalReason) (bool, error)
}

// SignalReason is why a job's execution is signalled.
type SignalReason string

const (
	SignalCancel SignalReason = "cancel" // Runs.Cancel or Responses.Cancel
	SignalExpire SignalReason = "expire" // the run is overdue
	SignalDelete SignalReason = "delete" // its thread or response was deleted
)

// Job is one execution: of the run ID of thread ThreadID, or of the
// background response ID when Response is set.
type Job struct {
	Response bool   `json:"response,omitempty"`
	ThreadID string `json:"thread_id,omitempty"`
	ID       string `json:"id"`
	// RequestID is the API request that made the job, for the execution's
	// log lines (WithRequestID).
	RequestID string `json:"request_id,omitempty"`
}

// Attempt is what the queue knows of the job's earlier attempts.
type Attempt struct {
	// Number counts attempts, from 1.
	Number int
	// CleanClose: the last attempt ended because its engine closed
	// (ErrJobInterrupted), not because its replica died; its resumption
	// does not count against the resume cap.
	CleanClose bool
}

// ErrJobInterrupted is what JobExecutor.Execute returns when the engine
// closed before the execution ended: the job is to be attempted again,
// at once, on any replica (it resumes from the last committed step).
var ErrJobInterrupted = errors.New("engine: the execution was interrupted by the engine closing; attempt it again")

// JobExecutor is the engine as a Jobs implementation sees it.
type JobExecutor interface {
	// Execute executes j and returns when the execution has ended (the
	// run needs action or is over), nil, or ErrJobInterrupted, or an
	// error of the store (attempt again later). The caller has made sure
	// no other replica executes j meanwhile.
	Execute(ctx context.Context, j Job, a Attempt) error
	// Sweep expires what is overdue (runs, containers).
	Sweep(ctx context.Context)
	// Signalled stops this replica's execution of id, if any, for reason.
	Signalled(id string, reason SignalReason)
}

// jobExecutor is the engine's JobExecutor (unexported methods of Engine
// would otherwise be exported).
type jobExecutor struct{ e *Engine }

func (x jobExecutor) Execute(ctx context.Context, j Job, a Attempt) error {
	e := x.e
	if e.ctx.Err() != nil {
		return ErrJobInterrupted
	}
	if j.Response {
		if a.Number > 1 && !a.CleanClose {
			if again, err := x.resumeResponse(ctx, j.ID); err != nil || !again {
				return err
			}
		}
		e.executeResponse(&respJob{id: j.ID, requestID: j.RequestID})
	} else if err := x.executeRun(ctx, j, a); err != nil {
		return err
	}
	if e.ctx.Err() != nil {
		return ErrJobInterrupted
	}
	return nil
}

// executeRun decides from the run's status what the job does: a queued run
// is claimed, an in_progress one resumed (its last executor is gone: the
// queue gives a job to one execution at a time), a cancelling one
// cancelled; any other has nothing left to do.
func (x jobExecutor) executeRun(ctx context.Context, j Job, a Attempt) error {
	e := x.e
	var r *apitype.Run
	err := e.store.View(ctx, func(tx store.Tx) (err error) {
		r, err = tx.GetRun(j.ThreadID, j.ID)
		return err
	})
	if errors.Is(err, apitype.ErrNotFound) {
		return nil // deleted with its thread
	}
	if err != nil {
		return err
	}
	switch r.Status {
	case apitype.RunQueued:
		e.execute(queuedRun{threadID: j.ThreadID, runID: j.ID, requestID: j.RequestID})
	case apitype.RunInProgress:
		e.log.Info("resuming run left in progress", "run", j.ID, "thread", j.ThreadID, "attempt", a.Number, "after_clean_close", a.CleanClose)
		e.execute(queuedRun{threadID: j.ThreadID, runID: j.ID, resume: true, cleanClose: a.CleanClose, requestID: j.RequestID})
	case apitype.RunCancelling:
		if _, err := e.finish(context.WithoutCancel(ctx), j.ThreadID, j.ID, errCancelled, nil); err != nil {
			return err
		}
	}
	return nil
}

// resumeResponse counts a rescued background response's resumption, as a
// restart's is counted (resumeLeftResponses), and fails it past the cap.
func (x jobExecutor) resumeResponse(ctx context.Context, id string) (bool, error) {
	again := false
	err := x.e.store.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		r, err := tx.GetResponse(id)
		if errors.Is(err, apitype.ErrNotFound) {
			return nil
		}
		if err != nil || r.Status.Terminal() {
			return err
		}
		n, err := tx.CountResume(id)
		if err != nil {
			return err
		}
		if again = n <= maxResumes; again {
			return nil
		}
		r.Status, r.Error = apitype.ResponseFailed, &apitype.ResponseError{Code: apitype.ErrorCodeServer,
			Message: fmt.Sprintf("The server stopped %d times while running this response; it was not resumed again.", n)}
		return tx.PutResponse(r, nil)
	})
	return again, err
}

func (x jobExecutor) Sweep(ctx context.Context) {
	x.e.expireDue(ctx)
	x.e.expireContainersDue(ctx)
}

func (x jobExecutor) Signalled(id string, reason SignalReason) {
	cause := errCancelled
	switch reason {
	case SignalExpire:
		cause = errExpired
	case SignalDelete:
		cause = errThreadDeleted
		if !strings.HasPrefix(id, store.PrefixRun) {
			cause = errResponseDeleted
		}
	}
	x.e.stopExecutor(id, cause)
}

// enqueue adds j's job in tx when the engine runs on a shared queue, and
// reports whether it did (else the caller queues it in process).
func (e *Engine) enqueue(ctx context.Context, tx store.Tx, j Job) (bool, error) {
	if e.jobs == nil {
		return false, nil
	}
	j.RequestID = RequestID(ctx)
	return true, e.jobs.Enqueue(tx, j)
}

// signal stops id's execution on whichever replica holds it, and reports
// whether one did (else the caller ends it itself). On the in-process
// queue, that is this engine's stopExecutor. When the shared queue cannot
// tell, it reports false: the caller's compare-and-set ends the run, and an
// execution elsewhere finds it moved at its next write.
func (e *Engine) signal(ctx context.Context, id string, reason SignalReason, cause error) bool {
	if e.stopExecutor(id, cause) {
		return true
	}
	if e.jobs == nil {
		return false
	}
	held, err := e.jobs.Signal(context.WithoutCancel(ctx), id, reason)
	if err != nil {
		e.log.Warn("signal job", "id", id, "reason", string(reason), "err", err)
		return false
	}
	return held
}
