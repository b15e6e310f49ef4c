package engine_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/ollama"
	"github.com/hearth-go/hearth/llm/ollama/ollamatest"
)

// ollamaEngine opens an engine whose model is an Ollama client talking to a
// fake Ollama. Every chat request the fake received is checked, once the
// engine is closed, for an explicit num_ctx and truncate=false: Ollama must
// never pick the window itself nor drop prompt text silently.
func ollamaEngine(t testing.TB, opts []ollamatest.Option, mod ...func(*engine.Config)) (*engine.Engine, *ollamatest.Server) {
	t.Helper()
	fake := ollamatest.NewServer(t, opts...)
	t.Cleanup(func() { checkWire(t, fake.Requests()) })
	return ollamaEngineAt(t, fake.URL(), mod...), fake
}

// ollamaEngineAt opens an engine on an Ollama client for url. Retries keep
// the client's default count but back off 1ms, to keep tests fast.
func ollamaEngineAt(t testing.TB, url string, mod ...func(*engine.Config)) *engine.Engine {
	t.Helper()
	client, err := ollama.New(ollama.Config{URL: url, RetryBackoff: 1e6})
	if err != nil {
		t.Fatal(err)
	}
	return openEngine(t, client, mod...)
}

func checkWire(t testing.TB, reqs []api.ChatRequest) {
	t.Helper()
	for i, r := range reqs {
		if n, ok := r.Options["num_ctx"].(float64); !ok || n <= 0 {
			t.Errorf("request %d to %s: num_ctx %v (%T), want an explicit positive number", i, r.Model, r.Options["num_ctx"], r.Options["num_ctx"])
		}
		if r.Truncate == nil || *r.Truncate {
			t.Errorf("request %d to %s: truncate %v, want false", i, r.Model, r.Truncate)
		}
	}
}

func ollamaAssistant(t testing.TB, e *engine.Engine, model string, tools ...apitype.Tool) *apitype.Assistant {
	t.Helper()
	a, err := e.Assistants.Create(context.Background(), apitype.AssistantCreateParams{
		Model: model, Instructions: apitype.Ptr("Be brief."), Tools: tools})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// deltaText joins the text of a stream's thread.message.delta events.
func deltaText(evs []apitype.Event) (string, int) {
	var b strings.Builder
	n := 0
	for _, ev := range evs {
		if ev.Event != apitype.EventMessageDelta {
			continue
		}
		n++
		for _, c := range ev.MessageDelta.Delta.Content {
			if c.Text != nil {
				b.WriteString(c.Text.Value)
			}
		}
	}
	return b.String(), n
}

func TestOllamaPlainAnswerStreams(t *testing.T) {
	const answer = "Paris is the capital of France."
	e, fake := ollamaEngine(t, []ollamatest.Option{ollamatest.WithReplies(
		ollamatest.Reply{Text: answer, PromptTokens: 23, CompletionTokens: 7})})
	a := ollamaAssistant(t, e, "llama3.2")
	th := mustThread(t, e, "What is the capital of France?")
	evs := collect(t, e.Runs.CreateStream(context.Background(), th.ID, apitype.RunCreateParams{AssistantID: a.ID}), nil)

	got, n := deltaText(evs)
	if got != answer || n != len(ollamatest.Pieces(answer, 0)) {
		t.Fatalf("deltas %q in %d events, want %q in %d (one per streamed piece)", got, n, answer, len(ollamatest.Pieces(answer, 0)))
	}
	last := evs[len(evs)-1]
	if last.Event != apitype.EventRunCompleted {
		t.Fatalf("events %v", names(evs))
	}
	if u := last.Run.Usage; u == nil || u.PromptTokens != 23 || u.CompletionTokens != 7 || u.TotalTokens != 30 {
		t.Fatalf("usage %+v, want Ollama's prompt_eval_count 23 and eval_count 7", u)
	}
	m := lastMessage(t, e, th.ID)
	if m.Status != apitype.MessageCompleted || m.Text() != answer || m.Role != apitype.RoleAssistant {
		t.Fatalf("final message %+v", m)
	}

	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d chat requests", len(reqs))
	}
	r := reqs[0]
	if r.Model != "llama3.2" || len(r.Messages) != 2 || r.Messages[0].Role != "system" || r.Messages[0].Content != "Be brief." ||
		r.Messages[1].Role != "user" || !strings.Contains(r.Messages[1].Content, "capital of France") {
		t.Fatalf("request %+v", r)
	}
	// The engine's default window (8192) is below llama3.2's trained 131072.
	if r.Options["num_ctx"] != float64(8192) || r.Stream == nil || !*r.Stream {
		t.Fatalf("options %v stream %v", r.Options, r.Stream)
	}
}

func TestOllamaFunctionCall(t *testing.T) {
	e, fake := ollamaEngine(t, []ollamatest.Option{ollamatest.WithReplies(
		ollamatest.Reply{ToolCalls: []ollamatest.ToolCall{{Name: "get_weather", Arguments: `{"city":"Paris","unit":"c"}`}}},
		ollamatest.Reply{Text: "Sunny and 22 °C in Paris."},
	)})
	fn := apitype.Tool{Type: apitype.ToolTypeFunction, Function: &apitype.FunctionDef{Name: "get_weather", Description: "Current weather",
		Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string"}},"required":["city"]}`)}}
	a := ollamaAssistant(t, e, "llama3.2", fn)
	th := mustThread(t, e, "Weather in Paris?")
	ctx := context.Background()
	r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != apitype.RunRequiresAction {
		t.Fatalf("status %s, last_error %+v", r.Status, r.LastError)
	}
	calls := r.RequiredAction.SubmitToolOutputs.ToolCalls
	if len(calls) != 1 || calls[0].Type != apitype.ToolTypeFunction || calls[0].Function.Name != "get_weather" ||
		!strings.HasPrefix(calls[0].ID, "call_") {
		t.Fatalf("calls %+v", calls)
	}
	var args map[string]string
	if err := json.Unmarshal([]byte(calls[0].Function.Arguments), &args); err != nil || args["city"] != "Paris" || args["unit"] != "c" {
		t.Fatalf("arguments %q: %v", calls[0].Function.Arguments, err)
	}

	r, err = e.Runs.SubmitToolOutputsAndWait(ctx, th.ID, r.ID, apitype.SubmitToolOutputsParams{
		ToolOutputs: []apitype.ToolOutput{{ToolCallID: calls[0].ID, Output: `{"sky":"sunny","c":22}`}}})
	if err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("after submit: %v %+v", err, r)
	}
	if m := lastMessage(t, e, th.ID); m.Text() != "Sunny and 22 °C in Paris." {
		t.Fatalf("answer %q", m.Text())
	}

	reqs := fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d chat requests", len(reqs))
	}
	if len(reqs[0].Tools) != 1 || reqs[0].Tools[0].Function.Name != "get_weather" {
		t.Fatalf("tools sent %+v", reqs[0].Tools)
	}
	// The second call replays the model's call and the submitted output.
	msgs := reqs[1].Messages
	i := slices.IndexFunc(msgs, func(m api.Message) bool { return len(m.ToolCalls) > 0 })
	if i < 0 || i+1 >= len(msgs) {
		t.Fatalf("second request lacks the tool call: %+v", msgs)
	}
	if tc := msgs[i].ToolCalls[0]; msgs[i].Role != "assistant" || tc.Function.Name != "get_weather" || tc.ID != calls[0].ID {
		t.Fatalf("replayed call %+v", msgs[i])
	}
	if out := msgs[i+1]; out.Role != "tool" || out.Content != `{"sky":"sunny","c":22}` || out.ToolName != "get_weather" || out.ToolCallID != calls[0].ID {
		t.Fatalf("tool result %+v", out)
	}
}

// TestOllamaParallelCallsWithoutIDs: older Ollama servers send tool calls
// without ids; two calls in one reply still get distinct ids the run can be
// answered with.
func TestOllamaParallelCallsWithoutIDs(t *testing.T) {
	e, fake := ollamaEngine(t, []ollamatest.Option{ollamatest.WithReplies(
		ollamatest.Reply{NoToolCallIDs: true, ToolCalls: []ollamatest.ToolCall{
			{Name: "get_weather", Arguments: `{"city":"Paris"}`}, {Name: "get_weather", Arguments: `{"city":"Rome"}`}}},
		ollamatest.Reply{Text: "Paris 22 °C, Rome 25 °C."},
	)})
	a := ollamaAssistant(t, e, "llama3.2", weatherTool)
	th := mustThread(t, e, "Weather in Paris and Rome?")
	ctx := context.Background()
	r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil || r.Status != apitype.RunRequiresAction {
		t.Fatalf("%v %+v", err, r)
	}
	calls := r.RequiredAction.SubmitToolOutputs.ToolCalls
	if len(calls) != 2 || calls[0].ID == calls[1].ID || !strings.HasPrefix(calls[0].ID, "call_") || !strings.HasPrefix(calls[1].ID, "call_") {
		t.Fatalf("calls %+v", calls)
	}
	r, err = e.Runs.SubmitToolOutputsAndWait(ctx, th.ID, r.ID, apitype.SubmitToolOutputsParams{ToolOutputs: []apitype.ToolOutput{
		{ToolCallID: calls[0].ID, Output: "22"}, {ToolCallID: calls[1].ID, Output: "25"}}})
	if err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("%v %+v", err, r)
	}
	var results []string
	for _, m := range fake.Requests()[1].Messages {
		if m.Role == "tool" {
			results = append(results, m.ToolCallID+"="+m.Content)
		}
	}
	if want := []string{calls[0].ID + "=22", calls[1].ID + "=25"}; !slices.Equal(results, want) {
		t.Fatalf("tool results sent %v, want %v", results, want)
	}
}

func TestOllamaThinkingStaysOutOfTheAnswer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply ollamatest.Reply
	}{
		// Ollama ≥0.9 separates thinking into message.thinking…
		{"thinking field", ollamatest.Reply{Thinking: "The user greets me. I should greet back.", Text: "Hello there!"}},
		// …older servers and some templates leave <think> tags in the content.
		{"think tags", ollamatest.Reply{Text: "<think>The user greets me. I should greet back.</think>Hello there!", Pieces: 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := ollamaEngine(t, []ollamatest.Option{ollamatest.WithReplies(tc.reply)})
			a := ollamaAssistant(t, e, "qwen3")
			th := mustThread(t, e, "Hi!")
			evs := collect(t, e.Runs.CreateStream(context.Background(), th.ID, apitype.RunCreateParams{AssistantID: a.ID}), nil)
			if got, _ := deltaText(evs); got != "Hello there!" {
				t.Fatalf("streamed %q", got)
			}
			if evs[len(evs)-1].Event != apitype.EventRunCompleted {
				t.Fatalf("events %v", names(evs))
			}
			if m := lastMessage(t, e, th.ID); m.Text() != "Hello there!" {
				t.Fatalf("answer %q", m.Text())
			}
		})
	}
}

// pngBytes is enough of a PNG for the fake, which only counts images.
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0, 1, 2, 3}, 16)...)

// imageThread makes a thread whose message carries an uploaded image_file
// and an image_url data: URL.
func imageThread(t testing.TB, e *engine.Engine) *apitype.Thread {
	t.Helper()
	ctx := context.Background()
	f, err := e.Files.Create(ctx, bytes.NewReader(pngBytes), apitype.FileCreateParams{Filename: "cat.png", Purpose: "vision"})
	if err != nil {
		t.Fatal(err)
	}
	dataURL := "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngBytes[:12])
	th, err := e.Threads.Create(ctx, apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: apitype.RoleUser,
		Content: apitype.MessageContentInput{Parts: []apitype.MessageContent{
			{Type: apitype.ContentText, Text: &apitype.TextContent{Value: "What is in these pictures?"}},
			{Type: apitype.ContentImageFile, ImageFile: &apitype.ImageFile{FileID: f.ID}},
			{Type: apitype.ContentImageURL, ImageURL: &apitype.ImageURL{URL: dataURL}},
		}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return th
}

func TestOllamaImages(t *testing.T) {
	ctx := context.Background()
	t.Run("vision model receives them", func(t *testing.T) {
		e, fake := ollamaEngine(t, []ollamatest.Option{ollamatest.WithReplies(ollamatest.Reply{Text: "A cat."})})
		a := ollamaAssistant(t, e, "llava")
		th := imageThread(t, e)
		r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil || r.Status != apitype.RunCompleted {
			t.Fatalf("%v %+v", err, r)
		}
		reqs := fake.Requests()
		if len(reqs) != 1 {
			t.Fatalf("%d chat requests", len(reqs))
		}
		user := reqs[0].Messages[len(reqs[0].Messages)-1]
		if user.Role != "user" || len(user.Images) != 2 || !bytes.Equal(user.Images[0], pngBytes) || !bytes.Equal(user.Images[1], pngBytes[:12]) {
			t.Fatalf("user message %q with %d images", user.Content, len(user.Images))
		}
		// llava's trained window (4096) is below the engine's default.
		if reqs[0].Options["num_ctx"] != float64(4096) {
			t.Fatalf("num_ctx %v", reqs[0].Options["num_ctx"])
		}
	})
	t.Run("model without vision fails the run", func(t *testing.T) {
		e, fake := ollamaEngine(t, nil)
		a := ollamaAssistant(t, e, "llama3.2")
		th := imageThread(t, e)
		r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		wantFailed(t, r, apitype.ErrorCodeInvalidPrompt, "llama3.2", "cannot read images", "vision model")
		// /api/show said no vision: the images were never sent.
		if n := len(fake.Requests()); n != 0 {
			t.Fatalf("%d chat requests reached the fake", n)
		}
	})
	t.Run("server refuses images", func(t *testing.T) {
		// A model /api/show calls vision-capable whose runner lacks the
		// projector: Ollama answers 500 with its own words.
		e, fake := ollamaEngine(t, []ollamatest.Option{ollamatest.WithReplies(ollamatest.Reply{Fault: ollamatest.NoVision})})
		a := ollamaAssistant(t, e, "llava")
		r, err := e.Runs.CreateAndWait(ctx, imageThread(t, e).ID, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		wantFailed(t, r, apitype.ErrorCodeInvalidPrompt, "llava", "cannot read images", "vision model")
		if n := len(fake.Requests()); n != 1 {
			t.Fatalf("%d chat requests: a refusal of images is not worth retrying", n)
		}
	})
}

func TestOllamaMaxCompletionTokens(t *testing.T) {
	const partial = "The history of Rome begins"
	e, fake := ollamaEngine(t, []ollamatest.Option{ollamatest.WithReplies(
		ollamatest.Reply{Text: partial, DoneReason: "length", CompletionTokens: 256})})
	a := ollamaAssistant(t, e, "llama3.2")
	th := mustThread(t, e, "Tell me the history of Rome.")
	r, err := e.Runs.CreateAndWait(context.Background(), th.ID, apitype.RunCreateParams{AssistantID: a.ID, MaxCompletionTokens: apitype.Ptr(256)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != apitype.RunIncomplete || r.IncompleteDetails == nil || r.IncompleteDetails.Reason != apitype.IncompleteMaxCompletionTokens {
		t.Fatalf("run %s %+v", r.Status, r.IncompleteDetails)
	}
	if r.Usage == nil || r.Usage.CompletionTokens != 256 {
		t.Fatalf("usage %+v", r.Usage)
	}
	m := lastMessage(t, e, th.ID)
	if m.Status != apitype.MessageIncomplete || m.IncompleteDetails == nil || m.IncompleteDetails.Reason != apitype.IncompleteMaxTokens || m.Text() != partial {
		t.Fatalf("message %s %+v %q", m.Status, m.IncompleteDetails, m.Text())
	}
	if got := fake.Requests()[0].Options["num_predict"]; got != float64(256) {
		t.Fatalf("num_predict %v, want 256", got)
	}
}

// TestOllamaReplyFillsTheWindow: without max_completion_tokens, Ollama (shift
// off) stops with done_reason "length" when the reply fills num_ctx; the
// answer is cut, so the run must not say completed.
func TestOllamaReplyFillsTheWindow(t *testing.T) {
	e, _ := ollamaEngine(t, []ollamatest.Option{ollamatest.WithReplies(ollamatest.Reply{Text: "An answer that ran out of", DoneReason: "length"})})
	a := ollamaAssistant(t, e, "llama3.2")
	th := mustThread(t, e, "Write a long essay.")
	r, err := e.Runs.CreateAndWait(context.Background(), th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != apitype.RunIncomplete || r.IncompleteDetails == nil || r.IncompleteDetails.Reason != apitype.IncompleteMaxCompletionTokens {
		t.Fatalf("run %s %+v", r.Status, r.IncompleteDetails)
	}
	if m := lastMessage(t, e, th.ID); m.Status != apitype.MessageIncomplete || m.Text() != "An answer that ran out of" {
		t.Fatalf("message %s %q", m.Status, m.Text())
	}
}

// wantFailed checks that r failed with code and a message containing every
// one of words.
func wantFailed(t testing.TB, r *apitype.Run, code string, words ...string) {
	t.Helper()
	if r.Status != apitype.RunFailed || r.LastError == nil || r.FailedAt == nil {
		t.Fatalf("run %s, last_error %+v", r.Status, r.LastError)
	}
	if r.LastError.Code != code {
		t.Errorf("last_error.code %q, want %q (message %q)", r.LastError.Code, code, r.LastError.Message)
	}
	for _, w := range words {
		if !strings.Contains(r.LastError.Message, w) {
			t.Errorf("last_error.message %q lacks %q", r.LastError.Message, w)
		}
	}
	t.Logf("last_error: %s: %s", r.LastError.Code, r.LastError.Message)
}
