package scripted_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

func ask(t *testing.T, m *scripted.Model, text string) {
	t.Helper()
	for _, err := range m.Chat(context.Background(), &llm.Request{Messages: []llm.Message{{Role: "user", Content: text}}}) {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A long-running model keeps only its newest requests, so its memory is
// bounded; RecordAll keeps them all.
func TestRequestsBounded(t *testing.T) {
	m := scripted.Echo()
	m.KeepRequests = 3
	for i := range 10 {
		ask(t, m, string(rune('a'+i)))
	}
	got := m.Requests()
	if len(got) != 3 || scripted.LastUser(&got[0]) != "h" || scripted.LastUser(&got[2]) != "j" {
		t.Fatalf("kept %d requests, want the newest 3 (h..j): %+v", len(got), got)
	}
	if m.Received() != 10 {
		t.Fatalf("Received = %d, want 10", m.Received())
	}

	d := scripted.Echo()
	for range scripted.DefaultKeepRequests + 10 {
		ask(t, d, "x")
	}
	if n := len(d.Requests()); n != scripted.DefaultKeepRequests {
		t.Fatalf("default record holds %d requests, want %d", n, scripted.DefaultKeepRequests)
	}

	all := scripted.Echo()
	all.RecordAll = true
	for range scripted.DefaultKeepRequests + 10 {
		ask(t, all, "x")
	}
	if n := len(all.Requests()); n != scripted.DefaultKeepRequests+10 {
		t.Fatalf("RecordAll holds %d requests, want %d", n, scripted.DefaultKeepRequests+10)
	}

	none := scripted.Echo()
	none.KeepRequests = -1
	for range 10 {
		ask(t, none, "x")
	}
	if n := len(none.Requests()); n != 0 || none.Received() != 10 {
		t.Fatalf("KeepRequests -1 holds %d requests (received %d), want none", n, none.Received())
	}
}

// WaitRequests returns once the n-th request arrived, and with ctx's cause
// when it does not.
func TestWaitRequests(t *testing.T) {
	m := scripted.Echo()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.WaitRequests(ctx, 1); err == nil {
		t.Fatal("WaitRequests(1) returned nil before any request")
	}
	done := make(chan error, 1)
	go func() { done <- m.WaitRequests(context.Background(), 2) }()
	ask(t, m, "one")
	select {
	case err := <-done:
		t.Fatalf("WaitRequests(2) returned after one request: %v", err)
	default:
	}
	ask(t, m, "two")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := m.WaitRequests(ctx, 2); err != nil { // already there: no wait, even on a dead ctx
		t.Fatal(err)
	}
}

// A held turn streams its text, signals Reached, and sends nothing more
// until released; its context's end stops it instead.
func TestHold(t *testing.T) {
	h := scripted.NewHold()
	m := scripted.New(scripted.Turn{Text: "before", Pieces: 1, Hold: h, Calls: []scripted.Call{{Name: "after"}}})
	chunks := make(chan llm.Chunk, 16)
	go func() {
		defer close(chunks)
		for c, err := range m.Chat(context.Background(), &llm.Request{}) {
			if err != nil {
				t.Error(err)
				return
			}
			chunks <- c
		}
	}()
	if err := h.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c := <-chunks; c.Text != "before" {
		t.Fatalf("first chunk %+v", c)
	}
	select {
	case c := <-chunks:
		t.Fatalf("a held turn sent %+v before its release", c)
	default:
	}
	h.Release()
	if c := <-chunks; len(c.ToolCalls) != 1 || c.ToolCalls[0].Name != "after" {
		t.Fatalf("after release %+v", c)
	}

	h2 := scripted.NewHold()
	m2 := scripted.New(scripted.Turn{Hold: h2})
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 1)
	go func() {
		for _, err := range m2.Chat(ctx, &llm.Request{}) {
			if err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	<-h2.Reached()
	cancel()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled hold: %v", err)
	}
}
