package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	bolt "go.etcd.io/bbolt"
)

// Run with:
//
//	go test ./store/ -run '^$' -bench . -benchtime 2s
//
// Each benchmark has its floor (raw bbolt doing the least the same job needs)
// as a sibling sub-benchmark, so the ratio comes from one run.

const benchMessages = MaxMessagesPerThread // a thread filled to the cap

// benchFixture is a file holding one thread with 100,000 messages, built
// once per benchmark process (with NoSync: durability is not what is
// measured while building it).
type benchFile struct {
	once sync.Once
	dir  string
	path string
	th   string
	mid  string // the id of the middle message
	run  string // a run that wrote every 10th message
	err  error
}

var benchFixture benchFile

// benchCleanup removes the fixture; TestMain calls it after the run.
func benchCleanup() {
	if benchFixture.dir != "" {
		os.RemoveAll(benchFixture.dir)
	}
	if benchDeleted.dir != "" {
		os.RemoveAll(benchDeleted.dir)
	}
}

func benchText(i int) string {
	// 120–280 bytes of plain prose, a typical chat turn.
	return strings.Repeat("The quick brown fox jumps over the lazy dog. ", 7)[:120+(i*37)%160]
}

func benchMessage(gen *IDGenerator, th, run string, i int) *apitype.Message {
	m := &apitype.Message{ID: gen.New(PrefixMessage), Object: apitype.ObjectMessage, CreatedAt: 1_750_000_000 + int64(i),
		ThreadID: th, Status: apitype.MessageCompleted, Role: apitype.RoleUser,
		Content: []apitype.MessageContent{{Type: apitype.ContentText,
			Text: &apitype.TextContent{Value: benchText(i), Annotations: []apitype.Annotation{}}}},
		Attachments: []apitype.Attachment{}, Metadata: apitype.Metadata{}}
	if i%2 == 1 {
		m.Role = apitype.RoleAssistant
		m.AssistantID = apitype.Ptr("asst_01jbench0000000000000000")
		m.RunID = apitype.Ptr(fmt.Sprintf("run_01jbench%016d", i/10))
		m.CompletedAt = apitype.Ptr(m.CreatedAt)
		if i%10 == 1 {
			m.RunID = &run
		}
	}
	return m
}

func fixture(b *testing.B) *benchFile {
	f := &benchFixture
	f.once.Do(func() {
		start := time.Now()
		f.dir, f.err = os.MkdirTemp("", "hearth-store-bench")
		if f.err != nil {
			return
		}
		f.path = filepath.Join(f.dir, "fixture.db")
		s, err := Open(f.path, Options{NoSync: true})
		if err != nil {
			f.err = err
			return
		}
		defer s.Close()
		gen := NewIDGenerator(nil, nil)
		f.th, f.run = gen.New(PrefixThread), gen.New(PrefixRun)
		ctx := context.Background()
		if f.err = s.Update(ctx, func(tx Tx) error { return tx.PutThread(&apitype.Thread{ID: f.th}) }); f.err != nil {
			return
		}
		const chunk = 5000
		for lo := 0; lo < benchMessages; lo += chunk {
			msgs := make([]*apitype.Message, 0, chunk)
			for i := lo; i < lo+chunk; i++ {
				msgs = append(msgs, benchMessage(gen, f.th, f.run, i))
				if i == benchMessages/2 {
					// Keep one id, not 100,000: a big live heap would tax
					// every benchmark with garbage collection work.
					f.mid = msgs[len(msgs)-1].ID
				}
			}
			f.err = s.Update(ctx, func(tx Tx) error {
				for _, m := range msgs {
					if err := tx.PutMessage(m, 40); err != nil {
						return err
					}
				}
				return nil
			})
			if f.err != nil {
				return
			}
		}
		fmt.Fprintf(os.Stderr, "bench fixture: %d messages in %v\n", benchMessages, time.Since(start).Round(time.Millisecond))
	})
	if f.err != nil {
		b.Fatal(f.err)
	}
	return f
}

// BenchmarkList lists a page of 20 from a 100,000-message thread: the first
// page and a page after a cursor in the middle, in both orders, each beside
// the raw floor: one read tx, the bucket path, a cursor Seek and 20 steps
// (the 21 records a page with an exact has_more must see). scan is the
// lending ScanMessages (each message decoded, not kept), store the owned
// ListMessages page. paired times raw and scan in alternating blocks of 64
// calls and reports scan/raw: on a shared machine whose speed drifts from
// second to second, that ratio is steadier than two separate runs'.
func BenchmarkList(b *testing.B) {
	f := fixture(b)
	s, err := Open(f.path, Options{}) // sync on, as in use
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	mid := f.mid
	cases := []struct {
		name string
		p    apitype.MessageListParams
		// raw: where the floor's cursor starts and which way it steps.
		seek func(c *bolt.Cursor) ([]byte, []byte)
		desc bool
	}{
		// The thread bucket's messages are its keys under "m" (schema 4).
		{"first/desc", apitype.MessageListParams{}, func(c *bolt.Cursor) ([]byte, []byte) { c.Seek(tCount); return c.Prev() }, true},
		{"first/asc", apitype.MessageListParams{ListParams: apitype.ListParams{Order: "asc"}}, func(c *bolt.Cursor) ([]byte, []byte) { return c.Seek(tMessages) }, false},
		{"middle/desc", apitype.MessageListParams{ListParams: apitype.ListParams{After: mid}}, func(c *bolt.Cursor) ([]byte, []byte) { return c.Seek([]byte("m" + mid)) }, true},
		{"middle/asc", apitype.MessageListParams{ListParams: apitype.ListParams{Order: "asc", After: mid}}, func(c *bolt.Cursor) ([]byte, []byte) { return c.Seek([]byte("m" + mid)) }, false},
	}
	ctx := context.Background()
	for _, c := range cases {
		var sink int
		raw := func() error {
			return s.DB().View(func(tx *bolt.Tx) error {
				cur := tx.Bucket(bThreadData).Bucket([]byte(f.th)).Cursor()
				k, v := c.seek(cur)
				for range 20 {
					sink += len(k) + len(v)
					k, v = step(cur, c.desc)
				}
				sink += len(k) + len(v)
				return nil
			})
		}
		scan := func() error {
			return s.View(ctx, func(tx Tx) error { return benchScan(tx, f.th, c.p) })
		}
		list := func() error {
			return s.View(ctx, func(tx Tx) error {
				page, err := tx.ListMessages(f.th, c.p)
				if err == nil && (len(page.Data) != 20 || !page.HasMore) {
					err = fmt.Errorf("page of %d, has_more %v", len(page.Data), page.HasMore)
				}
				return err
			})
		}
		for _, op := range []struct {
			name string
			fn   func() error
		}{{"raw", raw}, {"scan", scan}, {"store", list}} {
			b.Run(c.name+"/"+op.name, func(b *testing.B) {
				b.ReportAllocs()
				defer reportCPU(b, cpuTime())
				for b.Loop() {
					if err := op.fn(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(c.name+"/paired", func(b *testing.B) {
			const block = 64
			var rawTime, scanTime time.Duration
			for b.Loop() {
				for _, t := range []struct {
					fn    func() error
					spent *time.Duration
				}{{raw, &rawTime}, {scan, &scanTime}} {
					start := time.Now()
					for range block {
						if err := t.fn(); err != nil {
							b.Fatal(err)
						}
					}
					*t.spent += time.Since(start)
				}
			}
			n := float64(b.N * block)
			b.ReportMetric(float64(rawTime)/n, "raw-ns/op")
			b.ReportMetric(float64(scanTime)/n, "scan-ns/op")
			b.ReportMetric(float64(scanTime)/float64(rawTime), "scan/raw")
			b.ReportMetric(0, "ns/op")
		})
		_ = sink
	}
	// The run_id filter reads the run index then each message by key; its
	// floor is the same walk of the index with a Get per listed message.
	runP := apitype.MessageListParams{RunID: f.run}
	b.Run("run_filter/desc/raw", func(b *testing.B) {
		b.ReportAllocs()
		db := s.DB()
		prefix := tkey2(nil, tRunMsgs, f.run, "")
		var sink int
		defer reportCPU(b, cpuTime())
		for b.Loop() {
			err := db.View(func(tx *bolt.Tx) error {
				tb := tx.Bucket(bThreadData).Bucket([]byte(f.th))
				cur := tb.Cursor()
				cur.Seek(prefixEnd(prefix))
				k, _ := cur.Prev()
				var kbuf [64]byte
				for range 20 {
					v := tb.Get(append(append(kbuf[:0], tMessages...), k[len(prefix):]...))
					sink += len(k) + len(v)
					k, _ = cur.Prev()
				}
				sink += len(k)
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		_ = sink
	})
	b.Run("run_filter/desc/scan", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b, cpuTime())
		for b.Loop() {
			if err := s.View(ctx, func(tx Tx) error { return benchScan(tx, f.th, runP) }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("run_filter/desc/store", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b, cpuTime())
		for b.Loop() {
			err := s.View(ctx, func(tx Tx) error {
				page, err := tx.ListMessages(f.th, runP)
				if err == nil && len(page.Data) != 20 {
					err = fmt.Errorf("page of %d", len(page.Data))
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchScan lends a page of 20 and looks at each message as a caller
// rendering it would (its id and text), keeping nothing.
func benchScan(tx Tx, th string, p apitype.MessageListParams) error {
	n, size := 0, 0
	info, err := tx.(*boltTx).ScanMessages(th, p, func(m *apitype.Message) error {
		n++
		size += len(m.ID) + len(m.Content[0].Text.Value)
		return nil
	})
	if err == nil && (n != 20 || !info.HasMore || size == 0) {
		err = fmt.Errorf("page of %d, has_more %v", n, info.HasMore)
	}
	return err
}

// BenchmarkAppend appends messages with fsync on: 16 goroutines writing to
// 16 threads through Update (group commit), beside the floor of one writer
// doing one raw bbolt put per transaction. ns/op is per append; the ratio
// floor/store is the speed-up (paired: the two in turn, in one loop).
func BenchmarkAppend(b *testing.B) {
	value := []byte(strings.Repeat("m", 400)) // about a stored message
	b.Run("raw_single_writer", func(b *testing.B) {
		db, err := bolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("m")); return err }); err != nil {
			b.Fatal(err)
		}
		key := make([]byte, 8)
		i := uint64(0)
		st0 := db.Stats()
		defer func() { reportPages(b, db, st0) }()
		for b.Loop() {
			i++
			binary.BigEndian.PutUint64(key, i)
			if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("m")).Put(key, value) }); err != nil {
				b.Fatal(err)
			}
		}
	})
	// paired: rounds of 64 raw single-writer puts, then 256 appends by 16
	// writers through the store, timed in turn in one loop so that the
	// disk's drift hits both alike; reports the speed-up per round's sum.
	b.Run("paired", func(b *testing.B) {
		dir := b.TempDir()
		db, err := bolt.Open(filepath.Join(dir, "raw.db"), 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("m")); return err }); err != nil {
			b.Fatal(err)
		}
		s, err := Open(filepath.Join(dir, "store.db"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		ctx := context.Background()
		gen := NewIDGenerator(nil, nil)
		const writers, perWriter, rawBlock = 16, 16, 64
		threads := make([]string, writers)
		for i := range threads {
			threads[i] = gen.New(PrefixThread)
			if err := s.Update(ctx, func(tx Tx) error { return tx.PutThread(&apitype.Thread{ID: threads[i]}) }); err != nil {
				b.Fatal(err)
			}
		}
		key := make([]byte, 8)
		var rawTime, storeTime time.Duration
		var rawN, storeN, i uint64
		for b.Loop() {
			start := time.Now()
			for range rawBlock {
				i++
				binary.BigEndian.PutUint64(key, i)
				if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("m")).Put(key, value) }); err != nil {
					b.Fatal(err)
				}
			}
			rawTime, rawN = rawTime+time.Since(start), rawN+rawBlock
			start = time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for w := range writers {
				wg.Go(func() {
					for j := range perWriter {
						m := benchMessage(gen, threads[w], "", j)
						if err := s.Update(ctx, func(tx Tx) error { return tx.PutMessage(m, 40) }); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			storeTime, storeN = storeTime+time.Since(start), storeN+writers*perWriter
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
		}
		rawPer, storePer := float64(rawTime)/float64(rawN), float64(storeTime)/float64(storeN)
		b.ReportMetric(rawPer, "raw-ns/append")
		b.ReportMetric(storePer, "store-ns/append")
		b.ReportMetric(rawPer/storePer, "speedup")
		b.ReportMetric(0, "ns/op")
	})
	for _, writers := range []int{1, 16} {
		b.Run(fmt.Sprintf("store_%d_writers", writers), func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "store.db"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			gen := NewIDGenerator(nil, nil)
			threads := make([]string, writers)
			for i := range threads {
				threads[i] = gen.New(PrefixThread)
				if err := s.Update(ctx, func(tx Tx) error { return tx.PutThread(&apitype.Thread{ID: threads[i]}) }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			st0 := s.DB().Stats()
			b.ResetTimer()
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for w := range writers {
				n := b.N / writers
				if w < b.N%writers {
					n++
				}
				wg.Go(func() {
					for i := range n {
						m := benchMessage(gen, threads[w], "", i)
						if err := s.Update(ctx, func(tx Tx) error { return tx.PutMessage(m, 40) }); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			reportPages(b, s.DB(), st0)
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
		})
	}
}

// reportPages reports the pages bbolt wrote per append: the disk work a
// commit's fsync waits for.
func reportPages(b *testing.B, db *bolt.DB, st0 bolt.Stats) {
	st := db.Stats()
	d := st.Sub(&st0)
	b.ReportMetric(float64(d.TxStats.GetWrite())/float64(b.N), "pages/op")
}

// cpuTime is the CPU time this process has used (all threads, so garbage
// collection counts). On a shared machine wall-clock ns/op swings with other
// load; CPU ns/op says what the work itself costs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports CPU ns/op since start; call it with defer at the top of
// a benchmark body (after setup).
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
