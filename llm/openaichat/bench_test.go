package openaichat_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/openaichat"
	"github.com/hearth-go/hearth/llm/openaichat/openaichattest"
)

// BenchmarkChat50 streams a 50-token reply from the fake vLLM three ways,
// all against one server in one binary: "raw" (openaichattest.RawChat, a
// line reader and one json.Unmarshal per chunk: the floor), "backend"
// (openaichat.Client.Chat) and "openai-go" (the official client's
// streaming). The paired sub-benchmarks time each beside raw in alternating
// blocks and report the ratio, which is steadier on a shared machine than
// two separate runs. See BENCHMARKS.md.
func BenchmarkChat50(b *testing.B) {
	reply := openaichattest.Reply{Text: strings.TrimSpace(strings.Repeat("tok ", 50))}
	fake := openaichattest.NewServer(b, openaichattest.WithHandler(func(*openaichattest.Request) openaichattest.Reply { return reply }))
	ctx := context.Background()
	c, err := openaichat.New(openaichat.Config{URL: fake.URL()})
	if err != nil {
		b.Fatal(err)
	}
	req := &llm.Request{Model: "llama3.2", Messages: []llm.Message{{Role: llm.RoleSystem, Content: "Be brief."}, {Role: llm.RoleUser, Content: "Say tok fifty times."}}}
	hc := &http.Client{}
	wire, _ := json.Marshal(map[string]any{"model": "llama3.2", "stream": true, "stream_options": map[string]bool{"include_usage": true},
		"messages": []map[string]string{{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say tok fifty times."}}})
	oc := openai.NewClient(option.WithBaseURL(fake.URL()+"/"), option.WithAPIKey("none"), option.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{Model: "llama3.2",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Say tok fifty times.")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}}

	raw := func() error {
		n, err := openaichattest.RawChat(hc, fake.URL(), wire)
		if err == nil && n != 50 {
			b.Fatalf("raw: %d chunks", n)
		}
		return err
	}
	backend := func() error {
		n := 0
		for ch, err := range c.Chat(ctx, req) {
			if err != nil {
				return err
			}
			if ch.Text != "" {
				n++
			}
		}
		if n != 50 {
			b.Fatalf("backend: %d chunks", n)
		}
		return nil
	}
	official := func() error {
		s := oc.Chat.Completions.NewStreaming(ctx, params)
		n := 0
		for s.Next() {
			if ch := s.Current(); len(ch.Choices) > 0 && ch.Choices[0].Delta.Content != "" {
				n++
			}
		}
		if n != 50 {
			b.Fatalf("openai-go: %d chunks (%v)", n, s.Err())
		}
		return s.Err()
	}
	ops := []struct {
		name string
		fn   func() error
	}{{"raw", raw}, {"backend", backend}, {"openai-go", official}}
	for _, op := range ops {
		b.Run(op.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := op.fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, op := range ops[1:] {
		b.Run(op.name+"/paired", func(b *testing.B) {
			const block = 8
			var floor, spent time.Duration
			for b.Loop() {
				for _, t := range []struct {
					fn func() error
					d  *time.Duration
				}{{raw, &floor}, {op.fn, &spent}} {
					start := time.Now()
					for range block {
						if err := t.fn(); err != nil {
							b.Fatal(err)
						}
					}
					*t.d += time.Since(start)
				}
			}
			n := float64(b.N * block)
			b.ReportMetric(float64(floor)/n, "raw-ns/op")
			b.ReportMetric(float64(spent)/n, op.name+"-ns/op")
			b.ReportMetric(float64(spent)/float64(floor), "x-raw")
		})
	}
}
