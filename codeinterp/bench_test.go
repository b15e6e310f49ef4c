package codeinterp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Benchmarks, side by side in one run (see bench/codeinterp.md):
//
//	go test ./codeinterp -run '^$' -bench . -benchtime 20x
//
// The floor is the host's /usr/bin/python3.11 run as a subprocess.

const (
	sympySolve = "sp.solve(sp.Eq(3*X + 11, 14), X)"
	cpuLoop    = "t = 0\nfor i in range(1_000_000):\n    t += i % 7\nprint(t)"
)

func benchSandbox(b *testing.B, mode Mode) *WASI {
	cfg := testConfig(shared.cacheDir)
	cfg.Mode = mode
	cfg.ExecTimeout = 0 // default 30 s
	w, err := NewWASI(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.Close() })
	return w
}

func benchExec(b *testing.B, sess Session, code string) {
	b.Helper()
	r, err := sess.Exec(context.Background(), code)
	if err != nil || r.Error != "" {
		b.Fatalf("%v %+v", err, r)
	}
}

var modes = []struct {
	name string
	mode Mode
}{{"process", ModeProcess}, {"inprocess", ModeInProcess}}

// BenchmarkFirstExec: a new sandbox (as in a new host process), one session,
// print(1), with the cache dir warm or empty.
func BenchmarkFirstExec(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name+"/warm-cache", func(b *testing.B) {
			benchSandbox(b, m.mode).Close() // make sure this mode's code is cached
			for i := 0; i < b.N; i++ {
				cfg := testConfig(shared.cacheDir)
				cfg.Mode = m.mode
				w, err := NewWASI(cfg)
				if err != nil {
					b.Fatal(err)
				}
				s, _ := w.Session(context.Background(), "s")
				benchExec(b, s, "print(1)")
				w.Close()
			}
		})
	}
	b.Run("process/cold-cache", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			w, err := NewWASI(testConfig(b.TempDir()))
			if err != nil {
				b.Fatal(err)
			}
			s, _ := w.Session(context.Background(), "s")
			benchExec(b, s, "print(1)")
			w.Close()
		}
	})
}

func BenchmarkWarmExec(b *testing.B) {
	for _, m := range modes {
		w := benchSandbox(b, m.mode)
		sess, _ := w.Session(context.Background(), "bench")
		benchExec(b, sess, "import sympy as sp\nX = sp.Symbol('X')")
		b.Run(m.name+"/print1", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchExec(b, sess, "print(1)")
			}
		})
		b.Run(m.name+"/sympy-solve", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchExec(b, sess, sympySolve)
			}
		})
		b.Run(m.name+"/cpu-loop-1M", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchExec(b, sess, cpuLoop)
			}
		})
	}
}

// BenchmarkHostPython is the floor: the host interpreter as a subprocess.
func BenchmarkHostPython(b *testing.B) {
	const py = "/usr/bin/python3.11"
	if _, err := os.Stat(py); err != nil {
		b.Skip("no host", py)
	}
	for _, c := range []struct{ name, code string }{{"print1", "print(1)"}, {"cpu-loop-1M", cpuLoop}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if out, err := exec.Command(py, "-c", c.code).CombinedOutput(); err != nil {
					b.Fatal(err, string(out))
				}
			}
		})
	}
}

// BenchmarkNewSession: the first exec of a new session in a running sandbox,
// with and without a warm pool (given time to refill between sessions).
func BenchmarkNewSession(b *testing.B) {
	for _, pool := range []int{0, 1} {
		b.Run(fmt.Sprintf("pool=%d", pool), func(b *testing.B) {
			cfg := testConfig(shared.cacheDir)
			cfg.WarmPool = pool
			w, err := NewWASI(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				time.Sleep(500 * time.Millisecond)
				b.StartTimer()
				s, err := w.Session(context.Background(), fmt.Sprint("s", i))
				if err != nil {
					b.Fatal(err)
				}
				benchExec(b, s, "print(1)")
				b.StopTimer()
				s.Close()
				b.StartTimer()
			}
		})
	}
}
