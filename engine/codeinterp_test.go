package engine_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/hearthtest"
	"github.com/hearth-go/hearth/llm/scripted"
)

// The Math Tutor with real Python: the scripted model writes sympy code, the
// WASI sandbox runs it, the output goes back to the model, and a file the
// code writes becomes a File linked from the answer.
func TestCodeInterpreterRealSandbox(t *testing.T) {
	sb := realSandbox(t)
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
	sb := realSandbox(t)
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
			// The sandbox is the test's: its sessions outlive each engine.
			e := hearthtest.Open(t, m, hearthtest.NoLeakCheck(), hearthtest.Config(func(cfg *engine.Config) { cfg.CodeInterpreter = sb; c.set(cfg) }))
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

// Storing the code's output files streams them: four 60 MiB files raise the
// process's peak RSS by far less than one of them (it rose 232 MB when
// each was read whole). Measured in a child process so that only this
// run's peak counts.
func TestOutputFilesStreamed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts CPython")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc")
	}
	if os.Getenv("HEARTH_STREAM_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestOutputFilesStreamed$", "-test.v")
		cmd.Env = append(os.Environ(), "HEARTH_STREAM_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		var before, after int
		for _, line := range strings.Split(string(out), "\n") {
			if _, err := fmt.Sscanf(strings.TrimSpace(line), "peak-rss-kb %d %d", &before, &after); err == nil {
				break
			}
		}
		if before == 0 {
			t.Fatalf("child printed no peak:\n%s", out)
		}
		t.Logf("peak RSS %d MB before the run, %d MB after", before>>10, after>>10)
		if grew := (after - before) >> 10; grew > 40 {
			t.Fatalf("peak RSS grew %d MB while storing 4 x 60 MiB output files", grew)
		}
		return
	}
	sb := realSandbox(t)
	defer sb.Close()
	code := `{"code":"for n in 'abcd':\n    with open('/mnt/data/%s.bin' % n, 'wb') as f:\n        for i in range(60):\n            f.write(bytes(1<<20))"}`
	m := scripted.New(scripted.Turn{Calls: []scripted.Call{{Name: "code_interpreter", Arguments: code}}}, scripted.Turn{Match: scripted.HasToolResult, Text: "done"})
	e := openEngine(t, m, func(cfg *engine.Config) { cfg.CodeInterpreter = sb })
	ctx := context.Background()
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "m", Tools: []apitype.Tool{{Type: apitype.ToolTypeCodeInterpreter}}})
	if err != nil {
		t.Fatal(err)
	}
	th := mustThread(t, e, "write big files")
	before := peakRSSKB(t)
	r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("run %v %+v", err, r)
	}
	files, err := e.Files.List(ctx, apitype.ListParams{}, apitype.PurposeAssistantsOutput)
	if err != nil || len(files.Data) != 4 || files.Data[0].Bytes != 60<<20 {
		t.Fatalf("stored %v %+v", err, files.Data)
	}
	fmt.Printf("peak-rss-kb %d %d\n", before, peakRSSKB(t))
}

func peakRSSKB(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		var kb int
		if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &kb); err == nil {
			return kb
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// A thread's output files are capped over all its runs; deleting one
// through the Files API makes room again.
func TestThreadCodeOutputCap(t *testing.T) {
	sb := realSandbox(t)
	defer sb.Close()
	write := func(names string) scripted.Turn {
		code := fmt.Sprintf(`{"code":"for n in '%s':\n    open('/mnt/data/%%s.txt' %% n, 'w').write(n * 100)"}`, names)
		return scripted.Turn{Calls: []scripted.Call{{Name: "code_interpreter", Arguments: code}}}
	}
	done := scripted.Turn{Match: scripted.HasToolResult, Text: "done"}
	m := scripted.New(write("ab"), done, write("cd"), done, write("e"), done)
	e := openEngine(t, m, func(cfg *engine.Config) {
		cfg.CodeInterpreter = sb
		cfg.MaxThreadCodeOutputFiles = 3
	})
	ctx := context.Background()
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "m", Tools: []apitype.Tool{{Type: apitype.ToolTypeCodeInterpreter}}})
	if err != nil {
		t.Fatal(err)
	}
	th := mustThread(t, e, "write files")
	run := func() string {
		t.Helper()
		r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil || r.Status != apitype.RunCompleted {
			t.Fatalf("run %v %+v", err, r)
		}
		reqs := m.Requests()
		tool, _ := scripted.LastToolResult(&reqs[len(reqs)-1])
		return tool
	}
	stored := func() []apitype.File {
		t.Helper()
		files, err := e.Files.List(ctx, apitype.ListParams{}, apitype.PurposeAssistantsOutput)
		if err != nil {
			t.Fatal(err)
		}
		return files.Data
	}
	if tool := run(); strings.Contains(tool, "not kept") {
		t.Fatalf("first run dropped files under the cap: %q", tool)
	}
	if tool := run(); !strings.Contains(tool, "this thread reached its limit") || !strings.Contains(tool, "/mnt/data/d.txt") || strings.Contains(tool, "c.txt") {
		t.Fatalf("second run: want c kept and d dropped for the thread cap, got %q", tool)
	}
	files := stored()
	if len(files) != 3 {
		t.Fatalf("%d output files stored, want 3", len(files))
	}
	if _, err := e.Files.Delete(ctx, files[0].ID); err != nil {
		t.Fatal(err)
	}
	if tool := run(); strings.Contains(tool, "not kept") {
		t.Fatalf("a deleted output file did not make room: %q", tool)
	}
	if n := len(stored()); n != 3 {
		t.Fatalf("%d output files stored after the third run, want 3", n)
	}
}
