package engine_test

import (
	"context"
	"errors"
	"iter"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

// waitForRequests waits until the model has received n requests: the model
// call is then in flight.
func waitForRequests(t testing.TB, m *scripted.Model, n int) {
	t.Helper()
	if err := m.WaitRequests(t.Context(), n); err != nil {
		t.Fatal(err)
	}
}

// callEnds wraps a model so a test learns when each call's stream has
// returned to the engine.
type callEnds struct {
	llm.Model
	ended chan error
}

func (c callEnds) Chat(ctx context.Context, req *llm.Request) iter.Seq2[llm.Chunk, error] {
	return func(yield func(llm.Chunk, error) bool) {
		var last error
		defer func() { c.ended <- last }()
		for chunk, err := range c.Model.Chat(ctx, req) {
			last = err
			if !yield(chunk, err) {
				return
			}
		}
	}
}

// TestCancelInFlightModelCall: cancelling a run whose model call is held
// stops the call through its context, before the run is recorded
// cancelled — with no text yet, and with some text streamed (kept on the
// incomplete message). The held turn is never released: only the context
// can end it.
func TestCancelInFlightModelCall(t *testing.T) {
	ctx := t.Context()
	before, after := scripted.NewHold(), scripted.NewHold()
	m := scripted.New(scripted.Turn{Hold: before}, scripted.Turn{Text: "partial", Hold: after})
	ended := make(chan error, 2)
	e := openEngine(t, callEnds{m, ended})
	a := mustAssistant(t, e)
	for _, c := range []struct {
		thread string
		hold   *scripted.Hold
		text   string
	}{{mustThread(t, e, "before any text").ID, before, ""}, {mustThread(t, e, "after some text").ID, after, "partial"}} {
		r, err := e.Runs.Create(ctx, c.thread, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.hold.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := e.Runs.Cancel(ctx, c.thread, r.ID)
		if err != nil || got.Status != apitype.RunCancelling {
			t.Fatalf("cancel: %v %+v", err, got)
		}
		done, err := e.Runs.Wait(ctx, c.thread, r.ID)
		if err != nil || done.Status != apitype.RunCancelled {
			t.Fatalf("after cancel: %v %+v", err, done)
		}
		select {
		case err := <-ended:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("the model call ended with %v, want its context cancelled", err)
			}
		default:
			t.Fatal("the run is cancelled while its model call is still running")
		}
		if c.text != "" {
			if msg := lastMessage(t, e, c.thread); msg.Status != apitype.MessageIncomplete || msg.Text() != c.text {
				t.Fatalf("message %+v", msg)
			}
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
	if onPostgres {
		// The sweep is River's periodic job there, on the wall clock, which
		// Advance does not move; pgjobs' tests expire a run by that sweep.
		t.Skip("the expirer's ticker is the fake clock's only on the in-process queue")
	}
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
	// Watch the three runs' events (a read would expire them itself), then
	// move the clock past their expiry: only the expirer can end them.
	var nexts []func(context.Context) (apitype.Event, error)
	for _, th := range []string{waiting.ID, blocked.ID, queued.ID} {
		page, err := e.Runs.List(ctx, th, apitype.ListParams{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		next, stop := engine.WatchRun(e, page.Data[0].ID)
		defer stop()
		nexts = append(nexts, next)
	}
	clock.Advance(2 * time.Minute)
	for i, next := range nexts {
		for {
			ev, err := next(t.Context())
			if errors.Is(err, engine.ErrEventsLagging) {
				continue // a bus across replicas heard nothing for a while: the expiry is still to come
			}
			if err != nil {
				t.Fatalf("run %d: %v", i, err)
			}
			if ev.Run != nil && ev.Run.Status == apitype.RunExpired {
				break
			}
		}
	}
	for _, th := range []string{waiting.ID, blocked.ID, queued.ID} {
		if s := listStatus(t, e, th); s != apitype.RunExpired {
			t.Fatalf("run on %s is %s after its expired event", th, s)
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
