package pgjobs

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// locker holds this replica's leases: session advisory locks on one
// connection of its own, so that they all end with the replica (the
// connection closes) and cost one connection however many runs execute.
type locker struct {
	mu   sync.Mutex
	cfg  *pgx.ConnConfig
	conn *pgx.Conn
	// held maps an id to a channel closed when its lease is released, so a
	// second job of the same id on this replica (the next step's, queued
	// while the last was ending) waits for it: the lock is re-entrant in a
	// session, so Postgres would not make it wait.
	held map[string]chan struct{}
}

func newLocker(ctx context.Context, pool *pgxpool.Pool) (*locker, error) {
	cfg := pool.Config().ConnConfig.Copy()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgjobs: lease connection: %w", err)
	}
	return &locker{cfg: cfg, conn: conn, held: map[string]chan struct{}{}}, nil
}

func (l *locker) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.conn.Close(context.Background())
}

// acquireTries bounds how long a job waits for another replica to release
// a lease before snoozing: long enough for an execution that is ending
// (its next step was queued before it let go), short against one that is
// running.
var acquireTries = []time.Duration{0, 5 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond}

// acquire takes id's lease: ok false when another replica holds it.
func (l *locker) acquire(ctx context.Context, id string) (release func(), ok bool, err error) {
	for _, wait := range acquireTries {
		if wait > 0 {
			select {
			case <-ctx.Done():
				return nil, false, ctx.Err()
			case <-time.After(wait):
			}
		}
		l.mu.Lock()
		if ch, busy := l.held[id]; busy {
			l.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return nil, false, ctx.Err()
			}
			l.mu.Lock()
		}
		if _, busy := l.held[id]; busy {
			l.mu.Unlock()
			continue
		}
		if l.conn.IsClosed() {
			// Lost (Postgres restarted, the network failed), and every
			// lease with it. A new session; executions still running under
			// the old leases are found out by their compare-and-set writes.
			conn, err := pgx.ConnectConfig(ctx, l.cfg)
			if err != nil {
				l.mu.Unlock()
				return nil, false, fmt.Errorf("pgjobs: lease connection: %w", err)
			}
			l.conn = conn
		}
		var got bool
		err := l.conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", lockKey(id)).Scan(&got)
		if err != nil {
			l.mu.Unlock()
			return nil, false, fmt.Errorf("pgjobs: lease: %w", err)
		}
		if !got {
			l.mu.Unlock()
			continue
		}
		ch := make(chan struct{})
		l.held[id] = ch
		l.mu.Unlock()
		return func() { l.release(id, ch) }, true, nil
	}
	return nil, false, nil
}

func (l *locker) release(id string, ch chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.held, id)
	close(ch)
	if _, err := l.conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", lockKey(id)); err != nil {
		// The connection is gone, and every lease with it: nothing to undo.
		return
	}
}
