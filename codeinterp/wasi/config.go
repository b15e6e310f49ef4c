package wasi

import (
	"fmt"
	"log/slog"
	"time"
)

// Mode says where a session's interpreter runs.
type Mode int

const (
	// ModeProcess runs each interpreter in a child OS process: the current
	// executable re-executed (this package's init catches it before main).
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

	// InterpreterOverheadBytes is what one interpreter costs the host beyond
	// its guest memory: the Go runtime and wazero's compiled code of a child
	// process (measured 40-55 MiB), rounded up. The memory budget counts each
	// session as MemoryLimitBytes plus this.
	InterpreterOverheadBytes = 64 << 20

	interpreterOverhead = InterpreterOverheadBytes + raceOverhead
	// minGuestMemory is the smallest guest limit the budget may shrink to:
	// sympy needs ~64 MiB.
	minGuestMemory = 96 << 20
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
	// beyond it Python raises MemoryError. Its host cost is what the guest
	// touches, so a session costs at most this plus InterpreterOverheadBytes.
	MemoryLimitBytes int64
	// MaxHostMemoryBytes bounds the host memory of all sessions together
	// (warm-pool interpreters included), each counted at MemoryLimitBytes +
	// InterpreterOverheadBytes: it lowers MaxSessions to what fits, and when
	// not even one session fits it lowers MemoryLimitBytes. Opening a session
	// past it evicts the least recently used idle one, or fails with
	// codeinterp.ErrTooManySessions. Default: half the machine's memory (on
	// Linux the smaller of MemTotal and the cgroup's memory.max); where that
	// is unknown, no bound beyond MaxSessions.
	MaxHostMemoryBytes int64
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
	if c.MaxHostMemoryBytes <= 0 {
		c.MaxHostMemoryBytes = hostMemory() / 2
	}
	return c
}

// fitBudget applies MaxHostMemoryBytes: it returns the guest limit and the
// number of live interpreters the budget holds, or an error when not even
// one interpreter with the smallest useful guest fits.
func (c Config) fitBudget() (guest int64, interpreters int, err error) {
	guest, interpreters = c.MemoryLimitBytes, c.MaxSessions+c.WarmPool
	if c.MaxHostMemoryBytes <= 0 { // unknown machine, no budget set
		return guest, interpreters, nil
	}
	per := guest + interpreterOverhead
	if n := c.MaxHostMemoryBytes / per; n < int64(interpreters) {
		interpreters = int(n)
	}
	if interpreters == 0 {
		guest = c.MaxHostMemoryBytes - interpreterOverhead
		if guest < minGuestMemory {
			return 0, 0, fmt.Errorf("a host memory budget of %s cannot hold one interpreter (%s of overhead + %s of guest memory at least)",
				byteCount(c.MaxHostMemoryBytes), byteCount(interpreterOverhead), byteCount(minGuestMemory))
		}
		interpreters = 1
	}
	return guest, interpreters, nil
}
