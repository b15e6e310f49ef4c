package wasi

import (
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Temporary directories a Sandbox makes, each holding a lock file while its
// process lives: session roots always, the runtime cache when
// Config.CacheDir is empty.
const (
	sessionsPattern = "hearth-codeinterp-sessions-"
	cachePattern    = "hearth-codeinterp-cache-"
	lockName        = ".owner.lock"
	// An unlocked dir younger than this may be one another process just
	// made and has not locked yet.
	lockGrace = 10 * time.Minute
)

func lockPath(dir string) string { return filepath.Join(dir, lockName) }

// makeOwnedTemp makes a temporary directory and locks it for this process.
func makeOwnedTemp(pattern string) (string, *os.File, error) {
	dir, err := os.MkdirTemp("", pattern+"*")
	if err != nil {
		return "", nil, err
	}
	lock, err := lockDir(dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, lock, nil
}

// sweepStale removes the temporary directories of sandboxes whose process
// died without Close (kill -9, a crash, power loss): their session files and
// extracted runtimes would otherwise stay in the temp dir for good.
func sweepStale(log *slog.Logger) {
	tmp := os.TempDir()
	for _, pattern := range []string{sessionsPattern, cachePattern} {
		dirs, _ := filepath.Glob(filepath.Join(tmp, pattern+"*"))
		for _, dir := range dirs {
			alive, hasLock := ownerAlive(dir)
			if alive {
				continue
			}
			if !hasLock {
				info, err := os.Stat(dir)
				if err != nil || !info.IsDir() || time.Since(info.ModTime()) < lockGrace {
					continue
				}
			}
			if err := os.RemoveAll(dir); err == nil {
				log.Info("codeinterp: removed the files of a sandbox whose process died", "dir", dir)
			}
		}
	}
}
