// Package sandbox starts the code interpreter for the examples that use it.
// It is apart from package backend so the examples without a code
// interpreter do not link it (wazero and the embedded CPython).
package sandbox

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hearth-go/hearth/codeinterp/wasi"
)

// Start starts the code interpreter's sandbox (CPython for WASI, in this
// binary), caching the compiled interpreter in the user's cache directory
// so only the first run pays for compiling it. Close it when done.
func Start(w io.Writer) (*wasi.Sandbox, error) {
	dir := ""
	if d, err := os.UserCacheDir(); err == nil {
		dir = filepath.Join(d, "hearth")
	}
	sb, err := wasi.New(wasi.Config{CacheDir: dir})
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(w, "code interpreter: CPython 3.11 for WASI, sandboxed in-process (no network, only /mnt/data)")
	return sb, nil
}
