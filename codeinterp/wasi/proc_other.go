//go:build !linux

package wasi

import "os/exec"

// setChildAttrs: elsewhere the child exits when its stdin (the host) closes.
func setChildAttrs(*exec.Cmd) {}

// residentBytes: not measured outside Linux.
func residentBytes(int) int64 { return 0 }
