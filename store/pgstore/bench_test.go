package pgstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/internal/pgtest"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/store/pgstore"
)

func benchMessage(threadID string, i int) *apitype.Message {
	text := fmt.Sprintf("message %d: %0300d", i, i) // about a stored message
	return &apitype.Message{ID: ids.New(store.PrefixMessage), Object: apitype.ObjectMessage, ThreadID: threadID, Role: apitype.RoleUser,
		CreatedAt: int64(i), Status: apitype.MessageCompleted, Metadata: apitype.Metadata{},
		Content: []apitype.MessageContent{{Type: "text", Text: &apitype.TextContent{Value: text, Annotations: []apitype.Annotation{}}}}}
}

// BenchmarkAppend16 appends messages from 16 goroutines to 16 threads
// through Update (group commit), paired with its floor: one writer doing
// raw single-row INSERTs in autocommit on one pooled connection (a round
// trip and a commit each). Rounds alternate 64 raw INSERTs and 256 store
// appends; speedup > 1 is the store's speed-up per append. It also
// reports how many writes shared a commit. The test cluster runs without
// fsync; HEARTH_BENCH_DURABLE=1 runs on a cluster of the benchmark's own
// with fsync and synchronous_commit on, as a deployment does.
func BenchmarkAppend16(b *testing.B) {
	ctx := context.Background()
	var commits, writes atomic.Int64
	dsn := pgtest.DSN(b)
	if os.Getenv("HEARTH_BENCH_DURABLE") == "1" {
		c := startCluster(b)
		c.durable(b)
		dsn = c.dsn
	}
	s := openDSN(b, dsn, pgstore.Options{OnCommit: func(_ time.Duration, n int) { commits.Add(1); writes.Add(int64(n)) }})
	if _, err := s.Pool().Exec(ctx, `CREATE TABLE raw_messages (thread_id text COLLATE "C", id text COLLATE "C", tokens integer, record json, PRIMARY KEY (thread_id, id))`); err != nil {
		b.Fatal(err)
	}
	const writers, perWriter, rawBlock = 16, 16, 64
	threads := make([]string, writers)
	for i := range threads {
		th := thread()
		threads[i] = th.ID
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.PutThread(th) }); err != nil {
			b.Fatal(err)
		}
	}
	rec, _ := json.Marshal(benchMessage(threads[0], 0))
	var rawTime, storeTime time.Duration
	var rawN, storeN int
	commits.Store(0)
	writes.Store(0)
	for b.Loop() {
		start := time.Now()
		for range rawBlock {
			if _, err := s.Pool().Exec(ctx, "INSERT INTO raw_messages (thread_id, id, tokens, record) VALUES ($1, $2, $3, $4)",
				threads[0], ids.New(store.PrefixMessage), 40, rec); err != nil {
				b.Fatal(err)
			}
		}
		rawTime, rawN = rawTime+time.Since(start), rawN+rawBlock
		start = time.Now()
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for j := range perWriter {
					m := benchMessage(threads[w], j)
					if err := s.Update(ctx, func(tx store.Tx) error { return tx.PutMessage(m, 40) }); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		storeTime, storeN = storeTime+time.Since(start), storeN+writers*perWriter
	}
	b.ReportMetric(float64(rawTime)/float64(rawN), "raw-ns/op")
	b.ReportMetric(float64(storeTime)/float64(storeN), "store-ns/op")
	b.ReportMetric(float64(rawTime)/float64(rawN)/(float64(storeTime)/float64(storeN)), "speedup")
	b.ReportMetric(float64(writes.Load())/float64(max(commits.Load(), 1)), "writes/commit")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkList20 lists a page of 20 from a 100,000-message thread (first
// page and after a cursor in the middle, both orders) through View and
// ListMessages, paired with its floor: the raw keyset query of the same
// 21 rows on a pooled connection, outside a transaction, scanning the
// records as bytes. Blocks of 32 alternate; store/raw is the ratio.
func BenchmarkList20(b *testing.B) {
	ctx := context.Background()
	s := openDSN(b, pgtest.DSN(b), pgstore.Options{})
	th := thread()
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.PutThread(th) }); err != nil {
		b.Fatal(err)
	}
	const total, per = 100_000, 10_000
	var mid string
	for done := 0; done < total; done += per {
		msgs := make([]*apitype.Message, per)
		for i := range msgs {
			msgs[i] = benchMessage(th.ID, done+i)
		}
		if done == total/2 {
			mid = msgs[0].ID
		}
		if err := s.Update(ctx, func(tx store.Tx) error {
			for _, m := range msgs {
				if err := tx.PutMessage(m, 40); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.Pool().Exec(ctx, "ANALYZE messages"); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		p    apitype.ListParams
		sql  string
	}{
		{"first/desc", apitype.ListParams{}, "SELECT id, record FROM messages WHERE thread_id = $1 ORDER BY id DESC LIMIT 21"},
		{"first/asc", apitype.ListParams{Order: "asc"}, "SELECT id, record FROM messages WHERE thread_id = $1 ORDER BY id LIMIT 21"},
		{"middle/desc", apitype.ListParams{After: mid}, "SELECT id, record FROM messages WHERE thread_id = $1 AND id < $2 ORDER BY id DESC LIMIT 21"},
		{"middle/asc", apitype.ListParams{Order: "asc", After: mid}, "SELECT id, record FROM messages WHERE thread_id = $1 AND id > $2 ORDER BY id LIMIT 21"},
	} {
		args := []any{th.ID}
		if c.p.After != "" {
			args = append(args, mid)
		}
		raw := func() error {
			rows, err := s.Pool().Query(ctx, c.sql, args...)
			if err != nil {
				return err
			}
			n := 0
			var id string
			var v []byte
			for rows.Next() {
				if err := rows.Scan(&id, &v); err != nil {
					return err
				}
				n++
			}
			if n != 21 {
				return fmt.Errorf("%d rows", n)
			}
			return rows.Err()
		}
		list := func() error {
			return s.View(ctx, func(tx store.Tx) error {
				page, err := tx.ListMessages(th.ID, apitype.MessageListParams{ListParams: c.p})
				if err == nil && (len(page.Data) != 20 || !page.HasMore) {
					err = fmt.Errorf("page of %d, has_more %v", len(page.Data), page.HasMore)
				}
				return err
			})
		}
		b.Run(c.name, func(b *testing.B) {
			const block = 32
			var rawTime, storeTime time.Duration
			for b.Loop() {
				for _, x := range []struct {
					fn    func() error
					spent *time.Duration
				}{{raw, &rawTime}, {list, &storeTime}} {
					start := time.Now()
					for range block {
						if err := x.fn(); err != nil {
							b.Fatal(err)
						}
					}
					*x.spent += time.Since(start)
				}
			}
			n := float64(b.N * block)
			b.ReportMetric(float64(rawTime)/n, "raw-ns/op")
			b.ReportMetric(float64(storeTime)/n, "store-ns/op")
			b.ReportMetric(float64(storeTime)/float64(rawTime), "store/raw")
			b.ReportMetric(0, "ns/op")
		})
	}
}
