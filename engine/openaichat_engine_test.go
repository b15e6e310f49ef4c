package engine_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/codeinterp/wasi"
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
	if testing.Short() {
		t.Skip("starts CPython")
	}
	sb, err := wasi.New(wasi.Config{CacheDir: filepath.Join(os.TempDir(), "hearth-test-codeinterp-cache")})
	if err != nil {
		t.Fatal(err)
	}
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
// what to do, and the thread takes a new run at once.
func TestOpenAIChatFaults(t *testing.T) {
	ctx := context.Background()
	always := func(f openaichattest.Fault) openaichattest.Option {
		return openaichattest.WithHandler(func(*openaichattest.Request) openaichattest.Reply {
			return openaichattest.Reply{Text: "One two three four five six", Fault: f,
				ToolCalls: []openaichattest.ToolCall{{Name: "get_weather", Arguments: `{"city":"Paris","unit":"celsius"}`}}}
		})
	}
	down := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		url := "http://" + l.Addr().String() + "/v1"
		l.Close()
		return url
	}()
	fast := func(c *openaichat.Config) { c.HeaderTimeout, c.IdleTimeout = 200e6, 200e6 }
	for _, tc := range []struct {
		name  string
		url   string // "" for the fake
		fault openaichattest.Fault
		code  string
		words []string
	}{
		{"server down", down, 0, apitype.ErrorCodeServer, []string{"cannot reach the model server at " + down, "--openai-url"}},
		{"HTTP 500", "", openaichattest.ServerError, apitype.ErrorCodeServer, []string{"HTTP 500 after 3 attempts", "illegal memory access"}},
		{"unauthorized", "", openaichattest.Unauthorized, apitype.ErrorCodeServer, []string{"refused the API key", "HEARTH_OPENAI_API_KEY"}},
		{"model not found", "", openaichattest.ModelNotFound, apitype.ErrorCodeServer, []string{"llama3.2 not found", "the server has: llama3.2, nomic-embed-text"}},
		{"context overflow", "", openaichattest.ContextOverflow, apitype.ErrorCodeInvalidPrompt, []string{"does not fit", "maximum context length"}},
		{"busy", "", openaichattest.Busy, apitype.ErrorCodeRateLimit, []string{"busy", "HTTP 503 after 3 attempts", "retry later"}},
		{"rate limited", "", openaichattest.RateLimited, apitype.ErrorCodeRateLimit, []string{"HTTP 429"}},
		{"malformed SSE", "", openaichattest.MalformedSSE, apitype.ErrorCodeServer, []string{"malformed", "undecodable chunk", "--openai-url"}},
		{"stream stops mid-reply", "", openaichattest.CutStream, apitype.ErrorCodeServer, []string{"stopped before the model finished", "[DONE]"}},
		{"stream stops mid-call", "", openaichattest.CutInToolCall, apitype.ErrorCodeServer, []string{"stopped before the model finished"}},
		{"stream stops before usage", "", openaichattest.CutBeforeUsage, apitype.ErrorCodeServer, []string{"stopped before the model finished"}},
		{"server hangs", "", openaichattest.Hang, apitype.ErrorCodeServer, []string{"did not answer in time", "no response headers within 200ms"}},
		{"server hangs mid-stream", "", openaichattest.HangMidStream, apitype.ErrorCodeServer, []string{"no data from the server within the idle timeout", "raise the idle timeout"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.url
			var fake *openaichattest.Server
			if url == "" {
				fake = openaichattest.NewServer(t, always(tc.fault))
				url = fake.URL()
			}
			e := openEngine(t, oaiClient(t, url, fast))
			a := ollamaAssistant(t, e, "llama3.2", weatherTool)
			th := mustThread(t, e, "Hello?")
			r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
			if err != nil {
				t.Fatal(err)
			}
			wantFailed(t, r, tc.code, tc.words...)
			// The thread is free again: a new run is accepted (and fails the same way).
			r2, err := e.Runs.Create(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
			if err != nil {
				t.Fatalf("a new run on the thread after the failure: %v", err)
			}
			if r2, err = e.Runs.Wait(ctx, th.ID, r2.ID); err != nil || r2.Status != apitype.RunFailed {
				t.Fatalf("second run %v %+v", err, r2)
			}
		})
	}
}
