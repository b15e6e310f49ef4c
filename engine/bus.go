package engine

import (
	"context"
	"sync"

	"github.com/hearth-go/hearth/apitype"
)

// bus delivers a run's events, published after their commit, to the streams
// and waiters subscribed to that run. Each subscription queues without bound
// so a slow reader never stalls the executor; it holds one run's events.
type bus struct {
	mu     sync.Mutex
	subs   map[string]map[*sub]struct{}
	closed bool
}

type sub struct {
	mu     sync.Mutex
	queue  []apitype.Event
	wake   chan struct{}
	closed bool
}

func newBus() *bus { return &bus{subs: map[string]map[*sub]struct{}{}} }

func (b *bus) subscribe(runID string) *sub {
	s := &sub{wake: make(chan struct{}, 1)}
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

func (b *bus) publish(runID string, evs ...apitype.Event) {
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

func (b *bus) closeAll() {
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

// next returns the next event, waiting for one.
func (s *sub) next(ctx context.Context) (apitype.Event, error) {
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
