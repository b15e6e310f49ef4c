package engine_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/internal/pgtest"
	"github.com/hearth-go/hearth/postgres"
	"github.com/hearth-go/hearth/store/pgstore"
)

// The engine's tests run on both store drivers (issue 23): as they are, on
// a bbolt file, and again by TestEngineOnPostgres, which runs this test
// binary a second time with envSuiteStore=postgres so that openEngine gives
// every test an engine on a database of its own, with the Postgres job
// queue, event bus, file bytes and search index: one replica of a
// deployment.
const envSuiteStore = "HEARTH_TEST_STORE"

// onPostgres reports whether this process is the Postgres run of the suite.
var onPostgres = os.Getenv(envSuiteStore) == "postgres"

// bboltOnly skips a test of what only the bbolt driver does (its file,
// compaction, mapped pages, a child process reopening the file) on the
// Postgres run.
func bboltOnly(t testing.TB) {
	t.Helper()
	if onPostgres {
		t.Skip("bbolt driver only")
	}
}

// onPostgresConfig makes cfg a replica on a fresh database for t, after
// the test's own changes: a test that brings its own Store or parts of a
// replica (FileBytes, Jobs, Events) keeps them, and one that brings its own
// FileIndex keeps that.
func onPostgresConfig(t testing.TB) func(*engine.Config) {
	return func(cfg *engine.Config) {
		if cfg.Store != nil || cfg.FileBytes != nil || cfg.Jobs != nil || cfg.Events != nil {
			return
		}
		r, err := postgres.Open(context.Background(), pgtest.DSN(t), postgres.Options{Logger: cfg.Logger})
		if err != nil {
			t.Fatalf("postgres: %v", err)
		}
		t.Cleanup(func() {
			if err := r.Close(); err != nil {
				t.Errorf("postgres: close: %v", err)
			}
		})
		if err := r.Configure(cfg); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEngineOnPostgres(t *testing.T) {
	if onPostgres {
		t.Skip("this is the Postgres run")
	}
	if testing.Short() {
		t.Skip("runs the engine's suite again")
	}
	pgtest.DSN(t) // skips (or fails, HEARTH_REQUIRE_POSTGRES=1) without a cluster
	args := []string{"-test.count=1", "-test.skip=^TestEngineOnPostgres$"}
	if d, ok := t.Deadline(); ok {
		// The child times out first, so its goroutine dump (what hung) is
		// in the log below rather than lost with this process.
		args = append(args, "-test.timeout="+(time.Until(d)*9/10).Round(time.Second).String())
	}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], args...)
	cmd.Env = append(os.Environ(), envSuiteStore+"=postgres")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil || testing.Verbose() {
		t.Logf("the engine's tests on Postgres:\n%s", out.Bytes())
	}
	if err != nil {
		t.Fatalf("the engine's tests failed on Postgres: %v", err)
	}
}

// pgPool is the pool of an engine on the Postgres run.
func pgPool(t testing.TB, e *engine.Engine) *pgxpool.Pool {
	t.Helper()
	st, ok := e.Driver().(*pgstore.Store)
	if !ok {
		t.Fatalf("the engine's store is %T, not Postgres'", e.Driver())
	}
	return st.Pool()
}

// pgSnapshot is every row of every table Hearth keeps, in one snapshot, as
// text: two equal snapshots mean nothing was committed in between (the
// Postgres run's backup). River's tables change by themselves (its leader,
// its clients, the periodic sweep's jobs) and are left out: a job is
// inserted with the run it executes, which is in.
func pgSnapshot(t testing.TB, e *engine.Engine) []byte {
	t.Helper()
	ctx := context.Background()
	tx, err := pgPool(t, e).BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	rows, err := tx.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()
		AND tablename NOT LIKE 'river\_%'
		ORDER BY tablename`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, name := range tables {
		var dump *string
		q := "SELECT string_agg(r::text, E'\\n' ORDER BY r::text) FROM " + pgx.Identifier{name}.Sanitize() + " r"
		if err := tx.QueryRow(ctx, q).Scan(&dump); err != nil {
			t.Fatal(err)
		}
		b.WriteString("== " + name + "\n")
		if dump != nil {
			b.WriteString(*dump + "\n")
		}
	}
	return b.Bytes()
}

// pgByteIDs lists the file ids whose bytes table holds chunks.
func pgByteIDs(t testing.TB, e *engine.Engine, table string) []string {
	t.Helper()
	rows, err := pgPool(t, e).Query(context.Background(), "SELECT DISTINCT file_id FROM "+pgx.Identifier{table}.Sanitize()+" ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}
