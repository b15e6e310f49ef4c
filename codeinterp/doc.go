// Package codeinterp is the seam between the engine and a code interpreter:
// a [Sandbox] hands out notebook-like sessions ([Session]) whose Exec runs
// model-written Python and returns its logs, the files it wrote under /mnt/data
// and its error.
// It holds only these interfaces, their result types and the errors sandboxes
// return, so importing it links no interpreter.
//
// The default implementation, CPython 3.11 for WASI under wazero, is package
// [github.com/hearth-go/hearth/codeinterp/wasi]; programs that never run code
// leave it out and stay small.
package codeinterp
