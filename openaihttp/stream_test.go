package openaihttp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/openaihttp"
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

// readFrame reads one "event: X\ndata: Y\n\n" frame and refuses any other shape.
func readFrame(r *bufio.Reader) (name, data string, err error) {
	var lines [3]string
	for i := range lines {
		if lines[i], err = r.ReadString('\n'); err != nil {
			return "", "", fmt.Errorf("read: %w (got %q)", err, lines[:i+1])
		}
	}
	ev, dl, blank := lines[0], lines[1], lines[2]
	if !strings.HasPrefix(ev, "event: ") || !strings.HasPrefix(dl, "data: ") || blank != "\n" {
		return "", "", fmt.Errorf("bad frame %q", lines)
	}
	return strings.TrimSuffix(ev[len("event: "):], "\n"), strings.TrimSuffix(dl[len("data: "):], "\n"), nil
}

func sseEvent(t testing.TB, r *bufio.Reader) (name, data string) {
	t.Helper()
	name, data, err := readFrame(r)
	if err != nil {
		t.Fatal(err)
	}
	return name, data
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

// Streams are exempt from the per-request timeout: this one outlives it
// several times over and still ends with the run's last event and done.
func TestStreamOutlivesRequestTimeout(t *testing.T) {
	e := newEnv(t, scripted.New(scripted.Turn{Text: "slow", Block: true}), func(o *openaihttp.Options) { o.Timeout = 30 * time.Millisecond })
	a := e.assistant(t)
	th := e.threadWith(t, "hi")
	resp := postStream(t, context.Background(), e, "/v1/threads/"+th.ID+"/runs", `{"assistant_id":"`+a.ID+`","stream":true}`)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	var runID string
	for runID == "" {
		if name, data := sseEvent(t, br); name == "thread.run.created" {
			var r apitype.Run
			json.Unmarshal([]byte(data), &r)
			runID = r.ID
		}
	}
	time.Sleep(150 * time.Millisecond) // 5× the timeout
	if _, err := e.eng.Runs.Cancel(context.Background(), th.ID, runID); err != nil {
		t.Fatal(err)
	}
	var last string
	for {
		name, _ := sseEvent(t, br)
		if name == "done" {
			break
		}
		last = name
	}
	if last != "thread.run.cancelled" {
		t.Fatalf("last %s", last)
	}
}

// An upload whose body stalls past the upload timeout is answered 504 and
// leaves nothing behind.
func TestUploadTimeout(t *testing.T) {
	e := newEnv(t, scripted.Echo(), func(o *openaihttp.Options) { o.UploadTimeout = 50 * time.Millisecond })
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, _ := mw.CreateFormFile("file", "slow.txt")
		fw.Write([]byte("first part "))
		time.Sleep(300 * time.Millisecond)
		fw.Write([]byte("too late"))
		mw.WriteField("purpose", "assistants")
		mw.Close()
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", e.srv.URL+"/v1/files", pr)
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	checkEnvelope(t, resp, 504, "server_error", "")
	page, err := e.eng.Files.List(context.Background(), apitype.ListParams{}, "")
	if err != nil || len(page.Data) != 0 {
		t.Fatalf("files %+v %v", page, err)
	}
}
