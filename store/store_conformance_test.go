package store_test

import (
	"path/filepath"
	"testing"

	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/store/storetest"
)

// TestConformance runs the store seam's conformance suite on the bbolt
// driver (its migrations are migrate_test.go's).
func TestConformance(t *testing.T) {
	open := func(t testing.TB, path string) store.Driver {
		t.Helper()
		s, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	storetest.Run(t,
		func(t testing.TB) store.Driver { return open(t, filepath.Join(t.TempDir(), "hearth.db")) },
		storetest.WithReopen(func(t testing.TB, closed store.Driver) store.Driver { return open(t, closed.(*store.Store).Path()) }))
}
