package engine

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/store"
)

// A 10,000-deep previous_response_id chain (a user message in, an
// assistant message out, each) and a 100,000-item conversation, built once
// per benchmark process, with the texts of the 100k-message thread of
// BenchmarkPrompt128k.
var respFixture struct {
	once  sync.Once
	e     *Engine
	chain string // the newest response of the chain
	conv  string
	err   error
}

func benchItemText(i int) string {
	return fmt.Sprintf("message %d: %s", i, strings.Repeat("some words of a conversation ", 6))
}

func benchItem(e *Engine, i int) apitype.Item {
	role, content := apitype.RoleUser, apitype.InputText(benchItemText(i))
	if i%2 == 1 {
		role, content = apitype.RoleAssistant, apitype.OutputText(benchItemText(i))
	}
	return apitype.ItemOf(&apitype.MessageItem{ID: e.newID(store.PrefixMessage), Type: apitype.ItemMessage, Role: role,
		Status: apitype.ItemCompleted, Content: []apitype.ContentPart{content}})
}

func respBenchEngine(b *testing.B) (*Engine, string, string) {
	f := &respFixture
	f.once.Do(func() {
		ctx := context.Background()
		dir, err := osMkdirTemp()
		if err != nil {
			f.err = err
			return
		}
		f.e, f.err = Open(ctx, Config{Path: filepath.Join(dir, "bench.db"), NoSync: true,
			Model: scripted.Echo(), ContextWindow: 128_000, Logger: slog.New(slog.DiscardHandler)})
		if f.err != nil {
			return
		}
		e := f.e
		var prev *string
		for done := 0; done < 10_000; done += 500 {
			f.err = e.store.Update(ctx, func(tx store.Tx) error {
				for i := done; i < done+500; i++ {
					r := apitype.NewResponse(e.newID(store.PrefixResponse), e.now(), &apitype.ResponseCreateParams{Model: "m"})
					r.PreviousResponseID = prev
					in, out := benchItem(e, 2*i), benchItem(e, 2*i+1)
					if err := tx.CreateResponse(&r, []apitype.Item{in}, []int{itemTokens(in)}); err != nil {
						return err
					}
					r.Status, r.Output = apitype.ResponseCompleted, []apitype.Item{out}
					if err := tx.PutResponse(&r, []int{itemTokens(out)}); err != nil {
						return err
					}
					prev = &r.ID
				}
				return nil
			})
			if f.err != nil {
				return
			}
		}
		f.chain = *prev
		c, err := e.Conversations.Create(ctx, apitype.ConversationCreateParams{})
		if err != nil {
			f.err = err
			return
		}
		f.conv = c.ID
		for done := 0; done < 100_000; done += 5000 {
			items := make([]apitype.Item, 0, 5000)
			for i := done; i < done+5000; i++ {
				items = append(items, benchItem(e, i))
			}
			items, tokens := e.storedItems(items)
			if f.err = e.store.Update(ctx, func(tx store.Tx) error { return tx.AppendConversationItems(c.ID, items, tokens) }); f.err != nil {
				return
			}
		}
	})
	if f.err != nil {
		b.Fatal(f.err)
	}
	return f.e, f.chain, f.conv
}

// respPrompt builds the prompt of a new response (one user message) on
// the history r names, for the 128k window, as the executor does.
func respPrompt(e *Engine, r *apitype.Response, input []apitype.Item, tokens []int) (int, error) {
	var kept int
	err := e.store.View(context.Background(), func(tx store.Tx) error {
		req, _, err := e.responsePrompt(context.Background(), tx, r, input, tokens, nil, nil, nil, 128_000)
		if err == nil {
			kept = len(req.Messages)
		}
		return err
	})
	return kept, err
}

// BenchmarkResponsePrompt128kPaired times building the prompt of a
// response for a 128k-token window — from a previous_response_id chain
// 10,000 responses deep (chain), and from a 100,000-item conversation
// (conversation) — beside its floor, reading and decoding just the history
// items the prompt keeps (the store's own walk, stopped there), in
// alternating halves of one loop; it reports hearth/floor as ratio.
func BenchmarkResponsePrompt128kPaired(b *testing.B) {
	e, chain, conv := respBenchEngine(b)
	in := e.storedItem(apitype.ItemOf(&apitype.MessageItem{Role: apitype.RoleUser, Content: []apitype.ContentPart{apitype.InputText("And what next?")}}))
	input, tokens := []apitype.Item{in}, []int{itemTokens(in)}
	auto := apitype.TruncationAuto
	for _, c := range []struct {
		name string
		r    *apitype.Response
		walk func(tx store.Tx, fn func(*apitype.Item, int) (bool, error)) error
	}{
		{"chain", &apitype.Response{ID: "resp_bench", Model: "m", Truncation: auto, PreviousResponseID: &chain},
			func(tx store.Tx, fn func(*apitype.Item, int) (bool, error)) error {
				return tx.ResponseHistory(chain, fn)
			}},
		{"conversation", &apitype.Response{ID: "resp_bench", Model: "m", Truncation: auto, Conversation: &apitype.ConversationRef{ID: conv}},
			func(tx store.Tx, fn func(*apitype.Item, int) (bool, error)) error {
				return tx.EachConversationItem(conv, true, fn)
			}},
	} {
		b.Run(c.name, func(b *testing.B) {
			kept, err := respPrompt(e, c.r, input, tokens)
			if err != nil {
				b.Fatal(err)
			}
			history := kept - len(input) // the input is in memory, not read
			floor := func() error {
				n := 0
				return e.store.View(context.Background(), func(tx store.Tx) error {
					return c.walk(tx, func(*apitype.Item, int) (bool, error) {
						n++
						return n < history, nil
					})
				})
			}
			var hearthT, floorT time.Duration
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				if _, err := respPrompt(e, c.r, input, tokens); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := floor(); err != nil {
					b.Fatal(err)
				}
				hearthT, floorT = hearthT+t1.Sub(t0), floorT+time.Since(t1)
			}
			b.ReportMetric(float64(history), "kept_items")
			b.ReportMetric(float64(hearthT.Nanoseconds())/float64(b.N), "hearth-ns/op")
			b.ReportMetric(float64(floorT.Nanoseconds())/float64(b.N), "floor-ns/op")
			b.ReportMetric(float64(hearthT)/float64(floorT), "ratio")
		})
	}
}
