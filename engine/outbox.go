package engine

import (
	"context"
	"errors"
	"sync"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// outbox publishes one execution's events in the order the executor made
// them while the writes they report may still be syncing. A write's events
// go out from the store's committer once it is durable (so nobody hears of
// state a crash could lose), and events made after the write was queued —
// the text deltas streamed while the message's opening commits — wait
// behind them. This lets the executor overlap its commits with the model
// call instead of waiting for each fsync in turn.
type outbox struct {
	bus   EventBus
	runID string

	mu     sync.Mutex
	queue  []*outItem // unpublished, in order; the head is a write not yet decided
	broken bool       // a write failed: what the execution makes after it is dropped

	pending []asyncWrite // background writes the executor has not yet settled
}

type outItem struct {
	ready  bool
	events []apitype.Event
}

type asyncWrite struct {
	p    store.Pending
	undo func() // if it failed, run on the executor's goroutine by settle
}

// errEarlierWriteFailed refuses a write queued behind a background write
// of the same execution that failed; the caller reports that failure.
var errEarlierWriteFailed = errors.New("engine: an earlier write of this run failed")

// failed reports whether a write of the execution has failed. Called from a
// write's transaction it sees every write decided before, since outcomes
// are reported on the committer in commit order.
func (o *outbox) failed() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.broken
}

// publish sends events now, or queues them behind writes still syncing.
func (o *outbox) publish(evs ...apitype.Event) {
	if len(evs) == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.broken {
		return // the execution is ending; its deltas describe state that never landed
	}
	if len(o.queue) == 0 {
		o.bus.Publish(o.runID, evs...)
		return
	}
	o.queue = append(o.queue, &outItem{ready: true, events: evs})
}

// submit queues a write whose events fn returns inside the transaction;
// they are published when it commits (dropped if it fails), and onDecided,
// if set, also runs then, on the committer.
func (o *outbox) submit(s store.Driver, fn func(store.Tx) ([]apitype.Event, error), onDecided func(error)) store.Pending {
	it := &outItem{}
	o.mu.Lock()
	o.queue = append(o.queue, it)
	o.mu.Unlock()
	var events []apitype.Event
	return s.Submit(context.Background(), func(tx store.Tx) error {
		var err error
		events, err = fn(tx)
		return err
	}, func(err error) {
		if onDecided != nil {
			onDecided(err)
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		it.ready = true
		if err == nil {
			it.events = events
		} else {
			o.broken = true
		}
		if o.broken {
			o.queue = nil // nothing after a failed write may be heard of
			return
		}
		n := 0
		for ; n < len(o.queue) && o.queue[n].ready; n++ {
			o.bus.Publish(o.runID, o.queue[n].events...)
		}
		o.queue = o.queue[n:]
	})
}

// settle waits for the background writes, undoes the executor's state of
// each that failed, and returns the first failure.
func (o *outbox) settle() error {
	var first error
	for _, w := range o.pending {
		err := w.p.Wait()
		if err == nil {
			continue
		}
		if w.undo != nil {
			w.undo()
		}
		if first == nil {
			first = err
		}
	}
	o.pending = o.pending[:0]
	return first
}
