package engine_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/scripted"
)

// Events are read (encoded) by stream consumers on their own goroutines while
// the run goes on: the objects they carry must be snapshots the runner never
// writes again. Under -race this caught the tool_calls step published by
// openToolStep and then mutated by toolCalls.
func TestStreamEventsAreSnapshots(t *testing.T) {
	m := scripted.New()
	e := openEngine(t, m)
	fn := apitype.Tool{Type: apitype.ToolTypeFunction, Function: &apitype.FunctionDef{Name: "get_weather",
		Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string"}}}`)}}
	a := mustAssistant(t, e, fn)
	for range 20 { // the race shows in some runs, not all
		m.Add(scripted.Turn{Calls: []scripted.Call{{Name: "get_weather", Arguments: `{"city":"Paris"}`}}, StreamArguments: true})
		streamAndEncode(t, e, a.ID, mustThread(t, e, "Weather in Paris?").ID)
	}
}

func streamAndEncode(t *testing.T, e *engine.Engine, assistantID, threadID string) {
	t.Helper()
	for ev, err := range e.Runs.CreateStream(context.Background(), threadID, apitype.RunCreateParams{AssistantID: assistantID}) {
		if err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(ev.Data()); err != nil {
			t.Fatal(err)
		}
	}
}
