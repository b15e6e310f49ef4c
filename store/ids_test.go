package store

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestIDsMonotonicConcurrent(t *testing.T) {
	gen := NewIDGenerator(nil, nil)
	const workers, each = 8, 2000
	out := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				out[w] = append(out[w], gen.New(PrefixMessage))
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, ids := range out {
		for i, id := range ids {
			if i > 0 && id <= ids[i-1] {
				t.Fatalf("not increasing: %s after %s", id, ids[i-1])
			}
			if seen[id] {
				t.Fatalf("duplicate %s", id)
			}
			seen[id] = true
			if !ValidID(PrefixMessage, id) || len(id) != len(PrefixMessage)+26 {
				t.Fatalf("bad id %q", id)
			}
		}
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestIDsClockBackwards(t *testing.T) {
	base := time.UnixMilli(1_750_000_000_000)
	steps := []time.Duration{0, 0, -5 * time.Millisecond, -time.Hour, 0, time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond, 99 * time.Millisecond}
	for _, src := range []string{"crypto", "failing"} {
		i := 0
		now := func() time.Time { d := steps[i]; i++; return base.Add(d) }
		gen := NewIDGenerator(now, nil)
		if src == "failing" {
			gen = NewIDGenerator(now, errReader{})
		}
		var ids []string
		for range steps {
			ids = append(ids, gen.New(PrefixRun))
		}
		if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
			t.Fatalf("%s: ids not strictly increasing: %v", src, ids)
		}
		// After the clock recovers the id carries the new time: an id made
		// later by a fresh generator at base+100ms does not sort far ahead.
		later := NewIDGenerator(func() time.Time { return base.Add(101 * time.Millisecond) }, nil).New(PrefixRun)
		if ids[len(ids)-1] >= later {
			t.Fatalf("%s: id %s after the clock recovered sorts after a later one %s", src, ids[len(ids)-1], later)
		}
	}
}

func TestIDsSortByTime(t *testing.T) {
	at := func(ms int64) string {
		return NewIDGenerator(func() time.Time { return time.UnixMilli(ms) }, nil).New(PrefixThread)
	}
	prev := at(0)
	for _, ms := range []int64{1, 2, 1 << 20, 1_750_000_000_000, 1_750_000_000_001, 1<<48 - 1} {
		id := at(ms)
		if id <= prev {
			t.Fatalf("id at %d ms (%s) sorts before %s", ms, id, prev)
		}
		prev = id
	}
}

func TestValidID(t *testing.T) {
	gen := NewIDGenerator(nil, nil)
	for _, p := range []string{PrefixAssistant, PrefixThread, PrefixMessage, PrefixRun, PrefixStep, PrefixFile, PrefixVectorStore, PrefixFileBatch, PrefixToolCall} {
		if id := gen.New(p); !ValidID(p, id) || !strings.HasPrefix(id, p) {
			t.Fatalf("generated %q not valid for %q", id, p)
		}
	}
	for _, c := range []struct {
		prefix, id string
		ok         bool
	}{
		{"msg_", "msg_abc", true},
		{"msg_", "msg_ABC-def_09", true},
		{"msg_", "msg_", false},
		{"msg_", "msg", false},
		{"msg_", "run_abc", false},
		{"msg_", "msg_a b", false},
		{"msg_", "msg_a/b", false},
		{"msg_", "msg_\x00", false},
		{"msg_", "msg_é", false},
		{"msg_", "msg_" + strings.Repeat("a", 64), true},
		{"msg_", "msg_" + strings.Repeat("a", 65), false},
		{"file-", "file-abc", true},
		{"file-", "file_abc", false},
	} {
		if got := ValidID(c.prefix, c.id); got != c.ok {
			t.Errorf("ValidID(%q, %q) = %v", c.prefix, c.id, got)
		}
	}
}

func FuzzValidID(f *testing.F) {
	f.Add("msg_", "msg_01abc")
	f.Add("", "")
	f.Add("x", "x\xff")
	f.Fuzz(func(t *testing.T, prefix, id string) {
		if ValidID(prefix, id) && (!strings.HasPrefix(id, prefix) || len(id) == len(prefix) || len(id) > len(prefix)+64) {
			t.Fatalf("ValidID(%q, %q) accepted a bad id", prefix, id)
		}
	})
}
