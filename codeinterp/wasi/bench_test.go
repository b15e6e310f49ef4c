package wasi

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/codeinterp"
)

// Benchmarks, side by side in one run (see bench/codeinterp.md):
//
//	go test ./codeinterp/wasi -run '^$' -bench . -benchtime 20x
//
// The floor is the host's /usr/bin/python3.11 run as a subprocess.

const (
	cpuLoop = "t = 0\nfor i in range(1_000_000):\n    t += i % 7\nprint(t)"
)

func benchSandbox(b *testing.B, mode Mode) *Sandbox {
	cfg := testConfig(shared.cacheDir)
	cfg.Mode = mode
	cfg.ExecTimeout = 0 // default 30 s
	w, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.Close() })
	return w
}

func benchExec(b *testing.B, sess codeinterp.Session, code string) {
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
				w, err := New(cfg)
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
			w, err := New(testConfig(b.TempDir()))
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
			lat := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				benchExec(b, sess, "print(1)")
				lat = append(lat, time.Since(t0))
			}
			reportP50(b, lat)
		})
		b.Run(m.name+"/sympy-solve", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				// A new equation each time: sympy caches results.
				benchExec(b, sess, fmt.Sprintf("sp.solve(sp.Eq(3*X**2 + %d*X, 14), X)", i+11))
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
			w, err := New(cfg)
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

// BenchmarkHostMemory reports this process's RSS before a session, while it
// holds sympy and a 200 MB bytearray, and after the session is closed.
func BenchmarkHostMemory(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			w := benchSandbox(b, m.mode)
			var before, during, after float64
			for i := 0; i < b.N; i++ {
				freeOS()
				before = rssMiB(b)
				s, _ := w.Session(context.Background(), "mem")
				benchExec(b, s, "import sympy\nx = bytearray(200 << 20)")
				during = rssMiB(b)
				s.Close()
				freeOS()
				after = rssMiB(b)
			}
			b.ReportMetric(before, "rss-before-MiB")
			b.ReportMetric(during, "rss-during-MiB")
			b.ReportMetric(after, "rss-after-MiB")
		})
	}
}

func freeOS() {
	runtime.GC()
	debug.FreeOSMemory()
}

func rssMiB(b *testing.B) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc")
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	b.Skip("no VmRSS")
	return 0
}

// reportP50 adds the median latency, which the targets are stated in.
func reportP50(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}

// BenchmarkSessionRSS reports the resident memory of one ModeProcess
// interpreter (the child process), idle and after its guest filled the
// default 512 MiB limit in 1 MiB steps — the figure the host memory budget
// counts a session at (limit + InterpreterOverheadBytes).
func BenchmarkSessionRSS(b *testing.B) {
	w := benchSandbox(b, ModeProcess)
	var idle, full float64
	for i := 0; i < b.N; i++ {
		s, _ := w.Session(context.Background(), "rss")
		benchExec(b, s, "print(1)")
		pid := s.(*wasiSession).p.pid
		idle = float64(residentBytes(pid)) / (1 << 20)
		benchExec(b, s, fill)
		full = float64(residentBytes(pid)) / (1 << 20)
		s.Close()
	}
	if full == 0 {
		b.Skip("resident memory not measurable here")
	}
	b.ReportMetric(idle, "idle-MiB")
	b.ReportMetric(full, "full-MiB")
	b.ReportMetric(full/float64(w.cfg.MemoryLimitBytes>>20), "full/limit")
}
