package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/truncate"
)

const crashEnv = "HEARTH_ENGINE_CRASH_DB"

// slowTool is a code_interpreter that takes a while, so kills land inside
// built-in tool calls too.
type slowTool struct{}

func (slowTool) RunTool(ctx context.Context, _ *engine.ToolCall) (*engine.ToolResult, error) {
	select {
	case <-time.After(15 * time.Millisecond):
		return &engine.ToolResult{Output: "ok", Logs: "ok"}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// crashPhases are the replies the child's model gives, chosen by the user
// message, so runs are caught in every phase: waiting for the first chunk,
// streaming text, inside a built-in tool, waiting for tool outputs, blocked.
var crashPhases = []scripted.Turn{
	{Delay: 30 * time.Millisecond, Text: "late answer"},
	{Text: "a slowly streamed answer of several words", Pieces: 8, ChunkDelay: 4 * time.Millisecond},
	{Calls: []scripted.Call{{Name: "code_interpreter", Arguments: `{"code":"print(1)"}`}}, StreamArguments: true},
	{Calls: []scripted.Call{{Name: "get_weather", Arguments: `{"city":"Rome"}`}}},
	{Text: "stuck", Block: true},
}

// TestCrashChild is the child process of TestCrashRecovery: it works on the
// database until it is killed, printing each acknowledged write.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("runs only as TestCrashRecovery's child")
	}
	model := &scripted.Model{Fallback: func(r *llm.Request) scripted.Turn {
		if _, ok := scripted.LastToolResult(r); ok {
			return scripted.Turn{Text: "after the tool", Pieces: 4, ChunkDelay: 3 * time.Millisecond}
		}
		n, _ := strconv.Atoi(strings.TrimPrefix(scripted.LastUser(r), "phase "))
		return crashPhases[n%len(crashPhases)]
	}}
	ctx := context.Background()
	// Build the token encoding before READY: it is built once per process
	// on the first message, and the kills are timed from READY.
	if _, err := truncate.Default(); err != nil {
		fmt.Println("HEARTH ERR", err)
		os.Exit(2)
	}
	e, err := engine.Open(ctx, engine.Config{Path: path, Model: model, Tools: slowTool{}, NoSync: true, MaxConcurrentRuns: 4})
	if err != nil {
		fmt.Println("HEARTH ERR", err)
		os.Exit(2)
	}
	var out sync.Mutex
	say := func(f string, args ...any) {
		out.Lock()
		fmt.Printf("HEARTH "+f+"\n", args...)
		out.Unlock()
	}
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "m", Tools: []apitype.Tool{{Type: apitype.ToolTypeCodeInterpreter}, weatherTool}})
	if err != nil {
		os.Exit(2)
	}
	say("READY")
	var wg sync.WaitGroup
	for w := 0; ; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; ; k += 7 {
				text := fmt.Sprintf("phase %d", k)
				th, err := e.Threads.Create(ctx, apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{userMsg(text)}})
				if err != nil {
					return
				}
				msgs, _ := e.Messages.List(ctx, th.ID, apitype.MessageListParams{})
				say("THREAD %s", th.ID)
				say("MSG %s %s %s", th.ID, msgs.Data[0].ID, text)
				r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
				if err != nil {
					return
				}
				say("RUN %s %s", th.ID, r.ID)
				if r.Status == apitype.RunRequiresAction && k%2 == 0 { // the others stay waiting
					var outs []apitype.ToolOutput
					for _, c := range r.RequiredAction.SubmitToolOutputs.ToolCalls {
						outs = append(outs, apitype.ToolOutput{ToolCallID: c.ID, Output: "sunny"})
					}
					if _, err := e.Runs.SubmitToolOutputsAndWait(ctx, th.ID, r.ID, apitype.SubmitToolOutputsParams{ToolOutputs: outs}); err != nil {
						return
					}
				}
				if r.Status.Terminal() {
					m, err := e.Messages.Create(ctx, th.ID, userMsg("phase 1"))
					if err != nil {
						return
					}
					say("MSG %s %s %s", th.ID, m.ID, "phase 1")
				}
			}
		}()
		if w == 5 {
			wg.Wait() // the workers run until the parent kills the process
		}
	}
}

// TestCrashRecovery kills a child process working on a database at random
// moments, with runs in every phase, and checks after each kill that the
// reopened engine brings every run to a terminal status, leaves no thread
// locked, and kept every acknowledged message.
func TestCrashRecovery(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("child")
	}
	kills := 24
	if testing.Short() {
		kills = 6
	}
	path := filepath.Join(t.TempDir(), "hearth.db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	ctx := context.Background()
	seen := map[string]int{}
	defer func() {
		t.Logf("phases the kills caught: %v", seen)
		for _, p := range []string{"queued", "in_progress", "requires_action", "in_progress/message_creation", "in_progress/tool_calls"} {
			if seen[p] == 0 && !t.Failed() && !testing.Short() {
				t.Errorf("no kill caught a run in phase %s", p)
			}
		}
	}()
	for i := range kills {
		delay := time.Duration(rng.IntN(120)) * time.Millisecond
		lines := runChildUntilKilled(t, path, delay)
		threads, msgs, runs := map[string]bool{}, map[string][2]string{}, 0
		for _, l := range lines {
			f := strings.Fields(l)
			switch f[0] {
			case "THREAD":
				threads[f[1]] = true
			case "MSG":
				msgs[f[2]] = [2]string{f[1], strings.Join(f[3:], " ")}
			case "RUN":
				runs++
			}
		}
		t.Logf("kill %d after %v: %d threads, %d messages, %d runs acknowledged", i, delay, len(threads), len(msgs), runs)

		// The file is consistent as the kill left it (checked before the
		// engine writes: bbolt's Check is not reliable beside writers).
		st, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatalf("reopen after kill %d: %v", i, err)
		}
		if err := st.Check(); err != nil {
			t.Fatalf("bbolt check after kill %d: %v", i, err)
		}
		phasesSeen(t, st, seen)
		st.Close()
		e, err := engine.Open(ctx, engine.Config{Path: path, Model: crashAnswerer(), Tools: logsTool{"ok"}, NoSync: true,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("reopen after kill %d: %v", i, err)
		}
		finishLiveRuns(t, e)
		for id, m := range msgs {
			got, err := e.Messages.Retrieve(ctx, m[0], id)
			if err != nil || got.Text() != m[1] {
				t.Fatalf("acknowledged message %s: %v %q, want %q", id, err, got.Text(), m[1])
			}
		}
		a := mustAssistant(t, e)
		for th := range threads {
			r, err := e.Runs.CreateAndWait(ctx, th, apitype.RunCreateParams{AssistantID: a.ID})
			if err != nil || r.Status != apitype.RunCompleted {
				t.Fatalf("new run on thread %s after kill %d: %v %+v", th, i, err, r)
			}
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// phasesSeen counts the live runs of a killed process's file by status, and
// in_progress ones by the type of their open step.
func phasesSeen(t *testing.T, st *store.Store, seen map[string]int) {
	err := st.View(context.Background(), func(tx *store.Tx) error {
		return tx.LiveRuns(func(threadID, runID string) error {
			r, err := tx.GetRun(threadID, runID)
			if err != nil {
				return err
			}
			seen[string(r.Status)]++
			if r.Status != apitype.RunInProgress {
				return nil
			}
			steps, err := tx.ListSteps(threadID, runID, apitype.ListParams{Limit: 100})
			if err != nil {
				return err
			}
			for _, s := range steps.Data {
				if s.Status == apitype.StepInProgress {
					seen["in_progress/"+string(s.Type)]++
				}
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// crashAnswerer answers everything at once.
func crashAnswerer() *scripted.Model {
	return &scripted.Model{Fallback: func(*llm.Request) scripted.Turn { return scripted.Turn{Text: "recovered"} }}
}

// finishLiveRuns waits for every run the store lists as live; runs waiting
// for tool outputs get them. At the end no run may be live.
func finishLiveRuns(t *testing.T, e *engine.Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for range 3 {
		live := liveRuns(t, e)
		if len(live) == 0 {
			return
		}
		for _, l := range live {
			r, err := e.Runs.Wait(ctx, l[0], l[1])
			if err != nil {
				t.Fatalf("wait %s: %v", l[1], err)
			}
			if r.Status == apitype.RunRequiresAction {
				var outs []apitype.ToolOutput
				for _, c := range r.RequiredAction.SubmitToolOutputs.ToolCalls {
					outs = append(outs, apitype.ToolOutput{ToolCallID: c.ID, Output: "sunny"})
				}
				if r, err = e.Runs.SubmitToolOutputsAndWait(ctx, l[0], l[1], apitype.SubmitToolOutputsParams{ToolOutputs: outs}); err != nil {
					t.Fatalf("submit %s: %v", l[1], err)
				}
			}
			if !r.Status.Terminal() {
				t.Fatalf("run %s stays %s", r.ID, r.Status)
			}
		}
	}
	t.Fatalf("runs still live: %v", liveRuns(t, e))
}

func liveRuns(t *testing.T, e *engine.Engine) [][2]string {
	var live [][2]string
	err := e.Store().View(context.Background(), func(tx *store.Tx) error {
		return tx.LiveRuns(func(threadID, runID string) error {
			live = append(live, [2]string{threadID, runID})
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return live
}

// runChildUntilKilled starts the child on path, SIGKILLs it delay after it
// is ready, and returns the lines it printed (without the HEARTH prefix).
func runChildUntilKilled(t *testing.T, path string, delay time.Duration) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			l, ok := strings.CutPrefix(sc.Text(), "HEARTH ")
			if !ok {
				continue
			}
			if l == "READY" {
				close(ready)
				continue
			}
			lines = append(lines, l)
		}
	}()
	select {
	case <-ready:
	case <-done:
		cmd.Wait()
		t.Fatalf("child ended before it was ready: %v", lines)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("child not ready in 30s")
	}
	time.Sleep(delay)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	cmd.Wait()
	return lines
}
