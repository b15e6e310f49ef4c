package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-go/hearth/codeinterp"
	"github.com/hearth-go/hearth/codeinterp/wasi"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/filesearch"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/ollama"
	"github.com/hearth-go/hearth/metrics"
	"github.com/hearth-go/hearth/openaihttp"
	"github.com/hearth-go/hearth/store"
)

type serveConfig struct {
	db, addr, backend, ollamaURL, model string
	keysFile, logFormat, logLevel       string
	codeInterpreter, cacheDir           string
	sandboxMemory                       string
	embedModel                          string
	maxRuns                             string
	allowedHosts                        string
	storeKind, dsnFile, filesDir        string
	shutdownTimeout                     time.Duration
	firstByteTimeout, idleTimeout       time.Duration
	releaseMapped                       time.Duration
	// aliases are --model-alias and HEARTH_MODEL_ALIASES (ops.go).
	aliases aliasFlag
}

// serveFlags declares serve's flags, each with its environment variable
// (named in its usage as "env NAME"; the README's flag table lists them).
func (a *app) serveFlags() (*flag.FlagSet, *serveConfig, *openaiFlags, error) {
	c := &serveConfig{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.StringVar(&c.db, "db", a.env("HEARTH_DB", "hearth.db"), "database file (env HEARTH_DB); unused with --store postgres, which keeps the records, the files' bytes and the file search index")
	fs.StringVar(&c.storeKind, "store", a.env("HEARTH_STORE", "bbolt"), "where objects are kept: bbolt (the --db file, one process) or postgres (shared by replicas; DSN from the variable HEARTH_POSTGRES_DSN or --postgres-dsn-file) (env HEARTH_STORE)")
	fs.StringVar(&c.dsnFile, "postgres-dsn-file", a.env("HEARTH_POSTGRES_DSN_FILE", ""), "file holding the Postgres DSN, for --store postgres (env HEARTH_POSTGRES_DSN_FILE); the DSN is never a flag: it carries a password")
	fs.StringVar(&c.filesDir, "files-dir", a.env("HEARTH_FILES_DIR", ""), "directory of uploaded and container files' bytes (env HEARTH_FILES_DIR); default: the --db path + .files")
	fs.StringVar(&c.addr, "addr", a.env("HEARTH_ADDR", "127.0.0.1:8080"), "listen address (env HEARTH_ADDR); without API keys it must be a loopback address")
	fs.StringVar(&c.backend, "model-backend", a.env("HEARTH_MODEL_BACKEND", "ollama"), "model backend: ollama, openai (any OpenAI-compatible server, see --openai-url) or scripted (an echo, for trying the API without a model) (env HEARTH_MODEL_BACKEND)")
	fs.StringVar(&c.ollamaURL, "ollama-url", a.env("HEARTH_OLLAMA_URL", a.env("OLLAMA_HOST", "http://127.0.0.1:11434")), "Ollama URL (env HEARTH_OLLAMA_URL, OLLAMA_HOST)")
	fs.StringVar(&c.model, "default-model", a.env("HEARTH_DEFAULT_MODEL", ""), "model for assistants created without one (env HEARTH_DEFAULT_MODEL; HEARTH_MODEL is a deprecated alias)")
	fs.StringVar(&c.keysFile, "keys-file", a.env("HEARTH_API_KEYS_FILE", ""), "file of API keys, one a line, # comments (env HEARTH_API_KEYS_FILE); env HEARTH_API_KEYS adds comma-separated keys (HEARTH_API_KEY is a deprecated alias)")
	fs.StringVar(&c.logFormat, "log-format", a.env("HEARTH_LOG_FORMAT", "text"), "log format: text or json (env HEARTH_LOG_FORMAT)")
	fs.StringVar(&c.logLevel, "log-level", a.env("HEARTH_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env HEARTH_LOG_LEVEL)")
	fs.StringVar(&c.codeInterpreter, "code-interpreter", a.env("HEARTH_CODE_INTERPRETER", "wasi"), "code_interpreter sandbox: wasi (CPython for WASI, in-binary) or off (env HEARTH_CODE_INTERPRETER)")
	fs.StringVar(&c.embedModel, "embed-model", a.env("HEARTH_EMBED_MODEL", ""), "model that embeds file search chunks on the backend's server (Ollama, or the OpenAI-compatible /v1/embeddings), e.g. nomic-embed-text (env HEARTH_EMBED_MODEL); empty: the built-in offline embedder")
	fs.StringVar(&c.allowedHosts, "allowed-hosts", a.env("HEARTH_ALLOWED_HOSTS", ""), "comma-separated Host header names served besides loopback ones, against DNS rebinding; * allows any (env HEARTH_ALLOWED_HOSTS)")
	fs.StringVar(&c.sandboxMemory, "sandbox-memory", a.env("HEARTH_SANDBOX_MEMORY", "auto"), "host memory all code interpreter sessions together may use, e.g. 4GiB; auto: half the machine's (or container's) memory (env HEARTH_SANDBOX_MEMORY)")
	fs.StringVar(&c.cacheDir, "cache-dir", a.env("HEARTH_CACHE_DIR", defaultCacheDir()), "cache for the compiled interpreter (env HEARTH_CACHE_DIR)")
	fs.StringVar(&c.maxRuns, "max-concurrent-runs", a.env("HEARTH_MAX_CONCURRENT_RUNS", "auto"), "runs executing at once; auto: from the backend (Ollama's OLLAMA_NUM_PARALLEL) and the CPUs (env HEARTH_MAX_CONCURRENT_RUNS)")
	fs.DurationVar(&c.firstByteTimeout, "model-first-byte-timeout", a.envDuration("HEARTH_MODEL_FIRST_BYTE_TIMEOUT", 5*time.Minute), "a model call that sends nothing this long fails its run (env HEARTH_MODEL_FIRST_BYTE_TIMEOUT)")
	fs.DurationVar(&c.idleTimeout, "model-idle-timeout", a.envDuration("HEARTH_MODEL_IDLE_TIMEOUT", time.Minute), "a model reply that stops this long between chunks fails its run (env HEARTH_MODEL_IDLE_TIMEOUT)")
	fs.DurationVar(&c.releaseMapped, "release-mapped-every", a.envDuration("HEARTH_RELEASE_MAPPED_EVERY", 10*time.Second), "how often database pages reads mapped leave the process's resident set (they stay in the page cache); 0 never (env HEARTH_RELEASE_MAPPED_EVERY)")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", a.envDuration("HEARTH_SHUTDOWN_TIMEOUT", 30*time.Second), "how long a shutdown waits for requests to finish (env HEARTH_SHUTDOWN_TIMEOUT)")
	c.aliases = aliasFlag{}
	if err := c.aliases.Set(a.env("HEARTH_MODEL_ALIASES", "")); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: HEARTH_MODEL_ALIASES: %v", errUsage, err)
	}
	oa := a.openaiFlags(fs) // --model-backend openai; see openai.go
	fs.Var(c.aliases, "model-alias", "alias=model: requests for the alias run the local model, objects keep the alias (repeatable, or comma-separated; env HEARTH_MODEL_ALIASES), e.g. gpt-4o=llama3.2")
	return fs, c, oa, nil
}

func (a *app) serve(ctx context.Context, args []string) error {
	fs, c, oa, err := a.serveFlags()
	if err != nil {
		return err
	}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil // -h printed the flags: asked for, not an error
	} else if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	log, err := newLogger(a.stderr, c.logFormat, c.logLevel)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	maxRuns, err := concurrentRuns(c.maxRuns, c.backend, a.getenv)
	if err != nil {
		return err
	}
	keys, err := loadKeys(c.keysFile, a.env("HEARTH_API_KEYS", ""))
	if err != nil {
		return err
	}
	for _, d := range a.takeDeprecated() {
		log.Warn("deprecated environment variable: rename it", "env", d.old, "use", d.now)
	}
	if len(keys) == 0 && !loopbackAddr(c.addr) {
		return fmt.Errorf("refusing to listen on %q without API keys: set HEARTH_API_KEYS or --keys-file, or listen on 127.0.0.1", c.addr)
	}
	// The store before the model and the sandbox: a Postgres that is down
	// or a DSN that is wrong fails the start at once, before anything is
	// started or written.
	var driver store.Driver
	switch c.storeKind {
	case "bbolt":
		if a.getenv("HEARTH_POSTGRES_DSN") != "" || c.dsnFile != "" {
			log.Warn("a Postgres DSN is set but --store is bbolt: the DSN is not used")
		}
	case "postgres":
		if driver, err = a.openPostgres(ctx, c.dsnFile, log); err != nil {
			return err
		}
		defer driver.Close()
	default:
		return fmt.Errorf("%w: --store must be bbolt or postgres, got %q", errUsage, c.storeKind)
	}
	model := a.model
	if model == nil && c.backend == "openai" {
		if model, err = oa.open(ctx, log, c.model, c.embedModel, c.firstByteTimeout); err != nil {
			return err
		}
	} else if model == nil {
		if model, err = newModel(c.backend, c.ollamaURL, log); err != nil {
			return err
		}
	}
	startupCheck(ctx, log, model, c.backend, c.model, c.aliases) // ops.go
	lister, _ := model.(llm.ModelLister)
	model = withAliases(model, c.aliases)
	obs := metrics.New()
	var sandbox codeinterp.Sandbox
	switch c.codeInterpreter {
	case "wasi":
		budget, err := parseBytes(c.sandboxMemory)
		if err != nil {
			return fmt.Errorf("%w: --sandbox-memory: %v", errUsage, err)
		}
		sb, err := wasi.New(wasi.Config{CacheDir: c.cacheDir, Logger: log, MaxHostMemoryBytes: budget})
		if err != nil {
			return fmt.Errorf("code interpreter: %w (use --code-interpreter=off to serve without it)", err)
		}
		defer sb.Close()
		sandbox = sb
	case "off":
		log.Warn("code interpreter is off: code_interpreter calls get an error the model reads")
	default:
		return fmt.Errorf("%w: --code-interpreter must be wasi or off, got %q", errUsage, c.codeInterpreter)
	}
	var embedder filesearch.Embedder
	if c.embedModel != "" && c.backend == "openai" {
		if embedder, err = oa.embedder(c.embedModel); err != nil {
			return err
		}
	} else if c.embedModel != "" {
		oc, err := ollama.New(ollama.Config{URL: c.ollamaURL, EmbedModel: c.embedModel, Logger: log})
		if err != nil {
			return err
		}
		embedder = filesearch.NewLLMEmbedder(oc, c.embedModel)
	}
	cfg := engine.Config{Path: c.db, Model: model, DefaultModel: c.model, Logger: log,
		CodeInterpreter: sandbox, Embedder: embedder, Observer: obs, MaxConcurrentRuns: maxRuns, FilesDir: c.filesDir,
		ModelFirstByteTimeout: c.firstByteTimeout, ModelIdleTimeout: c.idleTimeout, ReleaseMappedInterval: releaseEvery(c.releaseMapped)}
	if driver != nil {
		cfg.Store, cfg.Embedder = driver, nil
		if err := sharedFiles(&cfg, driver, embedder); err != nil {
			return err
		}
	}
	eng, err := engine.Open(ctx, cfg)
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%w (is another hearth serving it?)", err)
	}
	if err != nil {
		return err
	}
	defer eng.Close() // runs in flight stay in_progress and resume on the next start

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	if len(keys) == 0 && !loopbackAddr(ln.Addr().String()) { // e.g. "localhost" resolved elsewhere
		ln.Close()
		return fmt.Errorf("refusing to serve on %s without API keys", ln.Addr())
	}
	h := openaihttp.NewHandler(eng, openaihttp.Options{Keys: keys, Admin: true, Playground: true, Logger: log, AllowedHosts: splitList(c.allowedHosts),
		Ops: openaihttp.OpsOptions{Models: lister, Aliases: c.aliases, Metrics: obs.Handler(), Version: buildVersion()}})
	obs.WatchEngine(eng)
	obs.Gauge("hearth_streams_active", "Event streams open.", func() float64 { return float64(h.ActiveStreams()) })
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		MaxHeaderBytes: 64 << 10, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	auth := "api-keys"
	if len(keys) == 0 {
		auth = "none (loopback only)"
	}
	where := []any{"store", c.storeKind, "db", c.db}
	if driver != nil {
		where = []any{"store", c.storeKind, "search_index", c.db}
	}
	log.Info("hearth serving", append(where, "addr", ln.Addr().String(), "model_backend", c.backend,
		"auth", auth, "keys", len(keys), "max_concurrent_runs", maxRuns, "version", buildVersion())...)
	for _, alias := range sortedKeys(c.aliases) {
		log.Info("model alias", "alias", alias, "model", c.aliases[alias])
	}
	if c.backend == "scripted" {
		log.Warn("model backend is the scripted demo: it echoes, and answers \"run code …\", \"search …\" and \"call <function>\" with tool calls (use --model-backend=ollama for a real model)")
	}
	if a.listening != nil {
		a.listening(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: ending streams, waiting for requests", "timeout", c.shutdownTimeout)
	h.Drain() // open streams get an error event and done; their runs go on after restart
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown timed out; closing connections", "err", err)
		srv.Close()
	}
	<-errc
	// Runs executing get what is left of the timeout to finish; queued
	// runs, and any still executing after it, resume on the next start.
	if err := eng.Shutdown(sctx); err != nil {
		if sctx.Err() == nil {
			return err
		}
		log.Warn("shutdown: runs still executing were stopped; they resume on the next start")
	}
	log.Info("stopped")
	return nil
}

// defaultCacheDir is where the compiled interpreter is kept between runs.
func defaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "hearth")
	}
	return ""
}

// newModel picks the model backend.
func newModel(backend, url string, log *slog.Logger) (llm.Model, error) {
	switch backend {
	case "scripted":
		return newDemo(), nil
	case "ollama":
		return ollama.New(ollama.Config{URL: url, Logger: log})
	}
	return nil, fmt.Errorf("%w: --model-backend must be ollama, openai or scripted, got %q", errUsage, backend)
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %v", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, got %q", format)
}

// loadKeys reads API keys from a file (one a line, blank lines and # comments
// skipped) and from a comma-separated list. Keys are never taken from flags,
// which other users can read in the process list.
func loadKeys(file, list string) ([]string, error) {
	var keys []string
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("keys file: %w", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k := strings.TrimSpace(sc.Text()); k != "" && !strings.HasPrefix(k, "#") {
				keys = append(keys, k)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("keys file: %w", err)
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("keys file %s holds no key", file)
		}
	}
	for _, k := range strings.Split(list, ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// loopbackAddr reports whether addr's host is a loopback IP or "localhost".
// An empty host (":8080") means every interface: not loopback.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// versionLine is what hearth version prints: the module version, the
// commit it was built from (when the build recorded it) and the Go version.
func versionLine() string {
	line := "hearth " + buildVersion()
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return line + " " + runtime.Version()
	}
	var rev, when, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" {
		line += " commit " + rev + dirty
		if when != "" {
			line += " (" + when + ")"
		}
	}
	return line + " " + bi.GoVersion
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// parseBytes reads a size such as 4GiB, 512MiB, 2G or 1048576; "auto" and
// "" are 0, the sandbox's own default.
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "auto" {
		return 0, nil
	}
	units := []struct {
		suffix string
		shift  uint
	}{{"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}, {"K", 10}, {"M", 20}, {"G", 30}, {"T", 40}, {"B", 0}}
	var shift uint
	num := s
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			num, shift = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64>>shift {
		return 0, fmt.Errorf("%q is not a size (a positive whole number with an optional KiB, MiB, GiB or TiB; or auto)", s)
	}
	return n << shift, nil
}

// releaseEvery maps the flag's 0 ("never") onto the engine's negative.
func releaseEvery(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}
