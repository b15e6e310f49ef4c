package apitype_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/internal/npmtest"
)

// TestNpmSDKReadsResponses runs testdata/npm/responses.mjs, where the npm
// `openai` package reads a response, a stream and an items page written by
// these types. Tests need no network, so the package is not installed here:
// set HEARTH_NPM_OPENAI to an installed copy, e.g.
//
//	(cd /tmp/npmoai && npm install openai@7.57.0)
//	HEARTH_NPM_OPENAI=/tmp/npmoai/node_modules/openai go test -run Npm -v ./apitype
//
// Without it (or without node) the test is skipped.
func TestNpmSDKReadsResponses(t *testing.T) {
	npmtest.Require(t)
	resp := sampleResponse()

	// A stream as the engine will write it: a message streamed in two
	// deltas, then a function call, then response.completed with the output.
	msg := apitype.MessageItem{ID: "msg_9", Role: apitype.RoleAssistant, Status: apitype.ItemInProgress}
	call := apitype.FunctionCallItem{ID: "fc_9", CallID: "call_1", Name: "get_weather", Status: apitype.ItemInProgress}
	started := apitype.Response{ID: "resp_9", CreatedAt: 1, Status: apitype.ResponseInProgress, Model: "llama3.2", ParallelToolCalls: true, Store: true}
	empty := apitype.OutputText("")
	done := apitype.OutputText("Hello")
	msgDone, callDone := msg, call
	msgDone.Status, msgDone.Content = apitype.ItemCompleted, []apitype.ContentPart{done}
	callDone.Status, callDone.Arguments = apitype.ItemCompleted, `{"city":"Paris"}`
	finished := started
	finished.Status = apitype.ResponseCompleted
	finished.Output = []apitype.Item{apitype.ItemOf(&msgDone), apitype.ItemOf(&callDone)}
	finished.Usage = &apitype.ResponseUsage{InputTokens: 5, OutputTokens: 3, TotalTokens: 8}
	item := func(v apitype.ItemVariant) *apitype.Item { it := apitype.ItemOf(v); return &it }
	events := []apitype.ResponseStreamEvent{
		{Type: apitype.EventResponseCreated, Response: &started},
		{Type: apitype.EventResponseInProgress, Response: &started},
		{Type: apitype.EventOutputItemAdded, OutputIndex: 0, Item: item(&msg)},
		{Type: apitype.EventContentPartAdded, ItemID: "msg_9", Part: &empty},
		{Type: apitype.EventOutputTextDelta, ItemID: "msg_9", Delta: "Hel"},
		{Type: apitype.EventOutputTextDelta, ItemID: "msg_9", Delta: "lo"},
		{Type: apitype.EventOutputTextDone, ItemID: "msg_9", Text: "Hello"},
		{Type: apitype.EventContentPartDone, ItemID: "msg_9", Part: &done},
		{Type: apitype.EventOutputItemDone, OutputIndex: 0, Item: item(&msgDone)},
		{Type: apitype.EventOutputItemAdded, OutputIndex: 1, Item: item(&call)},
		{Type: apitype.EventFunctionCallArgumentsDelta, ItemID: "fc_9", OutputIndex: 1, Delta: `{"city":`},
		{Type: apitype.EventFunctionCallArgumentsDelta, ItemID: "fc_9", OutputIndex: 1, Delta: `"Paris"}`},
		{Type: apitype.EventFunctionCallArgumentsDone, ItemID: "fc_9", OutputIndex: 1, Arguments: `{"city":"Paris"}`},
		{Type: apitype.EventOutputItemDone, OutputIndex: 1, Item: item(&callDone)},
		{Type: apitype.EventResponseCompleted, Response: &finished},
	}
	var sse bytes.Buffer
	for i := range events {
		events[i].SequenceNumber = i
		b, err := json.Marshal(events[i])
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sse, "event: %s\ndata: %s\n\n", events[i].Type, b)
	}
	items := apitype.NewItemList([]apitype.Item{
		apitype.ItemOf(&apitype.MessageItem{ID: "msg_1", Role: apitype.RoleUser, Status: apitype.ItemCompleted, Content: []apitype.ContentPart{apitype.InputText("hi")}}),
		apitype.ItemOf(&msgDone),
	})
	fixtures, err := json.Marshal(map[string]any{
		"response": resp, "sse": sse.String(), "items": items,
		"want": map[string]string{"output_text": resp.OutputText(), "streamed_text": "Hello", "arguments": `{"city":"Paris"}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fixtures.json")
	if err := os.WriteFile(path, fixtures, 0o600); err != nil {
		t.Fatal(err)
	}
	npmtest.Run(t, filepath.Join("testdata", "npm", "responses.mjs"), []string{"FIXTURES=" + path}, "response", "stream", "items")
}
