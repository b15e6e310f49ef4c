package wasi

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-go/hearth/codeinterp"
)

// strict is a second sandbox with short limits, sharing the test cache (so it
// loads the compiled module instead of compiling it again).
var strict struct {
	once sync.Once
	w    *Sandbox
	err  error
}

func strictSandbox(t *testing.T) *Sandbox {
	t.Helper()
	strict.once.Do(func() {
		cfg := testConfig(shared.cacheDir)
		cfg.ExecTimeout = 5 * time.Second
		cfg.MemoryLimitBytes = 128 << 20
		cfg.MaxOutputBytes = 4 << 10
		cfg.MaxDataBytes = 8 << 20
		cfg.MaxFileBytes = 2 << 20
		cfg.MaxFiles = 20
		strict.w, strict.err = New(cfg) // closed by TestMain
	})
	if strict.err != nil {
		t.Fatal(strict.err)
	}
	return strict.w
}

// TestEscapes checks that each attempt is contained with a clear Python error
// and that the session still works afterwards.
func TestEscapes(t *testing.T) {
	sess := session(t, strictSandbox(t))
	cases := []struct {
		name, code string
		want       []string // all must appear in Error
	}{
		{"read /etc/passwd", "print(open('/etc/passwd').read())", []string{"PermissionError"}},
		{"dotdot escape", "print(open('/mnt/data/../../etc/passwd').read())", []string{"Error"}},
		{"read host home", "import os; print(os.listdir('/root'))", []string{"Error"}},
		{"write outside /mnt/data", "open('/tmp/x', 'w').write('x')", []string{"Error"}},
		{"write into stdlib mount", "open('/usr/local/lib/evil.py', 'w').write('x')", []string{"Read-only file system"}},
		{"delete the stdlib", "import os; os.remove('/usr/local/lib/python311.zip')", []string{"Error"}},
		{"rmtree the prefix", "import shutil; shutil.rmtree('/usr/local')", []string{"Error"}},
		{"socket", "import socket; socket.socket().connect(('10.0.0.1', 80))", []string{"Error"}},
		{"http", "import urllib.request; urllib.request.urlopen('http://example.com')", []string{"Error"}},
		{"subprocess", "import subprocess; subprocess.run(['ls', '/'])", []string{"Error"}},
		{"os.system", "import os; os.system('ls /')", []string{"AttributeError"}},
		{"fork", "import os; os.fork()", []string{"AttributeError"}},
		{"threads", "import threading; threading.Thread(target=print).start()", []string{"Error"}},
		{"ctypes", "import ctypes", []string{"ModuleNotFoundError"}},
		{"memory bomb", "x = bytearray(1 << 30)", []string{"MemoryError"}},
		{"memory creep", "a = []\nwhile True:\n    a.append(bytearray(32 << 20))", []string{"MemoryError"}},
		{"deep recursion", "def f(n): return f(n + 1)\nf(0)", []string{"RecursionError"}},
		{"link escape", "import os; os.symlink('/etc/passwd', '/mnt/data/p')", []string{"Error"}},
	}
	for _, c := range cases {
		r := mustExec(t, sess, c.code)
		for _, w := range c.want {
			if !strings.Contains(r.Error, w) {
				t.Errorf("%s: error %q does not contain %q (stdout %q)", c.name, r.Error, w, r.Stdout)
			}
		}
		if strings.Contains(r.Stdout, "root:") {
			t.Errorf("%s: leaked host data: %q", c.name, r.Stdout)
		}
		if r := mustExec(t, sess, "print(1 + 1)"); r.Stdout != "2\n" || r.Error != "" {
			t.Fatalf("%s: session unusable after: %+v", c.name, r)
		}
	}
	r := mustExec(t, sess, "import os, sys\nprint(sorted(os.environ))\nprint(sys.platform)")
	if strings.Contains(r.Stdout, "HEARTH_MARKER") || strings.Contains(r.Stdout, "PATH'") || !strings.Contains(r.Stdout, "wasi") {
		t.Errorf("guest environment: %q", r.Stdout)
	}
}

func TestInfiniteLoopTimesOut(t *testing.T) {
	sess := session(t, strictSandbox(t))
	mustExec(t, sess, "x = 41")
	r := mustExec(t, sess, "while True:\n    pass") // only ExecTimeout can end it
	if !r.TimedOut || !strings.Contains(r.Error, "TimeoutError") {
		t.Fatalf("want a timeout, got %+v", r)
	}
	r = mustExec(t, sess, "print(globals().get('x'), 6 * 7)")
	if !r.Restarted || !strings.Contains(r.Stderr, "fresh Python interpreter") || r.Stdout != "None 42\n" {
		t.Fatalf("after a timeout: %+v", r)
	}
	r = mustExec(t, sess, "print('again')")
	if r.Restarted || r.Stdout != "again\n" {
		t.Fatalf("second exec after restart: %+v", r)
	}
}

func TestCrashRestarts(t *testing.T) {
	sess := session(t, strictSandbox(t))
	r := mustExec(t, sess, "import os; os._exit(3)")
	if !strings.Contains(r.Error, "crashed") {
		t.Fatalf("want a crash report, got %+v", r)
	}
	r = mustExec(t, sess, "import sys\nsys.setrecursionlimit(10**5)\ndef f(n): return f(n + 1)\nf(0)")
	if r.Error == "" {
		t.Fatalf("unbounded recursion: no error: %+v", r)
	}
	r = mustExec(t, sess, "print('alive')")
	if r.Stdout != "alive\n" {
		t.Fatalf("after crashes: %+v", r)
	}
}

func TestOutputFlood(t *testing.T) {
	sess := session(t, strictSandbox(t))
	// ~100 MB through print and ~10 MB straight to fd 1: both capped with a marker.
	r := mustExec(t, sess, "s = 'x' * 1000\nfor i in range(100_000):\n    print(s)")
	if len(r.Stdout) > 8<<10 || !strings.Contains(r.Stdout, "[output truncated") {
		t.Fatalf("stdout not capped: %d bytes, tail %q", len(r.Stdout), r.Stdout[max(0, len(r.Stdout)-100):])
	}
	r = mustExec(t, sess, "import os\nfor i in range(10):\n    os.write(1, b'y' * 1_000_000)\nprint('end')")
	if len(r.Stdout) > 16<<10 || !strings.Contains(r.Stdout, "[output truncated") || r.Error != "" {
		t.Fatalf("raw fd 1 output not capped: %d bytes, error %q", len(r.Stdout), r.Error)
	}
	if r := mustExec(t, sess, "print('ok')"); r.Stdout != "ok\n" {
		t.Fatalf("after flood: %+v", r)
	}
}

func TestFillingDataDir(t *testing.T) {
	sess := session(t, strictSandbox(t))
	r := mustExec(t, sess, "chunk = b'z' * (1 << 20)\nwith open('/mnt/data/big.bin', 'wb') as f:\n    for i in range(100):\n        f.write(chunk)")
	if !strings.Contains(r.Error, "PermissionError") || !strings.Contains(r.Stderr, "per-file limit") {
		t.Fatalf("big file: stderr %q error %q", r.Stderr, r.Error)
	}
	r = mustExec(t, sess, "for i in range(100):\n    open(f'/mnt/data/f{i}.txt', 'w').write('x')")
	if !strings.Contains(r.Error, "PermissionError") || !strings.Contains(r.Stderr, "maximum number of files") {
		t.Fatalf("many files: stderr %q error %q", r.Stderr, r.Error)
	}
	r = mustExec(t, sess, "import os\nfor i in range(100):\n    if os.path.exists(f'f{i}.txt'): os.remove(f'f{i}.txt')\nos.remove('big.bin')\n"+
		"for i in range(6):\n    open(f'/mnt/data/m{i}.bin', 'wb').write(b'q' * ((2 << 20) - 1))")
	if !strings.Contains(r.Stderr, "total limit") {
		t.Fatalf("total size: stderr %q error %q", r.Stderr, r.Error)
	}
	var total int64
	entries, _ := os.ReadDir(sess.(*wasiSession).dir)
	for _, e := range entries {
		info, _ := e.Info()
		total += info.Size()
	}
	if total > 8<<20 {
		t.Errorf("/mnt/data holds %d bytes, limit %d", total, 8<<20)
	}
	if r := mustExec(t, sess, "print('ok')"); r.Stdout != "ok\n" {
		t.Fatalf("after filling: %+v", r)
	}
}

func TestFilesInAndOut(t *testing.T) {
	sess := session(t, shared)
	if err := sess.WriteFile("in.txt", []byte("3 4 5\n")); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "../x", "a/b", ".."} {
		if err := sess.WriteFile(bad, nil); err == nil {
			t.Errorf("WriteFile(%q) accepted", bad)
		}
	}
	r := mustExec(t, sess, `
nums = [int(x) for x in open('/mnt/data/in.txt').read().split()]
open('/mnt/data/sum.txt', 'w').write(str(sum(nums)))
open('/mnt/data/pic.png', 'wb').write(b'\x89PNG\r\n\x1a\n' + b'\x00' * 32)
open('/mnt/data/anim.gif', 'wb').write(b'GIF89a' + b'\x00' * 32)
open('/mnt/data/chart.svg', 'w').write('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>')
print('done')`)
	if r.Error != "" {
		t.Fatal(r.Error)
	}
	got := map[string]codeinterp.OutputFile{}
	for _, f := range r.Files {
		got[f.Name] = f
	}
	if len(got) != 4 || got["in.txt"].Name != "" {
		t.Fatalf("files: %d reported", len(r.Files))
	}
	if f := got["sum.txt"]; string(readAll(t, f)) != "12" || f.IsImage || f.Path != "/mnt/data/sum.txt" || f.Size != 2 {
		t.Errorf("sum.txt: %q %v %s %d", readAll(t, f), f.IsImage, f.Path, f.Size)
	}
	for name, mime := range map[string]string{"pic.png": "image/png", "anim.gif": "image/gif", "chart.svg": "image/svg+xml"} {
		if f := got[name]; !f.IsImage || f.MIMEType != mime {
			t.Errorf("%s: image %v mime %s", name, f.IsImage, f.MIMEType)
		}
	}
	if data, err := os.ReadFile(filepath.Join(got["sum.txt"].HostPath)); err != nil || string(data) != "12" {
		t.Errorf("HostPath: %q %v", data, err)
	}
	// Unchanged files are not reported again.
	if r := mustExec(t, sess, "print(open('sum.txt').read())"); len(r.Files) != 0 || r.Stdout != "12\n" {
		t.Errorf("second exec: %d files, stdout %q", len(r.Files), r.Stdout)
	}
	if b, err := sess.ReadFile("sum.txt"); err != nil || string(b) != "12" {
		t.Errorf("ReadFile: %q %v", b, err)
	}
}

func TestSessionsPersistAndIsolate(t *testing.T) {
	ctx := context.Background()
	a, _ := shared.Session(ctx, t.Name()+"-a")
	b, _ := shared.Session(ctx, t.Name()+"-b")
	defer a.Close()
	defer b.Close()
	mustExec(t, a, "secret = 'alpha'")
	mustExec(t, b, "secret = 'beta'")
	a2, _ := shared.Session(ctx, t.Name()+"-a")
	if r := mustExec(t, a2, "print(secret)"); r.Stdout != "alpha\n" {
		t.Fatalf("state not kept: %+v", r)
	}
	if r := mustExec(t, b, "print(secret)"); r.Stdout != "beta\n" {
		t.Fatalf("sessions share state: %+v", r)
	}
	if _, err := shared.Session(ctx, ""); err != codeinterp.ErrBadID {
		t.Errorf("empty id: %v", err)
	}
}

func TestEvictionLRUAndIdle(t *testing.T) {
	cfg := testConfig(shared.cacheDir)
	cfg.MaxSessions = 2
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	s1, _ := w.Session(ctx, "one")
	mustExec(t, s1, "v = 1")
	p1 := s1.(*wasiSession).p
	s2, _ := w.Session(ctx, "two")
	mustExec(t, s2, "v = 2")
	s3, _ := w.Session(ctx, "three") // evicts "one", the least recently used
	mustExec(t, s3, "v = 3")
	if _, err := s1.Exec(ctx, "print(v)"); err != codeinterp.ErrClosed {
		t.Fatalf("evicted session: %v", err)
	}
	// Its interpreter is gone, with its memory (a hang here is the failure).
	<-p1.done
	// What the janitor does once the others are idle that long.
	w.evictIdle(time.Now().Add(w.cfg.IdleTimeout))
	w.mu.Lock()
	n := len(w.sessions)
	w.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d sessions still live after the idle timeout", n)
	}
	s2b, _ := w.Session(ctx, "two")
	if r := mustExec(t, s2b, "print(globals().get('v'))"); r.Stdout != "None\n" {
		t.Fatalf("idle-evicted session kept state: %+v", r)
	}
}

// forge is code that finds the driver's marker on its stack, as an attacker
// would, and writes a reply of its own in the driver's framing.
const forge = `import sys, os, json
f = sys._getframe()
while f is not None and 'marker' not in f.f_locals:
    f = f.f_back
m = f.f_locals['marker']
p = json.dumps({"stdout": "forged\n", "stderr": "", "error": ""}).encode()
os.write(1, m + b" %d\n" % len(p) + p)
`

// TestForgedReplyIsIgnored: code that writes the driver's reply frame itself
// neither replaces its own result nor shifts later results by one, and cannot
// end its exec early to run on past the time limit.
func TestForgedReplyIsIgnored(t *testing.T) {
	t.Run("result", func(t *testing.T) {
		sess := session(t, shared)
		r := mustExec(t, sess, forge+"print('real')")
		if !strings.Contains(r.Stdout, "real") || r.Error != "" {
			t.Fatalf("forging exec: stdout %q error %q; want the code's own output", r.Stdout, r.Error)
		}
		for i, want := range []string{"2\n", "3\n"} {
			if r := mustExec(t, sess, "print("+want[:1]+")"); r.Stdout != want {
				t.Fatalf("exec %d after the forgery: stdout %q, want %q (results shifted)", i+1, r.Stdout, want)
			}
		}
	})
	t.Run("runs past the limit", func(t *testing.T) {
		sess := session(t, strictSandbox(t))
		r := mustExec(t, sess, forge+"while True: pass")
		if !r.TimedOut {
			t.Fatalf("forged reply ended the exec early: %+v; the loop would run unbounded", r)
		}
	})
	t.Run("quota note", func(t *testing.T) {
		sess := session(t, shared)
		r := mustExec(t, sess, `import os; os.write(1, b"\x00\x02/mnt/data is full\n"); print("ok")`)
		if strings.Contains(r.Stderr, "write refused") {
			t.Fatalf("code forged a sandbox note: stderr %q", r.Stderr)
		}
	})
	t.Run("reads stdin", func(t *testing.T) {
		sess := session(t, shared)
		mustExec(t, sess, "x = 1")
		r := mustExec(t, sess, "import os; os.read(0, 10)")
		if !strings.Contains(r.Error, "standard input") {
			t.Fatalf("code that reads the driver's stdin: error %q", r.Error)
		}
		r = mustExec(t, sess, "print(2)")
		if r.Stdout != "2\n" || !r.Restarted {
			t.Fatalf("after a stdin read: %+v, want a fresh interpreter printing 2", r)
		}
	})
}

func readAll(t *testing.T, f codeinterp.OutputFile) []byte {
	t.Helper()
	if f.Open == nil {
		return nil
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
