package openaihttp_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/hearth-go/hearth/codeinterp/wasi"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/internal/npmtest"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

// TestNpmContainers runs testdata/npm/containers.mjs: client.containers
// and containers.files, and a code interpreter response streamed by the
// SDK's helper, with real Python in a container. Skipped without
// HEARTH_NPM_OPENAI.
func TestNpmContainers(t *testing.T) {
	npmtest.Require(t)
	if testing.Short() {
		t.Skip("starts CPython")
	}
	sb, err := wasi.New(wasi.Config{CacheDir: filepath.Join(os.TempDir(), "hearth-test-codeinterp-cache")})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	m := &scripted.Model{Fallback: func(req *llm.Request) scripted.Turn {
		if scripted.HasToolResult(req) {
			return scripted.Turn{Text: "See [out.txt](sandbox:/mnt/data/out.txt)."}
		}
		b, _ := json.Marshal(map[string]string{"code": scripted.LastUser(req)})
		return scripted.Turn{StreamArguments: true, Calls: []scripted.Call{{Name: "code_interpreter", Arguments: string(b)}}}
	}}
	e := newEnvWith(t, engine.Config{Model: m, FileIndex: &wordIndex{}, CodeInterpreter: sb})
	npmtest.Run(t, filepath.Join("testdata", "npm", "containers.mjs"), []string{"HEARTH_URL=" + e.srv.URL + "/v1", "HEARTH_KEY=" + testKey},
		"containers", "code", "errors")
}
