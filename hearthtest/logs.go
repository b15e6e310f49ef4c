package hearthtest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
)

// Record is a log record: its message under "msg", its level under
// "level", and each attribute's value as a string under its key.
type Record map[string]string

// Logs is a slog.Handler that keeps every record, for tests that check what
// the engine (or a model client) logs: slog.New(logs) is its Logger.
// Attributes added with WithAttrs and groups are not kept apart. The zero
// value is ready to use; it is safe for concurrent use.
type Logs struct {
	mu      sync.Mutex
	records []Record
	logged  chan struct{} // closed and replaced by each record (Wait)
}

// Enabled implements slog.Handler: every level is kept.
func (l *Logs) Enabled(context.Context, slog.Level) bool { return true }

// WithAttrs implements slog.Handler.
func (l *Logs) WithAttrs([]slog.Attr) slog.Handler { return l }

// WithGroup implements slog.Handler.
func (l *Logs) WithGroup(string) slog.Handler { return l }

// Handle implements slog.Handler.
func (l *Logs) Handle(_ context.Context, r slog.Record) error {
	rec := Record{"msg": r.Message, "level": r.Level.String()}
	r.Attrs(func(a slog.Attr) bool { rec[a.Key] = a.Value.String(); return true })
	l.mu.Lock()
	l.records = append(l.records, rec)
	if l.logged != nil {
		close(l.logged)
		l.logged = nil
	}
	l.mu.Unlock()
	return nil
}

// Records returns every record so far, oldest first.
func (l *Logs) Records() []Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Record(nil), l.records...)
}

// Find returns the records whose message is msg.
func (l *Logs) Find(msg string) []Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Record
	for _, r := range l.records {
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// Wait returns the records whose message is msg once there is one, or an
// error when ctx ends first: some lines are logged just after the event a
// test waits on (a run's end after its last event), so the test waits for
// the line too.
func (l *Logs) Wait(ctx context.Context, msg string) ([]Record, error) {
	for {
		if recs := l.Find(msg); len(recs) > 0 {
			return recs, nil
		}
		l.mu.Lock()
		if l.logged == nil {
			l.logged = make(chan struct{})
		}
		logged := l.logged
		l.mu.Unlock()
		if recs := l.Find(msg); len(recs) > 0 {
			return recs, nil
		}
		select {
		case <-logged:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %q: %w", errNotLogged, msg, context.Cause(ctx))
		}
	}
}
