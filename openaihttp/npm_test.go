package openaihttp_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/llm/scripted"
)

// TestNpmSDK runs testdata/npm/conformance.mjs with the npm `openai`
// package against the handler. Tests need no network, so the package is not
// installed by the test: set HEARTH_NPM_OPENAI to an installed copy, e.g.
//
//	(cd /tmp/npmoai && npm install openai@7.57.0)
//	HEARTH_NPM_OPENAI=/tmp/npmoai/node_modules/openai go test -run Npm -v ./openaihttp
//
// Without it (or without node) the test is skipped.
func TestNpmSDK(t *testing.T) {
	dir := os.Getenv("HEARTH_NPM_OPENAI")
	if dir == "" {
		t.Skip("HEARTH_NPM_OPENAI not set (an installed npm openai package)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found")
	}
	m := scripted.New(
		scripted.Turn{Text: "Subtract 11 from both sides: 3x = 3, so x = 1."},
		scripted.Turn{Text: "Subtract 11, divide by 3.", Pieces: 5},
		scripted.Turn{Calls: []scripted.Call{{Name: "get_weather", Arguments: `{"location":"Paris"}`}}, StreamArguments: true},
		scripted.Turn{Match: scripted.HasToolResult, Text: "Sunny, 22C."},
		scripted.Turn{Calls: []scripted.Call{{Name: "get_weather", Arguments: `{"location":"Rome"}`}}},
		scripted.Turn{Text: "ok"}, scripted.Turn{Text: "ok"}, // all-params
		scripted.Turn{Calls: []scripted.Call{{Name: "file_search", Arguments: `{"query":"warranty"}`}}},
		scripted.Turn{Match: scripted.HasToolResult, Text: "Two years【0:0†warranty.txt】.", Pieces: 6},
	)
	e := newEnv(t, m)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "npm", "conformance.mjs"))
	cmd.Env = append(os.Environ(), "OPENAI_MODULE="+filepath.Join(dir, "index.mjs"), "HEARTH_URL="+e.srv.URL+"/v1", "HEARTH_KEY="+testKey)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatal(err)
	}
	for _, flow := range []string{"math-tutor", "stream-text", "weather-stream", "paging", "vector-stores", "errors", "whole-call", "content-parts", "all-params", "citations"} {
		if !strings.Contains(string(out), "ok "+flow) {
			t.Errorf("flow %s did not pass", flow)
		}
	}
}
