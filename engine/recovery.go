package engine

import (
	"context"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// resumeLeftRuns resumes what a previous process left: queued runs are queued
// again; in_progress runs resume from their last committed step (steps that
// were in progress are marked failed, their partial messages incomplete, and
// the model is asked again); cancelling runs are cancelled. Runs waiting
// for tool outputs keep waiting until they expire.
func (e *Engine) resumeLeftRuns(ctx context.Context) error {
	type live struct{ thread, run string }
	var runs []live
	var clean bool
	err := e.store.Update(ctx, func(tx store.Tx) error {
		var err error
		if clean, err = tx.TakeCleanClose(); err != nil {
			return err
		}
		runs = nil
		return tx.LiveRuns(func(threadID, runID string) error {
			runs = append(runs, live{threadID, runID})
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, l := range runs {
		r, err := e.Runs.Retrieve(ctx, l.thread, l.run)
		if err != nil {
			return err
		}
		switch r.Status {
		case apitype.RunQueued:
			e.schedule(ctx, l.thread, l.run, false)
		case apitype.RunInProgress:
			e.log.Info("resuming run left in progress", "run", l.run, "thread", l.thread, "after_clean_close", clean)
			e.queue.push(queuedRun{threadID: l.thread, runID: l.run, resume: true, cleanClose: clean})
		case apitype.RunCancelling:
			if _, err := e.finish(ctx, l.thread, l.run, errCancelled, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// maxResumes is how many restarts may resume one run before it is failed.
const maxResumes = 3
