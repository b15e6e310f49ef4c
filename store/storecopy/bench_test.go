package storecopy_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/internal/pgtest"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/store/pgstore"
	"github.com/hearth-go/hearth/store/storecopy"
)

// BenchmarkMigrate copies a thread of 10,000 messages from a bbolt file
// into a new store (bbolt with fsync, or an empty Postgres database) with
// storecopy.Copy, beside its floor: the same thread and messages, already
// in memory, written into another new store of the same driver directly,
// in transactions of the same size (1000). One round is one of each, in
// turn (paired); it reports both rates and the ratio copy/floor, and
// Verify's rate.
func BenchmarkMigrate(b *testing.B) {
	const n = 10_000
	ctx := context.Background()
	src, err := store.Open(filepath.Join(b.TempDir(), "src.db"), store.Options{NoSync: true, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	th := &apitype.Thread{ID: "thread_bench", Object: "thread"}
	gen := store.NewIDGenerator(nil, nil)
	var msgs []*apitype.Message
	text := strings.Repeat("a message of a migrated thread ", 10)
	for i := range n {
		msgs = append(msgs, &apitype.Message{ID: gen.New(store.PrefixMessage), Object: "thread.message", ThreadID: th.ID, CreatedAt: int64(i),
			Role: apitype.RoleUser, Status: apitype.MessageCompleted, Metadata: apitype.Metadata{},
			Content: []apitype.MessageContent{{Type: "text", Text: &apitype.TextContent{Value: fmt.Sprint(text, i), Annotations: []apitype.Annotation{}}}}})
	}
	floor := func(dst store.Driver) error {
		if err := dst.Update(ctx, func(tx store.Tx) error { return tx.PutThread(th) }); err != nil {
			return err
		}
		for i := 0; i < n; i += 1000 {
			if err := dst.Update(ctx, func(tx store.Tx) error {
				for j, m := range msgs[i:min(n, i+1000)] {
					if err := tx.PutMessage(m, i+j); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	}
	if err := floor(src); err != nil {
		b.Fatal(err)
	}
	objects := float64(n + 1)
	for _, kind := range []string{"bolt", "postgres"} {
		b.Run(kind+"/paired", func(b *testing.B) {
			fresh := func() store.Driver {
				if kind == "bolt" {
					s, err := store.Open(filepath.Join(b.TempDir(), "dst.db"), store.Options{Logger: quiet})
					if err != nil {
						b.Fatal(err)
					}
					return s
				}
				s, err := pgstore.Open(ctx, pgtest.DSN(b), pgstore.Options{Logger: quiet})
				if err != nil {
					b.Fatal(err)
				}
				return s
			}
			var copyT, floorT, verifyT time.Duration
			round := 0
			for b.Loop() {
				b.StopTimer()
				a, c := fresh(), fresh()
				b.StartTimer()
				timeCopy := func() {
					start := time.Now()
					if _, err := storecopy.Copy(ctx, src, a, storecopy.Options{}); err != nil {
						b.Fatal(err)
					}
					copyT += time.Since(start)
				}
				timeFloor := func() {
					start := time.Now()
					if err := floor(c); err != nil {
						b.Fatal(err)
					}
					floorT += time.Since(start)
				}
				if round%2 == 0 {
					timeCopy()
					timeFloor()
				} else {
					timeFloor()
					timeCopy()
				}
				round++
				start := time.Now()
				if _, err := storecopy.Verify(ctx, src, a, storecopy.Options{}); err != nil {
					b.Fatal(err)
				}
				verifyT += time.Since(start)
				b.StopTimer()
				a.Close()
				c.Close()
				b.StartTimer()
			}
			r := float64(round)
			b.ReportMetric(objects*r/copyT.Seconds(), "copy_objects/s")
			b.ReportMetric(objects*r/floorT.Seconds(), "floor_objects/s")
			b.ReportMetric(copyT.Seconds()/floorT.Seconds(), "copy/floor")
			b.ReportMetric(objects*r/verifyT.Seconds(), "verify_objects/s")
		})
	}
}
