//go:build unix

package wasi

import (
	"os"
	"syscall"
)

// lockDir marks dir as owned by this process for as long as the returned
// file stays open: the kernel drops the lock when the process dies, however
// it dies, which is how sweepStale tells a dead owner from a live one.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(lockPath(dir), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ownerAlive reports whether a live process holds dir's lock; false also
// when the lock file is missing.
func ownerAlive(dir string) (alive, hasLock bool) {
	f, err := os.OpenFile(lockPath(dir), os.O_RDWR, 0)
	if err != nil {
		return false, false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return true, true
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false, true
}
