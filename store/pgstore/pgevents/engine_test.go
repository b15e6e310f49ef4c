package pgevents

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

func openEngine(t testing.TB, events engine.EventBus, model llm.Model) *engine.Engine {
	t.Helper()
	e, err := engine.Open(context.Background(), engine.Config{Path: filepath.Join(t.TempDir(), "hearth.db"), NoSync: true,
		Model: model, Events: events})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// thread makes an assistant and a thread with a question on e.
func thread(t testing.TB, e *engine.Engine) (asstID, threadID string) {
	t.Helper()
	a, err := e.Assistants.Create(t.Context(), apitype.AssistantCreateParams{Model: "scripted"})
	if err != nil {
		t.Fatal(err)
	}
	th, err := e.Threads.Create(t.Context(), apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{
		{Role: apitype.RoleUser, Content: apitype.TextInput("Tell me a story.")}}})
	if err != nil {
		t.Fatal(err)
	}
	return a.ID, th.ID
}

func wire(t testing.TB, ev apitype.Event) string {
	t.Helper()
	b, err := json.Marshal(ev.Data())
	if err != nil {
		t.Fatal(err)
	}
	return string(ev.Event) + " " + string(b)
}

// A run executed by the engine on replica A, streamed there: replica B's
// bus has every event of it, deltas included, in the stream's order and
// byte for byte as A's stream sent them.
func TestEngineRunSeenOnAnotherReplica(t *testing.T) {
	bs := replicas(t, 2, Options{})
	story := strings.Repeat("Once upon a time there was a replica. ", 8)
	e := openEngine(t, bs[0].Runs(), scripted.New(scripted.Turn{Text: story}))
	asst, th := thread(t, e)
	var sent []string
	var runID string
	deltas := 0
	for ev, err := range e.Runs.CreateStream(t.Context(), th, apitype.RunCreateParams{AssistantID: asst}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Run != nil {
			runID = ev.Run.ID
		}
		if ev.Event == apitype.EventMessageDelta {
			deltas++
		}
		sent = append(sent, wire(t, ev))
	}
	if deltas < 5 {
		t.Fatalf("%d deltas: the script should stream many", deltas)
	}
	f := bs[1].Follow(runID, 0)
	defer f.Close()
	sub := runSub{f}
	for i, want := range sent {
		got, err := sub.Next(t.Context())
		for errors.Is(err, engine.ErrEventsLagging) {
			got, err = sub.Next(t.Context())
		}
		if err != nil {
			t.Fatal(err)
		}
		if w := wire(t, got); w != want {
			t.Fatalf("event %d on B:\n%s\nwant (A's stream):\n%s", i, w, want)
		}
	}
}

// A stream subscribed on B before the run starts on A follows it live,
// through the engine's EventBus seam on both sides.
func TestEngineRunFollowedLive(t *testing.T) {
	bs := replicas(t, 2, Options{})
	hold := scripted.NewHold()
	e := openEngine(t, bs[0].Runs(), scripted.New(scripted.Turn{Text: "first part", Hold: hold}))
	asst, th := thread(t, e)
	r, err := e.Runs.Create(t.Context(), th, apitype.RunCreateParams{AssistantID: asst})
	if err != nil {
		t.Fatal(err)
	}
	// B subscribes while the model is held mid-answer, then is released.
	if err := hold.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	sub := bs[1].Runs().Subscribe(r.ID)
	defer sub.Close()
	hold.Release()
	var names []string
	for {
		ev, err := sub.Next(t.Context())
		if errors.Is(err, engine.ErrEventsLagging) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, string(ev.Event))
		if ev.Event == apitype.EventRunCompleted {
			if ev.Run.ID != r.ID || ev.Run.Status != apitype.RunCompleted {
				t.Fatalf("completed event %+v", ev.Run)
			}
			break
		}
	}
	if !strings.Contains(strings.Join(names, " "), "thread.message.completed thread.run.step.completed thread.run.completed") {
		t.Fatalf("events after the hold: %v", names)
	}
}

// A publisher that died between its commit and its events' insert (here:
// the run's last events never written): a stream reading through the bus
// hears nothing more, is told it may be lagging, reads the run from the
// store, finds it completed and ends with it instead of stalling.
func TestEngineStreamEndsFromStore(t *testing.T) {
	bs := replicas(t, 1, Options{IdleCheck: 10 * time.Millisecond})
	b := bs[0]
	b.testKeep = func(_ string, ev Event) bool {
		return !strings.HasPrefix(ev.Name, "thread.message.completed") && !strings.HasPrefix(ev.Name, "thread.run.step.completed") &&
			ev.Name != string(apitype.EventRunCompleted)
	}
	e := openEngine(t, b.Runs(), scripted.New(scripted.Turn{Text: "an answer"}))
	asst, th := thread(t, e)
	var last apitype.Event
	for ev, err := range e.Runs.CreateStream(t.Context(), th, apitype.RunCreateParams{AssistantID: asst}) {
		if err != nil {
			t.Fatal(err)
		}
		last = ev
	}
	if last.Event != apitype.EventRunCompleted || last.Run == nil || last.Run.Status != apitype.RunCompleted {
		t.Fatalf("the stream ended on %s; want thread.run.completed read from the store", last.Event)
	}
}
