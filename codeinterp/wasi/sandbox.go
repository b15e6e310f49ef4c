package wasi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hearth-go/hearth/codeinterp"
	"github.com/tetratelabs/wazero"
)

// Sandbox is the default codeinterp.Sandbox: CPython 3.11 for WASI under wazero.
type Sandbox struct {
	cfg        Config
	log        *slog.Logger
	cacheDir   string
	ownCache   bool // cacheDir is a temp dir removed by Close
	runtimeDir string
	root       string     // session directories live here
	locks      []*os.File // held while this process owns root (and cacheDir when own)
	exe        string     // ModeProcess: the binary re-executed as an interpreter

	// ModeInProcess: one runtime and compiled module shared by all sessions.
	rt       wazero.Runtime
	compiled wazero.CompiledModule

	maxSessions int // MaxSessions, lowered to fit MaxHostMemoryBytes

	mu       sync.Mutex
	sessions map[string]*wasiSession
	ended    map[string]string // ids whose session the sandbox ended → why, for the next one's note
	closed   bool

	pmu   sync.Mutex
	procs map[*proc]struct{} // interpreters started, pruned once exited (Stats)

	spares chan *spare // ready interpreters for new sessions (Config.WarmPool)

	// busySignal, set only by tests, receives a session's id once its exec
	// has marked it busy: tests wait on it instead of polling.
	busySignal chan string
	// runningSignal, set only by tests, receives a session's id once its
	// exec has handed the code to the interpreter and waits for the result.
	runningSignal chan string

	stop chan struct{}
	wg   sync.WaitGroup
}

// spare is a started interpreter with its own empty data directory.
type spare struct {
	dir string
	p   *proc
}

var _ codeinterp.Sandbox = (*Sandbox)(nil)

// New extracts the embedded interpreter (once per CacheDir), compiles it
// (from the compilation cache when warm) and returns a sandbox ready to open
// sessions. Close it to stop every interpreter and delete session files.
func New(cfg Config) (*Sandbox, error) {
	cfg = cfg.withDefaults()
	guest, interpreters, err := cfg.fitBudget()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", codeinterp.ErrUnavailable, err)
	}
	if guest != cfg.MemoryLimitBytes {
		cfg.Logger.Warn("codeinterp: guest memory limit lowered to fit the host memory budget",
			"limit", byteCount(guest), "asked", byteCount(cfg.MemoryLimitBytes), "budget", byteCount(cfg.MaxHostMemoryBytes))
		cfg.MemoryLimitBytes = guest
	}
	if cfg.WarmPool >= interpreters {
		cfg.WarmPool = interpreters - 1
	}
	w := &Sandbox{cfg: cfg, log: cfg.Logger, sessions: map[string]*wasiSession{}, ended: map[string]string{}, procs: map[*proc]struct{}{},
		stop: make(chan struct{}), maxSessions: min(cfg.MaxSessions, interpreters-cfg.WarmPool)}
	if w.maxSessions < cfg.MaxSessions {
		cfg.Logger.Info("codeinterp: sessions limited by the host memory budget", "sessions", w.maxSessions,
			"budget", byteCount(cfg.MaxHostMemoryBytes), "per_session", byteCount(cfg.MemoryLimitBytes+interpreterOverhead))
	}
	sweepStale(w.log)
	fail := func(err error) (*Sandbox, error) {
		w.cleanup()
		return nil, fmt.Errorf("%w: %v", codeinterp.ErrUnavailable, err)
	}
	w.cacheDir = cfg.CacheDir
	if w.cacheDir == "" {
		d, lock, err := makeOwnedTemp(cachePattern)
		if err != nil {
			return fail(err)
		}
		w.cacheDir, w.ownCache, w.locks = d, true, append(w.locks, lock)
	}
	if w.runtimeDir, err = ensureRuntime(w.cacheDir); err != nil {
		return fail(err)
	}
	root, lock, err := makeOwnedTemp(sessionsPattern)
	if err != nil {
		return fail(err)
	}
	w.root, w.locks = root, append(w.locks, lock)
	ctx := context.Background()
	compileDir := filepath.Join(w.cacheDir, "wazero")
	switch cfg.Mode {
	case ModeProcess:
		if w.exe, err = os.Executable(); err != nil {
			return fail(err)
		}
		// Compile once here so every child loads the module from the cache.
		r, err := newRuntime(ctx, compileDir, w.memoryPages(), false)
		if err != nil {
			return fail(err)
		}
		_, err = compilePython(ctx, r, w.runtimeDir)
		r.Close(ctx)
		if err != nil {
			return fail(err)
		}
	case ModeInProcess:
		if w.rt, err = newRuntime(ctx, compileDir, w.memoryPages(), true); err != nil {
			return fail(err)
		}
		if w.compiled, err = compilePython(ctx, w.rt, w.runtimeDir); err != nil {
			return fail(err)
		}
	default:
		return fail(fmt.Errorf("unknown mode %d", cfg.Mode))
	}
	w.wg.Add(1)
	go w.janitor()
	if cfg.WarmPool > 0 {
		w.spares = make(chan *spare, cfg.WarmPool-1)
		w.wg.Add(1)
		go w.fillPool()
	}
	return w, nil
}

func (w *Sandbox) memoryPages() uint32 {
	p := w.cfg.MemoryLimitBytes / 65536
	if p < 256 {
		p = 256
	}
	if p > 65536 {
		p = 65536
	}
	return uint32(p)
}

func (w *Sandbox) cleanup() {
	if w.rt != nil {
		w.rt.Close(context.Background())
	}
	if w.root != "" {
		os.RemoveAll(w.root)
	}
	if w.ownCache {
		os.RemoveAll(w.cacheDir)
	}
	for _, l := range w.locks {
		l.Close()
	}
}

// Close stops every session, deletes their files and the temporary cache.
func (w *Sandbox) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	all := make([]*wasiSession, 0, len(w.sessions))
	for _, s := range w.sessions {
		all = append(all, s)
	}
	w.sessions = map[string]*wasiSession{}
	w.mu.Unlock()
	close(w.stop)
	w.wg.Wait()
	if w.spares != nil {
		for {
			select {
			case sp := <-w.spares:
				sp.stop()
				continue
			default:
			}
			break
		}
	}
	for _, s := range all {
		s.shutdown("sandbox closed")
	}
	w.cleanup()
	return nil
}

// Session returns the session with this id, opening it if needed. Opening
// one past MaxSessions evicts the least recently used idle session.
func (w *Sandbox) Session(ctx context.Context, id string) (codeinterp.Session, error) {
	if id == "" || len(id) > 256 || !utf8.ValidString(id) {
		return nil, codeinterp.ErrBadID
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil, codeinterp.ErrClosed
	}
	if s, ok := w.sessions[id]; ok {
		s.lastUsed = time.Now()
		w.mu.Unlock()
		return s, nil
	}
	var victim *wasiSession
	if len(w.sessions) >= w.maxSessions {
		for _, s := range w.sessions {
			if s.busy {
				continue
			}
			if victim == nil || s.lastUsed.Before(victim.lastUsed) {
				victim = s
			}
		}
		if victim == nil {
			w.mu.Unlock()
			return nil, fmt.Errorf("%w: %d sessions are running code, the most this sandbox holds (MaxSessions %d, host memory budget %s)",
				codeinterp.ErrTooManySessions, w.maxSessions, w.cfg.MaxSessions, byteCount(w.cfg.MaxHostMemoryBytes))
		}
		delete(w.sessions, victim.id)
		w.remember(victim.id, lostEvicted)
	}
	s := &wasiSession{w: w, id: id, lastUsed: time.Now(), snap: map[string]fileStamp{}, closing: make(chan struct{})}
	if why, ok := w.ended[id]; ok { // its next exec says the state is gone
		delete(w.ended, id)
		s.started, s.lost, s.dataLost = true, why, true
	}
	select {
	case sp := <-w.spares: // nil channel without a pool: never ready
		s.dir, s.p, s.started = sp.dir, sp.p, true
	default:
		dir, err := os.MkdirTemp(w.root, "s-")
		if err != nil {
			w.mu.Unlock()
			return nil, err
		}
		s.dir = dir
	}
	w.sessions[id] = s
	w.mu.Unlock()
	if victim != nil {
		w.log.Info("codeinterp: evicting least recently used session", "session", victim.id)
		victim.shutdown(lostEvicted)
	}
	return s, nil
}

// Why the sandbox ended a session, as the next session's note says it.
const (
	lostEvicted = "was ended to make room for another thread's session"
	lostIdle    = "was ended after being idle"
)

// remember notes that the sandbox ended id's session. Caller holds w.mu.
func (w *Sandbox) remember(id, why string) {
	if len(w.ended) >= 4096 { // bounded: forget an arbitrary old one
		for k := range w.ended {
			delete(w.ended, k)
			break
		}
	}
	w.ended[id] = why
}

// CloseSession ends the session with this id, if one is live, and deletes
// its files (a thread was deleted). Unlike an eviction, a later session with
// the same id starts without a note.
func (w *Sandbox) CloseSession(id string) error {
	w.mu.Lock()
	s := w.sessions[id]
	delete(w.sessions, id)
	delete(w.ended, id)
	w.mu.Unlock()
	if s != nil {
		s.shutdown("closed")
	}
	return nil
}

// fillPool keeps Config.WarmPool interpreters ready: the ones buffered in
// w.spares plus the one it holds while blocked on the send.
func (w *Sandbox) fillPool() {
	defer w.wg.Done()
	for {
		sp, err := w.newSpare()
		if err != nil {
			w.log.Warn("codeinterp: warm pool: cannot start an interpreter", "err", err)
			select {
			case <-w.stop:
				return
			case <-time.After(5 * time.Second):
				continue
			}
		}
		select {
		case w.spares <- sp:
		case <-w.stop:
			sp.stop()
			return
		}
	}
}

func (w *Sandbox) newSpare() (*spare, error) {
	dir, err := os.MkdirTemp(w.root, "s-")
	if err != nil {
		return nil, err
	}
	s := &wasiSession{w: w, dir: dir, closing: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-w.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	err = s.start(ctx)
	cancel()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &spare{dir: dir, p: s.p}, nil
}

func (sp *spare) stop() {
	s := &wasiSession{dir: sp.dir, p: sp.p}
	s.stopProc("")
	os.RemoveAll(sp.dir)
}

// janitor evicts idle sessions.
func (w *Sandbox) janitor() {
	defer w.wg.Done()
	every := min(w.cfg.IdleTimeout/4, time.Minute)
	t := time.NewTicker(max(every, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case now := <-t.C:
			w.evictIdle(now)
		}
	}
}

// evictIdle ends the sessions unused since IdleTimeout before now.
func (w *Sandbox) evictIdle(now time.Time) {
	var idle []*wasiSession
	w.mu.Lock()
	for id, s := range w.sessions {
		if !s.busy && now.Sub(s.lastUsed) >= w.cfg.IdleTimeout {
			idle = append(idle, s)
			delete(w.sessions, id)
			w.remember(id, lostIdle)
		}
	}
	w.mu.Unlock()
	for _, s := range idle {
		w.log.Info("codeinterp: evicting idle session", "session", s.id)
		s.shutdown(lostIdle)
	}
}

func (w *Sandbox) forget(s *wasiSession) {
	w.mu.Lock()
	if w.sessions[s.id] == s {
		delete(w.sessions, s.id)
	}
	w.mu.Unlock()
}

type fileStamp struct {
	size    int64
	modTime time.Time
}

type wasiSession struct {
	w   *Sandbox
	id  string
	dir string

	// guarded by w.mu
	lastUsed time.Time
	busy     bool

	closing   chan struct{} // closed by shutdown: interrupts a running exec
	closeOnce sync.Once

	mu       sync.Mutex // serializes execs and lifecycle
	p        *proc
	started  bool   // an interpreter ran before (so a new one is a restart)
	lost     string // why the last interpreter stopped
	dataLost bool   // and /mnt/data was cleared with it (the session was evicted)
	closed   bool
	snap     map[string]fileStamp
}

func (s *wasiSession) ID() string { return s.id }

// Close ends the session and deletes its files.
func (s *wasiSession) Close() error {
	s.w.forget(s)
	s.shutdown("closed")
	return nil
}

func (s *wasiSession) shutdown(why string) {
	s.closeOnce.Do(func() { close(s.closing) })
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.stopProc(why)
	os.RemoveAll(s.dir)
}

// stopProc kills the interpreter and waits for it. Caller holds s.mu.
func (s *wasiSession) stopProc(why string) {
	if s.p == nil {
		return
	}
	s.p.stdin.Close()
	s.p.kill()
	<-s.p.done
	for range s.p.frames {
	}
	s.p = nil
	s.lost = why
}

func (s *wasiSession) spec() guestSpec {
	c := s.w.cfg
	return guestSpec{
		RuntimeDir: s.w.runtimeDir, CacheDir: filepath.Join(s.w.cacheDir, "wazero"), DataDir: s.dir,
		MemoryPages: s.w.memoryPages(), Marker: newMarker(), MaxOutput: c.MaxOutputBytes,
		MaxFile: c.MaxFileBytes, MaxTotal: c.MaxDataBytes, MaxFiles: c.MaxFiles,
	}
}

// start launches an interpreter and waits for its ready frame. Caller holds s.mu.
func (s *wasiSession) start(ctx context.Context) error {
	spec := s.spec()
	var p *proc
	if s.w.cfg.Mode == ModeInProcess {
		p = s.w.startInProcess(spec)
	} else {
		var err error
		if p, err = startChild(s.w.exe, spec); err != nil {
			return err
		}
	}
	s.w.track(p)
	t := time.NewTimer(s.w.cfg.StartTimeout)
	defer t.Stop()
	select {
	case f, ok := <-p.frames:
		if ok {
			var r response
			if json.Unmarshal(f.payload, &r) == nil && r.Ready {
				s.p = p
				s.started = true
				return nil
			}
		}
		p.kill()
		<-p.done
		return fmt.Errorf("%w: %s %s", codeinterp.ErrStart, p.exit, strings.TrimSpace(p.diag.String()))
	case <-t.C:
		p.kill()
		<-p.done
		return fmt.Errorf("%w: not ready after %v", codeinterp.ErrStart, s.w.cfg.StartTimeout)
	case <-ctx.Done():
		p.kill()
		<-p.done
		return ctx.Err()
	}
}

// track records a started interpreter for Stats, dropping exited ones.
func (w *Sandbox) track(p *proc) {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	for q := range w.procs {
		if q.exited() {
			delete(w.procs, q)
		}
	}
	w.procs[p] = struct{}{}
}

// Stats reports the open sessions and the running interpreters with their
// resident memory (child processes on Linux; 0 in-process or elsewhere).
func (w *Sandbox) Stats() codeinterp.Stats {
	w.mu.Lock()
	st := codeinterp.Stats{Sessions: len(w.sessions)}
	w.mu.Unlock()
	w.pmu.Lock()
	var pids []int
	for p := range w.procs {
		if p.exited() {
			delete(w.procs, p)
			continue
		}
		st.Interpreters++
		if p.pid > 0 {
			pids = append(pids, p.pid)
		}
	}
	w.pmu.Unlock()
	for _, pid := range pids {
		st.MemoryBytes += residentBytes(pid)
	}
	return st
}

var _ codeinterp.StatsReporter = (*Sandbox)(nil)

func (s *wasiSession) setBusy(b bool) {
	s.w.mu.Lock()
	s.busy = b
	s.lastUsed = time.Now()
	sig := s.w.busySignal
	s.w.mu.Unlock()
	if b && sig != nil {
		sig <- s.id
	}
}

// Exec runs code in the session's interpreter, starting one if needed.
func (s *wasiSession) Exec(ctx context.Context, code string) (*codeinterp.Result, error) {
	s.setBusy(true)
	defer s.setBusy(false)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, codeinterp.ErrClosed
	}
	begin := time.Now()
	res := &codeinterp.Result{}
	if s.p == nil {
		if s.started {
			res.Restarted = true
			res.Stderr = resetNote(s.lost, s.dataLost)
			s.dataLost = false
		}
		if err := s.start(ctx); err != nil {
			return nil, err
		}
	}
	p := s.p
	if _, err := fmt.Fprintf(p.stdin, "%d\n%s", len(code), code); err != nil {
		s.stopProc("crashed")
		res.Error = "[sandbox: the interpreter had stopped; run the code again]"
		return res, nil
	}
	s.w.mu.Lock()
	running := s.w.runningSignal
	s.w.mu.Unlock()
	if running != nil {
		running <- s.id
	}
	timer := time.NewTimer(s.w.cfg.ExecTimeout)
	defer timer.Stop()
	select {
	case f, ok := <-p.frames:
		if !ok {
			<-p.done
			diag := strings.TrimSpace(p.diag.String())
			s.stopProc("crashed")
			res.Error = "[sandbox: the Python interpreter crashed (" + p.exit + ")" + suffix(diag) +
				"; its state is lost and the next call starts a fresh one]"
			break
		}
		notes := quotaNotes(f.notes)
		if !f.replied {
			// The code read the interpreter's own stdin: it is waiting for
			// input that never comes, and whatever it does next is not the
			// driver's protocol. Start over.
			s.stopProc("was stopped because the code read its standard input")
			res.Stdout = capText(string(f.raw), s.w.cfg.MaxOutputBytes, f.dropped)
			res.Stderr = capText(res.Stderr+notes, s.w.cfg.MaxOutputBytes, 0)
			res.Error = "[sandbox: the code read the interpreter's standard input, which is not available; " +
				"the interpreter was reset, so variables and imports are gone (files in /mnt/data are kept)]"
			break
		}
		var r response
		if err := json.Unmarshal(f.payload, &r); err != nil {
			s.stopProc("sent a bad response")
			res.Error = "[sandbox: bad response from the interpreter: " + err.Error() + "]"
			break
		}
		res.Stdout = capText(string(f.raw)+r.Stdout, s.w.cfg.MaxOutputBytes, f.dropped)
		res.Stderr = capText(res.Stderr+notes+r.Stderr, s.w.cfg.MaxOutputBytes, 0)
		res.Error = r.Error
	case <-timer.C:
		res.TimedOut = true
		s.stopProc("timed out")
		res.Error = fmt.Sprintf("TimeoutError: the code ran longer than the %v limit and was stopped; "+
			"the interpreter was reset, so variables and imports are gone (files in /mnt/data are kept)", s.w.cfg.ExecTimeout)
	case <-ctx.Done():
		s.stopProc("was cancelled")
		return nil, ctx.Err()
	case <-s.closing:
		s.stopProc("closed")
		return nil, codeinterp.ErrClosed
	}
	res.Files = s.collectFiles()
	res.Duration = time.Since(begin)
	return res, nil
}

// resetNote starts the stderr of the first exec in a fresh interpreter, the
// same way whatever ended the previous one.
func resetNote(why string, dataLost bool) string {
	files := " (files in /mnt/data are kept)"
	if dataLost {
		files = ", and /mnt/data was cleared"
	}
	return "[sandbox: this is a fresh Python interpreter; the previous one " + why +
		", so variables and imports from earlier calls are gone" + files + "]\n"
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > 500 {
		s = "..." + s[len(s)-500:]
	}
	return ": " + s
}

// quotaNotes turns /mnt/data refusals into stderr lines.
func quotaNotes(hits []string) string {
	var b strings.Builder
	for _, h := range hits {
		b.WriteString("[sandbox: write refused: " + h + "]\n")
	}
	return b.String()
}

// capText bounds s to max bytes on a rune boundary, with a visible marker.
func capText(s string, max int64, dropped int64) string {
	if int64(len(s)) > max {
		cut := int(max)
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		dropped += int64(len(s) - cut)
		s = s[:cut]
	}
	if dropped > 0 {
		s += fmt.Sprintf("\n[output truncated: %d more bytes not shown]\n", dropped)
	}
	return s
}

// WriteFile puts data at /mnt/data/name.
func (s *wasiSession) WriteFile(name string, data []byte) error {
	if err := checkName(name); err != nil {
		return err
	}
	if int64(len(data)) > s.w.cfg.MaxFileBytes {
		return fmt.Errorf("%w: %s is %d bytes, limit %d", codeinterp.ErrFileTooLarge, name, len(data), s.w.cfg.MaxFileBytes)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return codeinterp.ErrClosed
	}
	path := filepath.Join(s.dir, name)
	if _, err := os.Stat(path); err != nil {
		if _, n := scanUsage(s.dir); n >= s.w.cfg.MaxFiles {
			return codeinterp.ErrTooManyFiles
		}
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	if info, err := os.Stat(path); err == nil {
		s.snap[name] = fileStamp{info.Size(), info.ModTime()}
	}
	return nil
}

// ReadFile returns the bytes of /mnt/data/name.
func (s *wasiSession) ReadFile(name string) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, codeinterp.ErrClosed
	}
	return os.ReadFile(filepath.Join(s.dir, name))
}

func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") || len(name) > 255 {
		return fmt.Errorf("%w: %q", codeinterp.ErrBadFileName, name)
	}
	return nil
}
