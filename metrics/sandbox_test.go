package metrics_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/codeinterp/wasi"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/scripted"
)

// A code interpreter call opens a sandbox session: the start counter, the
// open sessions, the running interpreters and their memory all move.
func TestMetricsSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("starts CPython")
	}
	sb, err := wasi.New(wasi.Config{CacheDir: filepath.Join(os.TempDir(), "hearth-test-codeinterp-cache")})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	m := scripted.New(
		scripted.Turn{Calls: []scripted.Call{{Name: "code_interpreter", Arguments: `{"code":"print(6*7)"}`}}},
		scripted.Turn{Match: scripted.HasToolResult, Text: "42"},
	)
	e, o := open(t, m, func(c *engine.Config) { c.CodeInterpreter = sb })
	before := scrape(t, o)
	for _, name := range []string{"hearth_sandbox_sessions", "hearth_sandbox_interpreters", "hearth_sandbox_memory_bytes"} {
		if v, ok := before[name]; !ok || v != 0 {
			t.Fatalf("%s before any code ran: %v (present %v)", name, v, ok)
		}
	}
	ctx := context.Background()
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "m", Tools: []apitype.Tool{{Type: apitype.ToolTypeCodeInterpreter}}})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := e.Runs.CreateAndWait(ctx, thread(t, e, "run code"), apitype.RunCreateParams{AssistantID: a.ID}); err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("run %v %+v", err, r)
	}
	s := scrape(t, o)
	if s[`hearth_sandbox_sessions_total{kind="start"}`] != 1 || s["hearth_sandbox_sessions"] != 1 || s["hearth_sandbox_interpreters"] != 1 {
		t.Fatalf("after one code run: started %v, sessions %v, interpreters %v", s[`hearth_sandbox_sessions_total{kind="start"}`],
			s["hearth_sandbox_sessions"], s["hearth_sandbox_interpreters"])
	}
	if runtime.GOOS == "linux" && s["hearth_sandbox_memory_bytes"] < 1<<20 {
		t.Fatalf("interpreter memory %v", s["hearth_sandbox_memory_bytes"])
	}
}

// The database size gauge follows the file as it grows.
func TestMetricsDatabaseBytes(t *testing.T) {
	ingested := make(chan struct{}, 1)
	e, o := open(t, scripted.Echo(), func(c *engine.Config) { c.OnFileIngested = func(apitype.VectorStoreFile) { ingested <- struct{}{} } })
	before := scrape(t, o)["hearth_database_bytes"]
	var text strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&text, "Paragraph %d: the kettle's limescale filter lifts out for rinsing. ", i)
	}
	ctx := context.Background()
	f, err := e.Files.Create(ctx, strings.NewReader(text.String()), apitype.FileCreateParams{Filename: "manual.txt", Purpose: "assistants"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{FileIDs: []string{f.ID}}); err != nil {
		t.Fatal(err)
	}
	<-ingested
	if after := scrape(t, o)["hearth_database_bytes"]; after <= before {
		t.Fatalf("database bytes %v → %v after indexing %d bytes", before, after, text.Len())
	}
}
