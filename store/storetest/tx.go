package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// Transactions: what Driver promises of View, Update, Submit and Close.
var txCases = []testCase{
	{"ViewIsReadOnly", testViewReadOnly},
	{"UpdateIsAtomic", testUpdateAtomic},
	{"UpdateIsSerialisable", testSerialisable},
	{"OneActiveRunUnderRace", testActiveRunRace},
	{"SubmitCallbacksInCommitOrder", testSubmitOrder},
	{"EndedContext", testEndedContext},
	{"CloseCommitsQueuedWrites", testCloseCommits},
	{"AfterClose", testAfterClose},
	{"ViewsSeeSnapshots", testSnapshots},
}

// testViewReadOnly: every write in a View fails, and none is kept.
func testViewReadOnly(s *suite) {
	t := s.t
	th, a := s.thread(), s.assistant()
	c := s.conversation()
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.PutThread(th), tx.PutAssistant(a), tx.PutConversation(c))
	})
	a2, th2, f := s.assistant(), s.thread(), s.file("assistants", 1)
	m, r := s.message(th.ID, "read-only"), s.run(th.ID, apitype.RunQueued)
	resp := s.response(apitype.ResponseQueued, "")
	ctr := s.container("ro", s.now, 20)
	items, tokens := s.items("ro", 1, 1)
	writes := []struct {
		name string
		fn   func(tx store.Tx) error
	}{
		{"PutAssistant", func(tx store.Tx) error { return tx.PutAssistant(a2) }},
		{"DeleteAssistant", func(tx store.Tx) error { return tx.DeleteAssistant(a.ID) }},
		{"PutThread", func(tx store.Tx) error { return tx.PutThread(th2) }},
		{"DeleteThread", func(tx store.Tx) error { return tx.DeleteThread(th.ID) }},
		{"PutMessage", func(tx store.Tx) error { return tx.PutMessage(m, 1) }},
		{"PutRun", func(tx store.Tx) error { return tx.PutRun(r) }},
		{"PutFile", func(tx store.Tx) error { return tx.PutFile(f) }},
		{"CreateResponse", func(tx store.Tx) error { return tx.CreateResponse(resp, nil, nil) }},
		{"AppendConversationItems", func(tx store.Tx) error { return tx.AppendConversationItems(c.ID, items, tokens) }},
		{"PutContainer", func(tx store.Tx) error { return tx.PutContainer(ctr) }},
		{"MarkCleanClose", func(tx store.Tx) error { return tx.MarkCleanClose() }},
		{"CountResume", func(tx store.Tx) error { _, err := tx.CountResume(r.ID); return err }},
	}
	for _, w := range writes {
		err := s.d.View(t.Context(), func(tx store.Tx) error {
			if err := w.fn(tx); err == nil {
				t.Errorf("%s in a View succeeded", w.name)
			}
			return nil
		})
		if err != nil {
			t.Errorf("View after a refused %s: %v", w.name, err)
		}
	}
	s.view(func(tx store.Tx) error {
		if ok, _ := tx.HasAssistant(a2.ID); ok {
			t.Error("PutAssistant in a View was kept")
		}
		if ok, _ := tx.HasAssistant(a.ID); !ok {
			t.Error("DeleteAssistant in a View was kept")
		}
		if ok, _ := tx.HasThread(th.ID); !ok {
			t.Error("DeleteThread in a View was kept")
		}
		if ok, _ := tx.HasThread(th2.ID); ok {
			t.Error("PutThread in a View was kept")
		}
		if _, err := tx.GetMessage(th.ID, m.ID); err == nil {
			t.Error("PutMessage in a View was kept")
		}
		if id, _ := tx.ActiveRun(th.ID); id != "" {
			t.Error("PutRun in a View was kept")
		}
		if ok, _ := tx.HasResponse(resp.ID); ok {
			t.Error("CreateResponse in a View was kept")
		}
		if n, _ := tx.CountConversationItems(c.ID); n != 0 {
			t.Error("AppendConversationItems in a View was kept")
		}
		return nil
	})
	var marked bool
	s.update(func(tx store.Tx) (err error) { marked, err = tx.TakeCleanClose(); return err })
	if marked {
		t.Error("MarkCleanClose in a View was kept")
	}
}

// testUpdateAtomic: when fn fails, Update returns its error as it is and
// nothing fn wrote is kept, whatever it wrote before failing.
func testUpdateAtomic(s *suite) {
	t := s.t
	th := s.thread()
	a := s.assistant()
	s.update(func(tx store.Tx) error { return errors.Join(tx.PutThread(th), tx.PutAssistant(a)) })
	a2, m, r := s.assistant(), s.message(th.ID, "lost"), s.run(th.ID, apitype.RunQueued)
	c := s.conversation()
	err := s.d.Update(t.Context(), func(tx store.Tx) error {
		changed := *a
		changed.Name = ptr("changed")
		if err := errors.Join(tx.PutAssistant(a2), tx.PutAssistant(&changed), tx.PutMessage(m, 1), tx.PutRun(r),
			tx.PutConversation(c), tx.MarkCleanClose()); err != nil {
			return err
		}
		if _, err := tx.CountResume(r.ID); err != nil {
			return err
		}
		if err := tx.DeleteThread(th.ID); err != nil {
			return err
		}
		return errStop
	})
	if err != errStop {
		t.Fatalf("Update returned %v; want fn's error as it is", err)
	}
	// A store refusal after writes: the writes go too.
	err = s.d.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.PutAssistant(a2); err != nil {
			return err
		}
		return tx.PutMessage(s.message(s.id(store.PrefixThread), "nowhere"), 1)
	})
	wantNotFound(t, "Update failing on a store refusal", err)
	s.view(func(tx store.Tx) error {
		if ok, _ := tx.HasAssistant(a2.ID); ok {
			t.Error("a failed Update's assistant was kept")
		}
		sameJSON(t, "the assistant a failed Update replaced", must(tx.GetAssistant(a.ID)), a)
		if ok, _ := tx.HasThread(th.ID); !ok {
			t.Error("a failed Update's DeleteThread was kept")
		}
		if n, _ := tx.CountMessages(th.ID); n != 0 {
			t.Error("a failed Update's message was kept")
		}
		if id, _ := tx.ActiveRun(th.ID); id != "" {
			t.Error("a failed Update's run was kept")
		}
		if _, err := tx.GetConversation(c.ID); err == nil {
			t.Error("a failed Update's conversation was kept")
		}
		return nil
	})
	var n int
	var marked bool
	s.update(func(tx store.Tx) (err error) {
		if marked, err = tx.TakeCleanClose(); err != nil {
			return err
		}
		n, err = tx.CountResume(r.ID)
		return err
	})
	if marked || n != 1 {
		t.Errorf("a failed Update's mark (%v) or resume count (now %d, want 1) was kept", marked, n)
	}
}

// counter reads the n in an assistant's metadata.
func counter(tx store.Tx, id string) (int, error) {
	a, err := tx.GetAssistant(id)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(a.Metadata["n"])
}

func setCounter(tx store.Tx, a *apitype.Assistant, n int) error {
	b := *a
	b.Metadata = apitype.Metadata{"n": strconv.Itoa(n)}
	return tx.PutAssistant(&b)
}

// testSerialisable: concurrent read-then-write Updates lose no update, and
// writes that fail among them (which a driver may answer by running the
// others' fn again) leave nothing: fn may run more than once, and what it
// wrote on every run but the committed one is gone.
func testSerialisable(s *suite) {
	t := s.t
	a := s.assistant()
	s.update(func(tx store.Tx) error { return setCounter(tx, a, 0) })
	const writers, each = 8, 15
	var calls, failed atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				fail := (w*each+i)%4 == 3
				err := s.d.Update(context.Background(), func(tx store.Tx) error {
					calls.Add(1)
					n, err := counter(tx, a.ID)
					if err != nil {
						return err
					}
					if err := setCounter(tx, a, n+1); err != nil {
						return err
					}
					if fail {
						return errStop
					}
					return nil
				})
				switch {
				case fail && err == errStop:
					failed.Add(1)
				case fail:
					errs <- fmt.Errorf("a failing write returned %v", err)
				case err != nil:
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	want := writers*each - int(failed.Load())
	if got := read(s, func(tx store.Tx) (int, error) { return counter(tx, a.ID) }); got != want {
		t.Errorf("counter %d after %d committed increments (%d fn calls): updates lost or failed ones kept", got, want, calls.Load())
	}
}

// testActiveRunRace: the engine's compare-and-set — read the thread's
// active run, then store one — lets exactly one of many racing writers in.
func testActiveRunRace(s *suite) {
	t := s.t
	th := s.thread()
	s.update(func(tx store.Tx) error { return tx.PutThread(th) })
	errBusy := errors.New("busy")
	const racers = 8
	var won atomic.Int64
	var wg sync.WaitGroup
	for range racers {
		r := s.run(th.ID, apitype.RunQueued)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.d.Update(context.Background(), func(tx store.Tx) error {
				if id, err := tx.ActiveRun(th.ID); err != nil {
					return err
				} else if id != "" {
					return errBusy
				}
				return tx.PutRun(r)
			})
			switch {
			case err == nil:
				won.Add(1)
			case err != errBusy:
				t.Errorf("a racer: %v", err)
			}
		}()
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Errorf("%d racers stored an active run; want 1", won.Load())
	}
	if n := len(liveRuns(s)); n != 1 {
		t.Errorf("%d live runs; want 1", n)
	}
}

// testSubmitOrder: Submits commit in the order queued; their callbacks run
// in that order, each before its Wait returns, with the write's outcome.
func testSubmitOrder(s *suite) {
	t := s.t
	a := s.assistant()
	s.update(func(tx store.Tx) error { return tx.PutAssistant(a) })
	const n, failing = 40, 17
	var mu sync.Mutex
	var order []int
	outcomes := make([]error, n)
	decided := make([]atomic.Bool, n)
	pending := make([]store.Pending, n)
	for i := range n {
		pending[i] = s.d.Submit(context.Background(), func(tx store.Tx) error {
			got, err := tx.GetAssistant(a.ID)
			if err != nil {
				return err
			}
			b := *got
			b.Metadata = apitype.Metadata{"seq": got.Metadata["seq"] + strconv.Itoa(i) + ","}
			if err := tx.PutAssistant(&b); err != nil {
				return err
			}
			if i == failing {
				return errStop
			}
			return nil
		}, func(err error) {
			mu.Lock()
			order = append(order, i)
			outcomes[i] = err
			mu.Unlock()
			decided[i].Store(true)
		})
	}
	for i, p := range pending {
		err := p.Wait()
		if !decided[i].Load() {
			t.Errorf("write %d: Wait returned before its callback ran", i)
		}
		want := error(nil)
		if i == failing {
			want = errStop
		}
		if err != want {
			t.Errorf("write %d: Wait %v; want %v", i, err, want)
		}
		if err2 := p.Wait(); err2 != err {
			t.Errorf("write %d: a second Wait %v; the first %v", i, err2, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range order {
		if order[i] != i {
			t.Fatalf("callbacks ran in order %v; want the order queued", order)
		}
	}
	for i, err := range outcomes {
		if (i == failing) != (err == errStop) || (i != failing && err != nil) {
			t.Errorf("write %d: its callback was told %v", i, err)
		}
	}
	var want strings.Builder
	for i := range n {
		if i != failing {
			fmt.Fprintf(&want, "%d,", i)
		}
	}
	got := read(s, func(tx store.Tx) (*apitype.Assistant, error) { return tx.GetAssistant(a.ID) })
	if got.Metadata["seq"] != want.String() {
		t.Errorf("writes committed as %q; want %q", got.Metadata["seq"], want.String())
	}
}

// testEndedContext: a ctx ended before View, Update or Submit is their
// error, and nothing is written.
func testEndedContext(s *suite) {
	t := s.t
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a, b := s.assistant(), s.assistant()
	if err := s.d.Update(ctx, func(tx store.Tx) error { return tx.PutAssistant(a) }); !errors.Is(err, context.Canceled) {
		t.Errorf("Update with an ended ctx: %v; want context.Canceled", err)
	}
	ran := false
	if err := s.d.View(ctx, func(store.Tx) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("View with an ended ctx: %v (fn ran: %v); want context.Canceled", err, ran)
	}
	var told error
	p := s.d.Submit(ctx, func(tx store.Tx) error { return tx.PutAssistant(b) }, func(err error) { told = err })
	if err := p.Wait(); !errors.Is(err, context.Canceled) || !errors.Is(told, context.Canceled) {
		t.Errorf("Submit with an ended ctx: Wait %v, callback %v; want context.Canceled", err, told)
	}
	s.view(func(tx store.Tx) error {
		for _, id := range []string{a.ID, b.ID} {
			if ok, err := tx.HasAssistant(id); ok || err != nil {
				t.Errorf("a write with an ended ctx was kept (%v)", err)
			}
		}
		return nil
	})
}

// testCloseCommits: Close commits what was queued before it.
func testCloseCommits(s *suite) {
	t := s.t
	const n = 30
	var as []*apitype.Assistant
	var pending []store.Pending
	told := make([]atomic.Pointer[error], n)
	for i := range n {
		a := s.assistant()
		as = append(as, a)
		pending = append(pending, s.d.Submit(context.Background(), func(tx store.Tx) error { return tx.PutAssistant(a) },
			func(err error) { told[i].Store(&err) }))
	}
	if err := s.d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i, p := range pending {
		if err := p.Wait(); err != nil {
			t.Errorf("write %d queued before Close: %v", i, err)
		}
		if e := told[i].Load(); e == nil || *e != nil {
			t.Errorf("write %d queued before Close: callback told %v", i, e)
		}
	}
	if s.cfg.reopen == nil {
		return
	}
	s.d = s.cfg.reopen(t, s.d)
	s.view(func(tx store.Tx) error {
		for _, a := range as {
			if ok, err := tx.HasAssistant(a.ID); !ok || err != nil {
				t.Errorf("a write queued before Close is missing after reopening (%v)", err)
			}
		}
		return nil
	})
}

// testAfterClose: after Close, View, Update and Submit fail with
// store.ErrClosed (Submit's callback told so), and Close again is nil.
func testAfterClose(s *suite) {
	t := s.t
	a := s.assistant()
	s.update(func(tx store.Tx) error { return tx.PutAssistant(a) })
	if err := s.d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.d.View(context.Background(), func(store.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("View after Close: %v", err)
	}
	if err := s.d.Update(context.Background(), func(tx store.Tx) error { return tx.PutAssistant(s.assistant()) }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Update after Close: %v", err)
	}
	var told error
	p := s.d.Submit(context.Background(), func(tx store.Tx) error { return tx.PutAssistant(s.assistant()) }, func(err error) { told = err })
	if err := p.Wait(); !errors.Is(err, store.ErrClosed) || !errors.Is(told, store.ErrClosed) {
		t.Errorf("Submit after Close: Wait %v, callback %v", err, told)
	}
	if err := s.d.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

// testSnapshots: Views running while writes commit each see one state:
// every write sets two assistants' counters and adds a message, and no View
// sees them disagree, whatever it reads in between.
func testSnapshots(s *suite) {
	t := s.t
	a, b, th := s.assistant(), s.assistant(), s.thread()
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.PutThread(th), setCounter(tx, a, 0), setCounter(tx, b, 0))
	})
	const writes, readers = 150, 3
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := 1; i <= writes; i++ {
			m := s.message(th.ID, strconv.Itoa(i))
			if err := s.d.Update(context.Background(), func(tx store.Tx) error {
				return errors.Join(setCounter(tx, a, i), tx.PutMessage(m, 1), setCounter(tx, b, i))
			}); err != nil {
				t.Errorf("write %d: %v", i, err)
				return
			}
		}
	}()
	var views atomic.Int64
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for last := false; !last; {
				select {
				case <-done:
					last = true // one more View, after every write
				default:
				}
				err := s.d.View(context.Background(), func(tx store.Tx) error {
					na, err := counter(tx, a.ID)
					if err != nil {
						return err
					}
					walked := 0
					if err := tx.EachMessage(th.ID, false, func(*apitype.Message, int) (bool, error) { walked++; return true, nil }); err != nil {
						return err
					}
					count, err := tx.CountMessages(th.ID)
					if err != nil {
						return err
					}
					nb, err := counter(tx, b.ID)
					if err != nil {
						return err
					}
					if na != nb || walked != na || count != na {
						return fmt.Errorf("a View saw a=%d, %d messages walked, CountMessages %d, b=%d", na, walked, count, nb)
					}
					if last && na != writes {
						return fmt.Errorf("a View after every write saw %d of %d", na, writes)
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				views.Add(1)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d views during %d writes", views.Load(), writes)
}
