package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	bolt "go.etcd.io/bbolt"
)

// fillAndDelete writes n messages to a new thread and deletes all but
// every keep-th, returning the thread and the ids kept.
func fillAndDelete(t testing.TB, s *Store, n, keep int) (string, []string) {
	t.Helper()
	th := appendMessages(t, s, n, 500)
	var ids []string
	if err := s.View(context.Background(), func(tx Tx) error {
		return tx.(*boltTx).MessageTokens(th, false, func(id string, _ int) bool { ids = append(ids, id); return true })
	}); err != nil {
		t.Fatal(err)
	}
	var kept []string
	for lo := 0; lo < len(ids); lo += 1000 {
		chunk := ids[lo:min(len(ids), lo+1000)]
		if err := s.Update(context.Background(), func(tx Tx) error {
			for i, id := range chunk {
				if (lo+i)%keep == 0 {
					continue
				}
				if err := tx.DeleteMessage(th, id); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range ids {
		if i%keep == 0 {
			kept = append(kept, id)
		}
	}
	return th, kept
}

func checkKept(t *testing.T, s *Store, th string, kept []string) {
	t.Helper()
	err := s.View(context.Background(), func(tx Tx) error {
		n, err := tx.CountMessages(th)
		if err != nil {
			return err
		}
		if n != len(kept) {
			return fmt.Errorf("thread holds %d messages, want %d", n, len(kept))
		}
		for _, id := range kept {
			if _, err := tx.GetMessage(th, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Compact gives deleted space back while the store is open: a read that
// began before it goes on reading the old file until it ends (and Compact
// waits for it), a write sent meanwhile is kept, and the file reopens with
// everything that was live.
func TestCompactOnline(t *testing.T) {
	path := t.TempDir() + "/c.db"
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	th, kept := fillAndDelete(t, s, 20_000, 10)
	before := fileSize(path)

	inView, release, viewErr := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	old := append([]string(nil), kept...)
	go func() {
		viewErr <- s.View(ctx, func(tx Tx) error {
			close(inView)
			<-release
			// The old file is still mapped: its messages read as before.
			for _, id := range old {
				if _, err := tx.GetMessage(th, id); err != nil {
					return err
				}
			}
			return nil
		})
	}()
	<-inView
	type result struct {
		st  CompactStats
		err error
	}
	done := make(chan result, 1)
	copied, swap := make(chan struct{}), make(chan struct{})
	s.afterCopy = func() { close(copied); <-swap }
	go func() {
		st, err := s.Compact(ctx)
		done <- result{st, err}
	}()
	// A write sent once the data is copied, before the copy takes the old
	// file's place, commits and lands in the file that stays.
	<-copied
	late := benchMessage(NewIDGenerator(nil, nil), th, "run_late", 2)
	p := s.Submit(ctx, func(tx Tx) error { return tx.PutMessage(late, 3) }, nil)
	close(swap)
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	kept = append(kept, late.ID)
	// File search keeps its own buckets through Bolt, across the swap.
	if err := s.Bolt().Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("compact_test"))
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), []byte("v"))
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		t.Fatalf("Compact returned (%v) while a read on the old file was open", r.err)
	default:
	}
	close(release)
	if err := <-viewErr; err != nil {
		t.Fatalf("read across the compaction: %v", err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Logf("compacted %d → %d bytes in %v (writes paused %v)", r.st.Before, r.st.After, r.st.Took, r.st.Paused)
	if after := fileSize(path); after*3 > before {
		t.Errorf("file is %d bytes after compaction, was %d: want a third or less", after, before)
	}
	if _, err := os.Stat(path + compactingSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the compaction's copy is left beside the file: %v", err)
	}
	checkKept(t, s, th, kept)
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	// And writes go on in the new file.
	more := benchMessage(NewIDGenerator(nil, nil), th, "run_more", 4)
	if err := s.Update(ctx, func(tx Tx) error { return tx.PutMessage(more, 3) }); err != nil {
		t.Fatal(err)
	}
	kept = append(kept, more.ID)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkKept(t, s, th, kept)
	if err := s.Bolt().View(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte("compact_test")); b == nil || string(b.Get([]byte("k"))) != "v" {
			return errors.New("a Bolt().Update made during compaction is lost")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// Compacting a closed store is refused; compacting twice is harmless.
func TestCompactClosedAndTwice(t *testing.T) {
	s, err := Open(t.TempDir()+"/c.db", Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	th, kept := fillAndDelete(t, s, 2000, 4)
	for range 2 {
		if _, err := s.Compact(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	checkKept(t, s, th, kept)
	s.Close()
	if _, err := s.Compact(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Compact after Close: %v, want ErrClosed", err)
	}
}

// CompactFile compacts a file no process holds, in place or to a new path,
// and refuses one another process holds, and a destination that exists.
func TestCompactFile(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/c.db"
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	th, kept := fillAndDelete(t, s, 10_000, 10)
	s.Close()
	before := fileSize(path)
	ctx := context.Background()
	st, err := CompactFile(ctx, path, dir+"/out.db", 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.After*3 > before || fileSize(path) != before {
		t.Errorf("to a new path: %+v, source now %d bytes (was %d)", st, fileSize(path), before)
	}
	if _, err := CompactFile(ctx, path, dir+"/out.db", 0); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("onto an existing file: %v, want refused", err)
	}
	if st, err = CompactFile(ctx, path, "", 0); err != nil || fileSize(path)*3 > before {
		t.Fatalf("in place: %+v, %v", st, err)
	}
	for _, p := range []string{path, dir + "/out.db"} {
		s, err := Open(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkKept(t, s, th, kept)
		s.Close()
	}

	child := childCmd(t, "hold", path)
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Wait()
	defer stdin.Close()
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		t.Fatalf("child said %q", line)
	}
	if _, err := CompactFile(ctx, path, "", 50*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Fatalf("compacting a file a server holds: %v, want ErrLocked", err)
	}
}

// childCompact opens the store, appends from a goroutine ("ack <thread>
// <msg>" after each commit) and compacts in a loop ("compact <n>" as each
// begins), until it is killed.
func childCompact(path string) int {
	ctx := context.Background()
	s, err := Open(path, Options{LockTimeout: 10 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s.compactTx = 32 << 10 // the copy grows commit by commit, to be killed midway
	th := crashThreads[0]
	if err := s.Update(ctx, func(tx Tx) error {
		if ok, err := tx.HasThread(th); err != nil || ok {
			return err
		}
		return tx.PutThread(&apitype.Thread{ID: th, Object: apitype.ObjectThread})
	}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var out sync.Mutex
	say := func(f string, a ...any) {
		out.Lock()
		fmt.Printf(f+"\n", a...) // one write(2): a whole line or nothing
		out.Unlock()
	}
	go func() {
		gen := NewIDGenerator(nil, nil)
		for i := 0; ; i++ {
			m := benchMessage(gen, th, "run_crash", i)
			if err := s.Update(ctx, func(tx Tx) error { return tx.PutMessage(m, 1) }); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			say("ack %s %s", th, m.ID)
		}
	}()
	for n := 1; ; n++ {
		say("compact %d", n)
		if _, err := s.Compact(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
}

// crashFixture is a compaction crash test's start: a seeded rng (the seed
// logged; stream picks the PCG stream, 0 for the seed itself), a file of
// 40,000 messages with 90% deleted, and the messages it holds (id →
// thread), which every kill must leave in place.
func crashFixture(t *testing.T, stream uint64) (*rand.Rand, string, map[string]string) {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	if stream == 0 {
		stream = seed
	}
	rng := rand.New(rand.NewPCG(seed, stream))
	path := t.TempDir() + "/crash.db"
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	th, kept := fillAndDelete(t, s, 40_000, 10)
	s.Close()
	acked := map[string]string{}
	for _, id := range kept {
		acked[id] = th
	}
	return rng, path, acked
}

// TestCrashDuringCompaction kills a child with SIGKILL while it compacts
// (and appends); after each kill the file opens, checks clean, and holds
// every message it held before and every append the child acknowledged.
func TestCrashDuringCompaction(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	rng, path, acked := crashFixture(t, 0)
	midCopy := 0
	const rounds = 5
	for round := range rounds {
		cmd := childCmd(t, "compact", path)
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill once the k-th compaction's copy has grown past some pages
		// (the copy is mid-way: it is renamed into place only when whole),
		// or, every third round, as soon as that compaction begins.
		k, grown := 1+rng.IntN(3), int64(256<<10)
		if round%3 == 2 {
			grown = 0
		}
		lines := make(chan string, 1024)
		go func() {
			defer close(lines)
			for sc := bufio.NewScanner(stdout); sc.Scan(); {
				lines <- sc.Text()
			}
		}()
		take := func(line string) (begun bool) {
			f := strings.Fields(line)
			if len(f) == 3 && f[0] == "ack" {
				acked[f[2]] = f[1]
			}
			return len(f) == 2 && f[0] == "compact" && f[1] == fmt.Sprint(k)
		}
		for line := range lines {
			if take(line) {
				break
			}
		}
	poll:
		for grown > 0 { // the child copies on while this looks
			if fi, err := os.Stat(path + compactingSuffix); err == nil && fi.Size() > grown {
				break
			}
			select {
			case line, ok := <-lines:
				if !ok {
					break poll // the child is gone: its error is on stderr
				}
				take(line)
			default:
				runtime.Gosched()
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		for line := range lines { // lines written before the kill are acknowledged
			take(line)
		}
		cmd.Wait()
		if fi, err := os.Stat(path + compactingSuffix); err == nil && fi.Size() > 0 {
			midCopy++
		}
		verifyCrashDB(t, path, acked)
		t.Logf("round %d: killed, %d messages verified", round, len(acked))
	}
	t.Logf("%d of %d kills left a compaction's copy (killed mid-copy)", midCopy, rounds)
	if midCopy == 0 {
		t.Error("no kill landed during a compaction's copy")
	}
}

// childCompactFile compacts the file in place with CompactFile in a loop,
// printing "compact <n>" as each begins, until it is killed.
func childCompactFile(path string) int {
	for n := 1; ; n++ {
		fmt.Printf("compact %d\n", n)
		if _, err := CompactFile(context.Background(), path, "", 10*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
}

// TestCrashDuringCompactFile kills a child with SIGKILL while it compacts
// the file offline, in place (hearth compact): at a random compaction,
// either as it begins or once its copy is on disk; after each kill the
// file opens, checks clean and holds every message it held.
func TestCrashDuringCompactFile(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	rng, path, acked := crashFixture(t, 3)
	midCopy := 0
	const rounds = 6
	for round := range rounds {
		cmd := childCmd(t, "compactfile", path)
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		k, waitCopy := 1+rng.IntN(3), round%2 == 0
		lines := make(chan string, 64)
		go func() {
			defer close(lines)
			for sc := bufio.NewScanner(stdout); sc.Scan(); {
				lines <- sc.Text()
			}
		}()
		for line := range lines {
			if line == fmt.Sprintf("compact %d", k) {
				break
			}
		}
	poll:
		for waitCopy { // the child copies on while this looks
			if fi, err := os.Stat(path + compactingSuffix); err == nil && fi.Size() > 0 {
				break
			}
			select {
			case _, ok := <-lines:
				if !ok {
					break poll // the child is gone: its error is on stderr
				}
			default:
				runtime.Gosched()
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		for range lines {
		}
		if err := cmd.Wait(); cmd.ProcessState.Exited() {
			t.Fatalf("round %d: the child ended by itself: %v", round, err)
		}
		if fi, err := os.Stat(path + compactingSuffix); err == nil && fi.Size() > 0 {
			midCopy++
		}
		verifyCrashDB(t, path, acked)
		t.Logf("round %d: killed in compaction %d, %d messages verified", round, k, len(acked))
	}
	t.Logf("%d of %d kills left a compaction's copy (killed mid-copy)", midCopy, rounds)
	if midCopy == 0 {
		t.Error("no kill landed during a compaction's copy")
	}
}
