//go:build linux

package wasi

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// setChildAttrs makes the kernel kill an interpreter whose host died.
func setChildAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// residentBytes is a process's resident set size, from /proc/PID/statm
// (its second field, in pages); 0 when the process is gone.
func residentBytes(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(string(f[1]), 10, 64)
	return pages * int64(os.Getpagesize())
}
