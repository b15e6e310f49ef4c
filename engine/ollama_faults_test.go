package engine_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/ollama"
	"github.com/hearth-go/hearth/llm/ollama/ollamatest"
	"github.com/hearth-go/hearth/llm/scripted"
)

// TestOllamaFaults runs one run per fault real Ollama produces and checks
// that each fails with a last_error that says what to do.
func TestOllamaFaults(t *testing.T) {
	ctx := context.Background()
	run := func(t *testing.T, e *engine.Engine, model string) *apitype.Run {
		t.Helper()
		a := ollamaAssistant(t, e, model)
		r, err := e.Runs.CreateAndWait(ctx, mustThread(t, e, "Hello?").ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	always := func(f ollamatest.Fault) ollamatest.Option {
		return ollamatest.WithHandler(func(*api.ChatRequest) ollamatest.Reply { return ollamatest.Reply{Fault: f} })
	}

	t.Run("unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		url := "http://" + l.Addr().String()
		l.Close() // nothing listens there now
		r := run(t, ollamaEngineAt(t, url), "llama3.2")
		wantFailed(t, r, apitype.ErrorCodeServer, "cannot reach Ollama at "+url, "ollama serve", "OLLAMA_HOST")
	})

	t.Run("model not found", func(t *testing.T) {
		e, fake := ollamaEngine(t, nil)
		r := run(t, e, "mistral")
		wantFailed(t, r, apitype.ErrorCodeServer, "mistral not found", "`ollama pull mistral`")
		if n := len(fake.Requests()); n != 1 {
			t.Fatalf("%d chat requests: a missing model is not worth retrying", n)
		}
	})

	t.Run("model not found fault", func(t *testing.T) {
		// /api/show knows the model but the chat says 404 (removed since).
		e, _ := ollamaEngine(t, []ollamatest.Option{always(ollamatest.ModelNotFound)})
		wantFailed(t, run(t, e, "llama3.2"), apitype.ErrorCodeServer, "llama3.2 not found", "`ollama pull llama3.2`")
	})

	t.Run("HTTP 500 retried then failed", func(t *testing.T) {
		e, fake := ollamaEngine(t, []ollamatest.Option{always(ollamatest.ServerError)})
		r := run(t, e, "llama3.2")
		wantFailed(t, r, apitype.ErrorCodeServer, fmt.Sprintf("HTTP 500 after %d attempts", 1+ollama.DefaultRetries), "llama runner process has terminated")
		if n := len(fake.Requests()); n != 1+ollama.DefaultRetries {
			t.Fatalf("%d chat requests, want 1 + %d retries", n, ollama.DefaultRetries)
		}
		// The status is said once, not again by the wrapped api.StatusError.
		if msg := r.LastError.Message; strings.Count(msg, "HTTP 500") != 1 || strings.Contains(msg, "Internal Server Error") {
			t.Errorf("last_error.message repeats the status: %q", msg)
		}
	})

	t.Run("HTTP 500 then success", func(t *testing.T) {
		e, fake := ollamaEngine(t, []ollamatest.Option{ollamatest.WithReplies(
			ollamatest.Reply{Fault: ollamatest.ServerError}, ollamatest.Reply{Text: "Recovered."})})
		r := run(t, e, "llama3.2")
		if r.Status != apitype.RunCompleted || lastMessage(t, e, r.ThreadID).Text() != "Recovered." {
			t.Fatalf("run %s %+v", r.Status, r.LastError)
		}
		if n := len(fake.Requests()); n != 2 {
			t.Fatalf("%d chat requests", n)
		}
	})

	t.Run("stream cut before any output is retried", func(t *testing.T) {
		e, fake := ollamaEngine(t, []ollamatest.Option{ollamatest.WithReplies(
			ollamatest.Reply{Fault: ollamatest.CutStream}, ollamatest.Reply{Text: "Second try."})})
		r := run(t, e, "llama3.2")
		if r.Status != apitype.RunCompleted || lastMessage(t, e, r.ThreadID).Text() != "Second try." {
			t.Fatalf("run %s %+v", r.Status, r.LastError)
		}
		if n := len(fake.Requests()); n != 2 {
			t.Fatalf("%d chat requests", n)
		}
	})

	for _, tc := range []struct {
		name  string
		fault ollamatest.Fault
		words []string
	}{
		{"stream cut mid-reply", ollamatest.CutStream, []string{"llama3.2", "stopped before the model finished"}},
		{"error mid-reply", ollamatest.ErrorMidStream, []string{"llama3.2", "cut", "an error was encountered while running the model"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const text = "One two three four five six"
			e, fake := ollamaEngine(t, []ollamatest.Option{ollamatest.WithReplies(ollamatest.Reply{Text: text, Fault: tc.fault})})
			a := ollamaAssistant(t, e, "llama3.2")
			th := mustThread(t, e, "Count to six.")
			evs := collect(t, e.Runs.CreateStream(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID}), nil)
			last := evs[len(evs)-1]
			if last.Event != apitype.EventRunFailed {
				t.Fatalf("events %v", names(evs))
			}
			wantFailed(t, last.Run, apitype.ErrorCodeServer, tc.words...)
			// Half the pieces streamed before the cut; they are kept.
			const kept = "One two three "
			if got, _ := deltaText(evs); got != kept {
				t.Fatalf("streamed %q", got)
			}
			m := lastMessage(t, e, th.ID)
			if m.Status != apitype.MessageIncomplete || m.IncompleteDetails == nil || m.IncompleteDetails.Reason != apitype.IncompleteRunFailed || m.Text() != kept {
				t.Fatalf("message %s %+v %q", m.Status, m.IncompleteDetails, m.Text())
			}
			steps := stepsOf(t, e, th.ID, last.Run.ID)
			if len(steps) != 1 || steps[0].Status != apitype.StepFailed || steps[0].LastError == nil || steps[0].LastError.Message != last.Run.LastError.Message {
				t.Fatalf("steps %+v", steps)
			}
			if n := len(fake.Requests()); n != 1 {
				t.Fatalf("%d chat requests: a reply that reached the user is not retried", n)
			}
		})
	}

	t.Run("context overflow found by the engine", func(t *testing.T) {
		// A newest message longer than the whole window: the engine counts
		// it and fails the run without calling Ollama.
		e, fake := ollamaEngine(t, nil, func(c *engine.Config) { c.ContextWindow = 64 })
		a := ollamaAssistant(t, e, "llama3.2")
		th := mustThread(t, e, strings.Repeat("word ", 200))
		r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		wantFailed(t, r, apitype.ErrorCodeInvalidPrompt, "does not fit", "context window", "shorten the newest message")
		if n := len(fake.Requests()); n != 0 {
			t.Fatalf("%d chat requests", n)
		}
	})

	t.Run("context overflow reported by Ollama", func(t *testing.T) {
		// Ollama's count can exceed the engine's estimate (another
		// tokenizer, a template): the runner refuses with truncate=false.
		e, fake := ollamaEngine(t, []ollamatest.Option{always(ollamatest.ContextOverflow)})
		wantFailed(t, run(t, e, "llama3.2"), apitype.ErrorCodeInvalidPrompt, "does not fit", "context window", "shorten the conversation")
		if n := len(fake.Requests()); n != 1 {
			t.Fatalf("%d chat requests: an overflow is not worth retrying", n)
		}
	})

	t.Run("busy", func(t *testing.T) {
		e, fake := ollamaEngine(t, []ollamatest.Option{always(ollamatest.Busy)})
		wantFailed(t, run(t, e, "llama3.2"), apitype.ErrorCodeRateLimit, "busy", "retry later")
		if n := len(fake.Requests()); n != 1+ollama.DefaultRetries {
			t.Fatalf("%d chat requests, want 1 + %d retries", n, ollama.DefaultRetries)
		}
	})
}

// waitForRequests waits until the fake has received n chat requests.
func waitForFakeRequests(t testing.TB, fake *ollamatest.Server, n int) {
	t.Helper()
	if err := fake.WaitRequests(t.Context(), n); err != nil {
		t.Fatal(err)
	}
}

// TestOllamaSlowBackend: a backend that does not answer ends the run when it
// expires or is cancelled, and stops the call to Ollama.
func TestOllamaSlowBackend(t *testing.T) {
	ctx := context.Background()
	t.Run("expires mid-reply", func(t *testing.T) {
		clock := newFakeClock()
		// The second piece comes only after a minute: the run expires first.
		e, _ := ollamaEngine(t, []ollamatest.Option{ollamatest.WithReplies(
			ollamatest.Reply{Text: "Let me see. Long answer follows", ChunkDelay: time.Minute})},
			func(c *engine.Config) {
				c.Clock, c.RunTimeout, c.ExpiryInterval = clock.Now, 10*time.Second, 2*time.Millisecond
			})
		a := ollamaAssistant(t, e, "llama3.2")
		th := mustThread(t, e, "Take your time.")
		evs := collect(t, e.Runs.CreateStream(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID}), func(ev apitype.Event) {
			if ev.Event == apitype.EventMessageDelta {
				clock.Advance(11 * time.Second)
			}
		})
		last := evs[len(evs)-1]
		if last.Event != apitype.EventRunExpired || last.Run.Status != apitype.RunExpired {
			t.Fatalf("events %v", names(evs))
		}
		m := lastMessage(t, e, th.ID)
		if m.Status != apitype.MessageIncomplete || m.IncompleteDetails.Reason != apitype.IncompleteRunExpired || m.Text() != "Let " {
			t.Fatalf("message %s %+v %q", m.Status, m.IncompleteDetails, m.Text())
		}
	})

	t.Run("expires before the first token", func(t *testing.T) {
		clock := newFakeClock()
		e, fake := ollamaEngine(t, []ollamatest.Option{ollamatest.WithReplies(ollamatest.Reply{Fault: ollamatest.Hang})},
			func(c *engine.Config) {
				c.Clock, c.RunTimeout, c.ExpiryInterval = clock.Now, 10*time.Second, 2*time.Millisecond
			})
		a := ollamaAssistant(t, e, "llama3.2")
		th := mustThread(t, e, "Hello?")
		r, err := e.Runs.Create(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		waitForFakeRequests(t, fake, 1)
		clock.Advance(11 * time.Second)
		r, err = e.Runs.Wait(ctx, th.ID, r.ID)
		if err != nil || r.Status != apitype.RunExpired {
			t.Fatalf("%v %+v", err, r)
		}
	})

	t.Run("cancel mid-reply", func(t *testing.T) {
		e, fake := ollamaEngine(t, []ollamatest.Option{ollamatest.WithReplies(
			ollamatest.Reply{Text: "Let me see. Long answer follows", ChunkDelay: time.Minute})})
		a := ollamaAssistant(t, e, "llama3.2")
		th := mustThread(t, e, "Take your time.")
		runID, cancelled := "", false
		evs := collect(t, e.Runs.CreateStream(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID}), func(ev apitype.Event) {
			if ev.Event == apitype.EventRunCreated {
				runID = ev.Run.ID
			}
			if ev.Event == apitype.EventMessageDelta && !cancelled {
				cancelled = true
				if _, err := e.Runs.Cancel(ctx, th.ID, runID); err != nil {
					t.Error(err)
				}
			}
		})
		if last := evs[len(evs)-1]; last.Event != apitype.EventRunCancelled {
			t.Fatalf("events %v", names(evs))
		}
		m := lastMessage(t, e, th.ID)
		if m.Status != apitype.MessageIncomplete || m.IncompleteDetails.Reason != apitype.IncompleteRunCancelled || m.Text() != "Let " {
			t.Fatalf("message %s %+v %q", m.Status, m.IncompleteDetails, m.Text())
		}
		if n := len(fake.Requests()); n != 1 {
			t.Fatalf("%d chat requests", n)
		}
	})

	t.Run("close while waiting, resume on reopen", func(t *testing.T) {
		// Close abandons the hanging call and leaves the run in_progress;
		// the next Open asks Ollama again and finishes it.
		fake := ollamatest.NewServer(t, ollamatest.WithReplies(ollamatest.Reply{Fault: ollamatest.Hang}, ollamatest.Reply{Text: "Back again."}))
		t.Cleanup(func() { checkWire(t, fake.Requests()) })
		path := filepath.Join(t.TempDir(), "hearth.db")
		client, err := ollama.New(ollama.Config{URL: fake.URL(), RetryBackoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		e, err := engine.Open(ctx, engine.Config{Path: path, Model: client, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		a := ollamaAssistant(t, e, "llama3.2")
		th := mustThread(t, e, "Hello?")
		r, err := e.Runs.Create(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		waitForFakeRequests(t, fake, 1)
		// The fake hangs until the client gives up: a Close that waited the
		// call out would never return.
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		e, err = engine.Open(ctx, engine.Config{Path: path, Model: client, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		r, err = e.Runs.Wait(ctx, th.ID, r.ID)
		if err != nil || r.Status != apitype.RunCompleted || lastMessage(t, e, th.ID).Text() != "Back again." {
			t.Fatalf("%v %+v", err, r)
		}
		if n := len(fake.Requests()); n != 2 {
			t.Fatalf("%d chat requests", n)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		e, fake := ollamaEngine(t, []ollamatest.Option{ollamatest.WithReplies(ollamatest.Reply{Fault: ollamatest.Hang})})
		a := ollamaAssistant(t, e, "llama3.2")
		th := mustThread(t, e, "Hello?")
		r, err := e.Runs.Create(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		waitForFakeRequests(t, fake, 1)
		if _, err := e.Runs.Cancel(ctx, th.ID, r.ID); err != nil {
			t.Fatal(err)
		}
		r, err = e.Runs.Wait(ctx, th.ID, r.ID)
		if err != nil || r.Status != apitype.RunCancelled || r.CancelledAt == nil {
			t.Fatalf("%v %+v", err, r)
		}
		// The hanging HTTP call was abandoned, not waited out: the fake
		// never ends it, so Wait would not have returned.
		if n := len(fake.Requests()); n != 1 {
			t.Fatalf("%d chat requests: a cancelled call is not retried", n)
		}
	})
}

// TestBackendErrorToLastError: whatever the backend, an error wrapping an llm
// sentinel becomes a last_error with the sentinel's code and the backend's
// explanation, without the sentinel's own words.
func TestBackendErrorToLastError(t *testing.T) {
	for _, tc := range []struct {
		sentinel error
		code     string
	}{
		{llm.ErrUnreachable, apitype.ErrorCodeServer},
		{llm.ErrModelNotFound, apitype.ErrorCodeServer},
		{llm.ErrStreamCut, apitype.ErrorCodeServer},
		{llm.ErrRateLimited, apitype.ErrorCodeRateLimit},
		{llm.ErrContextOverflow, apitype.ErrorCodeInvalidPrompt},
		{llm.ErrNoVision, apitype.ErrorCodeInvalidPrompt},
	} {
		t.Run(tc.sentinel.Error(), func(t *testing.T) {
			err := fmt.Errorf("mybackend: what went wrong and what to do: %w (detail)", tc.sentinel)
			e := openEngine(t, scripted.New(scripted.Turn{Text: "Half an ", Err: err}))
			a, th := mustAssistant(t, e), mustThread(t, e, "Hello?")
			r, rerr := e.Runs.CreateAndWait(context.Background(), th.ID, apitype.RunCreateParams{AssistantID: a.ID})
			if rerr != nil {
				t.Fatal(rerr)
			}
			wantFailed(t, r, tc.code, "mybackend: what went wrong and what to do (detail)")
			if strings.Contains(r.LastError.Message, "llm:") {
				t.Fatalf("last_error.message %q shows the sentinel", r.LastError.Message)
			}
		})
	}
}
