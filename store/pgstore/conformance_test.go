package pgstore_test

import (
	"context"
	"testing"

	"github.com/hearth-go/hearth/internal/pgtest"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/store/pgstore"
	"github.com/hearth-go/hearth/store/storetest"
)

// The conformance suite of the store seam, on Postgres: each subtest a
// database of its own; reopening opens the same database again.
func TestConformance(t *testing.T) {
	dsns := map[store.Driver]string{}
	openDSN := func(t testing.TB, dsn string) store.Driver {
		s, err := pgstore.Open(context.Background(), dsn, pgstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		dsns[s] = dsn
		return s
	}
	storetest.Run(t, func(t testing.TB) store.Driver { return openDSN(t, pgtest.DSN(t)) },
		storetest.WithReopen(func(t testing.TB, closed store.Driver) store.Driver { return openDSN(t, dsns[closed]) }))
}
