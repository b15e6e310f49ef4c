package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The environment a test run reads: the cluster's DSN (its role may create
// databases), and whether a missing DSN fails instead of skipping.
const (
	EnvDSN     = "HEARTH_TEST_POSTGRES_DSN"
	EnvRequire = "HEARTH_REQUIRE_POSTGRES"
)

// DSN creates a database for t alone on the cluster of $HEARTH_TEST_POSTGRES_DSN,
// drops it when t ends (WITH (FORCE): connections left open do not keep it),
// and returns a DSN naming it. Without the cluster t skips, or fails when
// HEARTH_REQUIRE_POSTGRES=1. Nothing it logs or reports carries the password.
func DSN(t testing.TB) string {
	t.Helper()
	cluster := os.Getenv(EnvDSN)
	if cluster == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("pgtest: %s=1 but %s is unset; start a cluster with eval \"$(scripts/postgres.sh start)\"", EnvRequire, EnvDSN)
		}
		t.Skipf("pgtest: %s is unset (eval \"$(scripts/postgres.sh start)\" starts a cluster)", EnvDSN)
	}
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	name := "hearth_test_" + hex.EncodeToString(b[:])
	dsn, err := withDatabase(cluster, name)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvDSN, err)
	}

	// The cluster's own context, not t.Context(): the drop runs at cleanup,
	// after t's context is cancelled.
	ctx := context.Background()
	ident := pgx.Identifier{name}.Sanitize()
	if err := exec(ctx, cluster, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Logf("pgtest: database %s", name)
	t.Cleanup(func() {
		// FORCE cannot end a session the test's role may not signal (an
		// autovacuum worker that just started on the database): try again
		// once it is gone.
		var err error
		for attempt := 1; attempt <= 20; attempt++ {
			if err = exec(ctx, cluster, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err == nil || !busy(err) {
				break
			}
			time.Sleep(time.Duration(attempt) * 50 * time.Millisecond)
		}
		if err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return dsn
}

// busy reports whether err is a DROP DATABASE refused for a session still
// on it: one the role may not terminate (42501), or in use (55006).
func busy(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "42501" || pe.Code == "55006")
}

// exec runs one statement on a connection of its own: CREATE and DROP
// DATABASE cannot run in a transaction, and holding no connection between
// them leaves the cluster's max_connections to the tests.
func exec(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// withDatabase returns dsn naming database name instead, in either of the
// forms libpq and pgx accept: a URL, or keyword=value pairs (where a later
// keyword wins).
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			// url's error quotes the URL, password included.
			return "", errBadURL
		}
		u.Path, u.RawPath = "/"+name, ""
		return u.String(), nil
	}
	if _, err := pgx.ParseConfig(dsn); err != nil {
		return "", errBadDSN
	}
	return dsn + " dbname=" + name, nil
}

type dsnError string

func (e dsnError) Error() string { return string(e) }

const (
	errBadURL = dsnError("not a valid postgres:// URL")
	errBadDSN = dsnError("neither a postgres:// URL nor keyword=value pairs pgx can parse")
)
