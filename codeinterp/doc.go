// Package codeinterp runs model-written Python in a sandbox, with state kept per
// session like a notebook, limits on time, memory, output and files, and the
// files the code writes under /mnt/data reported back after each exec.
//
// The default [Sandbox], [NewWASI], is CPython 3.11 compiled to WebAssembly
// (WASI) and run by wazero: pure Go, no cgo, no host interpreter; the
// interpreter, its standard library, sympy and mpmath are embedded in the
// binary. Its isolation is structural: the guest sees only the directories
// mounted for it, has no sockets, no processes and no threads.
//
// By default each session's interpreter runs in a child OS process (the same
// Go binary re-executed; see [ModeProcess]), so a timeout kills only that
// process and its memory returns to the system at once. The child is caught by
// this package's init function, before the program's main runs; package init
// functions that run earlier must not write to stdout or wait for input.
//
// The embedded artifacts are built by build/build.sh from Debian's packages;
// wasm/README.md says how to rebuild and verify them.
package codeinterp
