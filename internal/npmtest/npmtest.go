// Package npmtest runs Hearth's test scripts under the npm `openai` SDK, the
// strictest consumer of its wire shapes. Tests need no network, so the SDK
// is not installed by them: HEARTH_NPM_OPENAI names an installed copy, e.g.
//
//	(cd /tmp/npmoai && npm install openai@7.57.0)
//	HEARTH_NPM_OPENAI=/tmp/npmoai/node_modules/openai go test -run Npm ./...
//
// and without it (or without node) the test is skipped.
package npmtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Require skips t unless the SDK and node are there, and returns node's
// path and the SDK's directory. Call it before costly set-up.
func Require(t testing.TB) (node, sdk string) {
	t.Helper()
	sdk = os.Getenv("HEARTH_NPM_OPENAI")
	if sdk == "" {
		t.Skip("HEARTH_NPM_OPENAI not set (an installed npm openai package)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found")
	}
	return node, sdk
}

// Run runs script under node with OPENAI_MODULE pointing at the SDK and env
// added, logs what it printed, and fails t unless it exited 0 and printed
// "ok <flow>" for each of flows. A script still running after a minute is
// killed (a hung SDK call must not hang the suite).
func Run(t testing.TB, script string, env []string, flows ...string) {
	t.Helper()
	node, sdk := Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Env = append(append(os.Environ(), "OPENAI_MODULE="+filepath.Join(sdk, "index.mjs")), env...)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatal(err)
	}
	for _, flow := range flows {
		if !strings.Contains(string(out), "ok "+flow) {
			t.Errorf("flow %s did not pass", flow)
		}
	}
}
