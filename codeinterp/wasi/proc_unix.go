//go:build linux

package wasi

import (
	"os/exec"
	"syscall"
)

// setChildAttrs makes the kernel kill an interpreter whose host died.
func setChildAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
