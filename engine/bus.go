package engine

import (
	"context"
	"errors"
	"sync"

	"github.com/hearth-go/hearth/apitype"
)

// EventBus carries a run's events from where they are committed to the
// streams and waiters subscribed to that run. The default, the engine's
// own, is in-process; with many replicas on one Postgres a shared bus
// (package store/pgstore/pgevents) also delivers them to subscribers on
// the other replicas, so a stream opened on one sees a run executed on
// another (issue 23).
type EventBus interface {
	// Publish sends owner's events to its subscribers. The engine calls it
	// after the commit of the state the events report, in commit order
	// (from the store's committer, see store.Driver's Submit), and for a
	// run's deltas between its commits; it must not block on I/O.
	Publish(owner string, evs ...apitype.Event)
	// Subscribe follows owner's events published from now on, in the
	// order they were published.
	Subscribe(owner string) Subscription
}

// Subscription is one reader of an owner's events.
type Subscription interface {
	// Next returns the next event, waiting for one. After the bus closes
	// it returns ErrClosed; when events may have been lost (a shared bus
	// lost its connection, or heard nothing for a while and the publisher
	// may have died between its commit and its publish) it returns
	// ErrEventsLagging, and the reader checks the store: a run that ended
	// there ends the stream, so none stalls forever.
	Next(ctx context.Context) (apitype.Event, error)
	// Close ends the subscription.
	Close()
}

// ErrEventsLagging is what Subscription.Next returns when the reader must
// look at the store for what it may not have heard (see Subscription).
var ErrEventsLagging = errors.New("engine: events may have been missed; read the state from the store")

// bus is the in-process EventBus. Each subscription queues without bound so
// a slow reader never stalls the executor; it holds one run's events.
type bus struct {
	mu     sync.Mutex
	subs   map[string]map[*sub]struct{}
	closed bool
}

type sub struct {
	b      *bus
	owner  string
	mu     sync.Mutex
	queue  []apitype.Event
	wake   chan struct{}
	closed bool
}

func newBus() *bus { return &bus{subs: map[string]map[*sub]struct{}{}} }

var _ EventBus = (*bus)(nil)

func (b *bus) Subscribe(runID string) Subscription { return b.subscribe(runID) }

func (b *bus) subscribe(runID string) *sub {
	s := &sub{b: b, owner: runID, wake: make(chan struct{}, 1)}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		s.closed = true
		return s
	}
	if b.subs[runID] == nil {
		b.subs[runID] = map[*sub]struct{}{}
	}
	b.subs[runID][s] = struct{}{}
	return s
}

func (b *bus) unsubscribe(runID string, s *sub) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if m := b.subs[runID]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(b.subs, runID)
		}
	}
}

// Publish queues evs for every subscriber of runID.
func (b *bus) Publish(runID string, evs ...apitype.Event) {
	if len(evs) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs[runID] {
		s.mu.Lock()
		s.queue = append(s.queue, evs...)
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// Close ends every subscription: Next returns ErrClosed once it has
// returned what was queued.
func (b *bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for _, m := range b.subs {
		for s := range m {
			s.mu.Lock()
			s.closed = true
			s.mu.Unlock()
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	}
	b.subs = map[string]map[*sub]struct{}{}
}

// Close unsubscribes.
func (s *sub) Close() { s.b.unsubscribe(s.owner, s) }

// Next returns the next event, waiting for one.
func (s *sub) Next(ctx context.Context) (apitype.Event, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			ev := s.queue[0]
			s.queue[0] = apitype.Event{}
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return ev, nil
		}
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return apitype.Event{}, ErrClosed
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
			return apitype.Event{}, ctx.Err()
		}
	}
}

// ends reports whether ev ends a stream: the run needs action or is over.
func ends(ev apitype.Event) bool {
	if ev.Event == apitype.EventError {
		return true
	}
	return ev.Run != nil && (ev.Event == apitype.EventRunRequiresAction || ev.Run.Status.Terminal()) &&
		ev.Event != apitype.EventRunCreated
}
