package codeinterp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Sandbox hands out sessions, one per conversation thread.
type Sandbox interface {
	// Session returns the live session with this id, or starts one. Python
	// state and the files under /mnt/data persist between its execs.
	Session(ctx context.Context, id string) (Session, error)
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

// Result is what one exec produced.
type Result struct {
	// Stdout and Stderr are what the code printed, each capped at
	// Config.MaxOutputBytes with a visible "[output truncated ...]" marker.
	Stdout, Stderr string
	// Error is the Python traceback (or a sandbox message such as a timeout)
	// when the code failed; empty on success.
	Error string
	// Files lists the files under /mnt/data created or changed by this exec.
	Files []OutputFile
	// Restarted is true when this exec ran in a fresh interpreter because
	// the previous one was stopped (timeout, crash, eviction); a note saying so
	// starts Stderr.
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
	Data     []byte // the file's bytes
	MIMEType string // sniffed from content
	IsImage  bool   // png, jpeg, gif or svg, by content
}

// Mode says where a session's interpreter runs.
type Mode int

const (
	// ModeProcess runs each interpreter in a child OS process: the current
	// executable re-executed (the package's init catches it before main).
	// Runaway code is stopped by killing the process, which frees its memory at
	// once, and guest code runs ~2x faster because it needs no context checks.
	ModeProcess Mode = iota
	// ModeInProcess runs interpreters inside this process, stopped through
	// wazero's WithCloseOnContextDone (~2x slower guest code).
	ModeInProcess
)

// Defaults for the zero values of Config.
const (
	DefaultExecTimeout      = 30 * time.Second
	DefaultIdleTimeout      = time.Hour
	DefaultMaxSessions      = 16
	DefaultMemoryLimitBytes = 512 << 20
	DefaultMaxOutputBytes   = 64 << 10
	DefaultMaxFileBytes     = 64 << 20
	DefaultMaxFiles         = 100
	DefaultMaxDataBytes     = 256 << 20
	DefaultStartTimeout     = 60 * time.Second
)

// Config sets the sandbox's limits. Zero values take the Default* constants.
type Config struct {
	// CacheDir keeps the extracted interpreter and wazero's compiled code
	// across processes (first exec ~0.1-0.3 s instead of ~3 s). Empty: a
	// temporary directory removed by Close, so the cost is paid once per process.
	CacheDir string
	// Mode chooses child processes (default) or in-process interpreters.
	Mode Mode
	// ExecTimeout bounds the wall time of one exec (default 30 s).
	ExecTimeout time.Duration
	// StartTimeout bounds starting an interpreter (default 60 s; the first
	// start without a warm cache compiles the module, ~3 s, more under -race).
	StartTimeout time.Duration
	// IdleTimeout evicts sessions unused for this long (default 1 h).
	IdleTimeout time.Duration
	// MaxSessions bounds live sessions; opening one more evicts the least
	// recently used idle session (default 16).
	MaxSessions int
	// MemoryLimitBytes caps the guest's linear memory (default 512 MiB);
	// beyond it Python raises MemoryError.
	MemoryLimitBytes int64
	// MaxOutputBytes caps stdout and stderr each per exec (default 64 KiB).
	MaxOutputBytes int64
	// MaxFileBytes caps one file under /mnt/data (default 64 MiB).
	MaxFileBytes int64
	// MaxFiles caps the number of files under /mnt/data (default 100).
	MaxFiles int
	// MaxDataBytes caps the total size of /mnt/data (default 256 MiB).
	MaxDataBytes int64
	// WarmPool is how many started interpreters wait, ready, for new
	// sessions, hiding the start-up cost (~0.1-0.2 s) of a session's first
	// exec at the price of an idle interpreter's memory each (default 0).
	WarmPool int
	// Logger receives session lifecycle events (default slog.Default()).
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.ExecTimeout <= 0 {
		c.ExecTimeout = DefaultExecTimeout
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	if c.MemoryLimitBytes <= 0 {
		c.MemoryLimitBytes = DefaultMemoryLimitBytes
	}
	if c.MaxOutputBytes <= 0 {
		c.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if c.MaxFileBytes <= 0 {
		c.MaxFileBytes = DefaultMaxFileBytes
	}
	if c.MaxFiles <= 0 {
		c.MaxFiles = DefaultMaxFiles
	}
	if c.MaxDataBytes <= 0 {
		c.MaxDataBytes = DefaultMaxDataBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
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
