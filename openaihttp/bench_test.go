package openaihttp_test

import (
	"bufio"
	"context"
	"io"
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
