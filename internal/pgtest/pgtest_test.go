package pgtest_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hearth-go/hearth/internal/pgtest"
)

// TestDSNFreshDatabase: each call makes a database of its own, empty, which is
// dropped when its test ends even with a connection to it still open.
func TestDSNFreshDatabase(t *testing.T) {
	ctx := t.Context()
	// The parent's own database, to look in pg_database (which every
	// database of the cluster shares) after the subtest's are dropped.
	parent := pgtest.DSN(t)
	var names [2]string
	var left *pgx.Conn // open past the subtest's end: the drop must force it
	t.Run("owner", func(t *testing.T) {
		for i := range names {
			conn, err := pgx.Connect(ctx, pgtest.DSN(t))
			if err != nil {
				t.Fatal(err)
			}
			if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&names[i]); err != nil {
				t.Fatal(err)
			}
			var tables int
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil {
				t.Fatal(err)
			}
			if tables != 0 {
				t.Errorf("database %s has %d tables, want a fresh one", names[i], tables)
			}
			if _, err := conn.Exec(ctx, "CREATE TABLE mine (id int)"); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				left = conn
			} else {
				conn.Close(ctx)
			}
		}
	})
	if left != nil {
		defer left.Close(context.Background())
	}
	if names[0] == names[1] || !strings.HasPrefix(names[0], "hearth_test_") {
		t.Fatalf("databases %q: want two distinct hearth_test_ names", names)
	}
	conn, err := pgx.Connect(ctx, parent)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, name := range names {
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if exists {
			t.Errorf("database %s outlived its test", name)
		}
	}
}

// fakeTB records how DSN ends a test; Skipf and Fatalf stop the goroutine as
// testing's do.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestDSNWithoutCluster: no DSN skips, unless HEARTH_REQUIRE_POSTGRES=1
// (CI's setting) makes it fail.
func TestDSNWithoutCluster(t *testing.T) {
	for _, tc := range []struct {
		require  string
		wantFail bool
	}{{"", false}, {"0", false}, {"1", true}} {
		t.Run("require="+tc.require, func(t *testing.T) {
			t.Setenv(pgtest.EnvDSN, "")
			t.Setenv(pgtest.EnvRequire, tc.require)
			f := &fakeTB{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				pgtest.DSN(f)
				f.msg = "returned"
			}()
			<-done
			if f.failed != tc.wantFail || f.skipped == tc.wantFail {
				t.Errorf("failed %v, skipped %v (%s); want failed %v", f.failed, f.skipped, f.msg, tc.wantFail)
			}
			if !strings.Contains(f.msg, "scripts/postgres.sh") {
				t.Errorf("message %q does not say how to start a cluster", f.msg)
			}
		})
	}
}
