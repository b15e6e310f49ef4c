package extract

import (
	"math/rand"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestPDFMutationsTerminate mutates a valid PDF and checks every variant
// ends (text or a typed error) within seconds: a regression test for the
// endless loops of rsc.io/pdf on unterminated streams. Set
// HEARTH_PDF_MUTATIONS=200000 for a longer hunt.
func TestPDFMutationsTerminate(t *testing.T) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("HEARTH_PDF_MUTATIONS")); err == nil {
		n = v
	}
	seed := makePDF([][]string{{"fuzz seed", "more"}})
	r := rand.New(rand.NewSource(1))
	for i := 0; i < n; i++ {
		d := append([]byte(nil), seed...)
		for j := 0; j < 1+r.Intn(4); j++ {
			switch r.Intn(3) {
			case 0:
				d[r.Intn(len(d))] = byte(r.Intn(256))
			case 1:
				k := r.Intn(len(d))
				d = append(d[:k], d[min(len(d), k+r.Intn(20)):]...)
			case 2:
				k := r.Intn(len(d))
				d = append(d[:k], append([]byte("0 R 1 0 obj << /Length 9999 >> stream"), d[k:]...)...)
			}
		}
		done := make(chan struct{})
		go func() { defer close(done); Bytes("x.pdf", d) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			t.Fatalf("mutation %d did not terminate: %q", i, d)
		}
	}
}
