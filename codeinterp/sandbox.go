package codeinterp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Sandbox hands out sessions, one per conversation thread.
type Sandbox interface {
	// Session returns the live session with this id, or starts one. Python
	// state and the files under /mnt/data persist between its execs.
	Session(ctx context.Context, id string) (Session, error)
	// CloseSession ends the session with this id, if one is live, and
	// deletes its files; the engine calls it when the thread is deleted.
	CloseSession(id string) error
	// Close stops every session and deletes their files.
	Close() error
}

// Session is one notebook-like Python interpreter and its /mnt/data directory.
// Its methods are safe for concurrent use; execs run one at a time.
type Session interface {
	// ID is the id the session was opened with.
	ID() string
	// Exec runs code. A Python error is not a Go error: it is in Result.Error
	// with its traceback. The returned error is for sandbox failures only.
	Exec(ctx context.Context, code string) (*Result, error)
	// WriteFile puts a file at /mnt/data/<name> for the code to read.
	WriteFile(name string, data []byte) error
	// ReadFile returns the bytes of /mnt/data/<name>.
	ReadFile(name string) ([]byte, error)
	// Close ends the session and deletes its files.
	Close() error
}

// Stats is a snapshot of a sandbox's load, for metrics.
type Stats struct {
	// Sessions is how many sessions are open.
	Sessions int
	// Interpreters is how many interpreters are running (sessions' and any
	// kept warm for new sessions).
	Interpreters int
	// MemoryBytes is the interpreters' resident memory, where the sandbox
	// can measure it (0 otherwise).
	MemoryBytes int64
}

// StatsReporter is a Sandbox that reports its load.
type StatsReporter interface {
	Stats() Stats
}

// Result is what one exec produced.
type Result struct {
	// Stdout and Stderr are what the code printed, each capped by the
	// sandbox's output limit with a visible "[output truncated ...]" marker.
	Stdout, Stderr string
	// Error is the Python traceback (or a sandbox message such as a timeout)
	// when the code failed; empty on success.
	Error string
	// Files lists the files under /mnt/data created or changed by this exec.
	Files []OutputFile
	// Restarted is true when this exec ran in a fresh interpreter because
	// the previous one was stopped (timeout, crash, eviction); a note saying so,
	// the same way for every cause, starts Stderr.
	Restarted bool
	// TimedOut is true when the exec hit its time limit; the interpreter was
	// killed and the next exec starts a fresh one.
	TimedOut bool
	// Duration is the wall time of the exec as seen by the host.
	Duration time.Duration
}

// Logs is the text a model should read: stdout, stderr and the error, in that order.
func (r *Result) Logs() string {
	var b strings.Builder
	for _, s := range []string{r.Stdout, r.Stderr, r.Error} {
		if s == "" {
			continue
		}
		b.WriteString(s)
		if !strings.HasSuffix(s, "\n") {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// OutputFile is a file under /mnt/data that an exec created or changed.
type OutputFile struct {
	Name     string // base name, e.g. "plot.png"
	Path     string // path in the sandbox, e.g. "/mnt/data/plot.png"
	HostPath string // where the bytes are on the host (valid until the session ends)
	Size     int64
	// Open reads the file's bytes, streamed so a large output costs no
	// memory; valid until the session's next Exec or its end.
	Open     func() (io.ReadCloser, error)
	MIMEType string // sniffed from content
	IsImage  bool   // png, jpeg, gif or svg, by content
}

// Errors returned by sandboxes; test with errors.Is.
var (
	ErrClosed          = errors.New("codeinterp: sandbox or session closed")
	ErrBadID           = errors.New("codeinterp: invalid session id")
	ErrBadFileName     = errors.New("codeinterp: invalid file name (want a plain base name)")
	ErrFileTooLarge    = errors.New("codeinterp: file exceeds the size limit")
	ErrTooManyFiles    = errors.New("codeinterp: too many files in /mnt/data")
	ErrTooManySessions = errors.New("codeinterp: all sessions are busy")
	ErrStart           = errors.New("codeinterp: interpreter failed to start")
	ErrUnavailable     = errors.New("codeinterp: sandbox unavailable")
)

// String describes the file without its bytes (for logs and test failures).
func (f OutputFile) String() string {
	return fmt.Sprintf("%s (%d bytes, %s)", f.Path, f.Size, f.MIMEType)
}
