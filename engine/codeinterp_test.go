package engine_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/codeinterp/wasi"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/scripted"
)

// The Math Tutor with real Python: the scripted model writes sympy code, the
// WASI sandbox runs it, the output goes back to the model, and a file the
// code writes becomes a File linked from the answer.
func TestCodeInterpreterRealSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("starts CPython")
	}
	cache := filepath.Join(os.TempDir(), "hearth-test-codeinterp-cache") // shared across runs: compiling is the slow part
	sb, err := wasi.New(wasi.Config{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	ctx := context.Background()
	m := scripted.New(
		scripted.Turn{StreamArguments: true, Calls: []scripted.Call{{Name: "code_interpreter", Arguments: `{"code":"from sympy import symbols, Eq, solve\nx = symbols('x')\nsol = solve(Eq(3*x + 11, 14), x)\nprint(sol)\nopen('/mnt/data/solution.txt','w').write(str(sol))\nprint(open('/mnt/data/data.csv').read().strip())"}`}}},
		scripted.Turn{Match: scripted.HasToolResult, Text: "x = 1. See sandbox:/mnt/data/solution.txt."},
	)
	e := openEngine(t, m, func(c *engine.Config) { c.CodeInterpreter = sb })
	data, err := e.Files.Create(ctx, strings.NewReader("a,b\n1,2\n"), apitype.FileCreateParams{Filename: "data.csv", Purpose: "assistants"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "m", Tools: []apitype.Tool{{Type: apitype.ToolTypeCodeInterpreter}},
		ToolResources: &apitype.ToolResources{CodeInterpreter: &apitype.CodeInterpreterResources{FileIDs: []string{data.ID}}}})
	if err != nil {
		t.Fatal(err)
	}
	th := mustThread(t, e, "I need to solve the equation `3x + 11 = 14`. Can you help me?")
	r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("run %v %+v", err, r)
	}
	tool, _ := scripted.LastToolResult(&m.Requests()[1])
	if !strings.Contains(tool, "[1]") || !strings.Contains(tool, "a,b") {
		t.Fatalf("the model read back %q", tool)
	}
	msgs, _ := e.Messages.List(ctx, th.ID, apitype.MessageListParams{RunID: r.ID})
	anns := msgs.Data[0].Content[0].Text.Annotations
	if len(anns) != 1 || anns[0].Type != "file_path" || anns[0].Text != "sandbox:/mnt/data/solution.txt" {
		t.Fatalf("annotations %+v", anns)
	}
	_, rc, err := e.Files.Content(ctx, anns[0].FilePath.FileID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "[1]" {
		t.Fatalf("file content %q", b)
	}
	steps, _ := e.Steps.List(ctx, th.ID, r.ID, apitype.StepListParams{ListParams: apitype.ListParams{Order: "asc"}})
	ci := steps.Data[0].StepDetails.ToolCalls[0].CodeInterpreter
	if ci == nil || !strings.Contains(ci.Input, "sympy") || len(ci.Outputs) == 0 || !strings.Contains(ci.Outputs[0].Logs, "[1]") {
		t.Fatalf("step %+v", ci)
	}
	// Deleting the thread ends its session and its /mnt/data at once.
	if st := sb.Stats(); st.Sessions != 1 {
		t.Fatalf("before the delete: %+v", st)
	}
	if _, err := e.Threads.Delete(ctx, th.ID); err != nil {
		t.Fatal(err)
	}
	if st := sb.Stats(); st.Sessions != 0 {
		t.Fatalf("the deleted thread's session is still live: %+v", st)
	}
}

// Output files past the run's caps are not stored, and the model is told
// which were dropped and why.
func TestCodeOutputCaps(t *testing.T) {
	if testing.Short() {
		t.Skip("starts CPython")
	}
	cache := filepath.Join(os.TempDir(), "hearth-test-codeinterp-cache")
	sb, err := wasi.New(wasi.Config{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	for _, c := range []struct {
		name    string
		set     func(*engine.Config)
		kept    int
		dropped string
	}{
		{"count", func(c *engine.Config) { c.MaxCodeOutputFiles = 2 }, 2, "/mnt/data/c.txt"},
		{"bytes", func(c *engine.Config) { c.MaxCodeOutputBytes = 2500 }, 2, "/mnt/data/c.txt"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			m := scripted.New(
				scripted.Turn{Calls: []scripted.Call{{Name: "code_interpreter", Arguments: `{"code":"for n in 'abc':\n    open('/mnt/data/%s.txt' % n, 'w').write(n * 1000)"}`}}},
				scripted.Turn{Match: scripted.HasToolResult, Text: "done"},
			)
			e := openEngine(t, m, func(cfg *engine.Config) { cfg.CodeInterpreter = sb; c.set(cfg) })
			a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "m", Tools: []apitype.Tool{{Type: apitype.ToolTypeCodeInterpreter}}})
			if err != nil {
				t.Fatal(err)
			}
			th := mustThread(t, e, "write three files")
			r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
			if err != nil || r.Status != apitype.RunCompleted {
				t.Fatalf("run %v %+v", err, r)
			}
			files, err := e.Files.List(ctx, apitype.ListParams{}, apitype.PurposeAssistantsOutput)
			if err != nil {
				t.Fatal(err)
			}
			if len(files.Data) != c.kept {
				t.Fatalf("%d output files stored, want %d", len(files.Data), c.kept)
			}
			tool, _ := scripted.LastToolResult(&m.Requests()[1])
			if !strings.Contains(tool, "not kept") || !strings.Contains(tool, c.dropped) {
				t.Fatalf("the model was not told what was dropped: %q", tool)
			}
		})
	}
}
