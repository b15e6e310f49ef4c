package openaihttp_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm/scripted"
)

// BenchmarkRunToCompleted measures one create-thread-and-run answered by the
// scripted echo model until thread.run.completed, in-process (the floor)
// and over HTTP on loopback (SSE), in one run so the ratio is fair:
//
//	go test -run '^$' -bench 'RunToCompleted|FirstEvent' -benchtime 2s -count 3 ./openaihttp
func BenchmarkRunToCompleted(b *testing.B) {
	e := newEnv(b, scripted.Echo())
	a := e.assistant(b)
	ctx := context.Background()
	params := apitype.ThreadAndRunCreateParams{AssistantID: a.ID, Thread: &apitype.ThreadCreateParams{
		Messages: []apitype.MessageCreateParams{{Role: apitype.RoleUser, Content: apitype.TextInput("Solve 3x + 11 = 14")}}}}
	body := `{"assistant_id":"` + a.ID + `","stream":true,"thread":{"messages":[{"role":"user","content":"Solve 3x + 11 = 14"}]}}`

	b.Run("inprocess", func(b *testing.B) {
		for b.Loop() {
			var last apitype.EventType
			for ev, err := range e.eng.Runs.CreateThreadAndRunStream(ctx, params) {
				if err != nil {
					b.Fatal(err)
				}
				last = ev.Event
			}
			if last != apitype.EventRunCompleted {
				b.Fatalf("last %s", last)
			}
		}
	})
	b.Run("http", func(b *testing.B) {
		for b.Loop() {
			resp := postStream(b, ctx, e, "/v1/threads/runs", body)
			br := bufio.NewReader(resp.Body)
			var last string
			for {
				name, _ := sseEvent(b, br)
				if name == "done" {
					break
				}
				last = name
			}
			io.Copy(io.Discard, resp.Body) // to EOF, so the connection is reused
			resp.Body.Close()
			if last != "thread.run.completed" {
				b.Fatalf("last %s", last)
			}
		}
	})
}

// BenchmarkFirstEvent measures the time from the call to the first event
// (thread.created) in-process and over HTTP; the rest of each stream is read
// outside the timed part. Reported as first-event-ns.
func BenchmarkFirstEvent(b *testing.B) {
	e := newEnv(b, scripted.Echo())
	a := e.assistant(b)
	ctx := context.Background()
	params := apitype.ThreadAndRunCreateParams{AssistantID: a.ID, Thread: &apitype.ThreadCreateParams{
		Messages: []apitype.MessageCreateParams{{Role: apitype.RoleUser, Content: apitype.TextInput("hi")}}}}
	body := `{"assistant_id":"` + a.ID + `","stream":true,"thread":{"messages":[{"role":"user","content":"hi"}]}}`

	b.Run("inprocess", func(b *testing.B) {
		var total time.Duration
		for b.Loop() {
			start := time.Now()
			first := true
			for _, err := range e.eng.Runs.CreateThreadAndRunStream(ctx, params) {
				if err != nil {
					b.Fatal(err)
				}
				if first {
					total += time.Since(start)
					first = false
				}
			}
		}
		b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "first-event-ns")
	})
	b.Run("http", func(b *testing.B) {
		var total time.Duration
		for b.Loop() {
			start := time.Now()
			resp := postStream(b, ctx, e, "/v1/threads/runs", body)
			br := bufio.NewReader(resp.Body)
			if name, _ := sseEvent(b, br); name != "thread.created" {
				b.Fatalf("first event %s", name)
			}
			total += time.Since(start)
			for {
				if name, _ := sseEvent(b, br); name == "done" {
					break
				}
			}
			io.Copy(io.Discard, resp.Body) // to EOF, so the connection is reused
			resp.Body.Close()
		}
		b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "first-event-ns")
	})
}

// BenchmarkListMessages lists a page of 20 messages of a 100-message thread
// in-process (engine.Messages.List, an owned page) and over HTTP (GET, the
// JSON read to the end), in one run:
//
//	go test -run '^$' -bench ListMessages -benchtime 2s -count 3 -benchmem ./openaihttp
func BenchmarkListMessages(b *testing.B) {
	e := newEnv(b, scripted.Echo())
	ctx := context.Background()
	th, err := e.eng.Threads.Create(ctx, apitype.ThreadCreateParams{})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 100 {
		text := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 2+i%5)
		if _, err := e.eng.Messages.Create(ctx, th.ID, apitype.MessageCreateParams{Role: apitype.RoleUser, Content: apitype.TextInput(text)}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("inprocess", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			page, err := e.eng.Messages.List(ctx, th.ID, apitype.MessageListParams{})
			if err != nil || len(page.Data) != 20 {
				b.Fatalf("%v, %d", err, len(page.Data))
			}
		}
	})
	b.Run("http", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/v1/threads/"+th.ID+"/messages", nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+testKey)
			req.Header.Set("OpenAI-Beta", "assistants=v2")
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || n < 1000 {
				b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
			}
		}
	})
}
