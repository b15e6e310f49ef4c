package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/internal/pgtest"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/store/pgstore"
)

func openDSN(t testing.TB, dsn string, opts pgstore.Options) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func open(t testing.TB) *pgstore.Store { return openDSN(t, pgtest.DSN(t), pgstore.Options{}) }

var ids = store.NewIDGenerator(nil, nil)

func thread() *apitype.Thread {
	return &apitype.Thread{ID: ids.New(store.PrefixThread), Object: apitype.ObjectThread, CreatedAt: 1, Metadata: apitype.Metadata{}}
}

func message(threadID string) *apitype.Message {
	return &apitype.Message{ID: ids.New(store.PrefixMessage), Object: apitype.ObjectMessage, ThreadID: threadID, Role: apitype.RoleUser,
		Content: []apitype.MessageContent{}, Status: apitype.MessageCompleted}
}

func hasThread(t *testing.T, s store.Driver, id string) bool {
	t.Helper()
	var ok bool
	if err := s.View(context.Background(), func(tx store.Tx) (err error) { ok, err = tx.HasThread(id); return err }); err != nil {
		t.Fatal(err)
	}
	return ok
}

// Records come back byte for byte as the JSON they were stored as (what
// bbolt stores, so migrate-store can compare them), and a message's
// count and token count are kept.
func TestRecordsAsStored(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	th := thread()
	th.Metadata = apitype.Metadata{"k": "v \u00e9 <&>"}
	m := message(th.ID)
	m.Content = []apitype.MessageContent{{Type: "text", Text: &apitype.TextContent{Value: "hello \"there\"", Annotations: []apitype.Annotation{}}}}
	if err := s.Update(ctx, func(tx store.Tx) error { return errors.Join(tx.PutThread(th), tx.PutMessage(m, 7)) }); err != nil {
		t.Fatal(err)
	}
	var rec, mrec []byte
	var tokens int
	if err := s.Pool().QueryRow(ctx, "SELECT convert_to(t.record::text, 'UTF8'), convert_to(m.record::text, 'UTF8'), m.tokens FROM threads t JOIN messages m ON m.thread_id = t.id WHERE t.id = $1",
		th.ID).Scan(&rec, &mrec, &tokens); err != nil {
		t.Fatal(err)
	}
	want, _ := json_(th)
	wantM, _ := json_(m)
	if string(rec) != string(want) || string(mrec) != string(wantM) || tokens != 7 {
		t.Fatalf("stored\n%s\n%s %d\nwant\n%s\n%s", rec, mrec, tokens, want, wantM)
	}
}

// Writes queued while the committer is busy share one transaction, each
// in a savepoint: the one that fails is rolled back alone and decided
// with its own error, the others commit.
func TestGroupCommitSavepoints(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var groups []int
	s := openDSN(t, pgtest.DSN(t), pgstore.Options{OnCommit: func(_ time.Duration, n int) { mu.Lock(); groups = append(groups, n); mu.Unlock() }})
	hold, held := make(chan struct{}), make(chan struct{})
	var once sync.Once
	first := s.Submit(ctx, func(tx store.Tx) error {
		once.Do(func() { close(held); <-hold })
		return tx.PutThread(thread())
	}, nil)
	<-held
	a, bad, c := thread(), thread(), thread()
	boom := errors.New("boom")
	pa := s.Submit(ctx, func(tx store.Tx) error { return tx.PutThread(a) }, nil)
	pb := s.Submit(ctx, func(tx store.Tx) error {
		if err := tx.PutThread(bad); err != nil {
			return err
		}
		return boom
	}, nil)
	// A statement that fails inside a write (the thread of a message is
	// unknown) aborts only that write.
	pbad := s.Submit(ctx, func(tx store.Tx) error {
		_, err := tx.(pgstore.PgxTx).Pgx().Exec(tx.(pgstore.PgxTx).Context(), "SELECT 1/0")
		return err
	}, nil)
	pc := s.Submit(ctx, func(tx store.Tx) error { return tx.PutThread(c) }, nil)
	close(hold)
	if err := errors.Join(first.Wait(), pa.Wait(), pc.Wait()); err != nil {
		t.Fatal(err)
	}
	if err := pb.Wait(); err != boom {
		t.Fatalf("the failing write: %v, want its own error", err)
	}
	if err := pbad.Wait(); err == nil || !strings.Contains(err.Error(), "division by zero") {
		t.Fatalf("the failing statement: %v", err)
	}
	if !hasThread(t, s, a.ID) || !hasThread(t, s, c.ID) || hasThread(t, s, bad.ID) {
		t.Fatal("a failed write's savepoint did not isolate it")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(groups) != 2 || groups[1] != 4 {
		t.Fatalf("commits of %v writes; want [1 4]", groups)
	}
}

// Two replicas' stores on one database: read-modify-write Updates from
// both serialise (a 40001 runs the group again), so no increment is lost.
func TestSerialisableAcrossStores(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	var retries atomic.Int64
	stores := []*pgstore.Store{openDSN(t, dsn, pgstore.Options{}), openDSN(t, dsn, pgstore.Options{})}
	th := thread()
	th.Metadata = apitype.Metadata{"n": "0"}
	if err := stores[0].Update(ctx, func(tx store.Tx) error { return tx.PutThread(th) }); err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 10
	var wg sync.WaitGroup
	for i := range writers {
		s := stores[i%2]
		wg.Go(func() {
			for range each {
				runs := 0
				err := s.Update(ctx, func(tx store.Tx) error {
					runs++
					got, err := tx.GetThread(th.ID)
					if err != nil {
						return err
					}
					var n int
					fmt.Sscan(got.Metadata["n"], &n)
					got.Metadata["n"] = fmt.Sprint(n + 1)
					return tx.PutThread(got)
				})
				if err != nil {
					t.Error(err)
				}
				retries.Add(int64(runs - 1))
			}
		})
	}
	wg.Wait()
	var got *apitype.Thread
	stores[1].View(ctx, func(tx store.Tx) (err error) { got, err = tx.GetThread(th.ID); return err })
	if got.Metadata["n"] != fmt.Sprint(writers*each) {
		t.Fatalf("counter %s after %d increments", got.Metadata["n"], writers*each)
	}
	t.Logf("%d increments from 2 stores, fns run again %d times", writers*each, retries.Load())
}

// The engine's check-then-create of a run, raced from two stores on one
// database: one run, and every loser sees it (never a constraint error).
func TestActiveRunRaceAcrossStores(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	stores := []*pgstore.Store{openDSN(t, dsn, pgstore.Options{}), openDSN(t, dsn, pgstore.Options{})}
	for round := range 5 {
		th := thread()
		if err := stores[0].Update(ctx, func(tx store.Tx) error { return tx.PutThread(th) }); err != nil {
			t.Fatal(err)
		}
		var won atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 8 {
			s := stores[i%2]
			wg.Go(func() {
				<-start
				r := &apitype.Run{ID: ids.New(store.PrefixRun), Object: apitype.ObjectRun, ThreadID: th.ID, Status: apitype.RunQueued}
				err := s.Update(ctx, func(tx store.Tx) error {
					if id, err := tx.ActiveRun(th.ID); err != nil {
						return err
					} else if id != "" {
						return apitype.ActiveRunError(th.ID, id)
					}
					return tx.PutRun(r)
				})
				switch {
				case err == nil:
					won.Add(1)
				case !errors.Is(err, apitype.ErrActiveRun):
					t.Errorf("round %d: a racer: %v", round, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("round %d: %d racers made an active run", round, won.Load())
		}
	}
}

// A second non-terminal run of a thread is refused as the engine refuses
// it (the constraint keeps one), naming the active run.
func TestPutRunSecondActive(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	th := thread()
	r1 := &apitype.Run{ID: ids.New(store.PrefixRun), ThreadID: th.ID, Status: apitype.RunInProgress}
	r2 := &apitype.Run{ID: ids.New(store.PrefixRun), ThreadID: th.ID, Status: apitype.RunQueued}
	if err := s.Update(ctx, func(tx store.Tx) error { return errors.Join(tx.PutThread(th), tx.PutRun(r1)) }); err != nil {
		t.Fatal(err)
	}
	err := s.Update(ctx, func(tx store.Tx) error { return tx.PutRun(r2) })
	var ae *apitype.Error
	if !errors.Is(err, apitype.ErrActiveRun) || !errors.As(err, &ae) || !strings.Contains(ae.Message, r1.ID) {
		t.Fatalf("second active run: %v", err)
	}
}

// River's InsertTx joins the write: the job and the run commit together or
// not at all.
func TestRiverInsertTxJoinsTheWrite(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	migrator, err := rivermigrate.New(riverpgxv5.New(s.Pool()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	client, err := river.NewClient(riverpgxv5.New(s.Pool()), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	jobs := func() (n int) {
		if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM river_job").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	boom := errors.New("boom")
	for _, fail := range []bool{true, false} {
		th := thread()
		err := s.Update(ctx, func(tx store.Tx) error {
			if err := tx.PutThread(th); err != nil {
				return err
			}
			ptx := tx.(pgstore.PgxTx)
			if _, err := client.InsertTx(ptx.Context(), ptx.Pgx(), jobArgs{Thread: th.ID}, nil); err != nil {
				return err
			}
			if fail {
				return boom
			}
			return nil
		})
		if fail {
			if err != boom || jobs() != 0 || hasThread(t, s, th.ID) {
				t.Fatalf("a failed write: %v, %d jobs, thread %v", err, jobs(), hasThread(t, s, th.ID))
			}
			continue
		}
		if err != nil || jobs() != 1 || !hasThread(t, s, th.ID) {
			t.Fatalf("a write: %v, %d jobs, thread %v", err, jobs(), hasThread(t, s, th.ID))
		}
	}
}

type jobArgs struct {
	Thread string `json:"thread"`
}

func (jobArgs) Kind() string { return "pgstore_test" }

// Open's errors are clear, quick and never carry the password.
func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	const secret = "s3cret-Pa55"
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	// A server that accepts and never answers: the connect timeout ends it.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	good := pgtest.DSN(t)
	cfg, err := pgx.ParseConfig(good)
	if err != nil {
		t.Fatal(err)
	}
	wrongPW := fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", cfg.User, secret, cfg.Host, cfg.Port, cfg.Database)
	for _, c := range []struct {
		name, dsn string
		want      error
		says      string
	}{
		{"down", fmt.Sprintf("postgres://hearth:%s@127.0.0.1:%d/x?sslmode=disable", secret, port), pgstore.ErrUnreachable, "refused"},
		{"silent", fmt.Sprintf("postgres://hearth:%s@%s/x?sslmode=disable&connect_timeout=1", secret, silent.Addr()), pgstore.ErrUnreachable, "timeout"},
		{"wrong password", wrongPW, pgstore.ErrUnreachable, "password authentication failed"},
		{"unknown database", fmt.Sprintf("postgres://%s:%s@%s:%d/nope_%d?sslmode=disable", cfg.User, cfg.Password, cfg.Host, cfg.Port, port), pgstore.ErrUnreachable, "does not exist"},
		{"not a DSN", "postgres://hearth:" + secret + "@127.0.0.1:99999999/x", pgstore.ErrBadDSN, ""},
		{"bad keyword", "host=127.0.0.1 password=" + secret + " sslmode=sometimes", pgstore.ErrBadDSN, "sslmode"},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			s, err := pgstore.Open(ctx, c.dsn, pgstore.Options{ConnectTimeout: 2 * time.Second})
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			t.Logf("%s after %s", err, time.Since(start).Round(time.Millisecond))
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
				t.Errorf("got %v; want %v saying %q", err, c.want, c.says)
			}
			if strings.Contains(err.Error(), secret) || cfg.Password != "" && strings.Contains(err.Error(), ":"+cfg.Password+"@") {
				t.Errorf("the error carries the password: %v", err)
			}
		})
	}
}

// terminate ends every other connection to the test database.
func terminate(t *testing.T, pool *pgxpool.Pool, dsn string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A connection lost in the middle of a write loses nothing half-written:
// the write runs again on a new connection; so does one whose pooled
// connection died while idle.
func TestConnectionLost(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	s := openDSN(t, dsn, pgstore.Options{})
	th := thread()
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.PutThread(th) }); err != nil {
		t.Fatal(err)
	}
	lost := thread()
	runs := 0
	err := s.Update(ctx, func(tx store.Tx) error {
		runs++
		if err := tx.PutThread(lost); err != nil {
			return err
		}
		if err := tx.PutMessage(message(th.ID), 1); err != nil {
			return err
		}
		if runs == 1 {
			terminate(t, s.Pool(), dsn)
		}
		return tx.PutMessage(message(th.ID), 1)
	})
	// Nothing of the lost attempt reached a commit, so the committer runs
	// the write again on a new connection (riding out a failover): once,
	// whole, never half.
	if err != nil || runs != 2 {
		t.Fatalf("a write whose connection was lost: %v (fn ran %d times)", err, runs)
	}
	if !hasThread(t, s, lost.ID) {
		t.Fatal("the write run again is missing")
	}
	var n int
	s.View(ctx, func(tx store.Tx) (err error) { n, err = tx.CountMessages(th.ID); return err })
	if n != 2 {
		t.Fatalf("%d messages; want the 2 of the attempt that committed", n)
	}
	// Connections idle in the pool die: the next write runs on new ones.
	for range 3 {
		if err := s.View(ctx, func(tx store.Tx) error { _, err := tx.HasThread(th.ID); return err }); err != nil {
			t.Fatal(err)
		}
		terminate(t, s.Pool(), dsn)
		after := thread()
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.PutThread(after) }); err != nil {
			t.Fatalf("a write after the pool's connections died: %v", err)
		}
		if !hasThread(t, s, after.ID) {
			t.Fatal("the write is missing")
		}
	}
}

// Postgres stopped under a running store: writes and views fail with an
// error, nothing half-written, and work again once it is back.
func TestServerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Postgres cluster of its own")
	}
	srv := startCluster(t)
	ctx := context.Background()
	s := openDSN(t, srv.dsn, pgstore.Options{CommitTimeout: 5 * time.Second})
	th := thread()
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.PutThread(th) }); err != nil {
		t.Fatal(err)
	}
	srv.stop(t)
	down := thread()
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.PutThread(down) }); err == nil {
		t.Fatal("a write with the server down succeeded")
	} else {
		t.Logf("write while down: %v", err)
	}
	if err := s.View(ctx, func(tx store.Tx) error { _, err := tx.GetThread(th.ID); return err }); err == nil {
		t.Fatal("a view with the server down succeeded")
	}
	srv.start(t)
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.PutThread(down) }); err != nil {
		t.Fatalf("a write once the server is back: %v", err)
	}
	if !hasThread(t, s, th.ID) || !hasThread(t, s, down.ID) {
		t.Fatal("writes missing after the restart")
	}
}

func json_(v any) ([]byte, error) { return jsonMarshal(v) }
