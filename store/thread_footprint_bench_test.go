package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
)

// BenchmarkThreadFootprint makes 10,000 threads of one shape, each thread
// made and filled before the next, one write a commit, and reports the
// file's bytes per thread beside the bytes of its keys and values. Run with
// go test ./store -run '^$' -bench ThreadFootprint -benchtime 1x. Shapes:
//
//   - empty: a thread and nothing in it;
//   - 3short: three messages of a few words (records ~150 B);
//   - 3msgs: three of benchMessage's typical turns (120–280 B of text);
//   - 3msgs+run: a user message, a completed run with its step and the
//     assistant's reply in it, and a second user message.
func BenchmarkThreadFootprint(b *testing.B) {
	const n = 10_000
	shapes := []struct {
		name string
		fill func(tx func(func(Tx) error), gen *IDGenerator, th string)
	}{
		{"empty", func(func(func(Tx) error), *IDGenerator, string) {}},
		{"3short", func(tx func(func(Tx) error), gen *IDGenerator, th string) {
			for i := range 3 {
				m := benchMessage(gen, th, "", i)
				m.RunID, m.AssistantID = nil, nil
				m.Content[0].Text.Value = "Hi, can you help me with this?"[:10+i*10]
				tx(func(t Tx) error { return t.PutMessage(m, 8) })
			}
		}},
		{"3msgs", func(tx func(func(Tx) error), gen *IDGenerator, th string) {
			for i := range 3 {
				m := benchMessage(gen, th, "", i)
				m.RunID, m.AssistantID = nil, nil
				tx(func(t Tx) error { return t.PutMessage(m, 40) })
			}
		}},
		{"3msgs+run", func(tx func(func(Tx) error), gen *IDGenerator, th string) {
			u := benchMessage(gen, th, "", 0)
			tx(func(t Tx) error { return t.PutMessage(u, 40) })
			r := &apitype.Run{ID: gen.New(PrefixRun), Object: apitype.ObjectRun, CreatedAt: 1_750_000_000, ThreadID: th,
				AssistantID: "asst_01jbench0000000000000000", Status: apitype.RunInProgress, Model: "llama3.2",
				Instructions: "You are a helpful assistant.", Tools: []apitype.Tool{}, Metadata: apitype.Metadata{}}
			tx(func(t Tx) error { return t.PutRun(r) })
			st := &apitype.RunStep{ID: gen.New(PrefixStep), Object: apitype.ObjectRunStep, CreatedAt: r.CreatedAt, AssistantID: r.AssistantID,
				ThreadID: th, RunID: r.ID, Type: "message_creation", Status: apitype.StepCompleted}
			tx(func(t Tx) error { return t.PutStep(st) })
			a := benchMessage(gen, th, r.ID, 1)
			tx(func(t Tx) error { return t.PutMessage(a, 40) })
			r.Status, r.Usage = apitype.RunCompleted, &apitype.Usage{PromptTokens: 40, CompletionTokens: 40, TotalTokens: 80}
			tx(func(t Tx) error { return t.PutRun(r) })
			u2 := benchMessage(gen, th, "", 2)
			tx(func(t Tx) error { return t.PutMessage(u2, 40) })
		}},
	}
	for _, shape := range shapes {
		b.Run(shape.name, func(b *testing.B) {
			for b.Loop() {
				s, err := Open(filepath.Join(b.TempDir(), "t.db"), Options{NoSync: true})
				if err != nil {
					b.Fatal(err)
				}
				empty := measure(b, s.DB())
				ctx := context.Background()
				tx := func(fn func(Tx) error) {
					if err := s.Update(ctx, fn); err != nil {
						b.Fatal(err)
					}
				}
				gen := NewIDGenerator(nil, nil)
				for range n {
					th := &apitype.Thread{ID: gen.New(PrefixThread), Object: apitype.ObjectThread, CreatedAt: 1_750_000_000, Metadata: apitype.Metadata{}}
					tx(func(t Tx) error { return t.PutThread(th) })
					shape.fill(tx, gen, th.ID)
				}
				f := measure(b, s.DB())
				s.Close()
				b.ReportMetric(float64(f.size-empty.size)/n, "file-B/thread")
				b.ReportMetric(float64(f.used-empty.used)/n, "used-B/thread")
				b.ReportMetric(float64(f.records-empty.records)/n, "record-B/thread")
			}
		})
	}
}

// BenchmarkMigrateSchema4 opens (so migrates) a copy of a schema 3 file of
// one 100,000-message thread (10,000 runs) and 10,000 small threads, and
// reports the migration's time and the file's size before and after.
//
//	go test ./store -run '^$' -bench MigrateSchema4 -benchtime 3x
func BenchmarkMigrateSchema4(b *testing.B) {
	dir := b.TempDir()
	old := filepath.Join(dir, "v3.db")
	writeOldFile(b, old, 100_000, 10_000)
	before := fileSize(old)
	var after int64
	var took time.Duration
	for b.Loop() {
		b.StopTimer()
		path := filepath.Join(dir, "copy.db")
		copyFile(b, old, path)
		b.StartTimer()
		start := time.Now()
		s, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
		b.StopTimer()
		after = s.Size()
		s.Close()
		os.Remove(path)
		b.StartTimer()
	}
	b.ReportMetric(float64(before)/(1<<20), "MiB-before")
	b.ReportMetric(float64(after)/(1<<20), "MiB-after")
	b.ReportMetric(took.Seconds()/float64(b.N), "s/migration")
}
