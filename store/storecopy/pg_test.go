package storecopy_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hearth-go/hearth/internal/pgtest"
	"github.com/hearth-go/hearth/store/pgfiles"
	"github.com/hearth-go/hearth/store/pgstore"
	"github.com/hearth-go/hearth/store/storecopy"
)

func openPG(t *testing.T) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), pgtest.DSN(t), pgstore.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The engine-filled store (every kind of object, bytes, a live run's
// resume counts) goes bbolt → Postgres → bbolt, each copy verified, and
// the round trip verified against the original.
func TestCopyThroughPostgres(t *testing.T) {
	ctx := context.Background()
	fx := fill(t, 50)
	src := openBolt(t, fx.path)
	pg := openPG(t)
	pgFiles := storecopy.Dir(filepath.Join(t.TempDir(), "pg.files"))
	pgIndex := pgfiles.NewIndexStorage(pg.Pool())
	there := storecopy.Options{BatchObjects: 16, SrcBlobs: storecopy.Dir(fx.files), DstBlobs: pgFiles, SrcIndex: boltIndex(t, src), DstIndex: pgIndex}
	st, err := storecopy.Copy(ctx, src, pg, there)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := storecopy.Verify(ctx, src, pg, there); err != nil {
		t.Fatal(err)
	}
	if empty, err := storecopy.Empty(ctx, pg); err != nil || empty {
		t.Fatalf("Postgres after the copy: empty %v, %v", empty, err)
	}
	if _, err := storecopy.Copy(ctx, src, pg, storecopy.Options{}); err != storecopy.ErrNotEmpty {
		t.Fatalf("a second copy into Postgres: %v", err)
	}
	backPath := filepath.Join(t.TempDir(), "back.db")
	back := openBolt(t, backPath)
	home := storecopy.Options{BatchObjects: 16, SrcBlobs: pgFiles, DstBlobs: storecopy.Dir(backPath + ".files"), SrcIndex: pgIndex, DstIndex: boltIndex(t, back)}
	st2, err := storecopy.Copy(ctx, pg, back, home)
	if err != nil {
		t.Fatal(err)
	}
	if st.IndexedFiles != 2 || st2.Objects() != st.Objects() || st2.IndexedFiles != st.IndexedFiles {
		t.Errorf("%d objects (%d indexed files) there, %d (%d) back", st.Objects(), st.IndexedFiles, st2.Objects(), st2.IndexedFiles)
	}
	if _, err := storecopy.Verify(ctx, pg, back, home); err != nil {
		t.Fatal(err)
	}
	vst, err := storecopy.Verify(ctx, src, back, storecopy.Options{SrcBlobs: storecopy.Dir(fx.files), DstBlobs: storecopy.Dir(backPath + ".files"),
		SrcIndex: boltIndex(t, src), DstIndex: boltIndex(t, back)})
	if err != nil {
		t.Fatal(err)
	}
	if vst.IndexedFiles != 2 {
		t.Errorf("the round trip's index compared %d files", vst.IndexedFiles)
	}
	t.Logf("round trip: %d objects, %d blobs, %d indexed files identical", vst.Objects(), vst.Blobs, vst.IndexedFiles)
}
