package wasi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearth-go/hearth/codeinterp"
)

// One sandbox for the whole test binary: compiling python.wasm is the costly
// part (seconds, more under -race), so TestMain owns a single Sandbox and its
// compilation cache, and tests open their own sessions in it.
var shared *Sandbox

func TestMain(m *testing.M) {
	// The cache outlives the run on purpose: compiling python.wasm takes ~3 s,
	// ~20 s under -race; later runs load it in ~0.1-0.4 s. Entries are keyed
	// by checksums, so a stale or concurrent one is never wrong.
	cache := os.Getenv("HEARTH_CODEINTERP_TEST_CACHE")
	if cache == "" {
		cache = filepath.Join(os.TempDir(), "hearth-codeinterp-test-cache")
	}
	var err error
	shared, err = New(testConfig(cache))
	if err != nil {
		fmt.Fprintln(os.Stderr, "New:", err)
		os.Exit(1)
	}
	code := m.Run()
	if strict.w != nil {
		strict.w.Close()
	}
	shared.Close()
	os.Exit(code)
}

func testConfig(cache string) Config {
	return Config{
		CacheDir:       cache,
		ExecTimeout:    20 * time.Second,
		MaxOutputBytes: 16 << 10,
		MaxFileBytes:   4 << 20,
		MaxDataBytes:   16 << 20,
		MaxFiles:       50,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// session opens a fresh session in the shared sandbox, closed at test end.
func session(t testing.TB, s codeinterp.Sandbox) codeinterp.Session {
	t.Helper()
	sess, err := s.Session(context.Background(), t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	return sess
}

func mustExec(t testing.TB, s codeinterp.Session, code string) *codeinterp.Result {
	t.Helper()
	r, err := s.Exec(context.Background(), code)
	if err != nil {
		t.Fatalf("Exec(%q): %v", code, err)
	}
	return r
}
