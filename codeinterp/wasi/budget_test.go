package wasi

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/codeinterp"
)

// fill grows the guest until MemoryError, in 1 MiB steps: the pattern that
// used to cost ~4x the guest limit on the host.
const fill = "xs = []\ntry:\n    while True: xs.append(bytearray(1 << 20))\nexcept MemoryError: pass\nprint(len(xs))"

func TestFitBudget(t *testing.T) {
	per := int64(128<<20) + interpreterOverhead
	cases := []struct {
		name       string
		budget     int64
		wantGuest  int64
		wantInterp int
		wantErr    bool
	}{
		{"no budget", -1, 128 << 20, 17, false},
		{"room for all", 100 * per, 128 << 20, 17, false},
		{"room for three", 3*per + 1, 128 << 20, 3, false},
		{"not one: guest lowered", per - 1<<20, 127 << 20, 1, false},
		{"too small", interpreterOverhead + 1<<20, 0, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Config{MemoryLimitBytes: 128 << 20, MaxSessions: 16, WarmPool: 1, MaxHostMemoryBytes: c.budget}
			if c.budget < 0 {
				cfg.MaxHostMemoryBytes = 0
			}
			g, n, err := cfg.fitBudget()
			if (err != nil) != c.wantErr || g != c.wantGuest || n != c.wantInterp {
				t.Fatalf("fitBudget = %d, %d, %v; want %d, %d, err %v", g, n, err, c.wantGuest, c.wantInterp, c.wantErr)
			}
		})
	}
}

// TestMemoryBudget fills sessions to their guest limit and measures the
// interpreters' resident memory: all together stay within the host budget,
// a session past it evicts the least recently used one, and when every
// session is running code the next is refused.
func TestMemoryBudget(t *testing.T) {
	if residentBytes(os.Getpid()) == 0 {
		t.Skip("no /proc/<pid>/status here")
	}
	cfg := testConfig(shared.cacheDir)
	cfg.MemoryLimitBytes = 128 << 20
	cfg.MaxHostMemoryBytes = 2 * (128<<20 + interpreterOverhead)
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.maxSessions != 2 {
		t.Fatalf("budget for two sessions: %d sessions", w.maxSessions)
	}
	ctx := context.Background()
	open := func(id string) codeinterp.Session {
		s, err := w.Session(ctx, id)
		if err != nil {
			t.Fatalf("Session(%s): %v", id, err)
		}
		return s
	}
	check := func(when string) {
		st, budget := w.Stats(), w.cfg.MaxHostMemoryBytes
		t.Logf("%s: %d sessions, %.0f MiB resident (budget %.0f MiB)", when, st.Sessions, float64(st.MemoryBytes)/(1<<20), float64(budget)/(1<<20))
		if st.MemoryBytes > budget {
			t.Fatalf("%s: interpreters hold %d bytes, budget %d", when, st.MemoryBytes, budget)
		}
	}
	a := open("a")
	mustExec(t, a, fill)
	b := open("b")
	mustExec(t, b, fill)
	check("two full sessions")
	c := open("c") // evicts a
	mustExec(t, c, fill)
	check("a third, past the budget")
	if _, err := a.Exec(ctx, "1"); !errors.Is(err, codeinterp.ErrClosed) {
		t.Fatalf("least recently used session: %v, want it evicted", err)
	}
	r := mustExec(t, open("a"), "print(len(globals().get('xs', [])))") // evicts b
	if !r.Restarted || r.Stderr != resetNote(lostEvicted, true) || r.Stdout != "0\n" {
		t.Fatalf("evicted session's next exec: %+v", r)
	}
	check("a again")

	// Every session busy: the next is refused with a reason, not queued.
	a, c = open("a"), open("c")
	busy := make(chan string, 2)
	w.mu.Lock()
	w.busySignal = busy
	w.mu.Unlock()
	released := map[codeinterp.Session]chan *codeinterp.Result{}
	for _, s := range []codeinterp.Session{a, c} {
		ch := make(chan *codeinterp.Result, 1)
		released[s] = ch
		go func(s codeinterp.Session) {
			r, _ := s.Exec(ctx, "import os\nwhile not os.path.exists('go'): pass\nprint('released')")
			ch <- r
		}(s)
	}
	<-busy // each exec holds its session busy
	<-busy
	if _, err := w.Session(ctx, "d"); !errors.Is(err, codeinterp.ErrTooManySessions) || !strings.Contains(err.Error(), "memory budget") {
		t.Fatalf("all sessions busy: %v", err)
	}
	for s, ch := range released {
		os.WriteFile(filepath.Join(s.(*wasiSession).dir, "go"), nil, 0o644)
		if r := <-ch; r == nil || r.Stdout != "released\n" {
			t.Fatalf("held exec: %+v", r)
		}
	}
}

// TestResetNotes: whatever ended the previous interpreter, the next exec
// says so in the same words; a session the caller closed starts silently.
func TestResetNotes(t *testing.T) {
	cfg := testConfig(shared.cacheDir)
	cfg.MaxSessions = 1
	cfg.ExecTimeout = 3 * time.Second
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	exec := func(id, code string) *codeinterp.Result {
		s, err := w.Session(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return mustExec(t, s, code)
	}
	const probe = "print('v' in globals())"
	exec("one", "v = 1")
	exec("two", "v = 2") // evicts one
	evicted := exec("one", probe)
	exec("one", "v = 1")
	w.evictIdle(time.Now().Add(w.cfg.IdleTimeout))
	idle := exec("one", probe)
	exec("one", "v = 1")
	exec("one", "while True: pass")
	timedOut := exec("one", probe)
	exec("one", "v = 1")
	w.CloseSession("one")
	closed := exec("one", probe)
	for _, c := range []struct {
		name string
		r    *codeinterp.Result
		why  string
		data bool
	}{{"evicted", evicted, lostEvicted, true}, {"idle", idle, lostIdle, true}, {"timed out", timedOut, "timed out", false}} {
		if !c.r.Restarted || c.r.Stderr != resetNote(c.why, c.data) || c.r.Stdout != "False\n" {
			t.Errorf("%s: %+v, want the reset note %q", c.name, c.r, resetNote(c.why, c.data))
		}
		if !strings.HasPrefix(c.r.Stderr, "[sandbox: this is a fresh Python interpreter; the previous one ") {
			t.Errorf("%s: note %q", c.name, c.r.Stderr)
		}
	}
	if closed.Restarted || closed.Stderr != "" {
		t.Errorf("after CloseSession: %+v, want a silent fresh session", closed)
	}
}

// TestCloseSessionRemovesFiles: a deleted thread's /mnt/data leaves the disk
// at once, not at eviction.
func TestCloseSessionRemovesFiles(t *testing.T) {
	s, err := shared.Session(context.Background(), t.Name())
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, s, "open('out.txt', 'w').write('x' * 1000)")
	dir := s.(*wasiSession).dir
	if _, err := os.Stat(filepath.Join(dir, "out.txt")); err != nil {
		t.Fatal(err)
	}
	shared.CloseSession(t.Name())
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("session dir after CloseSession: %v", err)
	}
	if _, err := s.Exec(context.Background(), "1"); !errors.Is(err, codeinterp.ErrClosed) {
		t.Fatalf("closed session: %v", err)
	}
}

// TestStaleRootsSwept: a process killed with SIGKILL leaves its session root
// (and its runtime cache, without Config.CacheDir) in the temp dir; the next sandbox removes them, and never
// a live process's.
func TestStaleRootsSwept(t *testing.T) {
	if os.Getenv("HEARTH_WASI_ORPHAN") == "1" {
		orphanMain()
		return
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	cmd := exec.Command(os.Args[0], "-test.run=^TestStaleRootsSwept$")
	cmd.Env = append(os.Environ(), "HEARTH_WASI_ORPHAN=1", "HEARTH_CODEINTERP_TEST_CACHE="+shared.cacheDir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var root string
	for sc.Scan() {
		if r, ok := strings.CutPrefix(sc.Text(), "ROOT "); ok {
			root = r
			break
		}
	}
	if root == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("orphan did not report its root")
	}
	// A live sandbox's dirs in the same temp dir must survive the sweep.
	live, err := New(testConfig(shared.cacheDir))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if _, err := os.Stat(root); err != nil {
		t.Fatalf("a live process's root was swept: %v", err)
	}
	cmd.Process.Kill() // SIGKILL: no Close, no cleanup
	cmd.Wait()
	// What a dead process's own runtime cache leaves: the dir and its
	// unlocked lock file (compiling a second cache here would take ~20 s
	// under -race), and a dir from before lock files, older than the grace.
	deadCache := filepath.Join(tmp, cachePattern+"dead")
	os.MkdirAll(filepath.Join(deadCache, "runtime"), 0o755)
	os.WriteFile(lockPath(deadCache), nil, 0o600)
	legacy := filepath.Join(tmp, sessionsPattern+"legacy")
	os.MkdirAll(legacy, 0o755)
	old := time.Now().Add(-2 * lockGrace)
	os.Chtimes(legacy, old, old)
	young := filepath.Join(tmp, sessionsPattern+"young") // maybe being made right now
	os.MkdirAll(young, 0o755)
	for _, d := range []string{root, deadCache, legacy, young, live.root} {
		if _, err := os.Stat(d); err != nil {
			t.Fatalf("before the sweep: %v", err)
		}
	}
	w, err := New(testConfig(shared.cacheDir))
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Fatalf("dead process's root %s: %v", root, err)
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "hearth-codeinterp-*"))
	for _, d := range left {
		if d != live.root && d != young {
			t.Errorf("left behind: %s", d)
		}
	}
	if len(left) != 2 {
		t.Errorf("after the sweep: %v, want the live root and the young dir", left)
	}
}

// orphanMain runs in the child: a sandbox and a session with a file, then
// it waits to be killed.
func orphanMain() {
	w, err := New(testConfig(shared.cacheDir))
	if err != nil {
		os.Exit(2)
	}
	s, err := w.Session(context.Background(), "orphan")
	if err != nil {
		os.Exit(2)
	}
	if _, err := s.Exec(context.Background(), "open('x.txt', 'w').write('x')"); err != nil {
		os.Exit(2)
	}
	os.Stdout.WriteString("ROOT " + w.root + "\n")
	select {}
}
