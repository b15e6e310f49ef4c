package wasi

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/codeinterp"
)

// TestInProcessMode: the WithCloseOnContextDone variant keeps state, stops a
// runaway loop at the deadline and restarts cleanly.
func TestInProcessMode(t *testing.T) {
	cfg := testConfig(shared.cacheDir)
	cfg.Mode = ModeInProcess
	cfg.ExecTimeout = 2 * time.Second
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sess := session(t, w)
	mustExec(t, sess, "n = 20")
	if r := mustExec(t, sess, "print(n + 1)"); r.Stdout != "21\n" {
		t.Fatalf("state: %+v", r)
	}
	if r := mustExec(t, sess, "while True: pass"); !r.TimedOut {
		t.Fatalf("no timeout: %+v", r)
	}
	if r := mustExec(t, sess, "print('back')"); r.Stdout != "back\n" || !r.Restarted {
		t.Fatalf("after timeout: %+v", r)
	}
	if r := mustExec(t, sess, "open('/etc/passwd')"); !strings.Contains(r.Error, "Error") {
		t.Fatalf("host path: %+v", r)
	}
}

// TestWarmPool: a session taken from the pool sees files written before its
// first exec and reports the files it writes.
func TestWarmPool(t *testing.T) {
	cfg := testConfig(shared.cacheDir)
	cfg.WarmPool = 1
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		sess, err := w.Session(ctx, "pooled"+itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		if err := sess.WriteFile("in.txt", []byte("7")); err != nil {
			t.Fatal(err)
		}
		r := mustExec(t, sess, "open('out.txt', 'w').write(str(int(open('in.txt').read()) * 6))")
		if r.Error != "" || r.Restarted || len(r.Files) != 1 || string(readAll(t, r.Files[0])) != "42" {
			t.Fatalf("pooled session %d: %+v", i, r)
		}
		sess.Close()
	}
}

func TestClosedAndCancelled(t *testing.T) {
	cfg := testConfig(shared.cacheDir)
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sess, _ := w.Session(ctx, "c")
	mustExec(t, sess, "x = 1")
	// Signals, not sleeps: each interruption lands once the interpreter has
	// the code, so neither passes by refusing an exec that never started.
	running := make(chan string, 8)
	w.mu.Lock()
	w.runningSignal = running
	w.mu.Unlock()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-running
		cancel()
	}()
	if _, err := sess.Exec(cctx, "while True: pass"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled exec: %v", err)
	}
	if r := mustExec(t, sess, "print(globals().get('x'))"); r.Stdout != "None\n" || !r.Restarted {
		t.Fatalf("after cancel: %+v", r)
	}
	// Closing interrupts a running exec instead of waiting for its timeout.
	busy, _ := w.Session(ctx, "busy")
	mustExec(t, busy, "pass")
	<-running // mustExec's own, twice: the restart after the cancel and this one
	<-running
	done := make(chan error, 1)
	go func() {
		_, err := busy.Exec(ctx, "while True: pass")
		done <- err
	}()
	<-running
	w.Close()
	if err := <-done; !errors.Is(err, codeinterp.ErrClosed) {
		t.Fatalf("exec interrupted by Close: %v", err)
	}
	if _, err := sess.Exec(ctx, "print(1)"); !errors.Is(err, codeinterp.ErrClosed) {
		t.Fatalf("exec after Close: %v", err)
	}
	if _, err := w.Session(ctx, "d"); !errors.Is(err, codeinterp.ErrClosed) {
		t.Fatalf("Session after Close: %v", err)
	}
	if err := sess.WriteFile("a", nil); !errors.Is(err, codeinterp.ErrClosed) {
		t.Fatalf("WriteFile after Close: %v", err)
	}
}
