package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
	bolt "go.etcd.io/bbolt"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/ollama"
	"github.com/hearth-go/hearth/llm/ollama/ollamatest"
)

// BenchmarkOllamaRun50 runs a one-step run (one user message, one streamed
// 50-token answer) through the engine against the fake Ollama, beside the
// same reply read with Ollama's own api.Client.Chat ("direct", the floor),
// a minimal NDJSON reader ("raw"), the backend alone ("backend") and one
// durable bbolt commit ("bbolt-commit"), all in one binary against one fake
// server. ttf-ns/op is the time to the first
// text: to the first chunk for the clients, from CreateStream to the first
// thread.message.delta for the engine. See bench/ollama-engine.md.
func BenchmarkOllamaRun50(b *testing.B) {
	reply := ollamatest.Reply{Text: strings.TrimSpace(strings.Repeat("tok ", 50))}
	fake := ollamatest.NewServer(b, ollamatest.WithHandler(func(*api.ChatRequest) ollamatest.Reply { return reply }))
	const question = "Say tok fifty times."
	ctx := context.Background()
	no, yes := false, true
	wireReq := func() *api.ChatRequest {
		return &api.ChatRequest{Model: "llama3.2", Stream: &yes, Truncate: &no, Shift: &no,
			Messages: []api.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: question}},
			Options:  map[string]any{"num_ctx": 8192}}
	}

	b.Run("direct", func(b *testing.B) {
		u, _ := url.Parse(fake.URL())
		c := api.NewClient(u, &http.Client{})
		var ttf time.Duration
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			start := time.Now()
			n := 0
			err := c.Chat(ctx, wireReq(), func(r api.ChatResponse) error {
				if r.Message.Content != "" {
					if n == 0 {
						ttf += time.Since(start)
					}
					n++
				}
				return nil
			})
			if err != nil || n != 50 {
				b.Fatalf("n=%d err=%v", n, err)
			}
		}
		b.ReportMetric(float64(ttf.Nanoseconds())/float64(b.N), "ttf-ns/op")
	})

	b.Run("raw", func(b *testing.B) {
		hc := &http.Client{}
		var ttf time.Duration
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			body, _ := json.Marshal(wireReq())
			n, first, err := ollamatest.RawChat(hc, fake.URL(), body)
			if err != nil {
				b.Fatal(err)
			}
			ttf += first
			if n != 50 {
				b.Fatalf("n=%d", n)
			}
		}
		b.ReportMetric(float64(ttf.Nanoseconds())/float64(b.N), "ttf-ns/op")
	})

	b.Run("backend", func(b *testing.B) {
		c, err := ollama.New(ollama.Config{URL: fake.URL()})
		if err != nil {
			b.Fatal(err)
		}
		msgs := []llm.Message{{Role: llm.RoleSystem, Content: "Be brief."}, {Role: llm.RoleUser, Content: question}}
		var ttf time.Duration
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			start := time.Now()
			n := 0
			for ch, err := range c.Chat(ctx, &llm.Request{Model: "llama3.2", Messages: msgs, ContextWindow: 8192}) {
				if err != nil {
					b.Fatal(err)
				}
				if ch.Text != "" {
					if n == 0 {
						ttf += time.Since(start)
					}
					n++
				}
			}
			if n != 50 {
				b.Fatalf("n=%d", n)
			}
		}
		b.ReportMetric(float64(ttf.Nanoseconds())/float64(b.N), "ttf-ns/op")
	})

	// One durable bbolt commit (a 300-byte Put, fsync on) in the same
	// directory kind as the engine's file: what each of a run's commits
	// costs with sync on.
	b.Run("bbolt-commit", func(b *testing.B) {
		db, err := bolt.Open(filepath.Join(b.TempDir(), "floor.db"), 0o600, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		val := bytes.Repeat([]byte("x"), 300)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			err := db.Update(func(tx *bolt.Tx) error {
				bk, err := tx.CreateBucketIfNotExists([]byte("runs"))
				if err != nil {
					return err
				}
				return bk.Put([]byte(strconv.Itoa(i)), val)
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})

	for _, sync := range []bool{false, true} {
		mode := "sync"
		if !sync {
			mode = "nosync"
		}
		// Each iteration runs on a fresh thread (made before the timer
		// starts) so every prompt is the same two messages.
		setup := func(b *testing.B) (*engine.Engine, *apitype.Assistant, []string) {
			client, err := ollama.New(ollama.Config{URL: fake.URL()})
			if err != nil {
				b.Fatal(err)
			}
			e, err := engine.Open(ctx, engine.Config{Path: filepath.Join(b.TempDir(), "hearth.db"), Model: client,
				NoSync: !sync, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { e.Close() })
			a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "llama3.2", Instructions: apitype.Ptr("Be brief.")})
			if err != nil {
				b.Fatal(err)
			}
			threads := make([]string, b.N+1)
			for i := range threads {
				th, err := e.Threads.Create(ctx, apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{
					{Role: apitype.RoleUser, Content: apitype.TextInput(question)}}})
				if err != nil {
					b.Fatal(err)
				}
				threads[i] = th.ID
			}
			// Warm the model's context window and /api/show caches.
			if r, err := e.Runs.CreateAndWait(ctx, threads[b.N], apitype.RunCreateParams{AssistantID: a.ID}); err != nil || r.Status != apitype.RunCompleted {
				b.Fatalf("warm-up run: %v %+v", err, r)
			}
			return e, a, threads[:b.N]
		}

		b.Run("engine-"+mode+"/wait", func(b *testing.B) {
			e, a, threads := setup(b)
			tx0 := lastTxID(b, e.Store().DB())
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				r, err := e.Runs.CreateAndWait(ctx, threads[i], apitype.RunCreateParams{AssistantID: a.ID})
				if err != nil || r.Status != apitype.RunCompleted {
					b.Fatalf("%v %+v", err, r)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(lastTxID(b, e.Store().DB())-tx0)/float64(b.N), "writetx/run")
		})

		b.Run("engine-"+mode+"/stream", func(b *testing.B) {
			e, a, threads := setup(b)
			tx0 := lastTxID(b, e.Store().DB())
			var ttf time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				n := 0
				var last apitype.EventType
				for ev, err := range e.Runs.CreateStream(ctx, threads[i], apitype.RunCreateParams{AssistantID: a.ID}) {
					if err != nil {
						b.Fatal(err)
					}
					if ev.Event == apitype.EventMessageDelta {
						if n == 0 {
							ttf += time.Since(start)
						}
						n++
					}
					last = ev.Event
				}
				if n != 50 || last != apitype.EventRunCompleted {
					b.Fatalf("%d deltas, last event %s", n, last)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(ttf.Nanoseconds())/float64(b.N), "ttf-ns/op")
			b.ReportMetric(float64(lastTxID(b, e.Store().DB())-tx0)/float64(b.N), "writetx/run")
		})
	}
}
