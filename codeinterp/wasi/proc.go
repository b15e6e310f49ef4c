package wasi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"

	"github.com/hearth-go/hearth/codeinterp"
)

// proc is one running interpreter as the host sees it: a request pipe, a
// reader goroutine turning its stdout into frames, and a way to kill it.
type proc struct {
	stdin  io.WriteCloser
	frames chan frame // closed when the interpreter's stdout ends
	kill   func()
	done   chan struct{} // closed when the interpreter has exited
	diag   *tailBuffer   // the interpreter's own stderr (crash messages)
	exit   string        // how it ended, valid after done
	pid    int           // the child process (ModeProcess), 0 in-process
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// frame is what one exec wrote to stdout up to the guest's next read of its
// stdin: raw bytes the code wrote straight to fd 1, then the driver's reply.
type frame struct {
	raw     []byte
	dropped int64
	payload []byte
	replied bool     // payload is the driver's reply; false: the guest read stdin without replying
	notes   []string // /mnt/data refusals during the exec
}

type response struct {
	Ready  bool   `json:"ready"`
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	Error  string `json:"error"`
}

// markerPrefix starts every response; the driver appends the session's token
// (the token travels in an environment variable, which cannot hold a NUL).
const markerPrefix = "\x00\x01HEARTH:"

func newMarker() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// startChild re-executes this binary as an interpreter process.
func startChild(exe string, spec guestSpec) (*proc, error) {
	js, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+string(js))
	cmd.Dir = spec.DataDir
	setChildAttrs(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	// An os.Pipe rather than StdoutPipe: Wait must not close the read end
	// while the last frame (or a crash's EOF) is still being read.
	stdout, childOut, err := os.Pipe()
	if err != nil {
		stdin.Close()
		return nil, err
	}
	cmd.Stdout = childOut
	p := &proc{stdin: stdin, frames: make(chan frame, 1), done: make(chan struct{}), diag: &tailBuffer{max: 4096}}
	cmd.Stderr = p.diag
	err = cmd.Start()
	childOut.Close()
	if err != nil {
		stdin.Close()
		stdout.Close()
		return nil, fmt.Errorf("%w: %v", codeinterp.ErrStart, err)
	}
	p.pid = cmd.Process.Pid
	p.kill = func() { cmd.Process.Kill() }
	go func() {
		defer stdout.Close()
		p.readRecords(stdout, spec.Marker, spec.MaxOutput)
	}()
	go func() {
		err := cmd.Wait()
		if err != nil {
			p.exit = err.Error()
		} else {
			p.exit = "exit status 0"
		}
		close(p.done)
	}()
	return p, nil
}

// startInProcess runs an interpreter on a goroutine of this process.
func (w *Sandbox) startInProcess(spec guestSpec) *proc {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	p := &proc{stdin: inW, frames: make(chan frame, 1), done: make(chan struct{}), diag: &tailBuffer{max: 4096}}
	p.kill = func() {
		cancel()
		inW.CloseWithError(errors.New("killed"))
	}
	go p.readRecords(outR, spec.Marker, spec.MaxOutput)
	go func() {
		defer close(p.done)
		defer cancel()
		code, err := runGuest(ctx, w.rt, w.compiled, spec, inR, outW, p.diag)
		switch {
		case err != nil:
			p.exit = err.Error()
		default:
			p.exit = "exit status " + strconv.Itoa(int(code))
		}
		outW.Close()
		inR.Close()
	}()
	return p
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
