package truncate_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/truncate"
)

func enc(t testing.TB) *truncate.Encoding {
	t.Helper()
	e, err := truncate.Default()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// newestFirst yields chronological items newest first, counting pulls.
func newestFirst(items []truncate.Item, pulled *int) iter.Seq2[truncate.Item, error] {
	return func(yield func(truncate.Item, error) bool) {
		for i := len(items) - 1; i >= 0; i-- {
			if pulled != nil {
				*pulled++
			}
			if !yield(items[i], nil) {
				return
			}
		}
	}
}

func msg(role, text string) truncate.Item {
	return truncate.Item{ID: fmt.Sprint(role, len(text), text[:min(8, len(text))]), Role: role, Text: text}
}

func words(n int) string { return strings.Repeat("lorem ipsum ", n/2) }

func TestSpecialTokensAreText(t *testing.T) {
	e := enc(t)
	text := "ignore <|endoftext|> and <|fim_prefix|> please"
	if got := e.Decode(e.Encode(text)); got != text {
		t.Fatalf("round trip %q", got)
	}
	if e.Count(text) < 10 {
		t.Fatalf("special strings counted as single tokens: %d", e.Count(text))
	}
}

func TestEverythingFits(t *testing.T) {
	items := []truncate.Item{msg("user", "hi"), msg("assistant", "hello"), msg("user", "how are you?")}
	r, err := truncate.Fit(context.Background(), newestFirst(items, nil), truncate.Budget{ContextWindow: 1000}, truncate.Strategy{})
	if err != nil || !r.Complete || len(r.Kept) != 3 || r.Kept[0].Text != "hi" || r.Dropped != 0 {
		t.Fatalf("%v %+v", err, r)
	}
}

func TestAutoDropsOldestAndKeepsOrder(t *testing.T) {
	var items []truncate.Item
	for i := range 200 {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		items = append(items, truncate.Item{ID: fmt.Sprint(i), Role: role, Text: words(20)})
	}
	pulled := 0
	r, err := truncate.Fit(context.Background(), newestFirst(items, &pulled), truncate.Budget{ContextWindow: 600, ReservedOutput: 100}, truncate.Strategy{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Complete || len(r.Kept) == 0 || r.Kept[len(r.Kept)-1].ID != "199" || r.Tokens > 500 {
		t.Fatalf("%+v", r)
	}
	for i := 1; i < len(r.Kept); i++ {
		var a, b int
		fmt.Sscan(r.Kept[i-1].ID, &a)
		fmt.Sscan(r.Kept[i].ID, &b)
		if b != a+1 {
			t.Fatalf("kept not contiguous newest messages in order: %v then %v", a, b)
		}
	}
	if pulled > len(r.Kept)+2 {
		t.Fatalf("pulled %d items to keep %d: not O(kept)", pulled, len(r.Kept))
	}
}

func TestToolOutputsShortenedBeforeDropping(t *testing.T) {
	items := []truncate.Item{
		msg("user", "first question"),
		{ID: "call", Role: "assistant", Text: "calling", Group: "g1"},
		{ID: "out", Role: "tool", Text: words(3000), Group: "g1", ToolOutput: true},
		msg("assistant", "the answer"),
		msg("user", "second question"),
	}
	r, err := truncate.Fit(context.Background(), newestFirst(items, nil), truncate.Budget{ContextWindow: 1200}, truncate.Strategy{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Kept) != 5 || r.Shortened != 1 || !strings.Contains(r.Kept[2].Text, "left out here") || r.Tokens > 1200 {
		t.Fatalf("kept %d shortened %d tokens %d", len(r.Kept), r.Shortened, r.Tokens)
	}
}

func TestToolCallNeverSeparatedFromOutput(t *testing.T) {
	items := []truncate.Item{
		{ID: "call", Role: "assistant", Text: words(300), Group: "g"},
		{ID: "out1", Role: "tool", Text: "short", Group: "g", ToolOutput: true},
		{ID: "out2", Role: "tool", Text: "short", Group: "g", ToolOutput: true},
		msg("user", "now"),
	}
	r, err := truncate.Fit(context.Background(), newestFirst(items, nil), truncate.Budget{ContextWindow: 100}, truncate.Strategy{})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range r.Kept {
		if it.Group == "g" {
			t.Fatalf("part of a group kept without the rest: %+v", r.Kept)
		}
	}
	if len(r.Kept) != 1 || r.Kept[0].Text != "now" {
		t.Fatalf("%+v", r.Kept)
	}
}

func TestLastMessages(t *testing.T) {
	items := []truncate.Item{msg("user", "a"), msg("assistant", "b"), msg("user", "c"), msg("assistant", "d"), msg("user", "e")}
	r, err := truncate.Fit(context.Background(), newestFirst(items, nil), truncate.Budget{ContextWindow: 1000}, truncate.Strategy{Type: truncate.LastMessages, LastMessages: 2})
	if err != nil || len(r.Kept) != 2 || r.Kept[0].Text != "d" || r.Kept[1].Text != "e" {
		t.Fatalf("%v %+v", err, r.Kept)
	}
}

func TestNewestUserMessageTooLarge(t *testing.T) {
	items := []truncate.Item{msg("user", "old"), msg("user", words(5000))}
	_, err := truncate.Fit(context.Background(), newestFirst(items, nil), truncate.Budget{ContextWindow: 1000, ReservedOutput: 200}, truncate.Strategy{})
	if !errors.Is(err, truncate.ErrDoesNotFit) || !strings.Contains(err.Error(), "1000-token context") {
		t.Fatalf("err = %v", err)
	}
}

// Property: for random threads and budgets, the kept messages are the
// newest ones in order, include the newest user message, fit the budget,
// and never split a group.
func TestFitProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	e := enc(t)
	for trial := range 120 {
		var items []truncate.Item
		n := 1 + rng.IntN(60)
		for i := range n {
			it := truncate.Item{ID: fmt.Sprint(i), Role: []string{"user", "assistant"}[rng.IntN(2)], Text: words(1 + rng.IntN(400))}
			if rng.IntN(5) == 0 && i+1 < n {
				g := fmt.Sprint("g", i)
				it.Group, it.Role = g, "assistant"
				items = append(items, it)
				items = append(items, truncate.Item{ID: fmt.Sprint(i, "o"), Role: "tool", Group: g, ToolOutput: true, Text: words(1 + rng.IntN(800))})
				continue
			}
			items = append(items, it)
		}
		items[len(items)-1] = truncate.Item{ID: "last", Role: "user", Text: words(1 + rng.IntN(50))}
		b := truncate.Budget{ContextWindow: 200 + rng.IntN(4000), ReservedOutput: rng.IntN(100)}
		r, err := truncate.Fit(context.Background(), newestFirst(items, nil), b, truncate.Strategy{})
		if errors.Is(err, truncate.ErrDoesNotFit) {
			if e.CountMessage(items[len(items)-1].Text, 0) <= b.Available() {
				t.Fatalf("trial %d: newest message fits but Fit gave up: %v", trial, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.Tokens > b.Available() {
			t.Fatalf("trial %d: %d tokens > %d available", trial, r.Tokens, b.Available())
		}
		if r.Kept[len(r.Kept)-1].ID != "last" {
			t.Fatalf("trial %d: newest user message missing", trial)
		}
		groups := map[string]int{}
		for _, it := range r.Kept {
			if it.Group != "" {
				groups[it.Group]++
			}
		}
		for g, c := range groups {
			if c != 2 {
				t.Fatalf("trial %d: group %s split (%d kept)", trial, g, c)
			}
		}
		// The kept items are a suffix of the thread.
		off := len(items) - len(r.Kept)
		for i, it := range r.Kept {
			if it.ID != items[off+i].ID {
				t.Fatalf("trial %d: kept %v is not the newest suffix", trial, it.ID)
			}
		}
	}
}

func FuzzCount(f *testing.F) {
	e, err := truncate.Default()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "hello", "<|endoftext|>", "\xff\xfe", "日本語", "<|fim_prefix|><|fim_middle|>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := e.Count(s)
		if n < 0 || (s != "" && n == 0) {
			t.Fatalf("count %d for %q", n, s)
		}
		_ = e.Decode(e.Encode(s))
	})
}

func TestCalibrator(t *testing.T) {
	var c truncate.Calibrator
	if c.Adjust("m", 1000) != 1100 {
		t.Fatalf("unknown model: %d", c.Adjust("m", 1000))
	}
	for range 10 {
		c.Observe("m", 1000, 1300)
	}
	if r := c.Ratio("m"); r < 1.25 || r > 1.31 {
		t.Fatalf("ratio %v", r)
	}
	c.Observe("m", 1000, 100000) // wild report is clamped
	if r := c.Ratio("m"); r > 4 {
		t.Fatalf("ratio %v", r)
	}
}

// Earlier runs' outputs after the newest user message are history: the
// oldest are dropped, the user message and this run's items stay, in order.
func TestHistoryAfterNewestUserMessage(t *testing.T) {
	items := []truncate.Item{msg("assistant", "before"), {ID: "q", Role: "user", Text: "count on"}}
	for i := range 300 {
		items = append(items, truncate.Item{ID: fmt.Sprint("run", i), Role: "assistant", Text: words(20), History: true})
	}
	items = append(items,
		truncate.Item{ID: "call", Role: "assistant", Text: "calling", Group: "own"},
		truncate.Item{ID: "out", Role: "tool", Text: words(40), Group: "own", ToolOutput: true})
	b := truncate.Budget{ContextWindow: 600, ReservedOutput: 100}
	r, err := truncate.Fit(context.Background(), newestFirst(items, nil), b, truncate.Strategy{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Complete || r.Tokens > b.Available() || len(r.Kept) < 4 {
		t.Fatalf("%+v", r)
	}
	if r.Kept[0].ID != "q" || r.Kept[len(r.Kept)-2].ID != "call" || r.Kept[len(r.Kept)-1].ID != "out" {
		t.Fatalf("kept %v ... %v", r.Kept[0].ID, r.Kept[len(r.Kept)-2:])
	}
	want := 300 - (len(r.Kept) - 3) // the newest answers, in order
	for i, it := range r.Kept[1 : len(r.Kept)-2] {
		if it.ID != fmt.Sprint("run", want+i) {
			t.Fatalf("kept[%d] = %s, want run%d", i+1, it.ID, want+i)
		}
	}
	// last_messages counts them like any message; the turn is kept anyway.
	r, err = truncate.Fit(context.Background(), newestFirst(items, nil), b, truncate.Strategy{Type: truncate.LastMessages, LastMessages: 4})
	if err != nil || len(r.Kept) != 4 || r.Kept[0].ID != "q" || r.Kept[1].ID != "run299" {
		t.Fatalf("%v %+v", err, r.Kept)
	}
}

// Property: with history between the newest user message and this run's
// items, the turn is kept whole, the rest kept is the newest of the rest in
// order, groups stay whole, and the budget holds.
func TestFitHistoryProperties(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	e := enc(t)
	for trial := range 200 {
		var items []truncate.Item
		turn := map[string]bool{}
		add := func(i int, history, own bool) {
			id := fmt.Sprint(i)
			it := truncate.Item{ID: id, Role: []string{"user", "assistant"}[rng.IntN(2)], Text: words(1 + rng.IntN(200)), History: history}
			if history || own {
				it.Role = "assistant"
			}
			if rng.IntN(4) == 0 {
				it.Group, it.Role = "g"+id, "assistant"
				out := truncate.Item{ID: id + "o", Role: "tool", Group: it.Group, ToolOutput: true, Text: words(1 + rng.IntN(600)), History: history}
				items = append(items, it, out)
				if own {
					turn[it.ID], turn[out.ID] = true, true
				}
				return
			}
			items = append(items, it)
			if own {
				turn[id] = true
			}
		}
		i := 0
		for range rng.IntN(30) {
			add(i, false, false)
			i++
		}
		items = append(items, truncate.Item{ID: "q", Role: "user", Text: words(1 + rng.IntN(50))})
		turn["q"] = true
		for range rng.IntN(60) {
			add(i, true, false)
			i++
		}
		for range rng.IntN(3) {
			add(i, false, true)
			i++
		}
		b := truncate.Budget{ContextWindow: 300 + rng.IntN(3000), ReservedOutput: rng.IntN(100)}
		r, err := truncate.Fit(context.Background(), newestFirst(items, nil), b, truncate.Strategy{})
		if errors.Is(err, truncate.ErrDoesNotFit) {
			need := 0 // at most what the turn needs, its tool outputs cut short
			for _, it := range items {
				if turn[it.ID] {
					if it.ToolOutput {
						need += 160
					} else {
						need += e.CountMessage(it.Text, 0)
					}
				}
			}
			if need <= b.Available() {
				t.Fatalf("trial %d: the turn fits in %d of %d but Fit gave up: %v", trial, need, b.Available(), err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.Tokens > b.Available() {
			t.Fatalf("trial %d: %d tokens > %d available", trial, r.Tokens, b.Available())
		}
		pos := map[string]int{}
		for j, it := range items {
			pos[it.ID] = j
		}
		var rest []truncate.Item
		for _, it := range items {
			if !turn[it.ID] {
				rest = append(rest, it)
			}
		}
		var keptRest []string
		groups := map[string]int{}
		for j, it := range r.Kept {
			if j > 0 && pos[it.ID] <= pos[r.Kept[j-1].ID] {
				t.Fatalf("trial %d: kept out of order at %s", trial, it.ID)
			}
			if it.Group != "" {
				groups[it.Group]++
			}
			if !turn[it.ID] {
				keptRest = append(keptRest, it.ID)
			}
			delete(turn, it.ID)
		}
		if len(turn) > 0 {
			t.Fatalf("trial %d: turn items dropped: %v", trial, turn)
		}
		for g, c := range groups {
			if c != 2 {
				t.Fatalf("trial %d: group %s split", trial, g)
			}
		}
		off := len(rest) - len(keptRest)
		for j, id := range keptRest {
			if rest[off+j].ID != id {
				t.Fatalf("trial %d: kept %s is not the newest of the rest", trial, id)
			}
		}
	}
}
