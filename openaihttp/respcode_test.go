package openaihttp_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"

	"github.com/hearth-go/hearth/codeinterp/wasi"
	"github.com/hearth-go/hearth/engine"
)

// A CSV analysed in a container through openai-go v3: a streamed response
// with an auto container, read event by event and accumulated by the SDK;
// the code_interpreter_call item and the container_file_citation as the
// SDK reads them; the cited file fetched through client.Containers; then
// a response naming the container, with include for its outputs. Against
// the scripted model (the code streamed) and the fake Ollama (the call
// whole).
func TestOpenAIGoCodeInterpreter(t *testing.T) {
	if testing.Short() {
		t.Skip("starts CPython")
	}
	sb, err := wasi.New(wasi.Config{CacheDir: filepath.Join(os.TempDir(), "hearth-test-codeinterp-cache")})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	for _, b := range respBackends {
		t.Run(b.name, func(t *testing.T) { openAIGoCodeInterpreter(t, b, sb) })
	}
}

func openAIGoCodeInterpreter(t *testing.T, b respBackend, sb *wasi.Sandbox) {
	m, queue, _ := b.open(t)
	codeCall := func(c string) respTurn {
		args, _ := json.Marshal(map[string]string{"code": c})
		return respTurn{call: "code_interpreter", args: string(args)}
	}
	queue(codeCall("import csv\nrows = list(csv.DictReader(open('/mnt/data/sales.csv')))\nbest = max(rows, key=lambda r: int(r['sales']))\nprint(best['month'])\nopen('/mnt/data/best.txt', 'w').write(best['month'])"),
		respTurn{text: "February sold most ([best.txt](sandbox:/mnt/data/best.txt))."},
		codeCall("print(len(rows), best['sales'])"),
		respTurn{text: "Three months; 12."})
	e := newEnvWith(t, engine.Config{Model: m, FileIndex: &wordIndex{}, CodeInterpreter: sb})
	ctx := context.Background()
	f, err := e.client.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader("month,sales\njan,10\nfeb,12\nmar,7\n"), "sales.csv", "text/csv"),
		Purpose: openai.FilePurposeAssistants})
	if err != nil {
		t.Fatal(err)
	}
	rs := &e.client.Responses
	stream := rs.NewStreaming(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("Which month sold most?"),
		Tools: []responses.ToolUnionParam{responses.ToolParamOfCodeInterpreter(responses.ToolCodeInterpreterContainerCodeInterpreterContainerAutoParam{
			FileIDs: []string{f.ID}})}})
	var types []string
	var acc responses.ResponseAccumulator
	var final responses.Response
	var code strings.Builder
	for stream.Next() {
		ev := stream.Current()
		if int(ev.SequenceNumber) != len(types) {
			t.Fatalf("event %d numbered %d", len(types), ev.SequenceNumber)
		}
		types = append(types, ev.Type)
		var se responses.ResponsesServerEventUnion
		if err := json.Unmarshal([]byte(ev.RawJSON()), &se); err != nil {
			t.Fatal(err)
		}
		if err := acc.AddEvent(se); err != nil {
			t.Fatalf("accumulate %s: %v", ev.RawJSON(), err)
		}
		switch ev.Type {
		case "response.code_interpreter_call_code.delta":
			code.WriteString(ev.AsResponseCodeInterpreterCallCodeDelta().Delta)
		case "response.completed":
			final = ev.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"response.code_interpreter_call.in_progress", "response.code_interpreter_call_code.delta",
		"response.code_interpreter_call_code.done", "response.code_interpreter_call.interpreting", "response.code_interpreter_call.completed",
		"response.output_text.annotation.added"} {
		if !slices.Contains(types, want) {
			t.Fatalf("no %s in %v", want, types)
		}
	}
	if len(final.Output) != 2 || final.Output[0].Type != "code_interpreter_call" {
		t.Fatalf("output %s", final.RawJSON())
	}
	call := final.Output[0].AsCodeInterpreterCall()
	if call.Status != "completed" || !strings.HasPrefix(call.ContainerID, "cntr_") || call.Code != code.String() || len(call.Outputs) != 0 {
		t.Fatalf("call %s", final.Output[0].RawJSON())
	}
	ann := final.Output[1].AsMessage().Content[0].Annotations
	if len(ann) != 1 || ann[0].Type != "container_file_citation" || ann[0].ContainerID != call.ContainerID || ann[0].Filename != "best.txt" {
		t.Fatalf("annotations %s", final.Output[1].RawJSON())
	}
	if acc.Snapshot().OutputText() != final.OutputText() {
		t.Fatalf("accumulated %q, final %q", acc.Snapshot().OutputText(), final.OutputText())
	}
	resp, err := e.client.Containers.Files.Content.Get(ctx, ann[0].ContainerID, ann[0].FileID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "feb" {
		t.Fatalf("cited file %q", body)
	}

	// The same container by id keeps the notebook's variables.
	r2, err := rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("How many months?"),
		PreviousResponseID: openai.String(final.ID),
		Include:            []responses.ResponseIncludable{responses.ResponseIncludableCodeInterpreterCallOutputs},
		Tools:              []responses.ToolUnionParam{responses.ToolParamOfCodeInterpreter(call.ContainerID)}})
	if err != nil {
		t.Fatal(err)
	}
	c2 := r2.Output[0].AsCodeInterpreterCall()
	if c2.ContainerID != call.ContainerID || len(c2.Outputs) != 1 || c2.Outputs[0].Type != "logs" || c2.Outputs[0].Logs != "3 12\n" {
		t.Fatalf("second call %s", r2.Output[0].RawJSON())
	}
	if r2.OutputText() != "Three months; 12." {
		t.Fatalf("second answer %q", r2.OutputText())
	}
	g, err := rs.Get(ctx, r2.ID, responses.ResponseGetParams{})
	if err != nil || len(g.Output[0].AsCodeInterpreterCall().Outputs) != 0 {
		t.Fatalf("outputs without include: %v %s", err, g.Output[0].RawJSON())
	}
	// An unknown container: the API's 404 naming the tool's container.
	_, err = rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("x"),
		Tools: []responses.ToolUnionParam{responses.ToolParamOfCodeInterpreter("cntr_nope")}})
	if ae := apiErr(t, err, 404, "not_found_error"); ae.Param != "tools[0].container" {
		t.Fatalf("param %q", ae.Param)
	}
}
