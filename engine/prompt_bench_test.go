package engine

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/truncate"
	bolt "go.etcd.io/bbolt"
)

// A 100,000-message thread, built once per benchmark process.
var promptFixture struct {
	once   sync.Once
	e      *Engine
	thread string
	err    error
}

func benchEngine(b *testing.B) (*Engine, string) {
	f := &promptFixture
	f.once.Do(func() {
		dir, err := osMkdirTemp()
		if err != nil {
			f.err = err
			return
		}
		f.e, f.err = Open(context.Background(), Config{Path: filepath.Join(dir, "bench.db"), NoSync: true,
			Model: scripted.Echo(), ContextWindow: 128_000, Logger: slog.New(slog.DiscardHandler)})
		if f.err != nil {
			return
		}
		th, err := f.e.Threads.Create(context.Background(), apitype.ThreadCreateParams{})
		if err != nil {
			f.err = err
			return
		}
		f.thread = th.ID
		enc, _ := truncate.Default()
		for done := 0; done < 100_000; done += 5000 {
			f.err = f.e.store.Update(context.Background(), func(tx store.Tx) error {
				for i := done; i < done+5000; i++ {
					role := apitype.RoleUser
					if i%2 == 1 {
						role = apitype.RoleAssistant
					}
					text := fmt.Sprintf("message %d: %s", i, strings.Repeat("some words of a conversation ", 6))
					m := &apitype.Message{ID: f.e.newID(store.PrefixMessage), Object: apitype.ObjectMessage, ThreadID: th.ID,
						Status: apitype.MessageCompleted, Role: role, Content: []apitype.MessageContent{textPart(text)},
						Attachments: []apitype.Attachment{}, Metadata: apitype.Metadata{}}
					if err := tx.PutMessage(m, enc.CountMessage(text, 0)); err != nil {
						return err
					}
				}
				return nil
			})
			if f.err != nil {
				return
			}
		}
	})
	if f.err != nil {
		b.Fatal(f.err)
	}
	return f.e, f.thread
}

// BenchmarkPrompt128k chooses the prompt of a run for a 128k-token window on
// a 100,000-message thread (the engine's real path: cached counts, Fit,
// prompt messages), beside the floor of reading the same number of newest
// message records raw from bbolt.
func BenchmarkPrompt128k(b *testing.B) {
	e, threadID := benchEngine(b)
	x := &runner{e: e, ctx: context.Background(), run: &apitype.Run{ID: "run_bench", ThreadID: threadID, Model: "m",
		TruncationStrategy: &apitype.TruncationStrategy{Type: apitype.TruncationAuto}}}
	req, err := x.prompt()
	if err != nil {
		b.Fatal(err)
	}
	kept := len(req.Messages)
	b.Run("hearth", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := x.prompt(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(kept), "kept_messages")
	})
	// The floor: the same newest messages read from bbolt and decoded by the
	// store's own codec (the least any prompt needs: their text), no Fit.
	b.Run("read_kept_floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			err := e.store.View(context.Background(), func(tx store.Tx) error {
				return tx.EachMessage(threadID, true, func(m *apitype.Message, _ int) (bool, error) {
					n++
					return n < kept, nil
				})
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	// The same messages lent (Tx.LendMessages, what the builder itself
	// reads with), copying nothing: below what a prompt needs, which must
	// copy the kept texts out of the transaction.
	b.Run("read_kept_lent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			err := e.store.View(context.Background(), func(tx store.Tx) error {
				return tx.LendMessages(threadID, true, func(m *apitype.Message, _ int) (bool, error) {
					n++
					return n < kept, nil
				})
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	// Lent, each id and text copied out as the builder does: the least a
	// prompt that outlives the transaction needs, without choosing.
	b.Run("read_kept_copy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n, texts := 0, make([]string, 0, kept)
			err := e.store.View(context.Background(), func(tx store.Tx) error {
				return tx.LendMessages(threadID, true, func(m *apitype.Message, _ int) (bool, error) {
					texts = append(texts, m.ID+messageText(m))
					n++
					return n < kept, nil
				})
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw_cursor", func(b *testing.B) {
		for b.Loop() {
			n := 0
			err := e.bolt.DB().View(func(tx *bolt.Tx) error {
				// Messages are the thread bucket's keys under "m" (schema 4).
				c := tx.Bucket([]byte("thread_data")).Bucket([]byte(threadID)).Cursor()
				c.Seek([]byte("n"))
				for k, _ := c.Prev(); k != nil && k[0] == 'm' && n < kept; k, _ = c.Prev() {
					n++
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCountAtInsert is the token counting each message write pays.
func BenchmarkCountAtInsert(b *testing.B) {
	enc, err := truncate.Default()
	if err != nil {
		b.Fatal(err)
	}
	text := strings.Repeat("Hearth counts every message's tokens once, when it is written. ", 64)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		enc.CountMessage(text, 0)
	}
}

func osMkdirTemp() (string, error) { return os.MkdirTemp("", "hearth-bench") }

// BenchmarkPrompt128kPaired times the prompt builder and its floor
// alternately in the same loop, so machine drift hits both alike, and
// reports their ratio (hearth/floor).
func BenchmarkPrompt128kPaired(b *testing.B) {
	e, threadID := benchEngine(b)
	x := &runner{e: e, ctx: context.Background(), run: &apitype.Run{ID: "run_bench", ThreadID: threadID, Model: "m",
		TruncationStrategy: &apitype.TruncationStrategy{Type: apitype.TruncationAuto}}}
	req, err := x.prompt()
	if err != nil {
		b.Fatal(err)
	}
	kept := len(req.Messages)
	var hearth, floor time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := x.prompt(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		n := 0
		err := e.store.View(context.Background(), func(tx store.Tx) error {
			return tx.EachMessage(threadID, true, func(*apitype.Message, int) (bool, error) {
				n++
				return n < kept, nil
			})
		})
		if err != nil {
			b.Fatal(err)
		}
		hearth, floor = hearth+t1.Sub(t0), floor+time.Since(t1)
	}
	b.ReportMetric(float64(hearth.Nanoseconds())/float64(b.N), "hearth-ns/op")
	b.ReportMetric(float64(floor.Nanoseconds())/float64(b.N), "floor-ns/op")
	b.ReportMetric(float64(hearth)/float64(floor), "ratio")
}
