package engine_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestDepsLeaveOutPrometheus keeps metrics opt-in: the engine and the HTTP
// API expose an Observer and plain handlers; only package metrics (and the
// programs that import it) link client_golang.
func TestDepsLeaveOutPrometheus(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	for _, pkg := range []string{"github.com/hearth-go/hearth/engine", "github.com/hearth-go/hearth/openaihttp"} {
		cmd := exec.Command(gobin, "list", "-deps", pkg)
		cmd.Env = append(os.Environ(), "GOPROXY=off")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, "github.com/prometheus/") || dep == "github.com/hearth-go/hearth/metrics" {
				t.Errorf("%s depends on %s: feed metrics through engine.Observer instead", pkg, dep)
				break
			}
		}
	}
}
