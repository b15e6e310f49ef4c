package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hearth-go/hearth/internal/pgtest"
	"github.com/hearth-go/hearth/store/pgstore"
)

func pool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func migrated(t *testing.T) *pgxpool.Pool {
	t.Helper()
	p := pool(t)
	if _, err := pgstore.Migrate(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

// A fresh database gets every version once; a second Migrate applies none.
func TestMigrateFresh(t *testing.T) {
	ctx := context.Background()
	p := pool(t)
	ms, err := pgstore.Migrations()
	if err != nil || len(ms) == 0 {
		t.Fatal(ms, err)
	}
	applied, err := pgstore.Migrate(ctx, p)
	if err != nil || len(applied) != len(ms) || applied[0] != 1 {
		t.Fatalf("applied %v, %v", applied, err)
	}
	if again, err := pgstore.Migrate(ctx, p); err != nil || len(again) != 0 {
		t.Fatalf("again %v, %v", again, err)
	}
	var tables int
	if err := p.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'
		AND table_name IN ('threads', 'messages', 'runs', 'run_steps', 'responses', 'response_items', 'conversations',
		'conversation_items', 'files', 'file_chunks', 'vector_stores', 'vector_store_files', 'search_chunks', 'containers',
		'container_files', 'stream_events', 'assistants')`).Scan(&tables); err != nil || tables != 17 {
		t.Fatalf("%d of 17 tables, %v", tables, err)
	}
}

// Replicas starting together: each version is applied by exactly one.
func TestMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	p := pool(t)
	const replicas = 4
	var wg sync.WaitGroup
	results := make([][]int, replicas)
	errs := make([]error, replicas)
	start := make(chan struct{})
	for i := range replicas {
		wg.Go(func() {
			<-start
			results[i], errs[i] = pgstore.Migrate(ctx, p)
		})
	}
	close(start)
	wg.Wait()
	var all []int
	for i := range replicas {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		all = append(all, results[i]...)
	}
	ms, _ := pgstore.Migrations()
	slices.Sort(all)
	if len(all) != len(ms) || all[0] != 1 || all[len(all)-1] != len(ms) {
		t.Fatalf("versions applied across replicas: %v", all)
	}
}

// A database a newer build migrated is refused, and left as it was.
func TestMigrateRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	p := migrated(t)
	if _, err := p.Exec(ctx, "INSERT INTO hearth_schema (version, name) VALUES (999, 'future')"); err != nil {
		t.Fatal(err)
	}
	if _, err := pgstore.Migrate(ctx, p); !errors.Is(err, pgstore.ErrSchemaTooNew) || !strings.Contains(err.Error(), "999") {
		t.Fatalf("newer schema: %v", err)
	}
}

// One active run per thread is a constraint of the database: a second
// active run on a thread cannot commit until the first has ended.
func TestOneActiveRunPerThread(t *testing.T) {
	ctx := context.Background()
	p := migrated(t)
	exec := func(sql string, args ...any) error { _, err := p.Exec(ctx, sql, args...); return err }
	if err := exec(`INSERT INTO threads (id, created_at, record) VALUES ('thread_a', 1, '{}')`); err != nil {
		t.Fatal(err)
	}
	run := func(id, status string) error {
		return exec(`INSERT INTO runs (id, thread_id, status, record) VALUES ($1, 'thread_a', $2, '{}')`, id, status)
	}
	if err := run("run_1", "queued"); err != nil {
		t.Fatal(err)
	}
	var pe *pgconn.PgError
	for _, status := range []string{"queued", "in_progress", "requires_action", "cancelling"} {
		if err := run("run_2", status); !errors.As(err, &pe) || pe.Code != "23505" || pe.ConstraintName != "one_active_run_per_thread" {
			t.Fatalf("a second %s run: %v", status, err)
		}
	}
	if err := exec(`UPDATE runs SET status = 'completed' WHERE id = 'run_1'`); err != nil {
		t.Fatal(err)
	}
	if err := run("run_2", "queued"); err != nil {
		t.Fatalf("after the first ended: %v", err)
	}
	if err := run("run_3", "completed"); err != nil {
		t.Fatalf("an ended run beside the active one: %v", err)
	}
}

// Records come back byte for byte as written (json, not jsonb), and a
// thread's delete takes its messages, runs and steps.
func TestRecordsAndCascade(t *testing.T) {
	ctx := context.Background()
	p := migrated(t)
	const rec = `{"id":"msg_1", "role":"user","content":[{"type":"text"}] , "b":1,"a":2}`
	for _, sql := range []string{
		`INSERT INTO threads (id, created_at, record) VALUES ('thread_a', 1, '{}')`,
		`INSERT INTO messages (thread_id, id, tokens, record) VALUES ('thread_a', 'msg_1', 7, '` + rec + `')`,
		`INSERT INTO runs (id, thread_id, status, record) VALUES ('run_1', 'thread_a', 'completed', '{}')`,
		`INSERT INTO run_steps (run_id, id, record) VALUES ('run_1', 'step_1', '{}')`,
	} {
		if _, err := p.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	var got string
	if err := p.QueryRow(ctx, `SELECT record::text FROM messages WHERE thread_id = 'thread_a' AND id = 'msg_1'`).Scan(&got); err != nil || got != rec {
		t.Fatalf("record %q, %v", got, err)
	}
	if _, err := p.Exec(ctx, `DELETE FROM threads WHERE id = 'thread_a'`); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := p.QueryRow(ctx, `SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM runs) + (SELECT count(*) FROM run_steps)`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d rows left after the thread's delete, %v", left, err)
	}
}

// A page of a long thread is a keyset seek on the messages' primary key,
// in both orders, with ids ordered byte by byte as bbolt orders them.
func TestMessagePageIsAnIndexSeek(t *testing.T) {
	ctx := context.Background()
	p := migrated(t)
	if _, err := p.Exec(ctx, `INSERT INTO threads (id, created_at, record) VALUES ('thread_a', 1, '{}')`); err != nil {
		t.Fatal(err)
	}
	const n = 20000
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{"thread_a", fmt.Sprintf("msg_%06d", i), 3, `{}`}
	}
	if _, err := p.CopyFrom(ctx, pgx.Identifier{"messages"}, []string{"thread_id", "id", "tokens", "record"}, pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(ctx, "ANALYZE messages"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`SELECT id, record FROM messages WHERE thread_id = 'thread_a' AND id > 'msg_010000' ORDER BY id LIMIT 21`,
		`SELECT id, record FROM messages WHERE thread_id = 'thread_a' AND id < 'msg_010000' ORDER BY id DESC LIMIT 21`,
	} {
		var plan strings.Builder
		r, err := p.Query(ctx, "EXPLAIN "+q)
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var line string
			if err := r.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(line + "\n")
		}
		if r.Err() != nil {
			t.Fatal(r.Err())
		}
		if !strings.Contains(plan.String(), "Index Scan") || !strings.Contains(plan.String(), "messages_pkey") || strings.Contains(plan.String(), "Sort") {
			t.Fatalf("%s\n%s", q, plan.String())
		}
		var first string
		if err := p.QueryRow(ctx, q).Scan(&first, new(string)); err != nil {
			t.Fatal(err)
		}
		if want := map[bool]string{true: "msg_010001", false: "msg_009999"}[strings.Contains(q, "id >")]; first != want {
			t.Fatalf("%s: first %s, want %s", q, first, want)
		}
	}
	// Byte order, not a locale's: '_' (0x5f) sorts after 'Z' (0x5a).
	var ordered bool
	if err := p.QueryRow(ctx, `SELECT 'msg_Z' COLLATE "C" < 'msg__' COLLATE "C"`).Scan(&ordered); err != nil || !ordered {
		t.Fatalf("C collation: %v %v", ordered, err)
	}
}
