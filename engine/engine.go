package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/codeinterp"
	"github.com/hearth-go/hearth/filesearch"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/schema"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/truncate"
)

// Config configures an Engine. Only Path (or Store) is required; every other field has
// the default its comment gives, which its zero value selects. Open refuses
// (with an error matching ErrInvalidConfig) a negative count, size or
// interval where none is meaningful, and settings that contradict each
// other, rather than quietly replacing them.
type Config struct {
	// Path is the bbolt database file, created if missing. With Store set
	// it only places FilesDir by default, and may be empty if FilesDir is
	// set.
	Path string
	// Store is the store the engine keeps every object in: a store.Driver
	// (issue 23: the bbolt file's *store.Store, later Postgres). Default:
	// the bbolt file at Path, opened with LockTimeout and NoSync, its
	// schema 2 migration counting tokens as the engine does, its commits
	// told to Observer. A Store given here is the caller's: opened with
	// what options it chose (Observer.StoreCommit hears its commits only
	// through its own store.Options.OnCommit), and closed by the caller
	// after Engine.Close, which leaves it open. One engine at a time may
	// use it. A driver without the optional interfaces of package store
	// (store.Compacter, store.MappedReleaser) is never auto-compacted or
	// released; one that is not a store.BoltStore needs FileIndex set.
	Store store.Driver
	// Jobs executes runs and background responses on a job queue shared
	// by every replica on one database (engine.Jobs; for Postgres,
	// pgjobs.New). Default: the engine's in-process queue. Foreground
	// responses always run in process.
	Jobs Jobs
	// Model answers runs. Default: none — runs fail with a last_error saying
	// no model backend is configured.
	Model llm.Model
	// DefaultModel is used when an assistant is created without a model.
	// Default: "" (the model is then required).
	DefaultModel string
	// Tools runs the built-in tools (code_interpreter, file_search). Default:
	// none — the tools answer the model with an error saying they are not
	// available, and the run goes on. Not with CodeInterpreter.
	Tools ToolRunner
	// CodeInterpreter runs the code_interpreter tool's Python, one session
	// per thread (wasi.New from codeinterp/wasi: CPython for WASI, sandboxed,
	// pure Go; importing it adds the interpreter to the binary).
	// Default: none — the tool answers the model that it is not available;
	// model-written code never runs outside a sandbox.
	CodeInterpreter codeinterp.Sandbox
	// FileIndex makes vector stores searchable (file_search). Default:
	// NewFileIndex over the engine's database with the offline lexical
	// embedder, so file search works with no model at all.
	FileIndex FileIndex
	// Embedder embeds file search chunks and queries for the default
	// FileIndex: filesearch.NewLLMEmbedder over the Ollama backend, say.
	// Default: the offline lexical embedder (no model needed). A vector store
	// remembers its embedder; VectorStores.Reindex moves it to this one.
	Embedder filesearch.Embedder
	// OnFileIngested is called, on the ingesting goroutine, after each vector
	// store file reaches completed or failed. Default: none.
	OnFileIngested func(apitype.VectorStoreFile)
	// MaxConcurrentIngest bounds files being ingested at once. Default 2.
	MaxConcurrentIngest int
	// MaxConcurrentRuns bounds runs executing at once. Default 4: local models
	// serve few requests in parallel, and queued runs cost nothing.
	MaxConcurrentRuns int
	// RunTimeout is how long a run may take before it expires
	// (expires_at = created_at + RunTimeout). Default 600s, as the hosted API.
	RunTimeout time.Duration
	// ModelFirstByteTimeout bounds the wait for a model call's first chunk,
	// ModelIdleTimeout the wait between later chunks; a call that passes
	// either fails its run with a last_error naming the bound, freeing the
	// worker for other threads. Defaults 5 min and 1 min (a slow CPU model
	// loading and reading a long prompt); negative: no bound.
	ModelFirstByteTimeout time.Duration
	ModelIdleTimeout      time.Duration
	// ExpiryInterval is how often the background expirer looks for overdue
	// runs. Default 1s. Reads also expire overdue runs.
	ExpiryInterval time.Duration
	// AutoCompactInterval is how often the engine checks whether the file
	// is mostly free pages: when at least half of it and at least
	// AutoCompactMinFreeBytes are free, it compacts the store online
	// (store.Store.Compact; writes wait for the copy, reads go on), so a
	// long-running process gives deleted space back and its commits stay as
	// light as in a compacted file. Default 10 minutes; negative: never.
	AutoCompactInterval time.Duration
	// AutoCompactMinFreeBytes is the free space below which the check does
	// nothing. Default 64 MiB.
	AutoCompactMinFreeBytes int64
	// ReleaseMappedInterval is how often the engine takes the database pages
	// it has read out of the process's resident set (store.ReleaseMapped),
	// so a long-running process's RSS follows what it does, not the size
	// of its file. The pages stay in the page cache, and are mapped again
	// at ~0.35 µs a page when next read; writes wait for the release, ~2 ms
	// per 32 MiB mapped (BENCHMARKS.md). Default 10 seconds; negative: never.
	ReleaseMappedInterval time.Duration
	// ContextWindow is the prompt budget in tokens when the backend does not
	// report one (llm.ContextWindower). Default 8192.
	ContextWindow int
	// FilesDir holds uploaded files' bytes, and containers' files in its
	// containers/ directory, when FileBytes is not set. Default: Path +
	// ".files".
	FilesDir string
	// FileBytes keeps the bytes of uploaded files and containers' files.
	// Default: DirFileBytes(FilesDir). With many replicas, bytes every
	// replica reads (store/pgfiles.Bytes keeps them in Postgres).
	FileBytes FileBytes
	// MaxFileBytes caps one upload. Default 512 MiB.
	MaxFileBytes int64
	// MaxCodeOutputFiles and MaxCodeOutputBytes cap the files the code
	// interpreter's output may add to the store in one run (new or changed
	// files under /mnt/data become Files). Past either, further files are
	// not kept and the tool output tells the model which. Defaults 20 files,
	// 256 MiB.
	MaxCodeOutputFiles int
	MaxCodeOutputBytes int64
	// MaxThreadCodeOutputFiles and MaxThreadCodeOutputBytes cap the same
	// over all of a thread's runs, counting the output files that still
	// exist (deleting one through the Files API makes room). Defaults 100
	// files, 1 GiB.
	MaxThreadCodeOutputFiles int
	MaxThreadCodeOutputBytes int64
	// LockTimeout bounds the wait for a database another process holds.
	// Default 1s.
	LockTimeout time.Duration
	// NoSync skips fsync on commit (tests, benchmarks). Default false.
	NoSync bool
	// Clock tells the time. Default time.Now.
	Clock func() time.Time
	// IDs makes object ids from a prefix; they must sort in creation order.
	// Default: store.NewIDGenerator(Clock, crypto/rand).New.
	IDs func(prefix string) string
	// Logger receives the engine's logs. Default slog.Default().
	Logger *slog.Logger
	// Observer is told of runs, model calls, ingestion, sandbox sessions and
	// commits, for metrics. Default NopObserver.
	Observer Observer
	// Events carries runs' events to the streams that follow them. Default:
	// the engine's own in-process bus. Replicas sharing one Postgres give
	// each a bus on it (store/pgstore/pgevents) so a stream on any replica
	// sees a run executed on another. A bus given here is the caller's to
	// close; the engine ends the streams it opened on it when it closes.
	Events EventBus
}

// ErrClosed is what calls on a closed Engine return, and what ends the
// streams and waits still open when it closes.
var ErrClosed = store.ErrClosed

// ErrInvalidConfig is what Open returns for a Config it cannot honour; the
// error names the field.
var ErrInvalidConfig = errors.New("engine: invalid config")

// validate refuses what setDefaults would otherwise have to guess at.
func (c *Config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	if c.Path == "" && c.Store == nil {
		return bad("Path is required")
	}
	if c.Path == "" && c.FilesDir == "" && c.FileBytes == nil {
		return bad("FilesDir (or FileBytes) is required when Store is set and Path is not")
	}
	if _, bolt := c.Store.(store.BoltStore); c.Store != nil && !bolt && c.FileIndex == nil {
		return bad("FileIndex is required with a Store that is not bbolt's (the default index keeps its vectors in the bbolt file)")
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxConcurrentRuns", int64(c.MaxConcurrentRuns)}, {"MaxConcurrentIngest", int64(c.MaxConcurrentIngest)},
		{"RunTimeout", int64(c.RunTimeout)}, {"ExpiryInterval", int64(c.ExpiryInterval)},
		{"ContextWindow", int64(c.ContextWindow)}, {"MaxFileBytes", c.MaxFileBytes},
		{"AutoCompactMinFreeBytes", c.AutoCompactMinFreeBytes},
		{"MaxCodeOutputFiles", int64(c.MaxCodeOutputFiles)}, {"MaxCodeOutputBytes", c.MaxCodeOutputBytes},
		{"MaxThreadCodeOutputFiles", int64(c.MaxThreadCodeOutputFiles)}, {"MaxThreadCodeOutputBytes", c.MaxThreadCodeOutputBytes},
		{"LockTimeout", int64(c.LockTimeout)},
	} {
		if f.v < 0 {
			return bad("%s is %d; it must be positive, or 0 for the default", f.name, f.v)
		}
	}
	if c.Tools != nil && c.CodeInterpreter != nil {
		return bad("Tools and CodeInterpreter are both set; Tools runs every built-in tool, so set one of them")
	}
	if c.FileIndex != nil && c.Embedder != nil {
		return bad("FileIndex and Embedder are both set; Embedder is for the default index only, so give it to your FileIndex instead")
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.MaxConcurrentRuns == 0 {
		c.MaxConcurrentRuns = 4
	}
	if c.MaxConcurrentIngest == 0 {
		c.MaxConcurrentIngest = 2
	}
	if c.RunTimeout == 0 {
		c.RunTimeout = 600 * time.Second
	}
	if c.ModelFirstByteTimeout == 0 {
		c.ModelFirstByteTimeout = defaultModelFirstByteTimeout
	}
	if c.ModelIdleTimeout == 0 {
		c.ModelIdleTimeout = defaultModelIdleTimeout
	}
	if c.ExpiryInterval == 0 {
		c.ExpiryInterval = time.Second
	}
	if c.AutoCompactInterval == 0 {
		c.AutoCompactInterval = 10 * time.Minute
	}
	if c.AutoCompactMinFreeBytes == 0 {
		c.AutoCompactMinFreeBytes = 64 << 20
	}
	if c.ReleaseMappedInterval == 0 {
		c.ReleaseMappedInterval = 10 * time.Second
	}
	if c.ContextWindow == 0 {
		c.ContextWindow = 8192
	}
	if c.FilesDir == "" {
		c.FilesDir = c.Path + ".files"
	}
	if c.FileBytes == nil {
		c.FileBytes = DirFileBytes(c.FilesDir)
	}
	if c.MaxFileBytes == 0 {
		c.MaxFileBytes = 512 << 20
	}
	if c.MaxCodeOutputFiles == 0 {
		c.MaxCodeOutputFiles = 20
	}
	if c.MaxCodeOutputBytes == 0 {
		c.MaxCodeOutputBytes = 256 << 20
	}
	if c.MaxThreadCodeOutputFiles == 0 {
		c.MaxThreadCodeOutputFiles = 100
	}
	if c.MaxThreadCodeOutputBytes == 0 {
		c.MaxThreadCodeOutputBytes = 1 << 30
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.IDs == nil {
		c.IDs = store.NewIDGenerator(c.Clock, nil).New
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Observer == nil {
		c.Observer = NopObserver{}
	}
}

// Engine runs the Assistants API in-process. Its services are safe for
// concurrent use. Close it to stop the run workers and release the file.
type Engine struct {
	cfg   Config
	store store.Driver
	// bolt is store when it is the bbolt file (Store), else nil.
	bolt *store.Store
	// ownStore: the engine opened store, so Close closes it.
	ownStore bool
	// jobs is Config.Jobs: nil for the in-process queue.
	jobs   Jobs
	log    *slog.Logger
	obs    Observer
	bus    EventBus
	ownBus *bus // the default bus, closed by Close

	Assistants *Assistants
	Threads    *Threads
	Messages   *Messages
	Runs       *Runs
	Steps      *Steps
	Files      *Files
	// VectorStores manages vector stores and file search.
	VectorStores *VectorStores
	// Conversations manages conversations and their items.
	Conversations *Conversations
	// Responses serves the Responses API.
	Responses *Responses
	// Containers manages the code interpreter's containers (Responses API).
	Containers *Containers

	// ctx is cancelled by Close; every goroutine the engine starts derives
	// from it and is counted in wg.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	queue  *runQueue
	// ingestSem bounds ingestion apart from runs.
	ingestSem chan struct{}
	ingest    *ingester

	windows sync.Map     // model → trained context length
	schemas schema.Cache // compiled function and response schemas
	calib   truncate.Calibrator
	mounts  codeMounts
	// ownIndex is the default file index, closed with the engine.
	ownIndex io.Closer

	// cancelMu orders a Cancel's cancelling event before the cancelled one.
	cancelMu sync.Mutex

	mu       sync.Mutex
	inflight map[string]context.CancelCauseFunc // run id → cancel of its executor
	// again holds a run scheduled while an execution of it was still
	// ending (its last event is published from the committer, so the next
	// step — tool outputs submitted — can come first); it runs after.
	again  map[string]queuedRun
	closed bool
	// rlogs holds the event logs of responses executing, and of the last
	// keptLogs background ones that ended (rended, oldest first).
	rlogs  map[string]*respLog
	rended []string
	// draining: Shutdown has begun; workers start no more runs, and
	// settled is signalled each time a run execution ends.
	draining bool
	settled  chan struct{}
	// testDraining, when set by a test, is called once Shutdown is draining.
	testDraining func()
}

// Open opens (or creates) the database at cfg.Path, or takes cfg.Store, and
// starts the run workers, resuming runs a previous process left unfinished.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	e := &Engine{cfg: cfg, jobs: cfg.Jobs, log: cfg.Logger, obs: cfg.Observer, bus: cfg.Events,
		queue: newRunQueue(), ingestSem: make(chan struct{}, cfg.MaxConcurrentIngest),
		ingest: newIngester(), inflight: map[string]context.CancelCauseFunc{},
		again: map[string]queuedRun{}, settled: make(chan struct{}, 1)}
	if e.bus == nil {
		e.ownBus = newBus()
		e.bus = e.ownBus
	}
	var onCommit func(time.Duration, int)
	if _, nop := cfg.Observer.(NopObserver); !nop {
		onCommit = cfg.Observer.StoreCommit
	}
	if cfg.Store != nil {
		e.store = cfg.Store
	} else {
		st, err := store.Open(cfg.Path, store.Options{LockTimeout: cfg.LockTimeout, NoSync: cfg.NoSync, Logger: cfg.Logger,
			CountTokens: e.countTokens, OnCommit: onCommit})
		if err != nil {
			return nil, err
		}
		e.store, e.ownStore = st, true
	}
	e.bolt, _ = e.store.(*store.Store)
	// closeStore undoes what this Open did to the store when it fails.
	closeStore := func() {
		if e.ownStore {
			e.store.Close()
		}
	}
	if e.cfg.FileIndex == nil {
		ix, err := NewFileIndex(e.store.(store.BoltStore).Bolt(), e.cfg.Embedder) // validate saw to it
		if err != nil {
			closeStore()
			return nil, fmt.Errorf("engine: file search index: %w", err)
		}
		e.cfg.FileIndex, e.ownIndex = ix, ix.(io.Closer)
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.Assistants = &Assistants{e}
	e.Threads = &Threads{e}
	e.Messages = &Messages{e}
	e.Runs = &Runs{e}
	e.Steps = &Steps{e}
	e.Files = &Files{e}
	e.VectorStores = &VectorStores{e}
	e.Conversations = newConversations(e)
	e.Responses = &Responses{e}
	e.Containers = newContainers(e)
	if err := firstErr(e.sweepBytes(ctx)); err != nil {
		e.closeIndex()
		closeStore()
		return nil, err
	}
	for range cfg.MaxConcurrentRuns {
		e.wg.Add(1)
		go e.worker()
	}
	var err error
	if e.jobs == nil {
		// On a shared queue, what a replica left is the queue's to give to
		// another (its rescue), and a replica starting must not take the
		// runs the others are executing.
		err = e.resumeLeftRuns(ctx)
		if err == nil {
			err = e.resumeLeftResponses(ctx)
		}
	}
	if err == nil {
		err = e.resumeIngestion(ctx)
	}
	if err == nil && e.jobs != nil {
		err = e.jobs.Start(ctx, jobExecutor{e}, cfg.MaxConcurrentRuns, cfg.ExpiryInterval)
	}
	if err != nil {
		e.cancel()
		e.wg.Wait()
		e.closeIndex()
		closeStore()
		return nil, err
	}
	if e.jobs == nil {
		// (On a shared queue, one replica at a time sweeps: jobExecutor.Sweep.)
		e.wg.Add(1)
		go e.every(cfg.ExpiryInterval, e.expireDue)
		e.wg.Add(1)
		go e.every(cfg.ExpiryInterval, e.expireContainersDue)
	}
	if _, ok := e.store.(store.Compacter); ok && cfg.AutoCompactInterval > 0 {
		e.wg.Add(1)
		go e.every(cfg.AutoCompactInterval, e.compactIfFree)
	}
	if _, ok := e.store.(store.MappedReleaser); ok && cfg.ReleaseMappedInterval > 0 {
		e.wg.Add(1)
		go e.every(cfg.ReleaseMappedInterval, e.releaseMapped)
	}
	return e, nil
}

// Close stops the run workers (runs in flight stay in_progress in the file
// and are resumed by the next Open), waits for them, and closes the file.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	if e.jobs != nil {
		// Its executions were cancelled: each job is left to be attempted
		// again (ErrJobInterrupted), resumed by another replica.
		if err := e.jobs.Stop(context.Background()); err != nil {
			e.log.Warn("stop job workers", "err", err)
		}
	}
	e.wg.Wait()
	// Runs stopped here resume on the next Open without counting against
	// the resume cap, which is for runs that bring the process down. (On
	// a shared queue the mark would be every replica's: the queue tells
	// instead, Attempt.CleanClose.)
	if e.jobs == nil {
		if err := e.store.Update(context.Background(), func(tx store.Tx) error { return tx.MarkCleanClose() }); err != nil {
			e.log.Warn("mark clean shutdown", "err", err)
		}
	}
	if e.ownBus != nil {
		e.ownBus.Close()
	}
	e.closeIndex()
	if !e.ownStore {
		return nil // Config.Store is the caller's to close
	}
	return e.store.Close()
}

// closeIndex closes the default file index, which Open made.
func (e *Engine) closeIndex() {
	if e.ownIndex != nil {
		e.ownIndex.Close()
	}
}

// Shutdown stops the engine gracefully: it starts no more runs (those
// queued stay queued and run on the next Open), lets the runs executing
// finish or stop at a step boundary (requires_action) until ctx ends, then
// closes as Close does — runs still executing then resume on the next Open.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.draining = true
	signal := e.testDraining
	e.mu.Unlock()
	e.queue.signal() // idle workers see draining and leave
	if signal != nil {
		signal()
	}
	if e.jobs != nil {
		// The queue stops taking jobs and waits for those executing.
		if err := e.jobs.Stop(ctx); err != nil {
			e.log.Warn("shutdown: runs still executing when the wait ended; another replica resumes them", "err", err)
			return errors.Join(err, e.Close())
		}
	}
	for {
		e.mu.Lock()
		n, closed := len(e.inflight), e.closed
		e.mu.Unlock()
		if n == 0 || closed {
			break
		}
		select {
		case <-e.settled:
		case <-ctx.Done():
			e.log.Warn("shutdown: runs still executing when the wait ended; they resume on the next start", "runs", n)
			return errors.Join(ctx.Err(), e.Close())
		}
	}
	return e.Close()
}

func (e *Engine) isDraining() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.draining
}

// Store exposes the engine's bbolt store, for backups, compaction and
// capability packages; nil when Config.Store is another driver (then
// Driver is the store, and what only a bbolt file does is not there).
//
// Unstable: the store's API is Hearth's storage layer, not part of the
// engine's contract; it changes without notice (and is moving under
// internal/). Use the services for data, and Store only for Backup and the
// like.
func (e *Engine) Store() *store.Store { return e.bolt }

// Driver is the store the engine runs on (Config.Store, or the bbolt file
// it opened at Config.Path). Unstable, as Store is.
func (e *Engine) Driver() store.Driver { return e.store }

func (e *Engine) now() int64 { return e.cfg.Clock().Unix() }

func (e *Engine) newID(prefix string) string { return e.cfg.IDs(prefix) }

// go runs fn on a goroutine owned by the engine.
func (e *Engine) goOwned(fn func()) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		fn()
	}()
	return true
}
