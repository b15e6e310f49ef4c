// Package pgevents carries the events of runs and responses between Hearth
// replicas sharing one Postgres (issue 23): a stream opened on any replica
// sees every event of a run executed on another, in order, deltas included.
//
// Every event is a row of stream_events (owner_id, seq): an owner's events
// are numbered from 1 in the order their inserts commit, which an advisory
// lock per owner makes the order of the publishers' calls however many
// replicas publish to one owner. Each replica has one listener connection
// (LISTEN hearth_events); each insert notifies "owner first last origin
// token", and a follower reads the rows it has not seen from the table —
// or, for what its own replica published, takes them from memory, so a
// stream on the replica executing the run does not read back what it just
// wrote. A follower starting after a sequence number (a replay) reads the
// table from there first. The listener reconnects after a lost connection
// and every follower then catches up from the table and is told it may
// have missed events (ErrLagging), as it is after hearing nothing for
// Options.IdleCheck: a publisher dying between its commit and its event
// insert leaves its last events unwritten, so a reader checks the store
// and ends a stream whose run has ended there.
//
// Publishing never waits for Postgres: events are queued and written by
// one appender per replica, everything queued in one round trip (one
// pipelined transaction, synchronous_commit off: the events are derived
// from state the store committed durably, and a lost tail is what the
// lagging check is for), so under load many deltas share a write.
package pgevents

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Event is one event of an owner's stream.
type Event struct {
	// Seq numbers it in its owner's stream, from 1, in commit order. Set
	// by the bus: Append ignores it.
	Seq  int64
	Name string
	// Data is the event's JSON.
	Data []byte
	// Final marks the event that ends its owner's stream (a run or
	// response that is over): the sweep removes the owner's events
	// Options.Retain after it.
	Final bool
	// Value is the publisher's own value of the event, handed as it is
	// (not decoded from Data) to followers on the publishing replica.
	Value any
}

// ErrLagging is what Follower.Next returns when events may have been
// missed: the listener reconnected, or nothing came for IdleCheck.
var ErrLagging = errors.New("pgevents: events may have been missed")

// ErrClosed is what Next returns once the bus is closed.
var ErrClosed = errors.New("pgevents: closed")

// Options tunes a Bus; the zero value is the defaults.
type Options struct {
	Logger *slog.Logger
	// Channel is the LISTEN/NOTIFY channel. Default "hearth_events".
	Channel string
	// IdleCheck is how long a follower waits without an event before
	// Next says it may be lagging. Default 5s.
	IdleCheck time.Duration
	// Retain is how long an owner's events are kept after its final one;
	// MaxIdle how long after its newest when none was final (a publisher
	// that died). Defaults 10 minutes and 24 hours.
	Retain, MaxIdle time.Duration
	// SweepInterval is how often Open's sweeper runs Sweep; negative: it
	// does not. Default 1 minute.
	SweepInterval time.Duration
	// RetryDelay is the first wait before reconnecting the listener or
	// writing again after a failure, doubled up to 5s. Default 100ms.
	RetryDelay time.Duration
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Channel == "" {
		o.Channel = "hearth_events"
	}
	if o.IdleCheck <= 0 {
		o.IdleCheck = 5 * time.Second
	}
	if o.Retain <= 0 {
		o.Retain = 10 * time.Minute
	}
	if o.MaxIdle <= 0 {
		o.MaxIdle = 24 * time.Hour
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = time.Minute
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 100 * time.Millisecond
	}
}

const maxRetryDelay = 5 * time.Second

// fetchLimit bounds the rows one read of the table takes.
const fetchLimit = 1024

// Bus is one replica's end of the events in Postgres.
type Bus struct {
	pool   *pgxpool.Pool
	opts   Options
	origin string // this bus's tag in notifications
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	followers map[string]map[*Follower]struct{}
	queue     []batch // Append's, in order, for the appender
	token     uint64
	closed    bool
	wake      chan struct{} // the appender's
	writing   bool          // the appender holds a batch it took
	flushed   chan struct{} // closed and replaced when the appender is idle
	// listening is closed when the listener has (re)issued LISTEN.
	listening chan struct{}

	// listenerPID is the listener's backend (tests terminate it).
	listenerPID atomic.Uint32
	// testKeep, when set by a test, drops the events it returns false for
	// before they are written: a replica that died between its commit and
	// its events' insert.
	testKeep func(owner string, ev Event) bool
}

type batch struct {
	owner string
	evs   []Event
}

// Open starts a bus on pool: it connects the listener (a connection of
// its own, made from pool's config, outside the pool) and fails if it
// cannot, then starts the appender and, unless SweepInterval is negative,
// the sweeper. Close stops them.
func Open(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Bus, error) {
	opts.setDefaults()
	var tag [6]byte
	_, _ = rand.Read(tag[:])
	b := &Bus{pool: pool, opts: opts, origin: hex.EncodeToString(tag[:]),
		followers: map[string]map[*Follower]struct{}{}, wake: make(chan struct{}, 1),
		flushed: make(chan struct{}), listening: make(chan struct{})}
	conn, err := b.listen(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgevents: listen: %w", err)
	}
	close(b.listening)
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.wg.Add(2)
	go b.listener(conn)
	go b.appender()
	if opts.SweepInterval > 0 {
		b.wg.Add(1)
		go b.sweeper()
	}
	return b, nil
}

// Close writes what was appended before it, then stops the listener, the
// appender and the sweeper and ends every follower (Next: ErrClosed).
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	b.signal()
	b.cancel()
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, fs := range b.followers {
		for f := range fs {
			f.end()
		}
	}
	b.followers = map[string]map[*Follower]struct{}{}
	return nil
}

func (b *Bus) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Append queues owner's events to be written, in order, after those
// appended before; it never waits for Postgres.
func (b *Bus) Append(owner string, evs ...Event) {
	if len(evs) == 0 {
		return
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.queue = append(b.queue, batch{owner, evs})
	b.mu.Unlock()
	b.signal()
}

// Flush waits until what was appended before it has been written (or
// given up on), or ctx ends.
func (b *Bus) Flush(ctx context.Context) error {
	for {
		b.mu.Lock()
		idle, ch := len(b.queue) == 0 && !b.writing, b.flushed
		b.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// appender writes the queue, everything queued in one transaction.
func (b *Bus) appender() {
	defer b.wg.Done()
	delay := b.opts.RetryDelay
	var held []batch
	for {
		if len(held) == 0 {
			b.mu.Lock()
			held, b.queue = b.queue, nil
			closed := b.closed
			b.writing = len(held) > 0
			if !b.writing {
				close(b.flushed)
				b.flushed = make(chan struct{})
			}
			b.mu.Unlock()
			if len(held) == 0 {
				if closed {
					return
				}
				select {
				case <-b.wake:
				case <-b.ctx.Done():
				}
				continue
			}
		}
		err := b.write(held)
		if err == nil {
			held, delay = nil, b.opts.RetryDelay
			continue
		}
		if b.ctx.Err() != nil {
			// Closing: one last try is all Close waits for.
			b.opts.Logger.Warn("pgevents: events not written at close", "events", countEvents(held), "err", err)
			held = nil
			continue
		}
		b.opts.Logger.Warn("pgevents: write events; retrying", "events", countEvents(held), "err", err, "retry_in", delay)
		select {
		case <-time.After(delay):
		case <-b.ctx.Done():
		}
		delay = min(2*delay, maxRetryDelay)
	}
}

func countEvents(bs []batch) int {
	n := 0
	for _, bt := range bs {
		n += len(bt.evs)
	}
	return n
}

// insertSQL numbers an owner's new events after its newest and notifies
// them, under the owner's advisory lock (taken just before by lockSQL,
// held to the commit): a second replica's insert for the owner waits for
// this one's commit, so numbers follow commit order.
const insertSQL = `WITH m AS (SELECT coalesce(max(seq), 0) AS s FROM stream_events WHERE owner_id = $1),
ins AS (INSERT INTO stream_events (owner_id, seq, name, data, final)
	SELECT $1, m.s + t.ord, t.name, t.data::json, t.final FROM m, unnest($2::text[], $3::text[], $4::bool[]) WITH ORDINALITY AS t(name, data, final, ord)
	RETURNING seq)
SELECT pg_notify($5, $1 || ' ' || min(seq) || ' ' || max(seq) || ' ' || $6) FROM ins`

const lockSQL = `SELECT pg_advisory_xact_lock(hashtextextended($1, 1751474548))`

// write inserts batches in one pipelined transaction: each owner's events
// (in order) under its lock, owners in id order so two replicas' writes
// never deadlock. Followers on this replica get what they will be
// notified of from memory (stash), not from the table.
func (b *Bus) write(held []batch) error {
	byOwner := map[string][]Event{}
	var owners []string
	for _, bt := range held {
		evs := bt.evs
		if b.testKeep != nil {
			evs = slices.DeleteFunc(slices.Clone(evs), func(ev Event) bool { return !b.testKeep(bt.owner, ev) })
			if len(evs) == 0 {
				continue
			}
		}
		if _, ok := byOwner[bt.owner]; !ok {
			owners = append(owners, bt.owner)
		}
		byOwner[bt.owner] = append(byOwner[bt.owner], evs...)
	}
	if len(owners) == 0 {
		return nil
	}
	slices.Sort(owners)
	tokens := make(map[string]string, len(owners))
	b.mu.Lock()
	for _, o := range owners {
		b.token++
		tok := strconv.FormatUint(b.token, 36)
		tokens[o] = tok
		for f := range b.followers[o] {
			f.stash(tok, byOwner[o])
		}
	}
	b.mu.Unlock()
	q := &pgx.Batch{}
	q.Queue(`SELECT set_config('synchronous_commit', 'off', true)`)
	for _, o := range owners {
		evs := byOwner[o]
		names, data, final := make([]string, len(evs)), make([]string, len(evs)), make([]bool, len(evs))
		for i, ev := range evs {
			names[i], data[i], final[i] = ev.Name, string(ev.Data), ev.Final
		}
		q.Queue(lockSQL, o)
		q.Queue(insertSQL, o, names, data, final, b.opts.Channel, b.origin+" "+tokens[o])
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), 30*time.Second)
	defer cancel()
	err := b.pool.SendBatch(ctx, q).Close()
	if err != nil {
		b.mu.Lock()
		for _, o := range owners {
			for f := range b.followers[o] {
				f.unstash(tokens[o])
			}
		}
		b.mu.Unlock()
	}
	return err
}

// listen connects the listener and issues LISTEN.
func (b *Bus) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, b.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{b.opts.Channel}.Sanitize()); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	b.listenerPID.Store(conn.PgConn().PID())
	return conn, nil
}

// listener dispatches notifications to followers; after a lost connection
// it reconnects, and every follower catches up from the table and is told
// it may have missed events.
func (b *Bus) listener(conn *pgx.Conn) {
	defer b.wg.Done()
	delay := b.opts.RetryDelay
	for {
		for conn != nil {
			n, err := conn.WaitForNotification(b.ctx)
			if err != nil {
				conn.Close(context.Background())
				conn = nil
				if b.ctx.Err() != nil {
					return
				}
				b.mu.Lock()
				b.listening = make(chan struct{})
				b.mu.Unlock()
				b.opts.Logger.Warn("pgevents: listener connection lost; reconnecting", "err", err)
				break
			}
			delay = b.opts.RetryDelay
			b.dispatch(n.Payload)
		}
		select {
		case <-time.After(delay):
		case <-b.ctx.Done():
			return
		}
		delay = min(2*delay, maxRetryDelay)
		var err error
		if conn, err = b.listen(b.ctx); err != nil {
			if b.ctx.Err() != nil {
				return
			}
			b.opts.Logger.Warn("pgevents: reconnect listener", "err", err, "retry_in", delay)
			continue
		}
		b.mu.Lock()
		close(b.listening)
		for _, fs := range b.followers {
			for f := range fs {
				f.lost()
			}
		}
		b.mu.Unlock()
		b.opts.Logger.Info("pgevents: listener reconnected")
	}
}

// dispatch hands one notification to the owner's followers.
func (b *Bus) dispatch(payload string) {
	parts := strings.Fields(payload)
	if len(parts) != 5 {
		return
	}
	first, err1 := strconv.ParseInt(parts[1], 10, 64)
	last, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	mine := parts[3] == b.origin
	b.mu.Lock()
	defer b.mu.Unlock()
	for f := range b.followers[parts[0]] {
		f.notified(first, last, mine, parts[4])
	}
}

// Follow follows owner's events: those after seq after (0: all of them),
// or, with after < 0, those notified from now on.
func (b *Bus) Follow(owner string, after int64) *Follower {
	f := &Follower{b: b, owner: owner, kick: make(chan struct{}, 1), done: make(chan struct{}),
		stashed: map[string][]Event{}, wake: make(chan struct{}, 1)}
	if after >= 0 {
		f.known, f.cursor, f.catchUp = true, after, true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		f.ended = true
		return f
	}
	if b.followers[owner] == nil {
		b.followers[owner] = map[*Follower]struct{}{}
	}
	b.followers[owner][f] = struct{}{}
	b.wg.Add(1)
	go f.run()
	if f.catchUp {
		f.poke()
	}
	return f
}

// Follower reads one owner's events in order. Its fields but b, owner,
// kick, wake and done are guarded by b.mu.
type Follower struct {
	b     *Bus
	owner string
	kick  chan struct{} // the reader goroutine's: something to read
	done  chan struct{} // closed by Close
	wake  chan struct{} // Next's: something queued

	known   bool  // cursor is set
	cursor  int64 // the last seq queued
	target  int64 // the newest seq notified
	catchUp bool  // read the table to its end
	// stashed are this replica's own events by write token, waiting for
	// their notification (which says their numbers).
	stashed map[string][]Event
	// ready are notified own batches, in order.
	ready   []readyBatch
	queue   []Event
	lagging bool // Next returns ErrLagging once
	ended   bool // the bus closed
	closed  bool
}

type readyBatch struct {
	first, last int64
	evs         []Event
}

func (f *Follower) poke() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

func (f *Follower) wakeReader() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *Follower) stash(tok string, evs []Event) { f.stashed[tok] = evs }

func (f *Follower) unstash(tok string) { delete(f.stashed, tok) }

// notified records a notification (b.mu held).
func (f *Follower) notified(first, last int64, mine bool, tok string) {
	if !f.known {
		f.known, f.cursor = true, first-1
	}
	if mine {
		if evs, ok := f.stashed[tok]; ok {
			delete(f.stashed, tok)
			if int64(len(evs)) == last-first+1 && last > f.cursor {
				f.ready = append(f.ready, readyBatch{first, last, evs})
			}
		}
	}
	f.target = max(f.target, last)
	f.poke()
}

// lost marks the follower for a catch-up after the listener reconnected
// (b.mu held).
func (f *Follower) lost() {
	f.lagging = true
	f.catchUp = f.known
	f.wakeReader()
	f.poke()
}

// end ends the follower as the bus closes (b.mu held).
func (f *Follower) end() {
	f.ended = true
	f.wakeReader()
}

// run is the follower's reader: it moves what was notified into the
// queue, from memory or from the table, in seq order.
func (f *Follower) run() {
	b := f.b
	defer b.wg.Done()
	idle := time.NewTimer(b.opts.IdleCheck)
	defer idle.Stop()
	delay := b.opts.RetryDelay
	for {
		select {
		case <-f.kick:
		case <-idle.C:
			b.mu.Lock()
			f.lagging = true
			f.wakeReader()
			b.mu.Unlock()
			idle.Reset(b.opts.IdleCheck)
			continue
		case <-f.done:
			return
		case <-b.ctx.Done():
			return
		}
		for {
			b.mu.Lock()
			// Own batches next in line come from memory.
			for len(f.ready) > 0 && f.ready[0].first <= f.cursor+1 {
				rb := f.ready[0]
				f.ready = f.ready[1:]
				if rb.first == f.cursor+1 {
					f.deliver(rb.first, rb.evs)
				}
			}
			want := f.known && (f.catchUp || f.target > f.cursor)
			cursor := f.cursor
			b.mu.Unlock()
			if !want {
				break
			}
			evs, err := f.fetch(cursor)
			if err != nil {
				if b.ctx.Err() != nil {
					return
				}
				b.opts.Logger.Warn("pgevents: read events", "owner", f.owner, "err", err, "retry_in", delay)
				select {
				case <-time.After(delay):
				case <-f.done:
					return
				case <-b.ctx.Done():
					return
				}
				delay = min(2*delay, maxRetryDelay)
				continue
			}
			delay = b.opts.RetryDelay
			b.mu.Lock()
			if f.cursor == cursor && len(evs) > 0 {
				f.deliver(evs[0].Seq, evs)
			}
			if len(evs) < fetchLimit {
				f.catchUp = false
				if f.target > f.cursor {
					// Notified but not there: swept meanwhile.
					f.cursor = f.target
				}
			}
			b.mu.Unlock()
		}
		if !idle.Stop() {
			select {
			case <-idle.C:
			default:
			}
		}
		idle.Reset(b.opts.IdleCheck)
	}
}

// deliver queues evs numbered from first (b.mu held).
func (f *Follower) deliver(first int64, evs []Event) {
	for i, ev := range evs {
		ev.Seq = first + int64(i)
		f.queue = append(f.queue, ev)
	}
	f.cursor = first + int64(len(evs)) - 1
	f.wakeReader()
}

// fetch reads the owner's events after seq from the table.
func (f *Follower) fetch(after int64) ([]Event, error) {
	rows, err := f.b.pool.Query(f.b.ctx, `SELECT seq, name, data::text, final FROM stream_events
		WHERE owner_id = $1 AND seq > $2 ORDER BY seq LIMIT `+strconv.Itoa(fetchLimit), f.owner, after)
	if err != nil {
		return nil, err
	}
	var out []Event
	var data string
	for rows.Next() {
		var ev Event
		if err := rows.Scan(&ev.Seq, &ev.Name, &data, &ev.Final); err != nil {
			rows.Close()
			return nil, err
		}
		ev.Data = []byte(data)
		out = append(out, ev)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Numbers are dense (max+1 under the owner's lock): a gap is rows
	// swept meanwhile, and what follows it is still in order.
	return out, nil
}

// Next returns the next event, waiting for one; ErrLagging once when
// events may have been missed (the listener reconnected, or nothing came
// for IdleCheck), ErrClosed after the bus closed.
func (f *Follower) Next(ctx context.Context) (Event, error) {
	b := f.b
	for {
		b.mu.Lock()
		if len(f.queue) > 0 {
			ev := f.queue[0]
			f.queue[0] = Event{}
			f.queue = f.queue[1:]
			b.mu.Unlock()
			return ev, nil
		}
		lag, ended := f.lagging, f.ended || f.closed
		f.lagging = false
		b.mu.Unlock()
		switch {
		case ended:
			return Event{}, ErrClosed
		case lag:
			return Event{}, ErrLagging
		}
		select {
		case <-f.wake:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// Close stops following.
func (f *Follower) Close() {
	b := f.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if f.closed {
		return
	}
	f.closed = true
	if fs := b.followers[f.owner]; fs != nil {
		delete(fs, f)
		if len(fs) == 0 {
			delete(b.followers, f.owner)
		}
	}
	if !f.ended {
		close(f.done)
	}
}

// Sweep deletes the events of owners whose stream ended more than Retain
// ago, or whose newest event is older than MaxIdle, and returns how many
// rows went.
func (b *Bus) Sweep(ctx context.Context) (int64, error) {
	tag, err := b.pool.Exec(ctx, `DELETE FROM stream_events WHERE owner_id IN (
		SELECT owner_id FROM stream_events WHERE final AND at < now() - make_interval(secs => $1)
		UNION
		SELECT owner_id FROM stream_events GROUP BY owner_id HAVING max(at) < now() - make_interval(secs => $2))`,
		b.opts.Retain.Seconds(), b.opts.MaxIdle.Seconds())
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (b *Bus) sweeper() {
	defer b.wg.Done()
	t := time.NewTicker(b.opts.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if n, err := b.Sweep(b.ctx); err != nil && b.ctx.Err() == nil {
				b.opts.Logger.Warn("pgevents: sweep", "err", err)
			} else if n > 0 {
				b.opts.Logger.Debug("pgevents: swept", "events", n)
			}
		case <-b.ctx.Done():
			return
		}
	}
}
