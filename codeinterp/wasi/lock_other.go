//go:build !unix

package wasi

import "os"

// lockDir marks dir as in use; without flock there is no sweep of stale dirs.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(lockPath(dir), os.O_CREATE|os.O_RDWR, 0o600)
}

// ownerAlive cannot tell here: every dir counts as live.
func ownerAlive(string) (alive, hasLock bool) { return true, true }
