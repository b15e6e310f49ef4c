package openaihttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/conversations"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/ollama"
	"github.com/hearth-go/hearth/llm/ollama/ollamatest"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/openaihttp"
)

// respTurn is one model reply, scripted for whichever backend a
// conformance test runs against.
type respTurn struct {
	text string
	// call, when set, is a function call name and its JSON arguments.
	call, args string
}

// respBackend is a model, a way to queue its next replies, and the text of
// the last user message it was sent: the scripted model, or real Ollama's
// wire format from ollamatest's fake.
type respBackend struct {
	name string
	open func(t *testing.T) (llm.Model, func(...respTurn), func() string)
}

var respBackends = []respBackend{
	{"scripted", func(t *testing.T) (llm.Model, func(...respTurn), func() string) {
		m := scripted.New()
		last := func() string { reqs := m.Requests(); return scripted.LastUser(&reqs[len(reqs)-1]) }
		return m, func(turns ...respTurn) {
			for _, tu := range turns {
				st := scripted.Turn{Text: tu.text, Pieces: 3}
				if tu.call != "" {
					st = scripted.Turn{Calls: []scripted.Call{{Name: tu.call, Arguments: tu.args}}, StreamArguments: true}
				}
				m.Add(st)
			}
		}, last
	}},
	{"ollama", func(t *testing.T) (llm.Model, func(...respTurn), func() string) {
		fake := ollamatest.NewServer(t)
		m, err := ollama.New(ollama.Config{URL: fake.URL(), RetryBackoff: 1e6})
		if err != nil {
			t.Fatal(err)
		}
		return m, func(turns ...respTurn) {
				for _, tu := range turns {
					r := ollamatest.Reply{Text: tu.text}
					if tu.call != "" {
						r = ollamatest.Reply{ToolCalls: []ollamatest.ToolCall{{Name: tu.call, Arguments: tu.args}}}
					}
					fake.Enqueue(r)
				}
			}, func() string {
				reqs := fake.Requests()
				msgs := reqs[len(reqs)-1].Messages
				for i := len(msgs) - 1; i >= 0; i-- {
					if msgs[i].Role == "user" {
						return msgs[i].Content
					}
				}
				return ""
			}
	}},
}

func respInput(s string) responses.ResponseNewParamsInputUnion {
	return responses.ResponseNewParamsInputUnion{OfString: openai.String(s)}
}

// The Responses API through openai-go v3 against the scripted model and
// the fake Ollama: create, retrieve, input items, delete; a stream read
// event by event; function calling over previous_response_id; a
// conversation; store false.
func TestOpenAIGoResponses(t *testing.T) {
	for _, b := range respBackends {
		t.Run(b.name, func(t *testing.T) {
			model, queue, _ := b.open(t)
			e := newEnv(t, model)
			ctx := context.Background()
			rs := &e.client.Responses

			// The math tutor: create and wait, retrieve, input items, delete.
			queue(respTurn{text: "x = 1"})
			r, err := rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("Solve 3x + 11 = 14"),
				Instructions: openai.String("You are a personal math tutor."), Metadata: map[string]string{"lesson": "1"}})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(r.ID, "resp_") || r.Status != responses.ResponseStatusCompleted || r.OutputText() != "x = 1" ||
				r.Object != "response" || r.Instructions.OfString != "You are a personal math tutor." || r.Metadata["lesson"] != "1" {
				t.Fatalf("created %s", r.RawJSON())
			}
			if r.Usage.InputTokens == 0 || r.Usage.OutputTokens == 0 || r.Usage.TotalTokens != r.Usage.InputTokens+r.Usage.OutputTokens {
				t.Fatalf("usage %s", r.Usage.RawJSON())
			}
			msg := r.Output[0].AsMessage()
			if msg.Type != "message" || msg.Role != "assistant" || msg.Status != "completed" || !strings.HasPrefix(msg.ID, "msg_") {
				t.Fatalf("output %s", r.Output[0].RawJSON())
			}
			g, err := rs.Get(ctx, r.ID, responses.ResponseGetParams{})
			if err != nil || g.OutputText() != "x = 1" || g.CreatedAt != r.CreatedAt {
				t.Fatalf("get %v %v", g, err)
			}
			items, err := rs.InputItems.List(ctx, r.ID, responses.InputItemListParams{})
			if err != nil || len(items.Data) != 1 || items.Data[0].Type != "message" || items.Data[0].AsMessage().Content[0].Text != "Solve 3x + 11 = 14" {
				t.Fatalf("input items %v %v", items, err)
			}
			if err := rs.Delete(ctx, r.ID); err != nil {
				t.Fatal(err)
			}
			var apiErr *openai.Error
			if _, err := rs.Get(ctx, r.ID, responses.ResponseGetParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
				t.Fatalf("get deleted: %v", err)
			}

			// A stream, read event by event and accumulated by the SDK.
			queue(respTurn{text: "one two three"})
			stream := rs.NewStreaming(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("count")})
			var types []string
			var acc responses.ResponseAccumulator
			var final responses.Response
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
				if ev.Type == "response.completed" {
					final = ev.Response
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if types[0] != "response.created" || types[len(types)-1] != "response.completed" || !slices.Contains(types, "response.output_text.delta") {
				t.Fatalf("events %v", types)
			}
			if final.OutputText() != "one two three" || acc.Snapshot().OutputText() != "one two three" {
				t.Fatalf("final %q accumulated %q", final.OutputText(), acc.Snapshot().OutputText())
			}

			// Weather function calling over previous_response_id.
			queue(respTurn{call: "get_weather", args: `{"city":"Oslo"}`}, respTurn{text: "Sunny in Oslo."})
			tools := []responses.ToolUnionParam{responses.ToolParamOfFunction("get_weather",
				map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}}, true)}
			r1, err := rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("Weather in Oslo?"), Tools: tools})
			if err != nil {
				t.Fatal(err)
			}
			call := r1.Output[len(r1.Output)-1].AsFunctionCall()
			if call.Type != "function_call" || call.Name != "get_weather" || call.Arguments != `{"city":"Oslo"}` || call.CallID == "" {
				t.Fatalf("call %s", r1.RawJSON())
			}
			out := responses.ResponseInputItemParamOfFunctionCallOutput(`{"sky":"sunny"}`)
			out.OfFunctionCallOutput.CallID = openai.String(call.CallID)
			r2, err := rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", PreviousResponseID: openai.String(r1.ID), Tools: tools,
				Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{out}}})
			if err != nil || r2.OutputText() != "Sunny in Oslo." || r2.PreviousResponseID != r1.ID {
				t.Fatalf("second %v %v", r2, err)
			}

			// A conversation: each turn's input and output are appended.
			c, err := e.client.Conversations.New(ctx, conversations.ConversationNewParams{})
			if err != nil {
				t.Fatal(err)
			}
			conv := responses.ResponseNewParamsConversationUnion{OfString: openai.String(c.ID)}
			queue(respTurn{text: "Hello!"}, respTurn{text: "You said hi."})
			if _, err := rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("hi"), Conversation: conv}); err != nil {
				t.Fatal(err)
			}
			c2, err := rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("what did I say?"), Conversation: conv})
			if err != nil || c2.Conversation.ID != c.ID {
				t.Fatalf("second turn %v %v", c2, err)
			}
			page, err := e.client.Conversations.Items.List(ctx, c.ID, conversations.ItemListParams{Order: conversations.ItemListParamsOrderAsc})
			if err != nil {
				t.Fatal(err)
			}
			var roles []string
			for _, it := range page.Data {
				roles = append(roles, it.Role)
			}
			if !slices.Equal(roles, []string{"user", "assistant", "user", "assistant"}) {
				t.Fatalf("conversation roles %v", roles)
			}

			// store: false keeps nothing to retrieve.
			queue(respTurn{text: "gone"})
			nr, err := rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("x"), Store: openai.Bool(false)})
			if err != nil || nr.OutputText() != "gone" {
				t.Fatalf("store false %v %v", nr, err)
			}
			if _, err := rs.Get(ctx, nr.ID, responses.ResponseGetParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
				t.Fatalf("get unstored: %v", err)
			}
		})
	}
}

// A background response over HTTP: answered queued, followed with
// GetStreaming from a sequence number (openai-go sends stream in a GET
// body), cancelled, and cancelled again.
func TestOpenAIGoResponseBackground(t *testing.T) {
	hold := scripted.NewHold()
	e := newEnv(t, scripted.New(scripted.Turn{Text: "a b c", Pieces: 3}, scripted.Turn{Text: "slow", Hold: hold}))
	ctx := context.Background()
	rs := &e.client.Responses

	r, err := rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("go"), Background: openai.Bool(true)})
	if err != nil || r.Status != responses.ResponseStatusQueued || !r.Background {
		t.Fatalf("background %v %v", r, err)
	}
	var seqs []int64
	var last string
	stream := rs.GetStreaming(ctx, r.ID, responses.ResponseGetParams{StartingAfter: openai.Int(1)})
	for stream.Next() {
		ev := stream.Current()
		seqs = append(seqs, ev.SequenceNumber)
		last = ev.Type
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(seqs) == 0 || seqs[0] != 2 || last != "response.completed" {
		t.Fatalf("replay from 2: %v ending %s", seqs, last)
	}
	// The same in the query, as the npm SDK sends it.
	resp, body := doReq(t, e, http.MethodGet, "/v1/responses/"+r.ID+"?stream=true&starting_after=3", "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") ||
		!strings.Contains(body, `"sequence_number":4`) || strings.Contains(body, `"sequence_number":3,`) || strings.Contains(body, "[DONE]") {
		t.Fatalf("query replay %d %q", resp.StatusCode, body)
	}

	slow, err := rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("slow"), Background: openai.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if err := hold.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		c, err := rs.Cancel(ctx, slow.ID)
		if err != nil || c.Status != responses.ResponseStatusCancelled {
			t.Fatalf("cancel %v %v", c, err)
		}
	}
	var apiErr *openai.Error
	if _, err := rs.Cancel(ctx, r.ID); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
		t.Fatalf("cancel completed: %v", err)
	}
}

// A foreground response outlives the per-request timeout: it is answered
// when the model is done, as the hosted API answers.
func TestResponseForegroundOutlivesTimeout(t *testing.T) {
	hold := scripted.NewHold()
	e := newEnv(t, scripted.New(scripted.Turn{Text: "late", Hold: hold}), func(o *openaihttp.Options) { o.Timeout = 1 })
	ctx := context.Background()
	done := make(chan error, 1)
	var got *responses.Response
	go func() {
		var err error
		got, err = e.client.Responses.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("wait")}, option.WithRequestTimeout(0))
		done <- err
	}()
	if err := hold.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// The 1 ns timeout has long passed for the waiting request; a poll
	// with that timeout would have failed already.
	hold.Release()
	if err := <-done; err != nil || got.OutputText() != "late" {
		t.Fatalf("%v %v", got, err)
	}
}

// doReq sends one authorised request with a JSON body and reads the answer.
func doReq(t *testing.T, e *env, method, path, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// Malformed Responses requests over HTTP: each gets the API's status and
// error envelope, and nothing is written.
func TestResponseBadInputHTTP(t *testing.T) {
	m := scripted.New()
	m.Fallback = npmResponder
	e := newEnv(t, m)
	ctx := context.Background()
	rs := &e.client.Responses
	done, err := rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("hi")})
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("bye")})
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Delete(ctx, deleted.ID); err != nil {
		t.Fatal(err)
	}
	unstored, err := rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("x"), Store: openai.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	bg, err := rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("bg"), Background: openai.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	for ev, err := range e.eng.Responses.Stream(ctx, bg.ID, -1) { // wait until it ends
		if err != nil {
			t.Fatal(err)
		}
		_ = ev
	}
	withTool, err := rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("weather?"),
		Tools: []responses.ToolUnionParam{responses.ToolParamOfFunction("get_weather", map[string]any{"type": "object"}, false)}})
	if err != nil {
		t.Fatal(err)
	}
	const inv, nf = "invalid_request_error", "not_found_error"
	body := func(fields string) string { return `{"model":"llama3.2","input":"x"` + fields + `}` }
	items := func(item string) string { return `{"model":"llama3.2","input":[` + item + `]}` }
	r, in := "/v1/responses", "/v1/responses/"+done.ID+"/input_items"
	cases := []badInputCase{
		{"bad JSON", "POST", r, `{"model":`, 400, inv, "", ""},
		{"body not an object", "POST", r, `[]`, 400, inv, "", ""},
		{"unknown field", "POST", r, body(`,"colour":"red"`), 400, inv, "colour", apitype.CodeUnknownParameter},
		{"missing model", "POST", r, `{"input":"x"}`, 400, inv, "model", apitype.CodeMissingParameter},
		{"model not a string", "POST", r, `{"model":5,"input":"x"}`, 400, inv, "model", apitype.CodeInvalidType},
		{"input a number", "POST", r, `{"model":"llama3.2","input":5}`, 400, inv, "input", apitype.CodeInvalidType},
		{"item type unknown", "POST", r, items(`{"type":"banana"}`), 400, inv, "input[0].type", apitype.CodeInvalidValue},
		{"item role bad", "POST", r, items(`{"type":"message","role":"robot","content":"x"}`), 400, inv, "input[0].role", apitype.CodeInvalidValue},
		{"content part type unknown", "POST", r, items(`{"role":"user","content":[{"type":"input_banana","text":"x"}]}`), 400, inv, "input[0].content[0]", apitype.CodeInvalidValue},
		{"output_text in a user message", "POST", r, items(`{"type":"message","role":"user","content":[{"type":"output_text","text":"x"}]}`), 400, inv, "input[0].content[0]", ""},
		{"unknown item field", "POST", r, items(`{"role":"user","content":"x","colour":"red"}`), 400, inv, "input[0].colour", apitype.CodeUnknownParameter},
		{"function_call_output without call_id", "POST", r, items(`{"type":"function_call_output","output":"x"}`), 400, inv, "input[0].call_id", apitype.CodeMissingParameter},
		{"unknown call_id", "POST", r, `{"model":"llama3.2","previous_response_id":"` + done.ID + `","input":[{"type":"function_call_output","call_id":"call_nope","output":"x"}]}`, 400, inv, "input", ""},
		{"calls left unanswered", "POST", r, `{"model":"llama3.2","previous_response_id":"` + withTool.ID + `","input":"and?"}`, 400, inv, "input", ""},
		{"conversation with previous_response_id", "POST", r, body(`,"conversation":"conv_x","previous_response_id":"` + done.ID + `"`), 400, inv, "conversation", ""},
		{"unknown previous response", "POST", r, body(`,"previous_response_id":"resp_nope"`), 400, inv, "previous_response_id", "previous_response_not_found"},
		{"deleted previous response", "POST", r, body(`,"previous_response_id":"` + deleted.ID + `"`), 400, inv, "previous_response_id", "previous_response_not_found"},
		{"unstored previous response", "POST", r, body(`,"previous_response_id":"` + unstored.ID + `"`), 400, inv, "previous_response_id", "previous_response_not_found"},
		{"unknown conversation", "POST", r, body(`,"conversation":"conv_nope"`), 404, nf, "", ""},
		{"unknown previous response, streamed", "POST", r, body(`,"stream":true,"previous_response_id":"resp_nope"`), 400, inv, "previous_response_id", "previous_response_not_found"},
		{"include bad", "POST", r, body(`,"include":["nope"]`), 400, inv, "include[0]", apitype.CodeInvalidValue},
		{"text.format type bad", "POST", r, body(`,"text":{"format":{"type":"yaml"}}`), 400, inv, "text.format.type", apitype.CodeInvalidValue},
		{"json_schema without schema", "POST", r, body(`,"text":{"format":{"type":"json_schema","name":"x"}}`), 400, inv, "text.format.schema", apitype.CodeMissingParameter},
		{"json_schema without name", "POST", r, body(`,"text":{"format":{"type":"json_schema","schema":{"type":"object"}}}`), 400, inv, "text.format.name", apitype.CodeMissingParameter},
		{"json_schema not a schema", "POST", r, body(`,"text":{"format":{"type":"json_schema","name":"x","schema":{"type":"banana"}}}`), 400, inv, "text.format.schema", ""},
		{"function parameters not a schema", "POST", r, body(`,"tools":[{"type":"function","name":"f","parameters":{"type":"banana"}}]`), 400, inv, "tools[0].parameters", ""},
		{"temperature 3", "POST", r, body(`,"temperature":3`), 400, inv, "temperature", ""},
		{"top_p 2", "POST", r, body(`,"top_p":2`), 400, inv, "top_p", ""},
		{"max_output_tokens 0", "POST", r, body(`,"max_output_tokens":0`), 400, inv, "max_output_tokens", ""},
		{"tool type unknown", "POST", r, body(`,"tools":[{"type":"banana"}]`), 400, inv, "tools[0].type", apitype.CodeInvalidValue},
		{"function tool without name", "POST", r, body(`,"tools":[{"type":"function","parameters":{}}]`), 400, inv, "tools[0].name", apitype.CodeMissingParameter},
		{"tool_choice names no tool", "POST", r, body(`,"tool_choice":{"type":"function","name":"nope"}`), 400, inv, "tool_choice", ""},
		{"truncation bad", "POST", r, body(`,"truncation":"sometimes"`), 400, inv, "truncation", apitype.CodeInvalidValue},
		{"metadata too many keys", "POST", r, body(`,"metadata":{` + manyKeys(17) + `}`), 400, inv, "metadata", ""},
		{"reasoning effort bad", "POST", r, body(`,"reasoning":{"effort":"extreme"}`), 400, inv, "reasoning.effort", apitype.CodeInvalidValue},
		{"background without store", "POST", r, body(`,"background":true,"store":false`), 400, inv, "background", ""},
		{"parallel_tool_calls not a boolean", "POST", r, body(`,"parallel_tool_calls":"yes"`), 400, inv, "parallel_tool_calls", apitype.CodeInvalidType},
		{"max_tool_calls negative", "POST", r, body(`,"max_tool_calls":-1`), 400, inv, "max_tool_calls", ""},
		{"instructions not a string", "POST", r, body(`,"instructions":["x"]`), 400, inv, "instructions", apitype.CodeInvalidType},
		{"unknown vector store", "POST", r, body(`,"tools":[{"type":"file_search","vector_store_ids":["vs_nope"]}]`), 404, nf, "tools[0].vector_store_ids[0]", ""},
		{"unknown input file", "POST", r, items(`{"role":"user","content":[{"type":"input_file","file_id":"file-nope"}]}`), 400, inv, "input[0].content[0].file_id", ""},
		{"unknown assistant as prompt", "POST", r, `{"prompt":{"id":"asst_nope"},"input":"x"}`, 404, nf, "prompt.id", ""},

		{"retrieve unknown", "GET", "/v1/responses/resp_nope", "", 404, nf, "", ""},
		{"retrieve deleted", "GET", "/v1/responses/" + deleted.ID, "", 404, nf, "", ""},
		{"retrieve unstored", "GET", "/v1/responses/" + unstored.ID, "", 404, nf, "", ""},
		{"retrieve include bad", "GET", "/v1/responses/" + done.ID + "?include[]=nope", "", 400, inv, "include[0]", apitype.CodeInvalidValue},
		{"retrieve stream not a boolean", "GET", "/v1/responses/" + done.ID + "?stream=maybe", "", 400, inv, "stream", ""},
		{"replay starting_after negative", "GET", "/v1/responses/" + done.ID + "?stream=true&starting_after=-1", "", 400, inv, "starting_after", ""},
		{"replay of an unknown response", "GET", "/v1/responses/resp_nope?stream=true", "", 404, nf, "", ""},
		{"retrieve with a bad JSON body", "GET", "/v1/responses/" + done.ID, `{"stream":`, 400, inv, "", ""},
		{"delete unknown", "DELETE", "/v1/responses/resp_nope", "", 404, nf, "", ""},
		{"cancel unknown", "POST", "/v1/responses/resp_nope/cancel", "", 404, nf, "", ""},
		{"cancel a foreground response", "POST", "/v1/responses/" + done.ID + "/cancel", "", 400, inv, "", ""},
		{"cancel a completed background response", "POST", "/v1/responses/" + bg.ID + "/cancel", "", 400, inv, "", ""},
		{"input items of unknown", "GET", "/v1/responses/resp_nope/input_items", "", 404, nf, "", ""},
		{"input items limit 0", "GET", in + "?limit=0", "", 400, inv, "limit", ""},
		{"input items order bad", "GET", in + "?order=up", "", 400, inv, "order", ""},
		{"input items after unknown", "GET", in + "?after=msg_nope", "", 400, inv, "after", ""},
		{"input items include bad", "GET", in + "?include[]=nope", "", 400, inv, "include[0]", apitype.CodeInvalidValue},
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	checkBadInput(t, e, cases)
}
