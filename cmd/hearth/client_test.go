package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

type bodyTransport string

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(string(b))), Request: r}, nil
}

// FuzzStream feeds the chat's SSE reader arbitrary bodies: it yields each
// event once, stops at done, and never panics.
func FuzzStream(f *testing.F) {
	f.Add("event: thread.run.created\ndata: {\"id\":\"run_1\"}\n\nevent: done\ndata: [DONE]\n\n")
	f.Add("event: thread.message.delta\r\ndata: {\"id\":\"m\",\"delta\":{}}\r\n\r\n")
	f.Add("data: x\n\n\n\nevent:\n")
	f.Fuzz(func(t *testing.T, body string) {
		c := &client{base: "http://h/v1", hc: &http.Client{Transport: bodyTransport(body)}}
		n := 0
		for ev, err := range c.stream(context.Background(), "/x", map[string]any{}) {
			if err != nil {
				break
			}
			if ev.event == "" || ev.event == "done" {
				t.Fatalf("yielded %+v", ev)
			}
			n++
		}
		if n > strings.Count(body, "\n") {
			t.Fatalf("%d events from %d lines", n, strings.Count(body, "\n"))
		}
	})
}

// TestStreamEvents checks what the reader makes of a real stream's framing.
func TestStreamEvents(t *testing.T) {
	body := "event: thread.run.created\ndata: {\"id\":\"run_1\"}\n\n: comment\nevent: thread.message.delta\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\nevent: done\ndata: [DONE]\n\nevent: after\ndata: {}\n\n"
	c := &client{base: "http://h/v1", hc: &http.Client{Transport: bodyTransport(body)}}
	var got []string
	for ev, err := range c.stream(context.Background(), "/x", nil) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.event+" "+string(ev.data))
	}
	want := []string{`thread.run.created {"id":"run_1"}`, "thread.message.delta {\"a\":\n1}"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("events %q, want %q", got, want)
	}
}
