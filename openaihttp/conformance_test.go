package openaihttp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/openaihttp"
)

const testKey = "sk-hearth-test"

type env struct {
	eng    *engine.Engine
	srv    *httptest.Server
	h      *openaihttp.Handler
	client openai.Client
}

// newEnv serves a fresh engine (real bbolt file in t.TempDir) on a loopback
// httptest server and returns an official openai-go client pointed at it.
func newEnv(t testing.TB, model llm.Model, mod ...func(*openaihttp.Options)) *env {
	t.Helper()
	return newEnvWith(t, engine.Config{Model: model, FileIndex: &wordIndex{}}, mod...)
}

// newEnvWith is newEnv with more of the engine's config (a sandbox, say).
func newEnvWith(t testing.TB, cfg engine.Config, mod ...func(*openaihttp.Options)) *env {
	t.Helper()
	cfg.Path, cfg.NoSync, cfg.MaxConcurrentRuns = filepath.Join(t.TempDir(), "hearth.db"), true, 8
	eng, err := engine.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	opts := openaihttp.Options{Keys: []string{testKey}, Logger: discardLogger()}
	for _, m := range mod {
		m(&opts)
	}
	h := openaihttp.NewHandler(eng, opts)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		h.Drain()
		srv.Close()
		eng.Close()
	})
	client := openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey(testKey),
		option.WithMaxRetries(0), option.WithHTTPClient(srv.Client()))
	return &env{eng: eng, srv: srv, h: h, client: client}
}

func (e *env) assistant(t testing.TB, tools ...openai.AssistantToolUnionParam) *openai.Assistant {
	t.Helper()
	a, err := e.client.Beta.Assistants.New(context.Background(), openai.BetaAssistantNewParams{
		Model: "llama3.2", Name: openai.String("Math Tutor"),
		Instructions: openai.String("You are a personal math tutor. Write and run code to answer math questions."),
		Tools:        tools,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *env) threadWith(t testing.TB, text string) *openai.Thread {
	t.Helper()
	ctx := context.Background()
	th, err := e.client.Beta.Threads.New(ctx, openai.BetaThreadNewParams{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Beta.Threads.Messages.New(ctx, th.ID, openai.BetaThreadMessageNewParams{
		Role: openai.BetaThreadMessageNewParamsRoleUser, Content: openai.BetaThreadMessageNewParamsContentUnion{OfString: openai.String(text)},
	}); err != nil {
		t.Fatal(err)
	}
	return th
}

// poll waits like the SDKs' createAndPoll: between polls it sleeps for the
// server's openai-poll-after-ms.
func (e *env) poll(t testing.TB, threadID, runID string) *openai.Run {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var resp *http.Response
		r, err := e.client.Beta.Threads.Runs.Get(context.Background(), threadID, runID, option.WithResponseInto(&resp))
		if err != nil {
			t.Fatal(err)
		}
		switch r.Status {
		case openai.RunStatusQueued, openai.RunStatusInProgress, openai.RunStatusCancelling:
		default:
			return r
		}
		ms, err := strconv.Atoi(resp.Header.Get("openai-poll-after-ms"))
		if err != nil || ms <= 0 {
			t.Fatalf("openai-poll-after-ms header %q", resp.Header.Get("openai-poll-after-ms"))
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %s", runID, r.Status)
		}
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
}

func apiErr(t testing.TB, err error, status int, typ string) *openai.Error {
	t.Helper()
	var ae *openai.Error
	if !errors.As(err, &ae) {
		t.Fatalf("want *openai.Error %d, got %v", status, err)
	}
	if ae.StatusCode != status || ae.Type != typ || ae.Message == "" {
		t.Fatalf("want %d %s, got %d %s %q", status, typ, ae.StatusCode, ae.Type, ae.Message)
	}
	return ae
}

// The math tutor seed: assistant, thread, message, run, poll, list messages.
func TestMathTutorSeed(t *testing.T) {
	e := newEnv(t, scripted.New(scripted.Turn{Text: "Subtract 11 from both sides: 3x = 3, so x = 1."}))
	ctx := context.Background()
	a := e.assistant(t)
	if a.Object != "assistant" || a.Name != "Math Tutor" || a.Model != "llama3.2" {
		t.Fatalf("assistant %+v", a)
	}
	th := e.threadWith(t, "I need to solve the equation `3x + 11 = 14`. Can you help me?")
	run, err := e.client.Beta.Threads.Runs.New(ctx, th.ID, openai.BetaThreadRunNewParams{
		AssistantID: a.ID, Instructions: openai.String("Please address the user as Jane Doe.")})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != openai.RunStatusQueued || run.ThreadID != th.ID {
		t.Fatalf("run %+v", run)
	}
	run = e.poll(t, th.ID, run.ID)
	if run.Status != openai.RunStatusCompleted || run.Usage.TotalTokens == 0 {
		t.Fatalf("run %s usage %+v last_error %+v", run.Status, run.Usage, run.LastError)
	}
	page, err := e.client.Beta.Threads.Messages.List(ctx, th.ID, openai.BetaThreadMessageListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 2 || page.Data[0].Role != openai.MessageRoleAssistant || page.Data[0].RunID != run.ID {
		t.Fatalf("messages %+v", page.Data)
	}
	if got := page.Data[0].Content[0].Text.Value; !strings.Contains(got, "x = 1") {
		t.Fatalf("answer %q", got)
	}
	// Retrieve, update and delete round-trip through the SDK's types.
	got, err := e.client.Beta.Assistants.Get(ctx, a.ID)
	if err != nil || got.ID != a.ID {
		t.Fatalf("get %v %v", got, err)
	}
	up, err := e.client.Beta.Assistants.Update(ctx, a.ID, openai.BetaAssistantUpdateParams{Name: openai.String("Tutor 2"),
		Metadata: shared.Metadata{"k": "v"}})
	if err != nil || up.Name != "Tutor 2" || up.Metadata["k"] != "v" {
		t.Fatalf("update %+v %v", up, err)
	}
	runs, err := e.client.Beta.Threads.Runs.List(ctx, th.ID, openai.BetaThreadRunListParams{})
	if err != nil || len(runs.Data) != 1 || runs.Data[0].ID != run.ID {
		t.Fatalf("runs %+v %v", runs, err)
	}
	del, err := e.client.Beta.Threads.Delete(ctx, th.ID)
	if err != nil || !del.Deleted {
		t.Fatalf("delete %+v %v", del, err)
	}
	if _, err := e.client.Beta.Threads.Get(ctx, th.ID); err == nil {
		t.Fatal("deleted thread still readable")
	} else {
		apiErr(t, err, 404, "not_found_error")
	}
}

// Streaming as the seeds' event handler consumes it: text created, text
// deltas, the event names in order, and the done event ending the stream.
func TestStreamTextDeltas(t *testing.T) {
	e := newEnv(t, scripted.New(scripted.Turn{Text: "The answer is x = 1.", Pieces: 4}))
	a := e.assistant(t)
	th := e.threadWith(t, "Solve 3x + 11 = 14")
	stream := e.client.Beta.Threads.Runs.NewStreaming(context.Background(), th.ID, openai.BetaThreadRunNewParams{AssistantID: a.ID})
	var names []string
	var text strings.Builder
	textCreated := 0
	for stream.Next() {
		ev := stream.Current()
		names = append(names, ev.Event)
		switch ev.Event {
		case "thread.message.created":
			m := ev.AsThreadMessageCreated().Data
			// content: [] must be on the wire, or textCreated never fires in the npm SDK.
			if !strings.Contains(ev.RawJSON(), `"content":[]`) {
				t.Fatalf("message.created without content: []: %s", ev.RawJSON())
			}
			textCreated++
			_ = m
		case "thread.message.delta":
			d := ev.AsThreadMessageDelta().Data
			for _, c := range d.Delta.Content {
				if !c.JSON.Index.Valid() {
					t.Fatalf("delta content without index: %s", ev.RawJSON())
				}
				text.WriteString(c.Text.Value)
			}
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != "The answer is x = 1." || textCreated != 1 {
		t.Fatalf("text %q created %d", text.String(), textCreated)
	}
	want := []string{"thread.run.created", "thread.run.queued", "thread.run.in_progress", "thread.run.step.created",
		"thread.run.step.in_progress", "thread.message.created", "thread.message.in_progress"}
	if len(names) < len(want)+2 || strings.Join(names[:len(want)], ",") != strings.Join(want, ",") ||
		names[len(names)-1] != "thread.run.completed" {
		t.Fatalf("events %v", names)
	}
}

// Weather function calling: the stream stops at requires_action with
// streamed tool-call deltas; submit_tool_outputs with stream:true goes on.
func TestWeatherFunctionCallingStreamed(t *testing.T) {
	m := scripted.New(
		scripted.Turn{Calls: []scripted.Call{{Name: "get_weather", Arguments: `{"location":"San Francisco, CA","unit":"celsius"}`}}, StreamArguments: true},
		scripted.Turn{Match: scripted.HasToolResult, Text: "It is 22C and sunny in San Francisco."},
	)
	e := newEnv(t, m)
	ctx := context.Background()
	fn := openai.AssistantToolParamOfFunction(shared.FunctionDefinitionParam{Name: "get_weather",
		Description: openai.String("Get the current weather in a location"),
		Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{
			"location": map[string]any{"type": "string"}, "unit": map[string]any{"type": "string", "enum": []string{"celsius", "fahrenheit"}}},
			"required": []string{"location"}}})
	a := e.assistant(t, fn)
	th := e.threadWith(t, "What's the weather in San Francisco?")

	stream := e.client.Beta.Threads.Runs.NewStreaming(ctx, th.ID, openai.BetaThreadRunNewParams{AssistantID: a.ID})
	type call struct{ id, name, args string }
	calls := map[int64]*call{}
	var last string
	var runID string
	var pending []openai.RequiredActionFunctionToolCall
	for stream.Next() {
		ev := stream.Current()
		last = ev.Event
		switch ev.Event {
		case "thread.run.created":
			runID = ev.AsThreadRunCreated().Data.ID
		case "thread.run.step.delta":
			d := ev.AsThreadRunStepDelta().Data
			if d.Delta.StepDetails.Type != "tool_calls" {
				t.Fatalf("step delta type %q", d.Delta.StepDetails.Type)
			}
			for _, tc := range d.Delta.StepDetails.ToolCalls {
				if !tc.JSON.Index.Valid() {
					t.Fatalf("tool call delta without index: %s", ev.RawJSON())
				}
				c := calls[tc.Index]
				if c == nil {
					c = &call{}
					calls[tc.Index] = c
				}
				// The SDK concatenates strings: id and name must come once.
				c.id += tc.ID
				c.name += tc.Function.Name
				c.args += tc.Function.Arguments
			}
		case "thread.run.requires_action":
			pending = ev.AsThreadRunRequiresAction().Data.RequiredAction.SubmitToolOutputs.ToolCalls
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if last != "thread.run.requires_action" || len(pending) != 1 {
		t.Fatalf("last event %s, pending %+v", last, pending)
	}
	c := calls[0]
	if c == nil || c.id != pending[0].ID || c.name != "get_weather" || c.args != `{"location":"San Francisco, CA","unit":"celsius"}` {
		t.Fatalf("accumulated call %+v, pending %+v", c, pending[0])
	}
	stream = e.client.Beta.Threads.Runs.SubmitToolOutputsStreaming(ctx, th.ID, runID, openai.BetaThreadRunSubmitToolOutputsParams{
		ToolOutputs: []openai.BetaThreadRunSubmitToolOutputsParamsToolOutput{{ToolCallID: openai.String(pending[0].ID), Output: openai.String(`{"temp":22,"sky":"sunny"}`)}}})
	var text strings.Builder
	for stream.Next() {
		ev := stream.Current()
		last = ev.Event
		if ev.Event == "thread.message.delta" {
			for _, part := range ev.AsThreadMessageDelta().Data.Delta.Content {
				text.WriteString(part.Text.Value)
			}
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if last != "thread.run.completed" || !strings.Contains(text.String(), "22C") {
		t.Fatalf("last %s text %q", last, text.String())
	}
	// Steps: the tool call step carries the output; the step list paginates.
	steps, err := e.client.Beta.Threads.Runs.Steps.List(ctx, th.ID, runID, openai.BetaThreadRunStepListParams{
		Order: openai.BetaThreadRunStepListParamsOrderAsc})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps.Data) != 2 || steps.Data[0].Type != "tool_calls" || steps.Data[1].Type != "message_creation" {
		t.Fatalf("steps %+v", steps.Data)
	}
	fc := steps.Data[0].StepDetails.ToolCalls[0].Function
	if fc.Name != "get_weather" || fc.Output != `{"temp":22,"sky":"sunny"}` {
		t.Fatalf("function step %+v", fc)
	}
	st, err := e.client.Beta.Threads.Runs.Steps.Get(ctx, th.ID, runID, steps.Data[1].ID, openai.BetaThreadRunStepGetParams{
		Include: []openai.RunStepInclude{openai.RunStepIncludeStepDetailsToolCallsFileSearchResultsContent}})
	if err != nil || st.StepDetails.MessageCreation.MessageID == "" {
		t.Fatalf("step %+v %v", st, err)
	}
}

// Non-streamed function calling with the plain submit.
func TestFunctionCallingPolled(t *testing.T) {
	m := scripted.New(
		scripted.Turn{Calls: []scripted.Call{{Name: "get_weather", Arguments: `{"location":"Paris"}`}}},
		scripted.Turn{Match: scripted.HasToolResult, Text: "Rainy."},
	)
	e := newEnv(t, m)
	ctx := context.Background()
	a := e.assistant(t, openai.AssistantToolParamOfFunction(shared.FunctionDefinitionParam{Name: "get_weather",
		Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"location": map[string]any{"type": "string"}}}}))
	th := e.threadWith(t, "Weather in Paris?")
	run, err := e.client.Beta.Threads.Runs.New(ctx, th.ID, openai.BetaThreadRunNewParams{AssistantID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	run = e.poll(t, th.ID, run.ID)
	if run.Status != openai.RunStatusRequiresAction {
		t.Fatalf("status %s", run.Status)
	}
	// Submitting too few outputs is a 400 envelope.
	_, err = e.client.Beta.Threads.Runs.SubmitToolOutputs(ctx, th.ID, run.ID, openai.BetaThreadRunSubmitToolOutputsParams{
		ToolOutputs: []openai.BetaThreadRunSubmitToolOutputsParamsToolOutput{}})
	apiErr(t, err, 400, "invalid_request_error")
	call := run.RequiredAction.SubmitToolOutputs.ToolCalls[0]
	run, err = e.client.Beta.Threads.Runs.SubmitToolOutputs(ctx, th.ID, run.ID, openai.BetaThreadRunSubmitToolOutputsParams{
		ToolOutputs: []openai.BetaThreadRunSubmitToolOutputsParamsToolOutput{{ToolCallID: openai.String(call.ID), Output: openai.String("rain")}}})
	if err != nil {
		t.Fatal(err)
	}
	if run = e.poll(t, th.ID, run.ID); run.Status != openai.RunStatusCompleted {
		t.Fatalf("status %s", run.Status)
	}
}

// Three concurrent create-thread-and-runs, each polled to completion.
func TestConcurrentThreadAndRuns(t *testing.T) {
	e := newEnv(t, scripted.Echo())
	a := e.assistant(t)
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := "question " + strconv.Itoa(i)
			run, err := e.client.Beta.Threads.NewAndRun(context.Background(), openai.BetaThreadNewAndRunParams{AssistantID: a.ID,
				Thread: openai.BetaThreadNewAndRunParamsThread{Messages: []openai.BetaThreadNewAndRunParamsThreadMessage{{
					Role: "user", Content: openai.BetaThreadNewAndRunParamsThreadMessageContentUnion{OfString: openai.String(q)}}}}})
			if err != nil {
				errs <- err
				return
			}
			run = e.poll(t, run.ThreadID, run.ID)
			msgs, err := e.client.Beta.Threads.Messages.List(context.Background(), run.ThreadID, openai.BetaThreadMessageListParams{})
			if err != nil {
				errs <- err
				return
			}
			if run.Status != openai.RunStatusCompleted || msgs.Data[0].Content[0].Text.Value != "You said: "+q {
				errs <- errors.New("run " + string(run.Status) + ": " + msgs.Data[0].Content[0].Text.Value)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Create thread and run with stream:true opens with thread.created.
func TestThreadAndRunStream(t *testing.T) {
	e := newEnv(t, scripted.Echo())
	a := e.assistant(t)
	stream := e.client.Beta.Threads.NewAndRunStreaming(context.Background(), openai.BetaThreadNewAndRunParams{AssistantID: a.ID,
		Thread: openai.BetaThreadNewAndRunParamsThread{Messages: []openai.BetaThreadNewAndRunParamsThreadMessage{{
			Role: "user", Content: openai.BetaThreadNewAndRunParamsThreadMessageContentUnion{OfString: openai.String("hi")}}}}})
	var names []string
	for stream.Next() {
		names = append(names, stream.Current().Event)
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if names[0] != "thread.created" || names[len(names)-1] != "thread.run.completed" {
		t.Fatalf("events %v", names)
	}
}

// Messages listed ascending after an id, with has_more and auto-paging.
func TestMessagesAscAfter(t *testing.T) {
	e := newEnv(t, scripted.Echo())
	ctx := context.Background()
	th, err := e.client.Beta.Threads.New(ctx, openai.BetaThreadNewParams{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 5 {
		m, err := e.client.Beta.Threads.Messages.New(ctx, th.ID, openai.BetaThreadMessageNewParams{Role: "user",
			Content: openai.BetaThreadMessageNewParamsContentUnion{OfString: openai.String("m" + strconv.Itoa(i))}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	page, err := e.client.Beta.Threads.Messages.List(ctx, th.ID, openai.BetaThreadMessageListParams{
		Order: openai.BetaThreadMessageListParamsOrderAsc, After: openai.String(ids[1]), Limit: openai.Int(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 2 || page.Data[0].ID != ids[2] || page.Data[1].ID != ids[3] || !page.HasMore {
		t.Fatalf("page %+v", page)
	}
	var all []string
	iter := e.client.Beta.Threads.Messages.ListAutoPaging(ctx, th.ID, openai.BetaThreadMessageListParams{
		Order: openai.BetaThreadMessageListParamsOrderAsc, Limit: openai.Int(2)})
	for iter.Next() {
		all = append(all, iter.Current().ID)
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(all, ",") != strings.Join(ids, ",") {
		t.Fatalf("auto-paging %v, want %v", all, ids)
	}
}

// Cancel: a run blocked in the model moves to cancelling, then cancelled.
func TestCancel(t *testing.T) {
	e := newEnv(t, scripted.New(scripted.Turn{Text: "thinking", Block: true}))
	ctx := context.Background()
	a := e.assistant(t)
	th := e.threadWith(t, "take your time")
	run, err := e.client.Beta.Threads.Runs.New(ctx, th.ID, openai.BetaThreadRunNewParams{AssistantID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	for run.Status == openai.RunStatusQueued {
		time.Sleep(5 * time.Millisecond)
		if run, err = e.client.Beta.Threads.Runs.Get(ctx, th.ID, run.ID); err != nil {
			t.Fatal(err)
		}
	}
	run, err = e.client.Beta.Threads.Runs.Cancel(ctx, th.ID, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != openai.RunStatusCancelling && run.Status != openai.RunStatusCancelled {
		t.Fatalf("after cancel: %s", run.Status)
	}
	if run = e.poll(t, th.ID, run.ID); run.Status != openai.RunStatusCancelled {
		t.Fatalf("final %s", run.Status)
	}
	_, err = e.client.Beta.Threads.Runs.Cancel(ctx, th.ID, run.ID)
	apiErr(t, err, 400, "invalid_request_error")
}

// 400 and 404 envelopes as the SDK sees them.
func TestErrorEnvelopes(t *testing.T) {
	e := newEnv(t, scripted.Echo())
	ctx := context.Background()
	_, err := e.client.Beta.Assistants.Get(ctx, "asst_doesnotexist")
	apiErr(t, err, 404, "not_found_error")
	_, err = e.client.Beta.Assistants.New(ctx, openai.BetaAssistantNewParams{Model: "m", Temperature: openai.Float(3)})
	ae := apiErr(t, err, 400, "invalid_request_error")
	if ae.Param != "temperature" {
		t.Fatalf("param %q", ae.Param)
	}
	a := e.assistant(t)
	th := e.threadWith(t, "hi")
	_, err = e.client.Beta.Threads.Runs.New(ctx, th.ID, openai.BetaThreadRunNewParams{AssistantID: a.ID, MaxPromptTokens: openai.Int(10)})
	if ae = apiErr(t, err, 400, "invalid_request_error"); ae.Param != "max_prompt_tokens" {
		t.Fatalf("param %q", ae.Param)
	}
	// A streaming request that fails validation answers the JSON envelope, not a stream.
	stream := e.client.Beta.Threads.Runs.NewStreaming(ctx, "thread_nope", openai.BetaThreadRunNewParams{AssistantID: a.ID})
	for stream.Next() {
		t.Fatalf("event from a failed stream: %s", stream.Current().Event)
	}
	apiErr(t, stream.Err(), 404, "not_found_error")
	// A wrong key.
	bad := openai.NewClient(option.WithBaseURL(e.srv.URL+"/v1/"), option.WithAPIKey("sk-wrong"), option.WithMaxRetries(0))
	_, err = bad.Beta.Assistants.List(ctx, openai.BetaAssistantListParams{})
	apiErr(t, err, 401, "authentication_error")
}
