package pgevents

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hearth-go/hearth/internal/pgtest"
	"github.com/hearth-go/hearth/store/pgstore"
)

// replicas opens n buses on one migrated database, each on a pool of its
// own, as n `hearth serve` processes would.
func replicas(t testing.TB, n int, opts Options) []*Bus {
	t.Helper()
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	var out []*Bus
	for i := range n {
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		if i == 0 {
			if _, err := pgstore.Migrate(ctx, pool); err != nil {
				t.Fatal(err)
			}
		}
		b, err := Open(ctx, pool, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		out = append(out, b)
	}
	return out
}

func ev(name string) Event { return Event{Name: name, Data: []byte(`{"n":"` + name + `"}`)} }

// next reads the follower's next event, skipping lagging notices (a
// reader checks the store on those; here there is nothing to check).
func next(t testing.TB, f *Follower) Event {
	t.Helper()
	for {
		e, err := f.Next(t.Context())
		if errors.Is(err, ErrLagging) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
}

// A follower on another replica sees every event in order, numbered from
// 1, its data read from the table; one on the publishing replica sees the
// same, handed from memory.
func TestAcrossReplicas(t *testing.T) {
	bs := replicas(t, 2, Options{})
	a, b := bs[0], bs[1]
	far, near := b.Follow("run_1", -1), a.Follow("run_1", -1)
	defer far.Close()
	defer near.Close()
	other := b.Follow("run_2", -1)
	defer other.Close()
	const n = 50
	for i := range n {
		a.Append("run_1", ev(strconv.Itoa(i)))
		if i%7 == 0 {
			a.Append("run_2", ev("x"))
		}
	}
	for i := range n {
		got := next(t, far)
		if got.Seq != int64(i+1) || got.Name != strconv.Itoa(i) || string(got.Data) != `{"n":"`+got.Name+`"}` || got.Value != nil {
			t.Fatalf("far event %d = %+v", i, got)
		}
		got = next(t, near)
		if got.Seq != int64(i+1) || got.Name != strconv.Itoa(i) {
			t.Fatalf("near event %d = %+v", i, got)
		}
	}
	if got := next(t, other); got.Seq != 1 || got.Name != "x" {
		t.Fatalf("run_2's first = %+v", got)
	}
	// The publishing replica's own events come from memory, not the table.
	a.Append("run_1", Event{Name: "v", Data: []byte(`{}`), Value: 42})
	if got := next(t, near); got.Value != 42 || got.Seq != n+1 {
		t.Fatalf("near = %+v; want the publisher's value", got)
	}
	if got := next(t, far); got.Value != nil || got.Seq != n+1 {
		t.Fatalf("far = %+v; want it read from the table", got)
	}
}

// Replay: a follower starting after seq k reads k+1… from the table, then
// follows new ones.
func TestReplayAfter(t *testing.T) {
	bs := replicas(t, 2, Options{})
	a, b := bs[0], bs[1]
	for i := range 5 {
		a.Append("resp_1", ev(strconv.Itoa(i)))
	}
	if err := a.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	f := b.Follow("resp_1", 2)
	defer f.Close()
	for want := int64(3); want <= 5; want++ {
		if got := next(t, f); got.Seq != want || got.Name != strconv.Itoa(int(want-1)) {
			t.Fatalf("replayed %+v; want seq %d", got, want)
		}
	}
	a.Append("resp_1", ev("5"))
	if got := next(t, f); got.Seq != 6 || got.Name != "5" {
		t.Fatalf("then %+v", got)
	}
	// From the start, more than one read of the table.
	for i := range 2 * fetchLimit {
		a.Append("resp_2", ev(strconv.Itoa(i)))
	}
	if err := a.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	g := b.Follow("resp_2", 0)
	defer g.Close()
	for i := range 2 * fetchLimit {
		if got := next(t, g); got.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, got.Seq)
		}
	}
}

// Several writers on one owner (a Cancel on one replica while another
// executes the run): numbers stay dense, each writer's events keep their
// order, and a writer's event appended after another's was written comes
// after it.
func TestWritersShareOwner(t *testing.T) {
	bs := replicas(t, 3, Options{})
	f := bs[2].Follow("run_x", -1)
	defer f.Close()
	const n = 200
	var wg sync.WaitGroup
	for w, b := range bs[:2] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				b.Append("run_x", ev(fmt.Sprintf("%d-%d", w, i)))
			}
		}()
	}
	wg.Wait()
	last := map[int]int{0: -1, 1: -1}
	for i := range 2 * n {
		got := next(t, f)
		if got.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, got.Seq)
		}
		var w, k int
		fmt.Sscanf(got.Name, "%d-%d", &w, &k)
		if k != last[w]+1 {
			t.Fatalf("writer %d: event %d after %d", w, k, last[w])
		}
		last[w] = k
	}
	// Causality: B's append after A's write is numbered after it.
	bs[0].Append("run_x", ev("cancelling"))
	if err := bs[0].Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	bs[1].Append("run_x", ev("cancelled"))
	if a, b := next(t, f), next(t, f); a.Name != "cancelling" || b.Name != "cancelled" || b.Seq != a.Seq+1 {
		t.Fatalf("got %s (%d) then %s (%d)", a.Name, a.Seq, b.Name, b.Seq)
	}
}

// The listener's connection killed: it reconnects, the follower is told it
// may have missed events and catches up from the table, in order.
func TestListenerReconnects(t *testing.T) {
	bs := replicas(t, 2, Options{RetryDelay: time.Millisecond})
	a, b := bs[0], bs[1]
	f := b.Follow("run_1", -1)
	defer f.Close()
	a.Append("run_1", ev("0"))
	if got := next(t, f); got.Seq != 1 {
		t.Fatalf("first = %+v", got)
	}
	b.mu.Lock()
	down := b.listening
	b.mu.Unlock()
	var killed bool
	if err := a.pool.QueryRow(t.Context(), `SELECT pg_terminate_backend($1)`, int32(b.listenerPID.Load())).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminate the listener: %v, %v", killed, err)
	}
	<-down // the listener was up when we looked: wait until it notices
	// Written while the listener may be down: their notifications are lost.
	for i := 1; i <= 3; i++ {
		a.Append("run_1", ev(strconv.Itoa(i)))
	}
	if err := a.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	lagged := false
	for want := int64(2); want <= 4; {
		got, err := f.Next(t.Context())
		if errors.Is(err, ErrLagging) {
			lagged = true
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != want {
			t.Fatalf("got seq %d; want %d", got.Seq, want)
		}
		want++
	}
	a.Append("run_1", ev("4"))
	for {
		// The notice comes once what was queued has been read.
		got, err := f.Next(t.Context())
		if errors.Is(err, ErrLagging) {
			lagged = true
			continue
		}
		if err != nil || got.Seq != 5 {
			t.Fatalf("after the reconnect: %+v, %v", got, err)
		}
		break
	}
	if !lagged {
		t.Error("the follower was not told it may have missed events")
	}
}

// Nothing heard for IdleCheck: Next says the reader should look at the
// store (a publisher may have died between its commit and its insert).
func TestIdleSaysLagging(t *testing.T) {
	bs := replicas(t, 1, Options{IdleCheck: time.Millisecond})
	f := bs[0].Follow("run_1", -1)
	defer f.Close()
	if _, err := f.Next(t.Context()); !errors.Is(err, ErrLagging) {
		t.Fatalf("Next = %v; want ErrLagging", err)
	}
}

// The sweep removes an owner's events Retain after its final one, and an
// owner's whose newest is older than MaxIdle; nothing else.
func TestSweep(t *testing.T) {
	bs := replicas(t, 1, Options{SweepInterval: -1, Retain: time.Hour, MaxIdle: 2 * time.Hour})
	b := bs[0]
	b.Append("done_old", ev("a"), Event{Name: "end", Data: []byte(`{}`), Final: true})
	b.Append("done_new", ev("a"), Event{Name: "end", Data: []byte(`{}`), Final: true})
	b.Append("live", ev("a"))
	b.Append("abandoned", ev("a"))
	if err := b.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.pool.Exec(t.Context(), `UPDATE stream_events SET at = now() - interval '61 minutes' WHERE owner_id = 'done_old';
		UPDATE stream_events SET at = now() - interval '121 minutes' WHERE owner_id = 'abandoned';
		UPDATE stream_events SET at = now() - interval '61 minutes' WHERE owner_id = 'live'`); err != nil {
		t.Fatal(err)
	}
	n, err := b.Sweep(t.Context())
	if err != nil || n != 3 {
		t.Fatalf("Sweep = %d, %v; want 3 rows", n, err)
	}
	rows, err := b.pool.Query(t.Context(), `SELECT DISTINCT owner_id FROM stream_events ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for rows.Next() {
		var o string
		rows.Scan(&o)
		left = append(left, o)
	}
	if fmt.Sprint(left) != "[done_new live]" {
		t.Fatalf("left %v", left)
	}
}

// Postgres unreachable at Open: a clear error, nothing started.
func TestOpenUnreachable(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), "postgres://hearth:secret@127.0.0.1:1/hearth?sslmode=disable&connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	b, err := Open(t.Context(), pool, Options{})
	if err == nil {
		b.Close()
		t.Fatal("Open succeeded")
	}
	t.Log(err)
}

// Close ends followers with ErrClosed, after the events appended before
// it were written.
func TestCloseWritesThenEnds(t *testing.T) {
	bs := replicas(t, 2, Options{})
	a, b := bs[0], bs[1]
	f := b.Follow("run_1", -1)
	defer f.Close()
	g := a.Follow("run_1", -1)
	a.Append("run_1", ev("0"), ev("1"))
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Next(t.Context()); !errors.Is(err, ErrClosed) && err != nil {
		t.Fatalf("after Close: %v", err)
	}
	for i := range 2 {
		if got := next(t, f); got.Seq != int64(i+1) {
			t.Fatalf("got %+v", got)
		}
	}
}
