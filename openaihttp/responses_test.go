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

// respBackend is a model and a way to queue its next replies: the scripted
// model, or real Ollama's wire format from ollamatest's fake.
type respBackend struct {
	name string
	open func(t *testing.T) (llm.Model, func(...respTurn))
}

var respBackends = []respBackend{
	{"scripted", func(t *testing.T) (llm.Model, func(...respTurn)) {
		m := scripted.New()
		return m, func(turns ...respTurn) {
			for _, tu := range turns {
				st := scripted.Turn{Text: tu.text, Pieces: 3}
				if tu.call != "" {
					st = scripted.Turn{Calls: []scripted.Call{{Name: tu.call, Arguments: tu.args}}, StreamArguments: true}
				}
				m.Add(st)
			}
		}
	}},
	{"ollama", func(t *testing.T) (llm.Model, func(...respTurn)) {
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
			model, queue := b.open(t)
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
