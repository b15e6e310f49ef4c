package engine

import (
	"context"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

func (e *Engine) overdue(r *apitype.Run) bool {
	return r.ExpiresAt != nil && r.Status.Active() && r.Status != apitype.RunCancelling && e.now() >= *r.ExpiresAt
}

// expire moves an overdue run to expired and returns it (nil when its
// executor was told to, or it was no longer overdue).
func (e *Engine) expire(ctx context.Context, threadID, runID string) (*apitype.Run, error) {
	if e.stopExecutor(runID, errExpired) {
		return e.waitFor(ctx, runID, func() (string, error) { return threadID, nil })
	}
	if e.signal(ctx, runID, SignalExpire, errExpired) {
		// Another replica executes it and ends it: its events are not on
		// this engine's bus, so read the run as it stands.
		var r *apitype.Run
		err := e.store.View(ctx, func(tx store.Tx) (err error) {
			r, err = tx.GetRun(threadID, runID)
			return err
		})
		return r, err
	}
	return e.finish(context.WithoutCancel(ctx), threadID, runID, errExpired, nil)
}

// every calls fn every d until the engine closes; it is the body of the
// engine's background loops (the expirer, the compacter), started with
// e.wg.Add(1).
func (e *Engine) every(d time.Duration, fn func(context.Context)) {
	defer e.wg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
			fn(e.ctx)
		}
	}
}

// expireDue expires every overdue live run.
func (e *Engine) expireDue(ctx context.Context) {
	var due [][2]string
	_ = e.store.View(ctx, func(tx store.Tx) error {
		return tx.LiveRuns(func(threadID, runID string) error {
			if r, err := tx.GetRun(threadID, runID); err == nil && e.overdue(r) {
				due = append(due, [2]string{threadID, runID})
			}
			return nil
		})
	})
	for _, d := range due {
		if _, err := e.expire(ctx, d[0], d[1]); err != nil && ctx.Err() == nil {
			e.log.Warn("expire run", "run", d[1], "err", err)
		}
	}
}
