package engine_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestDepsLeaveOutInterpreter keeps the code interpreter opt-in: a program
// that imports the engine (or the HTTP API, or the codeinterp seam) must not
// link wazero or package codeinterp/wasi, whose init and embedded CPython cost
// edge builds megabytes. Only programs that call wasi.New should pay for it.
func TestDepsLeaveOutInterpreter(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	pkgs := []string{
		"github.com/hearth-go/hearth/engine",
		"github.com/hearth-go/hearth/openaihttp",
		"github.com/hearth-go/hearth/codeinterp",
	}
	for _, pkg := range pkgs {
		// -deps lists the import graph from the local module cache; GOPROXY=off
		// makes sure it never reaches for the network.
		cmd := exec.Command(gobin, "list", "-deps", pkg)
		cmd.Env = append(os.Environ(), "GOPROXY=off")
		out, err := cmd.Output()
		if err != nil {
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, "github.com/tetratelabs/wazero") || dep == "github.com/hearth-go/hearth/codeinterp/wasi" {
				t.Errorf("%s depends on %s: import codeinterp (the interfaces) instead, and leave codeinterp/wasi to main packages", pkg, dep)
				break
			}
		}
	}
}
