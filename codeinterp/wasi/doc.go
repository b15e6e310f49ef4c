// Package wasi is the default [codeinterp.Sandbox]: CPython 3.11 compiled to
// WebAssembly (WASI) and run by wazero, pure Go with no cgo and no host
// interpreter, with the interpreter, its standard library, sympy and mpmath
// embedded in the binary. Its isolation is structural: the guest sees only
// the directories mounted for it, has no sockets, no processes and no threads,
// and [Config] limits its time, memory, output and files.
//
// A program that calls [New] grows by about 21 MB: wazero (~4 MB, linked by
// the import alone, through the child-process init function described next)
// and the embedded artifacts (~17 MB); package codeinterp alone adds neither.
//
// By default each session's interpreter runs in a child OS process (the same
// Go binary re-executed; see [ModeProcess]), so a timeout kills only that
// process and its memory returns to the system at once. The child is caught by
// this package's init function, before the program's main runs, so a program
// that calls [New] needs no hook of its own; package init functions that run
// earlier must not write to stdout or wait for input.
//
// The embedded artifacts are built by build/build.sh from Debian's packages;
// wasm/README.md says how to rebuild and verify them.
package wasi
