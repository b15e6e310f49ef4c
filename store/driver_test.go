package store

import (
	"errors"
	"testing"
)

// NewPending is how a driver other than bbolt's answers Submit: then runs
// before Wait returns, which gives the outcome to every Wait.
func TestNewPending(t *testing.T) {
	boom := errors.New("boom")
	var order []string
	p, decide := NewPending(func(err error) {
		if !errors.Is(err, boom) {
			t.Errorf("then got %v", err)
		}
		order = append(order, "then")
	})
	done := make(chan error)
	go func() { done <- p.Wait() }()
	decide(boom)
	if err := <-done; !errors.Is(err, boom) {
		t.Fatalf("Wait: %v", err)
	}
	if err := p.Wait(); !errors.Is(err, boom) {
		t.Fatalf("second Wait: %v", err)
	}
	if len(order) != 1 {
		t.Fatalf("then ran %d times", len(order))
	}
	// A nil then, and a panicking one, still decide.
	p, decide = NewPending(nil)
	decide(nil)
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	p, decide = NewPending(func(error) { panic("bad callback") })
	decide(nil)
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
}
