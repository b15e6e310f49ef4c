package engine_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/truncate"
)

const (
	respCrashEnv = "HEARTH_RESPONSES_CRASH_DB"
	// respCrashHeldEnv makes the child hold responses in progress (in a
	// conversation, in a chain, a foreground one) and one queued behind
	// them, then say HELD, so the kill that follows finds each for certain.
	respCrashHeldEnv = "HEARTH_RESPONSES_CRASH_HELD"
)

// TestResponsesCrashChild is the child process of TestResponsesCrashRecovery:
// it creates responses and conversation items until it is killed, printing
// each acknowledged one.
func TestResponsesCrashChild(t *testing.T) {
	path := os.Getenv(respCrashEnv)
	if path == "" {
		t.Skip("runs only as TestResponsesCrashRecovery's child")
	}
	ctx := context.Background()
	var out sync.Mutex
	say := func(f string, args ...any) {
		out.Lock()
		fmt.Printf("HEARTH "+f+"\n", args...)
		out.Unlock()
	}
	fail := func(err error) {
		say("ERR %v", err)
		os.Exit(2)
	}
	// Built before READY: the kills are timed from it.
	if _, err := truncate.Default(); err != nil {
		fail(err)
	}
	never := scripted.NewHold() // released by nobody: only the kill ends these turns
	model := &scripted.Model{KeepRequests: -1, Fallback: func(r *llm.Request) scripted.Turn {
		text := scripted.LastUser(r)
		if strings.HasPrefix(text, "held") {
			return scripted.Turn{Text: "stuck", Hold: never}
		}
		// Some wait for their first chunk, all stream slowly: kills land
		// before, inside and after the model's reply.
		delay := time.Duration(len(text)%3) * 4 * time.Millisecond
		return scripted.Turn{Text: "an answer to " + text + " in a few words", Pieces: 5, Delay: delay, ChunkDelay: 3 * time.Millisecond}
	}}
	e, err := engine.Open(ctx, engine.Config{Path: path, Model: model, NoSync: true, MaxConcurrentRuns: 3,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fail(err)
	}
	conversation := func() string {
		c, err := e.Conversations.Create(ctx, apitype.ConversationCreateParams{})
		if err != nil {
			fail(err)
		}
		say("CONV %s", c.ID)
		return c.ID
	}
	addItems := func(conv string, texts ...string) error {
		var items []apitype.Item
		for _, text := range texts {
			items = append(items, apitype.ItemOf(&apitype.MessageItem{Role: apitype.RoleUser, Content: []apitype.ContentPart{apitype.InputText(text)}}))
		}
		page, err := e.Conversations.Items.Create(ctx, conv, apitype.ConversationItemCreateParams{Items: items})
		if err != nil {
			return err
		}
		for _, it := range page.Data {
			say("ITEM %s %s", conv, it.ID())
		}
		return nil
	}
	create := func(p *apitype.ResponseCreateParams) (*apitype.Response, error) {
		r, err := e.Responses.Create(ctx, p)
		if err != nil {
			return nil, err
		}
		say("RESP %s", r.ID)
		return r, nil
	}
	// until waits for a stored response's event that satisfies ok.
	until := func(id string, ok func(apitype.ResponseStreamEvent) bool) error {
		for ev, err := range e.Responses.Stream(ctx, id, -1) {
			if err != nil {
				return err
			}
			if ok(ev) {
				return nil
			}
		}
		return fmt.Errorf("the stream of %s ended", id)
	}
	ended := func(ev apitype.ResponseStreamEvent) bool { return ev.Response != nil && ev.Response.Status.Terminal() }
	params := func(text string) *apitype.ResponseCreateParams {
		p := &apitype.ResponseCreateParams{Model: "m", Input: apitype.TextResponseInput(text), Background: apitype.Ptr(true)}
		return p
	}
	say("READY")
	if os.Getenv(respCrashHeldEnv) != "" {
		conv := conversation()
		if err := addItems(conv, "before the held turn"); err != nil {
			fail(err)
		}
		first, err := create(&apitype.ResponseCreateParams{Model: "m", Input: apitype.TextResponseInput("start a chain")})
		if err != nil || first.Status != apitype.ResponseCompleted {
			fail(fmt.Errorf("first of the chain: %v %+v", err, first))
		}
		inProgress := func(ev apitype.ResponseStreamEvent) bool { return ev.Type == apitype.EventResponseInProgress }
		// Three held in progress (the workers, all busy), one queued.
		p := params("held in a conversation")
		p.Conversation = &apitype.ConversationRef{ID: conv}
		a, err := create(p)
		if err != nil {
			fail(err)
		}
		p = params("held in a chain")
		p.PreviousResponseID = &first.ID
		b, err := create(p)
		if err != nil {
			fail(err)
		}
		for _, r := range []*apitype.Response{a, b} {
			if err := until(r.ID, inProgress); err != nil {
				fail(err)
			}
		}
		fg := &apitype.ResponseCreateParams{Model: "m", Input: apitype.TextResponseInput("held in the foreground"),
			Conversation: &apitype.ConversationRef{ID: conv}}
		reached := make(chan error, 1)
		go func() {
			for ev, err := range e.Responses.CreateStream(ctx, fg) {
				if err != nil {
					reached <- err
					return
				}
				if ev.Type == apitype.EventResponseCreated {
					say("RESP %s", ev.Response.ID)
				}
				if ev.Type == apitype.EventResponseInProgress {
					reached <- nil
				}
			}
		}()
		if err := <-reached; err != nil {
			fail(err)
		}
		p = params("queued behind them")
		p.Conversation = &apitype.ConversationRef{ID: conv}
		if r, err := create(p); err != nil || r.Status != apitype.ResponseQueued {
			fail(fmt.Errorf("queued: %v %+v", err, r))
		}
		if err := addItems(conv, "while they are held"); err != nil {
			fail(err)
		}
		say("HELD")
		select {} // until the kill
	}

	var wg sync.WaitGroup
	// Conversation workers: items, then a response on the conversation,
	// background (waited for every other time) or, for the last worker,
	// in the foreground.
	for w := range 3 {
		conv := conversation()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				if err := addItems(conv, fmt.Sprintf("w%d item %d", w, k), fmt.Sprintf("w%d item %d again", w, k)); err != nil {
					fail(err)
				}
				p := params(fmt.Sprintf("w%d question %d", w, k))
				p.Conversation = &apitype.ConversationRef{ID: conv}
				if w == 2 {
					p.Background = nil
				}
				r, err := create(p)
				if err != nil {
					fail(err)
				}
				if r.Background && k%2 == 0 {
					if err := until(r.ID, ended); err != nil {
						fail(err)
					}
				}
			}
		}()
	}
	// Chain workers: each response continues the one before once it ended.
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var prev *string
			for k := 0; ; k++ {
				p := params(fmt.Sprintf("c%d step %d", w, k))
				p.PreviousResponseID = prev
				r, err := create(p)
				if err != nil {
					fail(err)
				}
				if err := until(r.ID, ended); err != nil {
					fail(err)
				}
				prev = &r.ID
			}
		}()
	}
	wg.Wait() // the workers run until the parent kills the process
}

// TestResponsesCrashRecovery kills a child process creating responses and
// conversation items, 24 times at random moments and (every third kill)
// with responses held in progress and queued, and checks after each: the
// file is consistent; every acknowledged response and conversation item is
// there; the reopened engine brings every response to a terminal status
// (background ones by running them again); no conversation holds half a
// turn — a response's items are in its conversation, input and output
// together, exactly when it completed. HEARTH_CRASH_SEED=<seed> replays
// the random kills.
func TestResponsesCrashRecovery(t *testing.T) {
	bboltOnly(t) // crashes on Postgres: the chaos test
	if os.Getenv(respCrashEnv) != "" {
		t.Skip("child")
	}
	kills := 36
	if testing.Short() {
		kills = 6
	}
	path := filepath.Join(t.TempDir(), "hearth.db")
	rng := crashRNG(t, 11)
	ctx := context.Background()
	caught := map[apitype.ResponseStatus]int{} // live responses the random kills left
	defer func() { t.Logf("live responses the random kills left, by status: %v", caught) }()
	for i := range kills {
		held := i%3 == 0
		delay := time.Duration(rng.IntN(150)) * time.Millisecond
		lines := runResponsesChild(t, path, held, delay)
		convs, items, resps := map[string]bool{}, map[string]string{}, []string{}
		for _, l := range lines {
			f := strings.Fields(l)
			switch f[0] {
			case "CONV":
				convs[f[1]] = true
			case "ITEM":
				items[f[2]] = f[1]
			case "RESP":
				resps = append(resps, f[1])
			}
		}
		if held {
			t.Logf("kill %d with responses held: %d responses, %d items acknowledged", i, len(resps), len(items))
		} else {
			t.Logf("kill %d after %v: %d conversations, %d responses, %d items acknowledged", i, delay, len(convs), len(resps), len(items))
		}

		// As the kill left it: consistent, nothing acknowledged lost, no
		// half turn; the responses left live.
		st, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatalf("reopen after kill %d: %v", i, err)
		}
		if err := st.Check(); err != nil {
			t.Fatalf("bbolt check after kill %d: %v", i, err)
		}
		live := map[string]apitype.ResponseStatus{}
		err = st.View(ctx, func(tx store.Tx) error {
			return tx.LiveResponses(func(id string) error {
				r, err := tx.GetResponse(id)
				if err != nil {
					return err
				}
				live[id] = r.Status
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		checkResponseState(t, st, i, "as killed", items, resps)
		st.Close()
		byStatus := map[apitype.ResponseStatus]int{}
		for _, s := range live {
			byStatus[s]++
		}
		if held && (byStatus[apitype.ResponseInProgress] < 3 || byStatus[apitype.ResponseQueued] < 1) {
			t.Fatalf("kill %d: the file holds live responses %v, want 3 in_progress and 1 queued", i, byStatus)
		}
		if !held {
			for s, n := range byStatus {
				caught[s] += n
			}
		}

		e, err := engine.Open(ctx, engine.Config{Path: path, Model: crashAnswerer(), NoSync: true, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("reopen after kill %d: %v", i, err)
		}
		// Every response the kill left live ends: background ones are run
		// again (and answered), the others failed at once.
		wait, cancel := context.WithTimeout(ctx, time.Minute) // a bound for a failure, not a synchronisation
		for id := range live {
			r, err := awaitResponse(wait, e, id)
			if err != nil {
				t.Fatalf("kill %d: response %s left %s: %v", i, id, live[id], err)
			}
			if r.Background && r.Status != apitype.ResponseCompleted || r.Background && r.OutputText() != "recovered" {
				t.Fatalf("kill %d: background response %s left %s ended %s %q (%+v)", i, id, live[id], r.Status, r.OutputText(), r.Error)
			}
			if !r.Background && r.Status != apitype.ResponseFailed {
				t.Fatalf("kill %d: foreground response %s left %s ended %s", i, id, live[id], r.Status)
			}
		}
		cancel()
		st = e.Store()
		err = st.View(ctx, func(tx store.Tx) error {
			return tx.LiveResponses(func(id string) error { return fmt.Errorf("response %s still live", id) })
		})
		if err != nil {
			t.Fatalf("after recovery from kill %d: %v", i, err)
		}
		checkResponseState(t, st, i, "after recovery", items, resps)
		// The conversations and the chains go on.
		for conv := range convs {
			r, err := e.Responses.Create(ctx, &apitype.ResponseCreateParams{Model: "m", Input: apitype.TextResponseInput("and now?"),
				Conversation: &apitype.ConversationRef{ID: conv}})
			if err != nil || r.Status != apitype.ResponseCompleted {
				t.Fatalf("kill %d: new response on %s: %v %+v", i, conv, err, r)
			}
		}
		if len(resps) > 0 {
			last := resps[len(resps)-1]
			r, err := e.Responses.Create(ctx, &apitype.ResponseCreateParams{Model: "m", Input: apitype.TextResponseInput("and next?"), PreviousResponseID: &last})
			if err != nil || r.Status != apitype.ResponseCompleted {
				t.Fatalf("kill %d: continuing %s: %v %+v", i, last, err, r)
			}
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// awaitResponse follows a stored response's stream until it ends and
// returns it as stored.
func awaitResponse(ctx context.Context, e *engine.Engine, id string) (*apitype.Response, error) {
	for ev, err := range e.Responses.Stream(ctx, id, -1) {
		if err != nil {
			return nil, err
		}
		if ev.Response != nil && ev.Response.Status.Terminal() {
			break
		}
	}
	r, err := e.Responses.Retrieve(ctx, id, apitype.ResponseRetrieveParams{})
	if err == nil && !r.Status.Terminal() {
		err = errors.New("its stream ended with the response " + string(r.Status))
	}
	return r, err
}

// checkResponseState checks a file against what the child acknowledged:
// every conversation item and response is there, and every stored
// response's items are in its conversation all together (input and
// output) if it completed, and not one of them otherwise.
func checkResponseState(t *testing.T, st *store.Store, kill int, when string, items map[string]string, resps []string) {
	t.Helper()
	err := st.View(context.Background(), func(tx store.Tx) error {
		for id, conv := range items {
			if _, err := tx.GetConversationItem(conv, id); err != nil {
				return fmt.Errorf("acknowledged item %s of %s: %w", id, conv, err)
			}
		}
		for _, id := range resps {
			if ok, err := tx.HasResponse(id); err != nil {
				return err
			} else if !ok {
				return fmt.Errorf("acknowledged response %s is missing", id)
			}
		}
		// Every stored response, acknowledged or not (a kill may land
		// between a commit and its acknowledgement).
		var all []string
		if err := tx.(store.BoltTx).Bolt().Bucket([]byte("responses")).ForEach(func(k, _ []byte) error {
			all = append(all, string(k))
			return nil
		}); err != nil {
			return err
		}
		for _, id := range all {
			r, err := tx.GetResponse(id)
			if err != nil {
				return err
			}
			if r.Conversation == nil {
				continue
			}
			var ids []string
			if err := tx.ResponseInput(id, false, func(it *apitype.Item, _ int) (bool, error) {
				ids = append(ids, it.ID())
				return true, nil
			}); err != nil {
				return err
			}
			nIn := len(ids)
			for _, it := range r.Output {
				ids = append(ids, it.ID())
			}
			var present []bool
			in := 0
			for _, item := range ids {
				_, err := tx.GetConversationItem(r.Conversation.ID, item)
				if err != nil && !errors.Is(err, apitype.ErrNotFound) {
					return err
				}
				present = append(present, err == nil)
				if err == nil {
					in++
				}
			}
			turn := r.Status == apitype.ResponseCompleted || r.Status == apitype.ResponseIncomplete
			switch {
			case turn && (in != len(ids) || len(r.Output) == 0):
				return fmt.Errorf("response %s (%s) is half in %s: input %v, output %v present %v", id, r.Status, r.Conversation.ID, ids[:nIn], ids[nIn:], present)
			case !turn && in != 0:
				return fmt.Errorf("response %s (%s) has items in %s: input %v, output %v present %v", id, r.Status, r.Conversation.ID, ids[:nIn], ids[nIn:], present)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("kill %d, %s: %v", kill, when, err)
	}
}

// runResponsesChild starts the crash child of TestResponsesCrashRecovery
// on path and SIGKILLs it (see killChild).
func runResponsesChild(t *testing.T, path string, held bool, delay time.Duration) []string {
	t.Helper()
	return killChild(t, "TestResponsesCrashChild", respCrashEnv, respCrashHeldEnv, path, held, delay)
}
