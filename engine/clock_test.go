package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/scripted"
)

// waitForRequests waits until the model has received n requests: the model
// call is then in flight.
func waitForRequests(t testing.TB, m *scripted.Model, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(m.Requests()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the model got %d requests, want %d", len(m.Requests()), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCancelInFlightModelCall: cancelling a run whose model call is blocked
// stops the call through its context; the run is cancelled within 100 ms
// of the Cancel call (a bound the Runs issue requires).
func TestCancelInFlightModelCall(t *testing.T) {
	ctx := context.Background()
	m := scripted.New(scripted.Turn{Block: true}, scripted.Turn{Text: "partial", Block: true})
	e := openEngine(t, m)
	a := mustAssistant(t, e)
	for i, th := range []string{mustThread(t, e, "before any text").ID, mustThread(t, e, "after some text").ID} {
		r, err := e.Runs.Create(ctx, th, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		waitForRequests(t, m, i+1)
		start := time.Now()
		c, err := e.Runs.Cancel(ctx, th, r.ID)
		if err != nil || c.Status != apitype.RunCancelling {
			t.Fatalf("cancel: %v %+v", err, c)
		}
		done, err := e.Runs.Wait(ctx, th, r.ID)
		elapsed := time.Since(start)
		if err != nil || done.Status != apitype.RunCancelled {
			t.Fatalf("after cancel: %v %+v", err, done)
		}
		t.Logf("cancel → cancelled in %v", elapsed)
		if elapsed >= 100*time.Millisecond {
			t.Fatalf("cancel took %v, the bound is 100ms", elapsed)
		}
	}
}

// TestExpiryWithFakeClock: expires_at is created_at + RunTimeout; a run is
// not expired a second early, and is expired by a read (no background
// expirer here) once the clock passes it, its blocked model call stopped.
func TestExpiryWithFakeClock(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	m := scripted.New(scripted.Turn{Text: "slow", Block: true})
	e := openEngine(t, m, func(c *engine.Config) {
		c.Clock, c.RunTimeout, c.ExpiryInterval = clock.Now, 30*time.Second, time.Hour
	})
	a, th := mustAssistant(t, e), mustThread(t, e, "hi")
	// Stream until the reply's first delta: by then the run is in
	// progress and its message stored.
	var r *apitype.Run
	for ev, err := range e.Runs.CreateStream(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Run != nil && r == nil {
			r = ev.Run
		}
		if ev.Event == apitype.EventMessageDelta {
			break
		}
	}
	if r.ExpiresAt == nil || *r.ExpiresAt != r.CreatedAt+30 || r.CreatedAt != clock.Now().Unix() {
		t.Fatalf("created_at %d expires_at %v", r.CreatedAt, r.ExpiresAt)
	}
	clock.Advance(29 * time.Second)
	if got, err := e.Runs.Retrieve(ctx, th.ID, r.ID); err != nil || got.Status != apitype.RunInProgress {
		t.Fatalf("at 29s: %v %+v", err, got)
	}
	clock.Advance(time.Second)
	got, err := e.Runs.Retrieve(ctx, th.ID, r.ID)
	if err != nil || got.Status != apitype.RunExpired {
		t.Fatalf("at 30s: %v %+v", err, got)
	}
	if msg := lastMessage(t, e, th.ID); msg.Status != apitype.MessageIncomplete || msg.IncompleteDetails.Reason != apitype.IncompleteRunExpired || msg.Text() != "slow" {
		t.Fatalf("message %+v", msg)
	}
	// Expired is terminal: cancel is refused and the thread is free.
	if _, err := e.Runs.Cancel(ctx, th.ID, r.ID); err == nil {
		t.Fatal("cancelled an expired run")
	}
	if _, err := e.Messages.Create(ctx, th.ID, userMsg("next")); err != nil {
		t.Fatal(err)
	}
}

// TestBackgroundExpirer: with no Retrieve at all (List does not expire),
// the expirer ends overdue runs in every active status: waiting for tool
// outputs, in progress with a blocked model call, and queued behind it.
func TestBackgroundExpirer(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	m := scripted.New(scripted.Turn{Calls: []scripted.Call{{Name: "get_weather"}}}, scripted.Turn{Block: true})
	e := openEngine(t, m, func(c *engine.Config) {
		c.Clock, c.RunTimeout, c.ExpiryInterval, c.MaxConcurrentRuns = clock.Now, time.Minute, time.Millisecond, 1
	})
	a := mustAssistant(t, e, weatherTool)
	waiting := mustThread(t, e, "Weather?")
	if r, err := e.Runs.CreateAndWait(ctx, waiting.ID, apitype.RunCreateParams{AssistantID: a.ID}); err != nil || r.Status != apitype.RunRequiresAction {
		t.Fatalf("%v %+v", err, r)
	}
	blocked, queued := mustThread(t, e, "block"), mustThread(t, e, "wait")
	for _, th := range []string{blocked.ID, queued.ID} {
		if _, err := e.Runs.Create(ctx, th, apitype.RunCreateParams{AssistantID: a.ID}); err != nil {
			t.Fatal(err)
		}
	}
	waitForRequests(t, m, 2)
	if s := listStatus(t, e, queued.ID); s != apitype.RunQueued {
		t.Fatalf("third run is %s, want queued", s)
	}
	clock.Advance(2 * time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for _, th := range []string{waiting.ID, blocked.ID, queued.ID} {
		for listStatus(t, e, th) != apitype.RunExpired {
			if time.Now().After(deadline) {
				t.Fatalf("run on %s is still %s", th, listStatus(t, e, th))
			}
			time.Sleep(time.Millisecond)
		}
	}
	if got := len(m.Requests()); got != 2 {
		t.Fatalf("the expired queued run reached the model (%d requests)", got)
	}
}

// listStatus reads the status of a thread's newest run without expiring it.
func listStatus(t testing.TB, e *engine.Engine, threadID string) apitype.RunStatus {
	t.Helper()
	page, err := e.Runs.List(context.Background(), threadID, apitype.ListParams{Limit: 1})
	if err != nil || len(page.Data) == 0 {
		t.Fatalf("runs of %s: %v", threadID, err)
	}
	return page.Data[0].Status
}
