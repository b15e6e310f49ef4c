package wasi

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// guestSpec is everything one interpreter needs; in ModeProcess it travels to
// the child in the childEnv environment variable.
type guestSpec struct {
	RuntimeDir  string `json:"runtime_dir"`
	CacheDir    string `json:"cache_dir"`
	DataDir     string `json:"data_dir"`
	MemoryPages uint32 `json:"memory_pages"`
	Marker      string `json:"marker"`
	MaxOutput   int64  `json:"max_output"`
	MaxFile     int64  `json:"max_file"`
	MaxTotal    int64  `json:"max_total"`
	MaxFiles    int    `json:"max_files"`
}

// newRuntime makes a wazero runtime for python.wasm. closeOnDone makes a
// context deadline stop running guest code (needed in-process, ~2x slower).
//
// The linear memory is allocated at its limit up front: growing it in steps
// copies it each time, and the copies linger as garbage, so a guest filling
// 512 MiB in 1 MiB steps held ~2 GB of host RSS. Reserved but untouched
// pages cost no RSS, so the host cost now follows what the guest touches.
func newRuntime(ctx context.Context, cacheDir string, memoryPages uint32, closeOnDone bool) (wazero.Runtime, error) {
	rc := wazero.NewRuntimeConfig().WithMemoryLimitPages(memoryPages).WithMemoryCapacityFromMax(true).WithCloseOnContextDone(closeOnDone)
	if cacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
		if err != nil {
			return nil, err
		}
		rc = rc.WithCompilationCache(cache)
	}
	r := wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r); err != nil {
		r.Close(ctx)
		return nil, err
	}
	return r, nil
}

func compilePython(ctx context.Context, r wazero.Runtime, runtimeDir string) (wazero.CompiledModule, error) {
	bin, err := os.ReadFile(filepath.Join(runtimeDir, "python.wasm"))
	if err != nil {
		return nil, err
	}
	return r.CompileModule(ctx, bin)
}

// runGuest runs the driver in a fresh instance until its stdin ends, the
// driver exits, or ctx is done (with closeOnDone). It returns the exit status.
func runGuest(ctx context.Context, r wazero.Runtime, compiled wazero.CompiledModule, spec guestSpec, stdin io.Reader, stdout, stderr io.Writer) (uint32, error) {
	q := &quota{maxFile: spec.MaxFile, maxTotal: spec.MaxTotal, maxFiles: spec.MaxFiles}
	rescan := func() {
		used, n := scanUsage(spec.DataDir)
		q.reset(used, n)
	}
	rescan()
	out := &guestStdout{rw: &recordWriter{w: stdout}, q: q}
	prefix := readOnlyFS{&sysfs.ReadFS{FS: sysfs.DirFS(filepath.Join(spec.RuntimeDir, "prefix"))}}
	fsc := wazero.NewFSConfig().(sysfs.FSConfig).
		WithSysFSMount(prefix, guestPrefix).(sysfs.FSConfig).
		WithSysFSMount(&quotaFS{FS: sysfs.DirFS(spec.DataDir), q: q}, guestData)
	mc := wazero.NewModuleConfig().
		WithName("").
		WithArgs("python", "-c", driverSource).
		WithEnv("PYTHONHOME", guestPrefix).
		WithEnv("HOME", guestData).
		WithEnv("TMPDIR", guestData).
		WithEnv("PYTHONDONTWRITEBYTECODE", "1").
		WithEnv("PYTHONUTF8", "1").
		WithEnv("HEARTH_MARKER", spec.Marker).
		WithEnv("HEARTH_MAX_OUTPUT", strconv.FormatInt(spec.MaxOutput, 10)).
		WithStdin(&requestReader{r: stdin, out: out, rescan: rescan}).
		WithStdout(out).
		WithStderr(stderr).
		WithFSConfig(fsc).
		WithSysWalltime().WithSysNanotime().WithSysNanosleep().
		WithRandSource(rand.Reader)
	mod, err := r.InstantiateModule(ctx, compiled, mc)
	if mod != nil {
		mod.Close(ctx)
	}
	var ee *sys.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}

// scanUsage returns the bytes and entries under dir.
func scanUsage(dir string) (int64, int) {
	var used int64
	n := 0
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return nil
		}
		n++
		if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
			used += info.Size()
		}
		return nil
	})
	return used, n
}

// childEnv carries a guestSpec to a re-executed child; see init.
const childEnv = "HEARTH_CODEINTERP_CHILD"

// The child side of ModeProcess: when this binary is re-executed with
// childEnv set, it becomes one interpreter serving stdin/stdout and exits,
// before the host program's main runs.
func init() {
	if v := os.Getenv(childEnv); v != "" {
		os.Exit(childMain(v))
	}
}

func childMain(specJSON string) int {
	os.Unsetenv(childEnv)
	var spec guestSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "codeinterp child: bad spec:", err)
		return 2
	}
	ctx := context.Background()
	r, err := newRuntime(ctx, spec.CacheDir, spec.MemoryPages, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, "codeinterp child:", err)
		return 2
	}
	compiled, err := compilePython(ctx, r, spec.RuntimeDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "codeinterp child:", err)
		return 2
	}
	code, err := runGuest(ctx, r, compiled, spec, os.Stdin, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "codeinterp child:", err)
		return 3
	}
	return int(code)
}
