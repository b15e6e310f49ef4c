package store

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	bolt "go.etcd.io/bbolt"
)

// putOldThread writes a thread as schema 3 did: its record, and a bucket
// with five sub-buckets.
func putOldThread(btx *bolt.Tx, th *apitype.Thread) (*bolt.Bucket, error) {
	if err := putJSON(btx.Bucket(bThreads), []byte(th.ID), th); err != nil {
		return nil, err
	}
	tb, err := btx.Bucket(bThreadData).CreateBucket([]byte(th.ID))
	if err != nil {
		return nil, err
	}
	for _, name := range [][]byte{oldMessages, oldTokens, oldRunMsgs, oldRuns, oldSteps} {
		if _, err := tb.CreateBucket(name); err != nil {
			return nil, err
		}
	}
	return tb, nil
}

// putOldMessage adds a message record (and, when tokens is not nil, its
// count beside it) to an old thread bucket as schema 3 did: with its run
// index entry and the thread's count.
func putOldMessage(tb *bolt.Bucket, m *apitype.Message, rec, tokens []byte) error {
	if err := tb.Put(tCount, u64(count(tb)+1)); err != nil {
		return err
	}
	if err := tb.Bucket(oldMessages).Put([]byte(m.ID), rec); err != nil {
		return err
	}
	if tokens != nil {
		if err := tb.Bucket(oldTokens).Put([]byte(m.ID), tokens); err != nil {
			return err
		}
	}
	if m.RunID != nil && *m.RunID != "" {
		return tb.Bucket(oldRunMsgs).Put(pair(*m.RunID, m.ID), present)
	}
	return nil
}

// oldFile is what writeOldFile wrote: every thread's records, by flat key.
type oldFile struct {
	threads map[string]map[string]string
	big     string // the thread of many messages
	runs    map[string][]string
}

// writeOldFile writes a schema 3 file: one thread of big messages in runs of
// ten (a run and a step record each), and small threads of 0–3 messages,
// half with a run.
func writeOldFile(t testing.TB, path string, big, small int) *oldFile {
	t.Helper()
	s, err := Open(path, Options{NoSync: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	gen := NewIDGenerator(nil, nil)
	f := &oldFile{big: gen.New(PrefixThread), runs: map[string][]string{}}
	putRun := func(tb *bolt.Bucket, th, run string) error {
		r := &apitype.Run{ID: run, Object: apitype.ObjectRun, ThreadID: th, AssistantID: "asst_1", Status: apitype.RunCompleted, Model: "m"}
		if err := putJSON(tb.Bucket(oldRuns), []byte(run), r); err != nil {
			return err
		}
		st := &apitype.RunStep{ID: gen.New(PrefixStep), Object: apitype.ObjectRunStep, RunID: run, ThreadID: th, Status: apitype.StepCompleted}
		f.runs[th] = append(f.runs[th], run)
		return putJSON(tb.Bucket(oldSteps), pair(run, st.ID), st)
	}
	err = s.Bolt().Update(func(btx *bolt.Tx) error {
		tb, err := putOldThread(btx, &apitype.Thread{ID: f.big, Object: apitype.ObjectThread})
		if err != nil {
			return err
		}
		run := ""
		for i := range big {
			if i%10 == 0 {
				run = gen.New(PrefixRun)
				if err := putRun(tb, f.big, run); err != nil {
					return err
				}
			}
			m := benchMessage(gen, f.big, run, i)
			if m.RunID != nil {
				m.RunID = &run
			}
			rec, err := encodeMessage(nil, m, i%50)
			if err != nil {
				return err
			}
			if err := putOldMessage(tb, m, rec, nil); err != nil {
				return err
			}
		}
		for i := range small {
			th := gen.New(PrefixThread)
			tb, err := putOldThread(btx, &apitype.Thread{ID: th, Object: apitype.ObjectThread})
			if err != nil {
				return err
			}
			run := gen.New(PrefixRun)
			if i%2 == 1 {
				if err := putRun(tb, th, run); err != nil {
					return err
				}
			}
			for j := range i % 4 {
				m := benchMessage(gen, th, run, j)
				rec, err := encodeMessage(nil, m, j)
				if err != nil {
					return err
				}
				if err := putOldMessage(tb, m, rec, nil); err != nil {
					return err
				}
			}
		}
		return btx.Bucket(bMeta).Put(kSchema, u64(3))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db := openBolt(t, path)
	defer db.Close()
	if err := db.View(func(btx *bolt.Tx) error {
		f.threads = allRecords(t, btx, nil)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

func openBolt(t testing.TB, path string) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path, 0o600, boltOptions(time.Second, true, true))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// allRecords reads every thread's records by flat key, whichever layout
// the thread is in, and checks that a partial copy under bFlatten holds
// only records of its thread (want, when not nil, says which).
func allRecords(t testing.TB, btx *bolt.Tx, want map[string]map[string]string) map[string]map[string]string {
	t.Helper()
	all := map[string]map[string]string{}
	err := btx.Bucket(bThreadData).ForEachBucket(func(id []byte) error {
		tb := btx.Bucket(bThreadData).Bucket(id)
		recs := map[string]string{}
		if oldLayout(tb) {
			recs[string(tCount)] = string(countValue(tb)) // flattening writes a count of 0 too
			for _, f := range flatOrder {
				if sub := tb.Bucket(f.old); sub != nil {
					sub.ForEach(func(k, v []byte) error {
						switch {
						case bytes.Equal(f.old, oldRuns):
							recs[string(tkey(nil, tRuns, string(k)))] = string(present)
							recs["R"+string(k)] = string(v)
						case bytes.Equal(f.old, oldSteps):
							recs["S"+string(k)] = string(v)
						default:
							recs[string(tkey(nil, f.prefix, string(k)))] = string(v)
						}
						return nil
					})
				}
			}
		} else {
			runs, steps := btx.Bucket(bRuns), btx.Bucket(bSteps)
			tb.ForEach(func(k, v []byte) error {
				if v == nil {
					t.Fatalf("thread %s: flat bucket holds bucket %q", id, k)
				}
				recs[string(k)] = string(v)
				if k[0] == tRuns[0] {
					run := k[1:]
					if r := runs.Get(run); r != nil {
						recs["R"+string(run)] = string(r)
					}
					prefix := append(bytes.Clone(run), 0)
					c := steps.Cursor()
					for sk, sv := c.Seek(prefix); sk != nil && bytes.HasPrefix(sk, prefix); sk, sv = c.Next() {
						recs["S"+string(sk)] = string(sv)
					}
				}
				return nil
			})
		}
		all[string(id)] = recs
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if staging := btx.Bucket(bFlatten); staging != nil && want != nil {
		staging.ForEachBucket(func(id []byte) error {
			staging.Bucket(id).ForEach(func(k, v []byte) error {
				if w, ok := want[string(id)][string(k)]; !ok || w != string(v) {
					t.Fatalf("partial copy of %s holds %q, which is not its record", id, k)
				}
				return nil
			})
			return nil
		})
	}
	return all
}

// checkRecords fails unless the file holds every record of f, in either
// layout, checks clean, and is at schema 3 or 4.
func checkRecords(t testing.TB, path string, f *oldFile) (schema int, partial bool) {
	t.Helper()
	db := openBolt(t, path)
	defer db.Close()
	err := db.View(func(btx *bolt.Tx) error {
		for err := range btx.Check() {
			return err
		}
		schema = int(u64Value(btx.Bucket(bMeta).Get(kSchema)))
		if schema != 3 && schema != SchemaVersion {
			return fmt.Errorf("schema %d", schema)
		}
		got := allRecords(t, btx, f.threads)
		if len(got) != len(f.threads) {
			return fmt.Errorf("%d threads, want %d", len(got), len(f.threads))
		}
		for id, recs := range f.threads {
			if !maps.Equal(got[id], recs) {
				return fmt.Errorf("thread %s: %d records, want %d (or a record changed)", id, len(got[id]), len(recs))
			}
		}
		partial = btx.Bucket(bFlatten) != nil
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return schema, partial
}

func u64Value(v []byte) uint64 {
	if len(v) != 8 {
		return 0
	}
	return uint64(v[0])<<56 | uint64(v[1])<<48 | uint64(v[2])<<40 | uint64(v[3])<<32 | uint64(v[4])<<24 | uint64(v[5])<<16 | uint64(v[6])<<8 | uint64(v[7])
}

// checkMigrated opens the file as the store and reads f's threads through
// the API: counts, pages, a run's messages, runs and steps.
func checkMigrated(t testing.TB, path string, f *oldFile) {
	t.Helper()
	s, err := Open(path, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(); err != nil || v != SchemaVersion {
		t.Fatalf("schema %d %v", v, err)
	}
	view(t, s, func(tx Tx) error {
		if tx.(*boltTx).tx.Bucket(bFlatten) != nil {
			t.Fatal("the migration's copies are left")
		}
		for th, recs := range f.threads {
			want := 0
			for k := range recs {
				if k[0] == tMessages[0] && len(k) > 1 {
					want++
				}
			}
			if n, err := tx.CountMessages(th); err != nil || n != want {
				t.Fatalf("%s: %d messages, %v; want %d", th, n, err, want)
			}
			seen, after := 0, ""
			for {
				page, err := tx.ListMessages(th, apitype.MessageListParams{ListParams: apitype.ListParams{Limit: 100, Order: apitype.OrderAsc, After: after}})
				if err != nil {
					return err
				}
				seen += len(page.Data)
				if !page.HasMore {
					break
				}
				after = *page.LastID
			}
			if seen != want {
				t.Fatalf("%s: listed %d messages, want %d", th, seen, want)
			}
			runs, err := tx.ListRuns(th, apitype.ListParams{Limit: 100})
			if err != nil || len(runs.Data) != min(100, len(f.runs[th])) {
				t.Fatalf("%s: %d runs %v", th, len(runs.Data), err)
			}
			for _, r := range runs.Data[:min(3, len(runs.Data))] {
				steps, err := tx.ListSteps(th, r.ID, apitype.ListParams{})
				if err != nil || len(steps.Data) != 1 {
					t.Fatalf("%s: run %s: %d steps %v", th, r.ID, len(steps.Data), err)
				}
				if _, err := tx.GetStep(th, r.ID, steps.Data[0].ID); err != nil {
					return err
				}
				if _, err := tx.GetRun(th, r.ID); err != nil {
					return err
				}
			}
		}
		run := f.runs[f.big][len(f.runs[f.big])/2]
		page, err := tx.ListMessages(f.big, apitype.MessageListParams{RunID: run})
		if err != nil || len(page.Data) != 5 {
			t.Fatalf("run %s: %d messages %v, want its 5 replies", run, len(page.Data), err)
		}
		return nil
	})
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestFlattenMigration: a schema 3 file (a 25k-message thread, 400 small
// ones) flattens in steps of 1,000 records, every record of every thread
// there after each step, and then reads through the API; small threads
// end inlined in their parent's page.
func TestFlattenMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v3.db")
	f := writeOldFile(t, path, 25_000, 400)
	db := openBolt(t, path)
	var at []byte
	steps := 0
	for done := false; !done; steps++ {
		if steps > 100 {
			t.Fatal("more than 100 steps of 1,000")
		}
		if err := db.Update(func(btx *bolt.Tx) (err error) {
			done, err = flattenStep(btx, &at, 1000)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		db.Close()
		checkRecords(t, path, f)
		db = openBolt(t, path)
	}
	// ~55k records: the big thread's 25k messages, their 12.5k index
	// entries, 2.5k runs and steps; the small threads' few.
	if steps < 40 {
		t.Fatalf("%d steps for the file", steps)
	}
	db.View(func(btx *bolt.Tx) error {
		st := btx.Bucket(bThreadData).Stats()
		if st.InlineBucketN < 400 {
			t.Errorf("%d of 400 small threads inlined", st.InlineBucketN)
		}
		return nil
	})
	db.Close()
	t.Logf("%d steps", steps)
	checkMigrated(t, path, f)
}

// childMigrate opens (so migrates) the store, printing "open", the
// migration's per-step log lines and "migrated", and exits.
func childMigrate(path string) int {
	fmt.Println("open")
	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := Open(path, Options{LockTimeout: 10 * time.Second, Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("migrated")
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestCrashDuringMigration kills a child with SIGKILL while it migrates a
// schema 3 file (a 30k-message thread, 2,000 small ones: several steps of
// 10,000 records), after a random number of its steps; after each kill the
// file checks clean and holds every record, in one layout or the other;
// the next child goes on from there, and the last one's file reads
// through the API.
func TestCrashDuringMigration(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 11))
	path := filepath.Join(t.TempDir(), "v3.db")
	f := writeOldFile(t, path, 30_000, 2000)
	kills, midCopy := 0, 0
	for round := 0; ; round++ {
		if round > 40 {
			t.Fatal("the migration never finished")
		}
		cmd := childCmd(t, "migrate", path)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := rng.IntN(4) // steps this child may finish
		sc := bufio.NewScanner(stdout)
		killed, finished, seen := false, false, 0
		for sc.Scan() {
			line := sc.Text()
			if line == "migrated" {
				finished = true
			}
			step := strings.Contains(line, `msg="store migration step"`) && strings.Contains(line, "schema=4")
			if step {
				seen++
			}
			if !killed && !finished && (line == "open" || step) && seen >= killAfter {
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			}
		}
		err = cmd.Wait()
		ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
		schema, partial := checkRecords(t, path, f)
		if ws.Signaled() {
			kills++
			if partial {
				midCopy++
			}
			t.Logf("round %d: killed after %d steps: schema %d, partial copy %v; every record there", round, seen, schema, partial)
			continue
		}
		if err != nil {
			t.Fatalf("round %d: child: %v", round, err)
		}
		if schema != SchemaVersion {
			t.Fatalf("child migrated but the file is at schema %d", schema)
		}
		t.Logf("round %d: finished after %d steps", round, seen)
		break
	}
	t.Logf("%d kills, %d left a partial copy of the big thread", kills, midCopy)
	if kills == 0 {
		t.Fatal("no kill landed during the migration")
	}
	checkMigrated(t, path, f)
}

// countPrefix counts a thread bucket's keys under prefix.
func countPrefix(tb *bolt.Bucket, prefix []byte) int {
	n := 0
	c := tb.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(k) > len(prefix); k, _ = c.Next() {
		n++
	}
	return n
}
