package wasi

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/hearth-go/hearth/codeinterp"
)

// Stats follows sessions opening, their interpreters starting and growing,
// and both ending.
func TestStats(t *testing.T) {
	cache := os.Getenv("HEARTH_CODEINTERP_TEST_CACHE")
	if cache == "" {
		cache = filepath.Join(os.TempDir(), "hearth-codeinterp-test-cache")
	}
	w, err := New(testConfig(cache))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if st := w.Stats(); st != (codeinterp.Stats{}) {
		t.Fatalf("new sandbox: %+v", st)
	}
	ctx := context.Background()
	s, err := w.Session(ctx, "stats")
	if err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Sessions != 1 || st.Interpreters != 0 {
		t.Fatalf("session opened, nothing run: %+v", st)
	}
	if r, err := s.Exec(ctx, "block = bytearray(64 * 1024 * 1024)\nprint(len(block))"); err != nil || r.Error != "" {
		t.Fatalf("exec: %v %+v", err, r)
	}
	st := w.Stats()
	if st.Sessions != 1 || st.Interpreters != 1 {
		t.Fatalf("after an exec: %+v", st)
	}
	if runtime.GOOS == "linux" && st.MemoryBytes < 64<<20 {
		t.Fatalf("a 64 MiB bytearray, resident %d bytes", st.MemoryBytes)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st != (codeinterp.Stats{}) {
		t.Fatalf("session closed: %+v", st)
	}
}
