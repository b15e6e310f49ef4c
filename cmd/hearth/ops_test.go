package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

func sdk(srv *server) openai.Client {
	return openai.NewClient(option.WithBaseURL(srv.url+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
}

// streamRun runs the thread with the assistant through the SDK's stream
// and returns the run where the stream ended and the event names it saw.
func streamRun(t *testing.T, c openai.Client, threadID, assistantID string) (openai.Run, []string) {
	t.Helper()
	st := c.Beta.Threads.Runs.NewStreaming(context.Background(), threadID, openai.BetaThreadRunNewParams{AssistantID: assistantID})
	return drain(t, st)
}

type eventStream interface {
	Next() bool
	Current() openai.AssistantStreamEventUnion
	Err() error
}

func drain(t *testing.T, st eventStream) (openai.Run, []string) {
	t.Helper()
	var run openai.Run
	var names []string
	for st.Next() {
		ev := st.Current()
		names = append(names, ev.Event)
		if strings.HasPrefix(ev.Event, "thread.run.") && !strings.HasPrefix(ev.Event, "thread.run.step") {
			run = ev.AsThreadRunCompleted().Data
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	return run, names
}

func userThread(t *testing.T, c openai.Client, text string) string {
	t.Helper()
	th, err := c.Beta.Threads.New(context.Background(), openai.BetaThreadNewParams{Messages: []openai.BetaThreadNewParamsMessage{{
		Role: "user", Content: openai.BetaThreadNewParamsMessageContentUnion{OfString: openai.String(text)}}}})
	if err != nil {
		t.Fatal(err)
	}
	return th.ID
}

func lastAnswer(t *testing.T, c openai.Client, threadID string) openai.Message {
	t.Helper()
	msgs, err := c.Beta.Threads.Messages.List(context.Background(), threadID, openai.BetaThreadMessageListParams{})
	if err != nil || len(msgs.Data) == 0 || msgs.Data[0].Role != "assistant" {
		t.Fatalf("messages: %v %+v", err, msgs)
	}
	return msgs.Data[0]
}

// A tutorial's "gpt-4o" runs the local model through an alias: the backend
// is asked for llama3.2, the assistant and run keep gpt-4o, and /v1/models
// lists the alias.
func TestModelAliasSDK(t *testing.T) {
	m := scripted.Echo()
	srv := startServeModel(t, map[string]string{"HEARTH_DB": filepath.Join(t.TempDir(), "h.db"),
		"HEARTH_MODEL_ALIASES": "gpt-4o-mini=qwen3"}, m, "--model-alias", "gpt-4o=llama3.2")
	c := sdk(srv)
	ctx := context.Background()
	a, err := c.Beta.Assistants.New(ctx, openai.BetaAssistantNewParams{Model: "gpt-4o"})
	if err != nil {
		t.Fatal(err)
	}
	th := userThread(t, c, "hello")
	run, _ := streamRun(t, c, th, a.ID)
	if run.Status != openai.RunStatusCompleted || run.Model != "gpt-4o" || a.Model != "gpt-4o" {
		t.Fatalf("run %s model %q, assistant model %q", run.Status, run.Model, a.Model)
	}
	if got, err := c.Beta.Threads.Runs.Get(ctx, th, run.ID); err != nil || got.Model != "gpt-4o" {
		t.Fatalf("retrieved run: %v model %q", err, got.Model)
	}
	if got, err := c.Beta.Assistants.Get(ctx, a.ID); err != nil || got.Model != "gpt-4o" {
		t.Fatalf("retrieved assistant: %v model %q", err, got.Model)
	}
	reqs := m.Requests()
	if len(reqs) != 1 || reqs[0].Model != "llama3.2" {
		t.Fatalf("backend asked for %+v", reqs)
	}
	models, err := c.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, md := range models.Data {
		ids = append(ids, md.ID)
	}
	if strings.Join(ids, ",") != "gpt-4o,gpt-4o-mini" {
		t.Fatalf("models %v", ids)
	}
	if md, err := c.Models.Get(ctx, "gpt-4o-mini"); err != nil || md.ID != "gpt-4o-mini" {
		t.Fatalf("get alias: %v %+v", err, md)
	}
	if !strings.Contains(srv.logs.String(), "alias=gpt-4o model=llama3.2") {
		t.Fatalf("startup log does not list the aliases:\n%s", srv.logs)
	}
}

// The demo backend (--model-backend scripted) shows the three tool flows
// through an SDK client: code_interpreter, file_search with a citation,
// and the assistant's own function.
func TestDemoBackendToolsSDK(t *testing.T) {
	srv := startServe(t, map[string]string{"HEARTH_DB": filepath.Join(t.TempDir(), "h.db")}, "--model-backend", "scripted")
	c := sdk(srv)
	ctx := context.Background()

	t.Run("code_interpreter", func(t *testing.T) {
		a, err := c.Beta.Assistants.New(ctx, openai.BetaAssistantNewParams{Model: demoModel,
			Tools: []openai.AssistantToolUnionParam{{OfCodeInterpreter: &openai.CodeInterpreterToolParam{}}}})
		if err != nil {
			t.Fatal(err)
		}
		th := userThread(t, c, "run code print(6*7)")
		run, events := streamRun(t, c, th, a.ID)
		if run.Status != openai.RunStatusCompleted || !strings.Contains(strings.Join(events, " "), "thread.run.step.delta") {
			t.Fatalf("run %s, events %v", run.Status, events)
		}
		steps, err := c.Beta.Threads.Runs.Steps.List(ctx, th, run.ID, openai.BetaThreadRunStepListParams{})
		if err != nil {
			t.Fatal(err)
		}
		var code string
		for _, s := range steps.Data {
			for _, tc := range s.StepDetails.ToolCalls {
				if tc.Type == "code_interpreter" {
					code = tc.CodeInterpreter.Input
				}
			}
		}
		if code != "print(6*7)" {
			t.Fatalf("code_interpreter input %q in %+v", code, steps.Data)
		}
		if ans := lastAnswer(t, c, th); !strings.HasPrefix(ans.Content[0].Text.Value, "The code printed:") {
			t.Fatalf("answer %q", ans.Content[0].Text.Value)
		}
	})

	t.Run("file_search", func(t *testing.T) {
		vs, err := c.VectorStores.New(ctx, openai.VectorStoreNewParams{Name: openai.String("manuals")})
		if err != nil {
			t.Fatal(err)
		}
		vf, err := c.VectorStores.Files.UploadAndPoll(ctx, vs.ID, openai.FileNewParams{
			File:    openai.File(strings.NewReader("The warranty covers the kettle for two years from the date of purchase."), "kettle.txt", "text/plain"),
			Purpose: openai.FilePurposeAssistants}, 0)
		if err != nil || vf.Status != "completed" {
			t.Fatalf("upload: %v %+v", err, vf)
		}
		a, err := c.Beta.Assistants.New(ctx, openai.BetaAssistantNewParams{Model: demoModel,
			Tools:         []openai.AssistantToolUnionParam{{OfFileSearch: &openai.FileSearchToolParam{}}},
			ToolResources: openai.BetaAssistantNewParamsToolResources{FileSearch: openai.BetaAssistantNewParamsToolResourcesFileSearch{VectorStoreIDs: []string{vs.ID}}}})
		if err != nil {
			t.Fatal(err)
		}
		th := userThread(t, c, "search kettle warranty")
		run, _ := streamRun(t, c, th, a.ID)
		if run.Status != openai.RunStatusCompleted {
			t.Fatalf("run %s %+v", run.Status, run.LastError)
		}
		text := lastAnswer(t, c, th).Content[0].Text
		if len(text.Annotations) != 1 || text.Annotations[0].Type != "file_citation" || text.Annotations[0].FileCitation.FileID != vf.ID {
			t.Fatalf("answer %q annotations %+v", text.Value, text.Annotations)
		}
	})

	t.Run("function", func(t *testing.T) {
		a, err := c.Beta.Assistants.New(ctx, openai.BetaAssistantNewParams{Model: demoModel,
			Tools: []openai.AssistantToolUnionParam{{OfFunction: &openai.FunctionToolParam{Function: openai.FunctionDefinitionParam{
				Name: "get_weather", Strict: openai.Bool(true),
				Parameters: openai.FunctionParameters{"type": "object", "additionalProperties": false,
					"properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		th := userThread(t, c, "call get_weather for Oslo")
		run, _ := streamRun(t, c, th, a.ID)
		if run.Status != openai.RunStatusRequiresAction {
			t.Fatalf("run %s %+v", run.Status, run.LastError)
		}
		call := run.RequiredAction.SubmitToolOutputs.ToolCalls[0]
		var args map[string]any
		if call.Function.Name != "get_weather" || json.Unmarshal([]byte(call.Function.Arguments), &args) != nil || args["city"] == nil {
			t.Fatalf("call %+v", call)
		}
		st := c.Beta.Threads.Runs.SubmitToolOutputsStreaming(ctx, th, run.ID, openai.BetaThreadRunSubmitToolOutputsParams{
			ToolOutputs: []openai.BetaThreadRunSubmitToolOutputsParamsToolOutput{{ToolCallID: openai.String(call.ID), Output: openai.String("rain, 4°C")}}})
		if run, _ = drain(t, st); run.Status != openai.RunStatusCompleted {
			t.Fatalf("after outputs: %s", run.Status)
		}
		if ans := lastAnswer(t, c, th).Content[0].Text.Value; ans != "get_weather returned: rain, 4°C" {
			t.Fatalf("answer %q", ans)
		}
	})
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The operator's endpoints answer on a served instance, without a key even
// when keys are set; /v1/models needs one then.
func TestServeOpsEndpoints(t *testing.T) {
	srv := startServe(t, map[string]string{"HEARTH_DB": filepath.Join(t.TempDir(), "h.db"), "HEARTH_API_KEYS": "sk-x"}, "--model-backend", "scripted")
	for path, want := range map[string]string{"/": "Hearth is running", "/healthz": `"ok"`, "/readyz": `"ready"`, "/metrics": "hearth_runs_queued"} {
		if code, body := get(t, srv.url+path); code != 200 || !strings.Contains(body, want) {
			t.Errorf("%s: %d %s", path, code, body)
		}
	}
	if code, _ := get(t, srv.url+"/v1/models"); code != 401 {
		t.Errorf("/v1/models without a key: %d", code)
	}
	if code, body := do(t, "GET", srv.url+"/v1/models", "sk-x", ""); code != 200 || !strings.Contains(body, demoModel) {
		t.Errorf("/v1/models: %d %s", code, body)
	}
}

func TestServeHelpExitsZero(t *testing.T) {
	var out syncBuffer
	a := &app{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	if err := a.run(context.Background(), []string{"serve", "--help"}); err != nil {
		t.Fatalf("serve --help: %v", err)
	}
	if s := out.String(); strings.Contains(s, "help requested") || !strings.Contains(s, "-model-alias") {
		t.Fatalf("help output:\n%s", s)
	}
}

// With no backend listening, serve starts anyway and says so.
func TestServeStartupCheckWarns(t *testing.T) {
	srv := startServe(t, map[string]string{"HEARTH_DB": filepath.Join(t.TempDir(), "h.db")}, "--ollama-url", "http://127.0.0.1:1")
	if !strings.Contains(srv.logs.String(), "model backend did not answer") {
		t.Fatalf("no warning:\n%s", srv.logs)
	}
	if code, body := get(t, srv.url+"/readyz"); code != 503 || !strings.Contains(body, `"store":"ok"`) || !strings.Contains(body, "unreachable") {
		t.Fatalf("/readyz: %d %s", code, body)
	}
}

// metric reads one sample from a served /metrics.
func metric(t *testing.T, url, name string) string {
	t.Helper()
	_, body := get(t, url+"/metrics")
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return v
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return ""
}

// The served /metrics counts an open event stream, and the engine's load.
func TestServeMetricsStreams(t *testing.T) {
	calling := make(chan struct{})
	m := scripted.New(scripted.Turn{Match: func(*llm.Request) bool { close(calling); return true }, Block: true})
	srv := startServeModel(t, map[string]string{"HEARTH_DB": filepath.Join(t.TempDir(), "h.db")}, m)
	c := sdk(srv)
	ctx := context.Background()
	a, err := c.Beta.Assistants.New(ctx, openai.BetaAssistantNewParams{Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	th := userThread(t, c, "hi")
	if v := metric(t, srv.url, "hearth_streams_active"); v != "0" {
		t.Fatalf("streams before: %s", v)
	}
	st := c.Beta.Threads.Runs.NewStreaming(ctx, th, openai.BetaThreadRunNewParams{AssistantID: a.ID})
	var runID string
	for runID == "" && st.Next() {
		runID = st.Current().AsThreadRunCreated().Data.ID
	}
	<-calling
	if v := metric(t, srv.url, "hearth_streams_active"); v != "1" {
		t.Fatalf("streams during the run: %s", v)
	}
	if v := metric(t, srv.url, "hearth_workers_busy"); v != "1" {
		t.Fatalf("busy workers during the run: %s", v)
	}
	if _, err := c.Beta.Threads.Runs.Cancel(ctx, th, runID); err != nil {
		t.Fatal(err)
	}
	for st.Next() {
	}
	st.Close()
	if v := metric(t, srv.url, "hearth_streams_active"); v != "0" {
		t.Fatalf("streams after: %s", v)
	}
}
