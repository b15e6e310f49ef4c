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

const (
	crashEnv = "HEARTH_ENGINE_CRASH_DB"
	// crashHeldEnv makes the child hold one run in each phase and say HELD,
	// so the kill that follows finds every phase for certain.
	crashHeldEnv = "HEARTH_ENGINE_CRASH_HELD"
)

// crashRunPhases are the five places a kill can find a live run.
var crashRunPhases = []string{"queued", "in_progress", "requires_action", "in_progress/message_creation", "in_progress/tool_calls"}

// heldTool is a code_interpreter that says it has started and then runs
// until its context ends.
type heldTool struct{ entered chan struct{} }

func (h heldTool) RunTool(ctx context.Context, _ *engine.ToolCall) (*engine.ToolResult, error) {
	h.entered <- struct{}{}
	<-ctx.Done()
	return nil, ctx.Err()
}

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
	if os.Getenv(crashHeldEnv) != "" {
		crashChildHeld(path)
		return
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

// crashChildHeld brings one run to each of the five phases and holds it
// there (a model turn or a tool that never returns), then says HELD and
// waits to be killed. Each phase is reached as its event says it is
// durable: events go out after their commit.
func crashChildHeld(path string) {
	never := scripted.NewHold() // released by nobody: only the kill ends these runs
	tool := heldTool{entered: make(chan struct{}, 1)}
	model := &scripted.Model{Fallback: func(r *llm.Request) scripted.Turn {
		switch scripted.LastUser(r) {
		case "held action":
			return scripted.Turn{Calls: []scripted.Call{{Name: "get_weather", Arguments: `{"city":"Rome"}`}}}
		case "held tool":
			return scripted.Turn{Calls: []scripted.Call{{Name: "code_interpreter", Arguments: `{"code":"print(1)"}`}}}
		case "held text":
			return scripted.Turn{Text: "stuck", Hold: never}
		}
		return scripted.Turn{Hold: never}
	}}
	ctx := context.Background()
	fail := func(err error) {
		fmt.Println("HEARTH ERR", err)
		os.Exit(2)
	}
	if _, err := truncate.Default(); err != nil {
		fail(err)
	}
	// Three workers, all held below: the fourth run stays queued.
	e, err := engine.Open(ctx, engine.Config{Path: path, Model: model, Tools: tool, NoSync: true, MaxConcurrentRuns: 3})
	if err != nil {
		fail(err)
	}
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "m", Tools: []apitype.Tool{{Type: apitype.ToolTypeCodeInterpreter}, weatherTool}})
	if err != nil {
		fail(err)
	}
	thread := func(text string) string {
		th, err := e.Threads.Create(ctx, apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{userMsg(text)}})
		if err != nil {
			fail(err)
		}
		msgs, err := e.Messages.List(ctx, th.ID, apitype.MessageListParams{})
		if err != nil {
			fail(err)
		}
		fmt.Printf("HEARTH THREAD %s\nHEARTH MSG %s %s %s\n", th.ID, th.ID, msgs.Data[0].ID, text)
		return th.ID
	}
	fmt.Println("HEARTH READY")
	// requires_action first: waiting for outputs holds no worker.
	th := thread("held action")
	if r, err := e.Runs.CreateAndWait(ctx, th, apitype.RunCreateParams{AssistantID: a.ID}); err != nil || r.Status != apitype.RunRequiresAction {
		fail(fmt.Errorf("held action: %v %+v", err, r))
	}
	reached := make(chan error, 3)
	for text, until := range map[string]func(apitype.Event) bool{
		"held model": func(ev apitype.Event) bool { return ev.Event == apitype.EventRunInProgress },
		"held text": func(ev apitype.Event) bool {
			return ev.Event == apitype.EventRunStepCreated && ev.Step.Type == apitype.StepMessageCreation
		},
		"held tool": func(ev apitype.Event) bool {
			return ev.Event == apitype.EventRunStepCreated && ev.Step.Type == apitype.StepToolCalls
		},
	} {
		th := thread(text)
		go func() {
			for ev, err := range e.Runs.CreateStream(ctx, th, apitype.RunCreateParams{AssistantID: a.ID}) {
				if err != nil {
					reached <- fmt.Errorf("%s: %w", text, err)
					return
				}
				if until(ev) {
					reached <- nil
					// Drain the rest, so the stream never ends the run.
				}
			}
			reached <- fmt.Errorf("%s: the stream ended", text)
		}()
	}
	for range 3 {
		if err := <-reached; err != nil {
			fail(err)
		}
	}
	<-tool.entered
	th = thread("held queued")
	if r, err := e.Runs.Create(ctx, th, apitype.RunCreateParams{AssistantID: a.ID}); err != nil || r.Status != apitype.RunQueued {
		fail(fmt.Errorf("held queued: %v %+v", err, r))
	}
	fmt.Println("HEARTH HELD")
	select {} // until the kill
}

// TestCrashRecovery kills a child process working on a database and checks
// after each kill that the reopened engine brings every run to a terminal
// status, leaves no thread locked, and kept every acknowledged message.
// Every other kill lands when the child holds a run in each of the five
// phases (and the file must show all five); the others land at a random
// moment of busy random work, from a seed the log gives
// (HEARTH_CRASH_SEED=<seed> replays it).
func TestCrashRecovery(t *testing.T) {
	bboltOnly(t) // crashes on Postgres: the chaos test
	if os.Getenv(crashEnv) != "" {
		t.Skip("child")
	}
	kills := 24
	if testing.Short() {
		kills = 6
	}
	path := filepath.Join(t.TempDir(), "hearth.db")
	rng := crashRNG(t, 7)
	ctx := context.Background()
	seen := map[string]int{}
	defer func() { t.Logf("phases the random kills caught: %v", seen) }()
	for i := range kills {
		held := i%2 == 0
		delay := time.Duration(rng.IntN(120)) * time.Millisecond
		lines := runChildUntilKilled(t, path, held, delay)
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
		if held {
			t.Logf("kill %d with a run held in each phase: %d threads, %d messages", i, len(threads), len(msgs))
		} else {
			t.Logf("kill %d after %v: %d threads, %d messages, %d runs acknowledged", i, delay, len(threads), len(msgs), runs)
		}

		// The file is consistent as the kill left it (checked before the
		// engine writes: bbolt's Check is not reliable beside writers).
		st, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatalf("reopen after kill %d: %v", i, err)
		}
		if err := st.Check(); err != nil {
			t.Fatalf("bbolt check after kill %d: %v", i, err)
		}
		if held {
			caught := map[string]int{}
			phasesSeen(t, st, caught)
			for _, p := range crashRunPhases {
				if caught[p] == 0 {
					t.Fatalf("kill %d: the file holds no run in phase %s (%v)", i, p, caught)
				}
			}
		} else {
			phasesSeen(t, st, seen)
		}
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
	err := st.View(context.Background(), func(tx store.Tx) error {
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
	err := e.Store().View(context.Background(), func(tx store.Tx) error {
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

// crashRNG is a crash test's source of kill moments: seeded from the
// clock, or from HEARTH_CRASH_SEED to replay a failure; the seed is logged.
// stream tells the tests' sequences apart.
func crashRNG(t *testing.T, stream uint64) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("HEARTH_CRASH_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("HEARTH_CRASH_SEED: %v", err)
		}
	}
	t.Logf("seed %d (HEARTH_CRASH_SEED=%d replays the random kills)", seed, seed)
	return rand.New(rand.NewPCG(seed, stream))
}

// runChildUntilKilled starts the crash child of TestCrashRecovery on path
// and SIGKILLs it (see killChild).
func runChildUntilKilled(t *testing.T, path string, held bool, delay time.Duration) []string {
	t.Helper()
	return killChild(t, "TestCrashChild", crashEnv, crashHeldEnv, path, held, delay)
}

// killChild starts the test binary's child test on path (pathEnv=path,
// heldEnv=1 when held) and SIGKILLs it: once it says HELD (held), or
// delay after it says READY. It returns the lines the child printed
// without the HEARTH prefix, and fails t on a child's ERR line.
func killChild(t *testing.T, child, pathEnv, heldEnv, path string, held bool, delay time.Duration) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+child+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), pathEnv+"="+path)
	if held {
		cmd.Env = append(cmd.Env, heldEnv+"=1")
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	ready, holding := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			l, ok := strings.CutPrefix(sc.Text(), "HEARTH ")
			if !ok {
				continue
			}
			switch l {
			case "READY":
				close(ready)
				continue
			case "HELD":
				close(holding)
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
	}
	if held {
		select {
		case <-holding:
		case <-done:
			cmd.Wait()
			t.Fatalf("child ended before it held what it holds: %v", lines)
		}
	} else {
		select {
		case <-time.After(delay): // the random kill moment, not a synchronisation
		case <-done: // it failed: its ERR line says why
		}
	}
	cmd.Process.Signal(syscall.SIGKILL) // an error: it had ended already
	<-done
	cmd.Wait()
	for _, l := range lines {
		if strings.HasPrefix(l, "ERR") {
			t.Fatalf("child: %s", l)
		}
	}
	return lines
}
