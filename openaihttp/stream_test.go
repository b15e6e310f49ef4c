package openaihttp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm/scripted"
)

func postStream(t testing.TB, ctx context.Context, e *env, path, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "POST", e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("OpenAI-Beta", "assistants=v2")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// sseEvent reads one "event: X\ndata: Y\n\n" frame, failing on any other shape.
func sseEvent(t testing.TB, r *bufio.Reader) (name, data string) {
	t.Helper()
	read := func() string {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v (got %q)", err, l)
		}
		return l
	}
	ev, dl, blank := read(), read(), read()
	if !strings.HasPrefix(ev, "event: ") || !strings.HasPrefix(dl, "data: ") || blank != "\n" {
		t.Fatalf("bad frame %q %q %q", ev, dl, blank)
	}
	return strings.TrimSuffix(ev[len("event: "):], "\n"), strings.TrimSuffix(dl[len("data: "):], "\n")
}

// Events are flushed one by one: they arrive while the model is still
// blocked mid-answer. Every frame is exact SSE, and deltas carry indexes.
func TestSSEFramingAndFlush(t *testing.T) {
	e := newEnv(t, scripted.New(scripted.Turn{Text: "Partial answer", Block: true}))
	a := e.assistant(t)
	th := e.threadWith(t, "hi")
	resp := postStream(t, context.Background(), e, "/v1/threads/"+th.ID+"/runs", `{"assistant_id":"`+a.ID+`","stream":true}`)
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content-type %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	var runID string
	for {
		name, data := sseEvent(t, br)
		var obj map[string]any
		if err := json.Unmarshal([]byte(data), &obj); err != nil {
			t.Fatalf("%s: data is not JSON: %s", name, data)
		}
		if name == "thread.run.created" {
			runID = obj["id"].(string)
		}
		if name == "thread.message.delta" {
			part := obj["delta"].(map[string]any)["content"].([]any)[0].(map[string]any)
			if _, ok := part["index"]; !ok {
				t.Fatalf("delta without index: %s", data)
			}
			break // received while the model blocks: flushed
		}
	}
	// End the run; the stream finishes with the cancelled run and done.
	if _, err := e.eng.Runs.Cancel(context.Background(), th.ID, runID); err != nil {
		t.Fatal(err)
	}
	var last string
	for {
		name, data := sseEvent(t, br)
		if name == "done" {
			if data != "[DONE]" {
				t.Fatalf("done data %q", data)
			}
			break
		}
		last = name
	}
	if last != "thread.run.cancelled" {
		t.Fatalf("last event %s", last)
	}
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Fatalf("bytes after done: %q", rest)
	}
}

// A client that goes away mid-stream neither cancels nor loses the run.
func TestClientDisconnectKeepsRun(t *testing.T) {
	text := strings.Repeat("word ", 40)
	e := newEnv(t, scripted.New(scripted.Turn{Text: text, Pieces: 40, ChunkDelay: 2 * time.Millisecond}))
	a := e.assistant(t)
	th := e.threadWith(t, "talk")
	ctx, cancel := context.WithCancel(context.Background())
	resp := postStream(t, ctx, e, "/v1/threads/"+th.ID+"/runs", `{"assistant_id":"`+a.ID+`","stream":true}`)
	br := bufio.NewReader(resp.Body)
	var runID string
	for {
		name, data := sseEvent(t, br)
		if name == "thread.run.created" {
			var r apitype.Run
			json.Unmarshal([]byte(data), &r)
			runID = r.ID
		}
		if name == "thread.message.delta" {
			break
		}
	}
	cancel()
	resp.Body.Close()
	run, err := e.eng.Runs.Wait(context.Background(), th.ID, runID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != apitype.RunCompleted {
		t.Fatalf("run %s %+v", run.Status, run.LastError)
	}
	page, err := e.eng.Messages.List(context.Background(), th.ID, apitype.MessageListParams{})
	if err != nil || page.Data[0].Text() != text {
		t.Fatalf("message %q %v", page.Data[0].Text(), err)
	}
}
