package scripted_test

import (
	"context"
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
