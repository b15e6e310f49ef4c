package ollama_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/ollama"
	"github.com/hearth-go/hearth/llm/ollama/ollamatest"
)

// BenchmarkChat50 streams a 50-token reply from the fake Ollama through the
// backend ("hearth") and, as the floor, through Ollama's own api.Client.Chat
// ("direct") with the same request shape. ttfc-ns/op is the time to the
// first text chunk.
func BenchmarkChat50(b *testing.B) {
	words := make([]string, 50)
	for i := range words {
		words[i] = "tok"
	}
	reply := ollamatest.Reply{Text: strings.Join(words, " ")}
	srv := ollamatest.NewServer(b, ollamatest.WithHandler(func(*api.ChatRequest) ollamatest.Reply { return reply }))
	msgs := []llm.Message{{Role: llm.RoleSystem, Content: "You are terse."}, {Role: llm.RoleUser, Content: "Say tok fifty times."}}
	ctx := context.Background()

	b.Run("direct", func(b *testing.B) {
		u, _ := url.Parse(srv.URL())
		c := api.NewClient(u, &http.Client{})
		no, yes := false, true
		var ttfc time.Duration
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			req := &api.ChatRequest{
				Model: "llama3.2", Stream: &yes, Truncate: &no, Shift: &no,
				Messages: []api.Message{{Role: "system", Content: msgs[0].Content}, {Role: "user", Content: msgs[1].Content}},
				Options:  map[string]any{"num_ctx": 8192},
			}
			start := time.Now()
			first := true
			n := 0
			err := c.Chat(ctx, req, func(r api.ChatResponse) error {
				if r.Message.Content != "" {
					if first {
						ttfc += time.Since(start)
						first = false
					}
					n++
				}
				return nil
			})
			if err != nil || n != 50 {
				b.Fatalf("n=%d err=%v", n, err)
			}
		}
		b.ReportMetric(float64(ttfc.Nanoseconds())/float64(b.N), "ttfc-ns/op")
	})

	// The least work that streams this reply: one POST, a line reader and
	// json.Unmarshal into api.ChatResponse. It shows what the backend's
	// own conversion costs, apart from api.Client's 8 MB buffer.
	b.Run("raw", func(b *testing.B) {
		hc := &http.Client{}
		no, yes := false, true
		body, _ := json.Marshal(&api.ChatRequest{
			Model: "llama3.2", Stream: &yes, Truncate: &no, Shift: &no,
			Messages: []api.Message{{Role: "system", Content: msgs[0].Content}, {Role: "user", Content: msgs[1].Content}},
			Options:  map[string]any{"num_ctx": 8192},
		})
		var ttfc time.Duration
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			n, first, err := ollamatest.RawChat(hc, srv.URL(), body)
			if err != nil {
				b.Fatal(err)
			}
			ttfc += first
			if n != 50 {
				b.Fatalf("n=%d", n)
			}
		}
		b.ReportMetric(float64(ttfc.Nanoseconds())/float64(b.N), "ttfc-ns/op")
	})

	b.Run("hearth", func(b *testing.B) {
		c, err := ollama.New(ollama.Config{URL: srv.URL()})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.ContextWindow(ctx, "llama3.2"); err != nil { // warm the /api/show cache
			b.Fatal(err)
		}
		var ttfc time.Duration
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			start := time.Now()
			first := true
			n := 0
			for ch, err := range c.Chat(ctx, &llm.Request{Model: "llama3.2", Messages: msgs}) {
				if err != nil {
					b.Fatal(err)
				}
				if ch.Text != "" {
					if first {
						ttfc += time.Since(start)
						first = false
					}
					n++
				}
			}
			if n != 50 {
				b.Fatalf("n=%d", n)
			}
		}
		b.ReportMetric(float64(ttfc.Nanoseconds())/float64(b.N), "ttfc-ns/op")
	})
}
