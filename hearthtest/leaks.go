package hearthtest

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"
)

// leakGrace is how long checkLeaks lets goroutines that are already ending
// finish: Close waits for the engine's own, but a model client's or a
// stream's may still be unwinding. It is not a bound the test asserts.
var leakGrace = 5 * time.Second

// hearthGoroutines returns, by goroutine id, the stacks of the goroutines
// that Hearth's packages started.
func hearthGoroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		s := string(g)
		header, _, _ := strings.Cut(s, "\n")
		id, _, ok := strings.Cut(strings.TrimPrefix(header, "goroutine "), " ")
		if !ok {
			continue
		}
		_, creator, _ := strings.Cut(s, "\ncreated by ")
		if strings.HasPrefix(creator, "github.com/hearth-go/hearth/") {
			out[id] = s
		}
	}
	return out
}

// checkLeaks fails t if goroutines Hearth started since before are still
// there, after letting ending ones finish.
func checkLeaks(t testing.TB, before map[string]string) {
	t.Helper()
	var left []string
	for wait, deadline := time.Millisecond, time.Now().Add(leakGrace); ; wait *= 2 {
		left = left[:0]
		for id, stack := range hearthGoroutines() {
			if _, old := before[id]; !old {
				left = append(left, stack)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(min(wait, 100*time.Millisecond)) // goroutine exits have no signal to wait on
	}
	if len(left) > 0 {
		t.Errorf("hearthtest: %d goroutines Hearth started outlived the engine:\n\n%s", len(left), strings.Join(left, "\n\n"))
	}
}
