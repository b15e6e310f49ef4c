package engine_test

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/filesearch"
	"github.com/hearth-go/hearth/llm/openaichat"
	"github.com/hearth-go/hearth/llm/openaichat/openaichattest"
)

// The engine's run tests against the OpenAI-compatible backend and a fake
// server speaking vLLM's and llama.cpp's wire format.

var flavors = []struct {
	name   string
	flavor openaichattest.Flavor
}{{"vllm", openaichattest.VLLM}, {"llamacpp", openaichattest.LlamaCpp}}

func oaiClient(t testing.TB, url string, mod ...func(*openaichat.Config)) *openaichat.Client {
	t.Helper()
	cfg := openaichat.Config{URL: url, RetryBackoff: 1e6, EmbedModel: "nomic-embed-text"}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := openaichat.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func oaiEngine(t testing.TB, opts []openaichattest.Option, mod ...func(*engine.Config)) (*engine.Engine, *openaichattest.Server) {
	t.Helper()
	fake := openaichattest.NewServer(t, opts...)
	return openEngine(t, oaiClient(t, fake.URL()), mod...), fake
}

func TestOpenAIChatPlainAnswerStreams(t *testing.T) {
	const answer = "Paris is the capital of France."
	for _, f := range flavors {
		t.Run(f.name, func(t *testing.T) {
			e, fake := oaiEngine(t, []openaichattest.Option{openaichattest.WithFlavor(f.flavor), openaichattest.WithReplies(
				openaichattest.Reply{Text: answer, Reasoning: "The user asks about France.", PromptTokens: 23, CompletionTokens: 7})})
			a := ollamaAssistant(t, e, "llama3.2")
			th := mustThread(t, e, "What is the capital of France?")
			evs := collect(t, e.Runs.CreateStream(context.Background(), th.ID, apitype.RunCreateParams{AssistantID: a.ID}), nil)
			got, n := deltaText(evs)
			if want := len(openaichattest.Pieces(answer, 0)); got != answer || n != want {
				t.Fatalf("deltas %q in %d events, want %q in %d", got, n, answer, want)
			}
			last := evs[len(evs)-1]
			if last.Event != apitype.EventRunCompleted {
				t.Fatalf("events %v", names(evs))
			}
			if u := last.Run.Usage; u == nil || u.PromptTokens != 23 || u.CompletionTokens != 7 {
				t.Fatalf("usage %+v, want the include_usage chunk's 23/7", u)
			}
			if m := lastMessage(t, e, th.ID); m.Text() != answer || strings.Contains(m.Text(), "France.The") {
				t.Fatalf("message %q", m.Text())
			}
			r := fake.Requests()[0]
			if !r.Stream || r.StreamOptions == nil || !r.StreamOptions.IncludeUsage || r.Model != "llama3.2" ||
				r.Messages[0].Role != "system" || r.Text(0) != "Be brief." || !strings.Contains(r.Text(1), "capital of France") {
				t.Fatalf("request %s", r.Raw)
			}
		})
	}
}

func TestOpenAIChatFunctionCall(t *testing.T) {
	ctx := context.Background()
	for _, f := range flavors {
		for _, q := range []struct {
			name  string
			quirk openaichattest.Quirk
		}{{"standard", openaichattest.Standard}, {"whole call", openaichattest.WholeCall}, {"index zero", openaichattest.IndexZero},
			{"no ids", openaichattest.NoIDs}, {"object arguments", openaichattest.ObjectArguments}} {
			t.Run(f.name+"/"+q.name, func(t *testing.T) {
				e, fake := oaiEngine(t, []openaichattest.Option{openaichattest.WithFlavor(f.flavor), openaichattest.WithReplies(
					openaichattest.Reply{Quirk: q.quirk, ToolCalls: []openaichattest.ToolCall{
						{Name: "get_weather", Arguments: `{"city":"Paris"}`}, {Name: "get_weather", Arguments: `{"city":"Rome"}`}}},
					openaichattest.Reply{Text: "Paris 22 °C, Rome 25 °C."})})
				a := ollamaAssistant(t, e, "llama3.2", weatherTool)
				th := mustThread(t, e, "Weather in Paris and Rome?")
				var argDeltas int
				evs := collect(t, e.Runs.CreateStream(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID}), func(ev apitype.Event) {
					if ev.Event == apitype.EventRunStepDelta {
						argDeltas++
					}
				})
				last := evs[len(evs)-1]
				if last.Event != apitype.EventRunRequiresAction {
					t.Fatalf("events %v", names(evs))
				}
				if argDeltas == 0 {
					t.Fatalf("no step deltas: the arguments did not stream (%v)", names(evs))
				}
				calls := last.Run.RequiredAction.SubmitToolOutputs.ToolCalls
				if len(calls) != 2 || calls[0].ID == calls[1].ID || !strings.HasPrefix(calls[0].ID, "call_") {
					t.Fatalf("calls %+v", calls)
				}
				for i, city := range []string{"Paris", "Rome"} {
					var args map[string]string
					if err := json.Unmarshal([]byte(calls[i].Function.Arguments), &args); err != nil || args["city"] != city || calls[i].Function.Name != "get_weather" {
						t.Fatalf("call %d: %+v %v", i, calls[i].Function, err)
					}
				}
				r, err := e.Runs.SubmitToolOutputsAndWait(ctx, th.ID, last.Run.ID, apitype.SubmitToolOutputsParams{ToolOutputs: []apitype.ToolOutput{
					{ToolCallID: calls[0].ID, Output: "22"}, {ToolCallID: calls[1].ID, Output: "25"}}})
				if err != nil || r.Status != apitype.RunCompleted {
					t.Fatalf("%v %+v", err, r)
				}
				req := fake.Requests()
				if len(req[0].Tools) != 1 || req[0].Tools[0].Function.Name != "get_weather" || string(req[0].ToolChoice) != `"auto"` {
					t.Fatalf("tools %s", req[0].Raw)
				}
				var replayed, results []string
				for _, m := range req[1].Messages {
					for _, tc := range m.ToolCalls {
						replayed = append(replayed, tc.ID+":"+tc.Function.Arguments)
					}
					if m.Role == "tool" {
						results = append(results, m.ToolCallID)
					}
				}
				if len(replayed) != 2 || len(results) != 2 || results[0] != calls[0].ID || results[1] != calls[1].ID {
					t.Fatalf("second request: calls %v results %v", replayed, results)
				}
			})
		}
	}
}

func TestOpenAIChatCodeInterpreter(t *testing.T) {
	sb := realSandbox(t)
	defer sb.Close()
	ctx := context.Background()
	e, fake := oaiEngine(t, []openaichattest.Option{openaichattest.WithReplies(
		openaichattest.Reply{ToolCalls: []openaichattest.ToolCall{{Name: "code_interpreter", Arguments: `{"code":"print(6*7)"}`}}},
		openaichattest.Reply{Text: "The answer is 42."})}, func(c *engine.Config) { c.CodeInterpreter = sb })
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "llama3.2", Tools: []apitype.Tool{{Type: apitype.ToolTypeCodeInterpreter}}})
	if err != nil {
		t.Fatal(err)
	}
	th := mustThread(t, e, "What is six times seven? Use Python.")
	r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("run %v %+v", err, r)
	}
	var out string
	for _, m := range fake.Requests()[1].Messages {
		if m.Role == "tool" {
			json.Unmarshal(m.Content, &out)
		}
	}
	if !strings.Contains(out, "42") {
		t.Fatalf("tool result sent back %q", out)
	}
	steps, _ := e.Steps.List(ctx, th.ID, r.ID, apitype.StepListParams{ListParams: apitype.ListParams{Order: "asc"}})
	if ci := steps.Data[0].StepDetails.ToolCalls[0].CodeInterpreter; ci == nil || ci.Input != "print(6*7)" || len(ci.Outputs) == 0 || !strings.Contains(ci.Outputs[0].Logs, "42") {
		t.Fatalf("step %+v", steps.Data[0].StepDetails)
	}
}

// TestOpenAIChatFileSearch: the same server embeds the files and the query
// (/v1/embeddings) and answers the run that searches them.
func TestOpenAIChatFileSearch(t *testing.T) {
	ctx := context.Background()
	fake := openaichattest.NewServer(t, openaichattest.WithReplies(
		openaichattest.Reply{ToolCalls: []openaichattest.ToolCall{{Name: "file_search", Arguments: `{"query":"kettle warranty years"}`}}},
		openaichattest.Reply{Text: "Two years【0:0†kettle.md】."}))
	client := oaiClient(t, fake.URL())
	e := openEngine(t, client, func(c *engine.Config) { c.Embedder = filesearch.NewLLMEmbedder(client, "nomic-embed-text") })
	var ids []string
	for name, text := range map[string]string{
		"kettle.md":  "The warranty covers the kettle for two years from the date of purchase.",
		"toaster.md": "The toaster has six browning levels and a defrost button."} {
		f, err := e.Files.Create(ctx, strings.NewReader(text), apitype.FileCreateParams{Filename: name, Purpose: "assistants"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, f.ID)
	}
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{FileIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if vs, err = e.VectorStores.Wait(ctx, vs.ID); err != nil || vs.FileCounts.Completed != 2 {
		t.Fatalf("vector store %v %+v", err, vs)
	}
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "llama3.2", Tools: []apitype.Tool{{Type: apitype.ToolTypeFileSearch}},
		ToolResources: &apitype.ToolResources{FileSearch: &apitype.FileSearchResources{VectorStoreIDs: []string{vs.ID}}}})
	if err != nil {
		t.Fatal(err)
	}
	th := mustThread(t, e, "How long is the kettle covered?")
	r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("run %v %+v", err, r)
	}
	if fake.EmbedCalls() < 2 {
		t.Fatalf("%d embedding calls, want the files' and the query's", fake.EmbedCalls())
	}
	var out string
	for _, m := range fake.Requests()[1].Messages {
		if m.Role == "tool" {
			json.Unmarshal(m.Content, &out)
		}
	}
	if !strings.Contains(out, "two years") {
		t.Fatalf("file search result sent back %q", out)
	}
	msgs, _ := e.Messages.List(ctx, th.ID, apitype.MessageListParams{RunID: r.ID})
	if anns := msgs.Data[0].Content[0].Text.Annotations; len(anns) != 1 || anns[0].FileCitation == nil {
		t.Fatalf("annotations %+v", anns)
	}
}

// TestOpenAIChatTruncation: the window the server reports (vLLM's
// max_model_len, llama.cpp's n_ctx) bounds the prompt the engine sends.
func TestOpenAIChatTruncation(t *testing.T) {
	ctx := context.Background()
	for _, f := range flavors {
		t.Run(f.name, func(t *testing.T) {
			e, fake := oaiEngine(t, []openaichattest.Option{openaichattest.WithFlavor(f.flavor),
				openaichattest.WithModel(openaichattest.Model{Name: "small", ContextLength: 512})})
			a := ollamaAssistant(t, e, "small")
			th := mustThread(t, e, "first")
			for i := range 40 {
				if _, err := e.Messages.Create(ctx, th.ID, apitype.MessageCreateParams{Role: apitype.RoleUser,
					Content: apitype.TextInput(strings.Repeat("filler words for the window ", 8) + string(rune('a'+i%26)))}); err != nil {
					t.Fatal(err)
				}
			}
			r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
			if err != nil || r.Status != apitype.RunCompleted {
				t.Fatalf("run %v %+v", err, r)
			}
			sent := fake.Requests()[0]
			words := 0
			for i := range sent.Messages {
				words += len(strings.Fields(sent.Text(i)))
			}
			if len(sent.Messages) >= 42 || words > 512 {
				t.Fatalf("sent %d messages, %d words: the 512-token window was not applied", len(sent.Messages), words)
			}
		})
	}
}

func TestOpenAIChatIncomplete(t *testing.T) {
	ctx := context.Background()
	e, fake := oaiEngine(t, []openaichattest.Option{openaichattest.WithReplies(
		openaichattest.Reply{Text: "The history of Rome begins", FinishReason: "length", CompletionTokens: 256},
		openaichattest.Reply{Text: "An answer that ran out of", FinishReason: "length"})})
	a := ollamaAssistant(t, e, "llama3.2")
	th := mustThread(t, e, "Tell me the history of Rome.")
	r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID, MaxCompletionTokens: apitype.Ptr(256)})
	if err != nil || r.Status != apitype.RunIncomplete || r.IncompleteDetails == nil || r.IncompleteDetails.Reason != apitype.IncompleteMaxCompletionTokens {
		t.Fatalf("run %v %+v", err, r)
	}
	if r.Usage == nil || r.Usage.CompletionTokens != 256 {
		t.Fatalf("usage %+v", r.Usage)
	}
	if m := lastMessage(t, e, th.ID); m.Status != apitype.MessageIncomplete || m.Text() != "The history of Rome begins" {
		t.Fatalf("message %s %q", m.Status, m.Text())
	}
	if req := fake.Requests()[0]; req.MaxCompletionTokens != 256 || req.MaxTokens != 256 {
		t.Fatalf("max tokens %d/%d, want 256 in both fields", req.MaxCompletionTokens, req.MaxTokens)
	}
	// Without a cap: the reply filled the window.
	th2 := mustThread(t, e, "Write a long essay.")
	r, err = e.Runs.CreateAndWait(ctx, th2.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil || r.Status != apitype.RunIncomplete {
		t.Fatalf("run %v %+v", err, r)
	}
}

// TestOpenAIChatFaults: each fault fails the run with a last_error that says
// what to do, leaves nothing in progress, keeps what streamed before the
// fault, and frees the thread: once the server behaves, the next run on the
// same thread completes.
func TestOpenAIChatFaults(t *testing.T) {
	ctx := context.Background()
	const text = "One two three four five six"
	// The client's own bounds (response headers, stream silence) and the
	// engine's watchdog are each small in the row that tests them and
	// far away otherwise, so the one under test is the one that fires.
	clientBounds := func(c *openaichat.Config) {
		c.HeaderTimeout, c.IdleTimeout = 200*time.Millisecond, 200*time.Millisecond
	}
	engineBounds := func(c *engine.Config) {
		c.ModelFirstByteTimeout, c.ModelIdleTimeout = 200*time.Millisecond, 200*time.Millisecond
	}
	for _, tc := range []struct {
		name   string
		down   bool // no server listens until the first run failed
		fault  openaichattest.Fault
		flavor openaichattest.Flavor
		client func(*openaichat.Config)
		engine func(*engine.Config)
		code   string
		words  []string
		// kept is the reply text the failed run's message keeps; "" when the
		// fault came before any output (no assistant message then).
		kept string
		// textDone: the text was finished before the fault (the model had
		// moved on to a tool call), so its message and step completed and
		// only the tool_calls step failed.
		textDone bool
	}{
		{name: "server down", down: true, code: apitype.ErrorCodeServer,
			words: []string{"cannot reach the model server at http://127.0.0.1:", "after 3 attempts", "is it running?", "--openai-url", "connection refused"}},
		{name: "HTTP 500", fault: openaichattest.ServerError, code: apitype.ErrorCodeServer,
			words: []string{"/v1 failed for model llama3.2", "HTTP 500 after 3 attempts", "illegal memory access"}},
		{name: "HTTP 401", fault: openaichattest.Unauthorized, code: apitype.ErrorCodeServer,
			words: []string{"refused the API key", "HTTP 401", "HEARTH_OPENAI_API_KEY", "--openai-key-file"}},
		{name: "HTTP 404 model", fault: openaichattest.ModelNotFound, code: apitype.ErrorCodeServer,
			words: []string{"model llama3.2 not found at http://", "HTTP 404", "the server has: llama3.2, nomic-embed-text"}},
		{name: "HTTP 400 context length vllm", fault: openaichattest.ContextOverflow, code: apitype.ErrorCodeInvalidPrompt,
			words: []string{"does not fit model llama3.2's context window", "maximum context length is 4096", "shorten the conversation", "--openai-context-window"}},
		{name: "HTTP 400 context length llamacpp", fault: openaichattest.ContextOverflow, flavor: openaichattest.LlamaCpp, code: apitype.ErrorCodeInvalidPrompt,
			words: []string{"does not fit", "exceeds the available context size", "--openai-context-window"}},
		{name: "HTTP 503", fault: openaichattest.Busy, code: apitype.ErrorCodeRateLimit,
			words: []string{"is busy", "HTTP 503 after 3 attempts", "retry later"}},
		{name: "HTTP 429", fault: openaichattest.RateLimited, code: apitype.ErrorCodeRateLimit,
			words: []string{"is busy", "HTTP 429 after 3 attempts", "retry later"}},
		{name: "malformed SSE", fault: openaichattest.MalformedSSE, code: apitype.ErrorCodeServer, kept: "One two three ",
			words: []string{"model llama3.2 at http://", "malformed", "undecodable chunk", "not speaking OpenAI's streaming format", "--openai-url"}},
		{name: "connection closed mid-reply", fault: openaichattest.CutStream, code: apitype.ErrorCodeServer, kept: "One two three ",
			words: []string{"model llama3.2 at http://", "stopped before the model finished", "[DONE]", "closed the connection mid-reply", "check its log"}},
		{name: "connection closed mid tool-call arguments", fault: openaichattest.CutInToolCall, code: apitype.ErrorCodeServer, kept: text, textDone: true,
			words: []string{"model llama3.2 at http://", "stopped before the model finished", "check its log"}},
		{name: "connection closed before usage", fault: openaichattest.CutBeforeUsage, code: apitype.ErrorCodeServer, kept: text, textDone: true,
			words: []string{"stopped before the model finished", "check its log"}},
		{name: "hangs before headers (client bound)", fault: openaichattest.Hang, client: clientBounds, code: apitype.ErrorCodeServer,
			words: []string{"http://127.0.0.1:", "did not answer in time", "no response headers within 200ms", "is the server running", "--model-first-byte-timeout"}},
		{name: "hangs mid-stream (client bound)", fault: openaichattest.HangMidStream, client: clientBounds, code: apitype.ErrorCodeServer, kept: "One two three ",
			words: []string{"model llama3.2 at http://", "no data from the server within the idle timeout (200ms)", "--openai-idle-timeout"}},
		{name: "hangs before first byte (engine watchdog)", fault: openaichattest.Hang, engine: engineBounds, code: apitype.ErrorCodeServer,
			words: []string{"the model backend at http://127.0.0.1:", "(model llama3.2) sent nothing for 200ms", "first-byte timeout", "--model-first-byte-timeout", "is it overloaded or hung?"}},
		{name: "hangs mid-stream (engine watchdog)", fault: openaichattest.HangMidStream, engine: engineBounds, code: apitype.ErrorCodeServer, kept: "One two three ",
			words: []string{"the model backend at http://127.0.0.1:", "(model llama3.2) stopped sending for 200ms", "idle timeout", "--model-idle-timeout", "is it overloaded or hung?"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var healthy atomic.Bool
			opts := []openaichattest.Option{openaichattest.WithFlavor(tc.flavor), openaichattest.WithHandler(func(*openaichattest.Request) openaichattest.Reply {
				if healthy.Load() {
					return openaichattest.Reply{Text: "Back to normal."}
				}
				return openaichattest.Reply{Text: text, Fault: tc.fault,
					ToolCalls: []openaichattest.ToolCall{{Name: "get_weather", Arguments: `{"city":"Paris","unit":"celsius"}`}}}
			})}
			var url string
			if tc.down {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				url = "http://" + l.Addr().String() + "/v1"
				l.Close() // nothing listens there until the server comes up below
			} else {
				url = openaichattest.NewServer(t, opts...).URL()
			}
			cmods := []func(*openaichat.Config){func(c *openaichat.Config) { c.Sleep = func(context.Context, time.Duration) error { return nil } }}
			if tc.client != nil {
				cmods = append(cmods, tc.client)
			}
			var emods []func(*engine.Config)
			if tc.engine != nil {
				emods = append(emods, tc.engine)
			}
			e := openEngine(t, oaiClient(t, url, cmods...), emods...)
			a := ollamaAssistant(t, e, "llama3.2", weatherTool)
			th := mustThread(t, e, "Hello?")
			r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
			if err != nil {
				t.Fatal(err)
			}
			wantFailed(t, r, tc.code, tc.words...)
			if strings.Contains(r.LastError.Message, "llm:") {
				t.Errorf("last_error.message %q shows an llm sentinel", r.LastError.Message)
			}
			// Nothing of the run is left in progress; what streamed is kept.
			steps := stepsOf(t, e, th.ID, r.ID)
			failed := 0
			for _, st := range steps {
				if tc.textDone && st.Type == apitype.StepMessageCreation && st.Status == apitype.StepCompleted {
					continue
				}
				if st.Status != apitype.StepFailed || st.LastError == nil || st.LastError.Message != r.LastError.Message {
					t.Errorf("step %s %s %+v, want failed with the run's last_error", st.Type, st.Status, st.LastError)
				}
				failed++
			}
			if tc.kept != "" && failed != 1 {
				t.Errorf("%d failed steps of %d, want the one the fault cut", failed, len(steps))
			}
			m := lastMessage(t, e, th.ID)
			switch {
			case tc.kept == "":
				if m.Role != apitype.RoleUser || len(steps) != 0 {
					t.Errorf("a fault before any output left an assistant message %s %q or %d steps", m.Status, m.Text(), len(steps))
				}
			case tc.textDone:
				if m.Role != apitype.RoleAssistant || m.Status != apitype.MessageCompleted || m.Text() != tc.kept {
					t.Errorf("message %s %s %q, want the finished text %q completed", m.Role, m.Status, m.Text(), tc.kept)
				}
			case m.Role != apitype.RoleAssistant || m.Status != apitype.MessageIncomplete || m.IncompleteDetails == nil ||
				m.IncompleteDetails.Reason != apitype.IncompleteRunFailed || m.Text() != tc.kept:
				t.Errorf("message %s %s %+v %q, want incomplete (run_failed) keeping %q", m.Role, m.Status, m.IncompleteDetails, m.Text(), tc.kept)
			}

			// The server recovers (or comes up): the thread takes a new run
			// at once and it completes.
			healthy.Store(true)
			if tc.down {
				l, err := net.Listen("tcp", strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/v1"))
				if err != nil {
					t.Skipf("the down server's port was taken meanwhile: %v", err)
				}
				openaichattest.NewServer(t, append(opts, openaichattest.WithListener(l))...)
			}
			r2, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
			if err != nil {
				t.Fatalf("a new run on the thread after the failure: %v", err)
			}
			if r2.Status != apitype.RunCompleted || lastMessage(t, e, th.ID).Text() != "Back to normal." {
				t.Fatalf("next run on the thread: %s %+v", r2.Status, r2.LastError)
			}
		})
	}
}

// TestOpenAIChatRetryAfter: 429 and 503 are retried after the server's
// Retry-After, capped by MaxRetryAfter, else after the doubling backoff; a
// run cancelled during the wait ends at once. The waits are observed
// through Config.Sleep, not taken.
func TestOpenAIChatRetryAfter(t *testing.T) {
	ctx := context.Background()
	type slept struct {
		d   time.Duration
		ctx context.Context
	}
	sleeper := func(ch chan slept) func(*openaichat.Config) {
		return func(c *openaichat.Config) {
			c.Sleep = func(ctx context.Context, d time.Duration) error {
				ch <- slept{d, ctx}
				return nil
			}
		}
	}
	drain := func(ch chan slept) []time.Duration {
		var out []time.Duration
		for len(ch) > 0 {
			out = append(out, (<-ch).d)
		}
		return out
	}

	t.Run("honoured and capped, then success", func(t *testing.T) {
		fake := openaichattest.NewServer(t, openaichattest.WithReplies(
			openaichattest.Reply{Fault: openaichattest.RateLimited, RetryAfter: 7},
			openaichattest.Reply{Fault: openaichattest.Busy, RetryAfter: 120},
			openaichattest.Reply{Text: "Served at last."}))
		ch := make(chan slept, 8)
		e := openEngine(t, oaiClient(t, fake.URL(), sleeper(ch)))
		a := ollamaAssistant(t, e, "llama3.2")
		th := mustThread(t, e, "Hello?")
		r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil || r.Status != apitype.RunCompleted || lastMessage(t, e, th.ID).Text() != "Served at last." {
			t.Fatalf("%v %+v", err, r)
		}
		if got := drain(ch); len(got) != 2 || got[0] != 7*time.Second || got[1] != openaichat.DefaultMaxRetryAfter {
			t.Fatalf("waited %v, want [7s (Retry-After) %v (120s capped)]", got, openaichat.DefaultMaxRetryAfter)
		}
	})

	t.Run("without Retry-After: backoff, then failed", func(t *testing.T) {
		fake := openaichattest.NewServer(t, openaichattest.WithHandler(func(*openaichattest.Request) openaichattest.Reply {
			return openaichattest.Reply{Fault: openaichattest.RateLimited}
		}))
		ch := make(chan slept, 8)
		e := openEngine(t, oaiClient(t, fake.URL(), sleeper(ch), func(c *openaichat.Config) { c.RetryBackoff = time.Second }))
		a := ollamaAssistant(t, e, "llama3.2")
		r, err := e.Runs.CreateAndWait(ctx, mustThread(t, e, "Hello?").ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		wantFailed(t, r, apitype.ErrorCodeRateLimit, "HTTP 429 after 3 attempts", "retry later")
		if got := drain(ch); len(got) != 2 || got[0] != time.Second || got[1] != 2*time.Second {
			t.Fatalf("waited %v, want [1s 2s]", got)
		}
		if n := len(fake.Requests()); n != 3 {
			t.Fatalf("%d requests, want 1 + 2 retries", n)
		}
	})

	t.Run("cancelled while waiting", func(t *testing.T) {
		fake := openaichattest.NewServer(t, openaichattest.WithHandler(func(*openaichattest.Request) openaichattest.Reply {
			return openaichattest.Reply{Fault: openaichattest.Busy, RetryAfter: 20}
		}))
		waiting := make(chan time.Duration, 1)
		e := openEngine(t, oaiClient(t, fake.URL(), func(c *openaichat.Config) {
			c.Sleep = func(ctx context.Context, d time.Duration) error {
				waiting <- d
				<-ctx.Done() // the wait ends only when the call is abandoned
				return ctx.Err()
			}
		}))
		a := ollamaAssistant(t, e, "llama3.2")
		th := mustThread(t, e, "Hello?")
		r, err := e.Runs.Create(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		if d := <-waiting; d != 20*time.Second {
			t.Fatalf("waiting %v, want the server's 20s", d)
		}
		if _, err := e.Runs.Cancel(ctx, th.ID, r.ID); err != nil {
			t.Fatal(err)
		}
		if r, err = e.Runs.Wait(ctx, th.ID, r.ID); err != nil || r.Status != apitype.RunCancelled {
			t.Fatalf("%v %+v", err, r)
		}
		if n := len(fake.Requests()); n != 1 {
			t.Fatalf("%d requests: a cancelled wait is not followed by a retry", n)
		}
	})
}
