package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// Indexes the store keeps in step with the records, in the same
// transaction: the active run, live runs and responses, resume counts, the
// clean-close mark, code output files, containers' expiry; the thread cap.
var indexCases = []testCase{
	{"ActiveRunFollowsStatus", testActiveRun},
	{"LiveRunsFollowStatus", testLiveRuns},
	{"LiveResponsesFollowStatus", testLiveResponses},
	{"ResumeCountsGoAtRunEnd", testResumeCounts},
	{"CleanCloseMark", testCleanClose},
	{"CleanCloseMarkOutlastsClose", testCleanCloseReopen},
	{"OutputFiles", testOutputFiles},
	{"ContainerExpiry", testContainerExpiry},
	{"MaxMessagesPerThread", testMaxMessages},
}

func activeRun(s *suite, threadID string) string {
	s.t.Helper()
	return read(s, func(tx store.Tx) (string, error) { return tx.ActiveRun(threadID) })
}

func liveRuns(s *suite) [][2]string {
	s.t.Helper()
	return read(s, func(tx store.Tx) ([][2]string, error) {
		var out [][2]string
		err := tx.LiveRuns(func(th, run string) error { out = append(out, [2]string{th, run}); return nil })
		return out, err
	})
}

func testActiveRun(s *suite) {
	t := s.t
	th, th2 := s.thread(), s.thread()
	s.update(func(tx store.Tx) error { return errors.Join(tx.PutThread(th), tx.PutThread(th2)) })
	if got := activeRun(s, th.ID); got != "" {
		t.Fatalf("a new thread's active run: %q", got)
	}
	r := s.run(th.ID, apitype.RunQueued)
	for _, st := range []apitype.RunStatus{apitype.RunQueued, apitype.RunInProgress, apitype.RunRequiresAction, apitype.RunCancelling} {
		r.Status = st
		s.update(func(tx store.Tx) error { return tx.PutRun(r) })
		if got := activeRun(s, th.ID); got != r.ID {
			t.Errorf("%s: active run %q, want %s", st, got, r.ID)
		}
	}
	if got := activeRun(s, th2.ID); got != "" {
		t.Errorf("another thread's active run: %q", got)
	}
	// A run of the thread that ends while another is active leaves it.
	ended := s.run(th.ID, apitype.RunQueued)
	ended.Status = apitype.RunFailed
	s.update(func(tx store.Tx) error { return tx.PutRun(ended) })
	if got := activeRun(s, th.ID); got != r.ID {
		t.Errorf("another run's end cleared the active run: %q, want %s", got, r.ID)
	}
	r2 := s.run(th2.ID, apitype.RunQueued)
	s.update(func(tx store.Tx) error { return tx.PutRun(r2) })
	for _, st := range []apitype.RunStatus{apitype.RunCancelled, apitype.RunFailed, apitype.RunCompleted, apitype.RunIncomplete, apitype.RunExpired} {
		r.Status = apitype.RunInProgress
		s.update(func(tx store.Tx) error { return tx.PutRun(r) })
		r.Status = st
		s.update(func(tx store.Tx) error { return tx.PutRun(r) })
		if got := activeRun(s, th.ID); got != "" {
			t.Errorf("after %s: active run %q", st, got)
		}
		if got := activeRun(s, th2.ID); got != r2.ID {
			t.Errorf("the other thread's active run after %s: %q", st, got)
		}
	}
	// A next run takes the thread once the last ended.
	r3 := s.run(th.ID, apitype.RunQueued)
	s.update(func(tx store.Tx) error { return tx.PutRun(r3) })
	if got := activeRun(s, th.ID); got != r3.ID {
		t.Errorf("the next run: active %q, want %s", got, r3.ID)
	}
}

func testLiveRuns(s *suite) {
	t := s.t
	th, th2 := s.thread(), s.thread()
	a, b, c := s.run(th.ID, apitype.RunQueued), s.run(th2.ID, apitype.RunInProgress), s.run(th.ID, apitype.RunCompleted)
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.PutThread(th), tx.PutThread(th2), tx.PutRun(a), tx.PutRun(b), tx.PutRun(c))
	})
	want := [][2]string{{th.ID, a.ID}, {th2.ID, b.ID}} // oldest first
	if got := liveRuns(s); !slices.Equal(got, want) {
		t.Fatalf("LiveRuns %v; want %v", got, want)
	}
	for _, st := range []apitype.RunStatus{apitype.RunInProgress, apitype.RunRequiresAction, apitype.RunCancelling} {
		a.Status = st
		s.update(func(tx store.Tx) error { return tx.PutRun(a) })
		if got := liveRuns(s); !slices.Equal(got, want) {
			t.Errorf("%s: LiveRuns %v; want %v", st, got, want)
		}
	}
	a.Status = apitype.RunCancelled
	s.update(func(tx store.Tx) error { return tx.PutRun(a) })
	if got := liveRuns(s); !slices.Equal(got, want[1:]) {
		t.Errorf("after a's end: LiveRuns %v; want %v", got, want[1:])
	}
	// A run written terminal at once was never live; a terminal run made
	// live again (a resumption) is.
	c.Status = apitype.RunQueued
	s.update(func(tx store.Tx) error { return tx.PutRun(c) })
	if got := liveRuns(s); !slices.Equal(got, [][2]string{{th2.ID, b.ID}, {th.ID, c.ID}}) {
		t.Errorf("LiveRuns %v; want b then c", got)
	}
}

func testLiveResponses(s *suite) {
	t := s.t
	live := func() []string {
		t.Helper()
		ids := read(s, func(tx store.Tx) ([]string, error) {
			var ids []string
			err := tx.LiveResponses(func(id string) error { ids = append(ids, id); return nil })
			return ids, err
		})
		slices.Sort(ids)
		return ids
	}
	q, p := s.response(apitype.ResponseQueued, ""), s.response(apitype.ResponseInProgress, "")
	done := s.response(apitype.ResponseCompleted, "")
	done.Output = []apitype.Item{}
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.CreateResponse(q, nil, nil), tx.CreateResponse(p, nil, nil), tx.CreateResponseOutput(done, nil, nil, []int{}))
	})
	if got := live(); !slices.Equal(got, []string{q.ID, p.ID}) {
		t.Fatalf("LiveResponses %v; want %v", got, []string{q.ID, p.ID})
	}
	q.Status = apitype.ResponseInProgress
	s.update(func(tx store.Tx) error { return tx.PutResponse(q, nil) })
	if got := live(); !slices.Equal(got, []string{q.ID, p.ID}) {
		t.Errorf("in progress: LiveResponses %v", got)
	}
	for i, st := range []apitype.ResponseStatus{apitype.ResponseCompleted, apitype.ResponseFailed} {
		r := []*apitype.Response{q, p}[i]
		r.Status = st
		s.update(func(tx store.Tx) error { return tx.PutResponse(r, nil) })
	}
	if got := live(); len(got) != 0 {
		t.Errorf("after both ended: LiveResponses %v", got)
	}
	for _, st := range []apitype.ResponseStatus{apitype.ResponseIncomplete, apitype.ResponseCancelled} {
		r := s.response(apitype.ResponseQueued, "")
		s.update(func(tx store.Tx) error { return tx.CreateResponse(r, nil, nil) })
		r.Status = st
		s.update(func(tx store.Tx) error { return tx.PutResponse(r, nil) })
		if got := live(); len(got) != 0 {
			t.Errorf("after %s: LiveResponses %v", st, got)
		}
	}
	// Deleted, a live response is no longer live.
	r := s.response(apitype.ResponseQueued, "")
	s.update(func(tx store.Tx) error { return tx.CreateResponse(r, nil, nil) })
	s.update(func(tx store.Tx) error { return tx.DeleteResponse(r.ID) })
	if got := live(); len(got) != 0 {
		t.Errorf("after a live response's delete: LiveResponses %v", got)
	}
}

func testResumeCounts(s *suite) {
	t := s.t
	th, th2 := s.thread(), s.thread()
	r, other := s.run(th.ID, apitype.RunInProgress), s.run(th2.ID, apitype.RunQueued)
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.PutThread(th), tx.PutThread(th2), tx.PutRun(r), tx.PutRun(other))
	})
	count := func(id string) int {
		t.Helper()
		var n int
		s.update(func(tx store.Tx) (err error) { n, err = tx.CountResume(id); return err })
		return n
	}
	for want := 1; want <= 3; want++ {
		if n := count(r.ID); n != want {
			t.Errorf("resume %d: count %d", want, n)
		}
	}
	if n := count(other.ID); n != 1 {
		t.Errorf("another run's count: %d, want 1", n)
	}
	r.Status = apitype.RunFailed
	s.update(func(tx store.Tx) error { return tx.PutRun(r) })
	if n := count(r.ID); n != 1 {
		t.Errorf("after the run ended: count %d, want 1 (the count goes when the run ends)", n)
	}
	if n := count(other.ID); n != 2 {
		t.Errorf("another run's count after r ended: %d, want 2", n)
	}
}

func testCleanClose(s *suite) {
	t := s.t
	take := func() bool {
		t.Helper()
		var ok bool
		s.update(func(tx store.Tx) (err error) { ok, err = tx.TakeCleanClose(); return err })
		return ok
	}
	if take() {
		t.Fatal("a new store reports a clean close")
	}
	s.update(func(tx store.Tx) error { return tx.MarkCleanClose() })
	if !take() {
		t.Fatal("the mark was not reported")
	}
	if take() {
		t.Fatal("TakeCleanClose did not clear the mark")
	}
}

func testCleanCloseReopen(s *suite) {
	t := s.t
	if s.cfg.reopen == nil {
		t.Skip("no WithReopen")
	}
	s.update(func(tx store.Tx) error { return tx.MarkCleanClose() })
	if err := s.d.Close(); err != nil {
		t.Fatal(err)
	}
	s.d = s.cfg.reopen(t, s.d)
	var ok bool
	s.update(func(tx store.Tx) (err error) { ok, err = tx.TakeCleanClose(); return err })
	if !ok {
		t.Fatal("the mark did not outlast Close")
	}
}

func testOutputFiles(s *suite) {
	t := s.t
	th, other := s.thread(), s.thread()
	f1, f2, f3 := s.file("assistants_output", 10), s.file("assistants_output", 5), s.file("assistants_output", 7)
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.PutThread(th), tx.PutThread(other), tx.PutOutputFile(th.ID, f1), tx.PutOutputFile(th.ID, f2), tx.PutOutputFile(other.ID, f3))
	})
	counts := func(threadID string) (int, int64) {
		t.Helper()
		var n int
		var size int64
		s.view(func(tx store.Tx) (err error) { n, size, err = tx.OutputFiles(threadID); return err })
		return n, size
	}
	if n, size := counts(th.ID); n != 2 || size != 15 {
		t.Errorf("OutputFiles = %d, %d; want 2, 15", n, size)
	}
	if n, size := counts(other.ID); n != 1 || size != 7 {
		t.Errorf("the other thread's OutputFiles = %d, %d; want 1, 7", n, size)
	}
	// An output file is a file record too.
	sameJSON(t, "an output file's record", read(s, func(tx store.Tx) (*apitype.File, error) { return tx.GetFile(f1.ID) }), f1)
	s.update(func(tx store.Tx) error { return tx.DeleteFile(f1.ID) })
	if n, size := counts(th.ID); n != 1 || size != 5 {
		t.Errorf("after deleting one: OutputFiles = %d, %d; want 1, 5", n, size)
	}
	f4 := s.file("assistants_output", 3)
	s.update(func(tx store.Tx) error { return tx.PutOutputFile(th.ID, f4) })
	if n, size := counts(th.ID); n != 2 || size != 8 {
		t.Errorf("after another: OutputFiles = %d, %d; want 2, 8", n, size)
	}
	s.view(func(tx store.Tx) error {
		_, _, err := tx.OutputFiles(s.id(store.PrefixThread))
		wantNotFound(t, "OutputFiles of an unknown thread", err)
		return nil
	})
	lost := s.file("assistants_output", 1)
	wantNotFound(t, "PutOutputFile in an unknown thread", s.d.Update(t.Context(), func(tx store.Tx) error {
		return tx.PutOutputFile(s.id(store.PrefixThread), lost)
	}))
	wantNotFound(t, "the refused output file's record", readErr(s, func(tx store.Tx) error { _, err := tx.GetFile(lost.ID); return err }))
}

func testContainerExpiry(s *suite) {
	t := s.t
	const t0 = 1_000_000
	a, b := s.container("a", t0, 1), s.container("b", t0, 10) // due at t0+60, t0+600
	gone := s.container("c", t0, 1)
	gone.Status = apitype.ContainerExpired
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.PutContainer(b), tx.PutContainer(a), tx.PutContainer(gone))
	})
	due := func(now int64, stopAfter int) []string {
		t.Helper()
		var ids []string
		s.view(func(tx store.Tx) error {
			ids = nil
			return tx.DueContainers(now, func(id string) bool {
				ids = append(ids, id)
				return len(ids) != stopAfter
			})
		})
		return ids
	}
	for _, c := range []struct {
		now       int64
		stopAfter int
		want      []string
	}{
		{t0 + 59, 0, nil},
		{t0 + 60, 0, []string{a.ID}},
		{t0 + 599, 0, []string{a.ID}},
		{t0 + 600, 0, []string{a.ID, b.ID}},
		{t0 + 10_000, 0, []string{a.ID, b.ID}}, // soonest first, whatever the order of ids
		{t0 + 10_000, 1, []string{a.ID}},
	} {
		if got := due(c.now, c.stopAfter); !slices.Equal(got, c.want) {
			t.Errorf("DueContainers(t0%+d) stopping after %d: %v; want %v", c.now-t0, c.stopAfter, got, c.want)
		}
	}
	// Used again, a container moves to its new expiry.
	a.LastActiveAt = t0 + 1000
	s.update(func(tx store.Tx) error { return tx.PutContainer(a) })
	if got := due(t0+1000, 0); !slices.Equal(got, []string{b.ID}) {
		t.Errorf("after a was used: %v; want [b]", got)
	}
	if got := due(t0+1060, 0); !slices.Equal(got, []string{b.ID, a.ID}) {
		t.Errorf("after a was used, later: %v; want [b a]", got)
	}
	// Expired or deleted, a container is never due.
	b.Status = apitype.ContainerExpired
	s.update(func(tx store.Tx) error { return tx.PutContainer(b) })
	s.update(func(tx store.Tx) error { _, err := tx.DeleteContainer(a.ID); return err })
	if got := due(t0+100_000, 0); len(got) != 0 {
		t.Errorf("after b expired and a was deleted: %v", got)
	}
}

// testMaxMessagesPerThread: PutMessage refuses a new message past
// store.MaxMessagesPerThread (replacing one still works, and a delete makes
// room), as a 400 naming thread_id.
func testMaxMessages(s *suite) {
	t := s.t
	if testing.Short() {
		t.Skip("fills a thread with store.MaxMessagesPerThread messages")
	}
	th := s.thread()
	s.update(func(tx store.Tx) error { return tx.PutThread(th) })
	const per = 10_000
	var first *apitype.Message
	for done := 0; done < store.MaxMessagesPerThread; done += per {
		n := min(per, store.MaxMessagesPerThread-done)
		msgs := make([]*apitype.Message, n)
		for i := range msgs {
			msgs[i] = &apitype.Message{ID: s.id(store.PrefixMessage), Object: apitype.ObjectMessage, ThreadID: th.ID,
				Role: apitype.RoleUser, Content: []apitype.MessageContent{}, Status: apitype.MessageCompleted}
		}
		if first == nil {
			first = msgs[0]
		}
		s.update(func(tx store.Tx) error {
			for _, m := range msgs {
				if err := tx.PutMessage(m, 1); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if n := read(s, func(tx store.Tx) (int, error) { return tx.CountMessages(th.ID) }); n != store.MaxMessagesPerThread {
		t.Fatalf("CountMessages %d", n)
	}
	extra := s.message(th.ID, "one too many")
	wantInvalid(t, "a message past the cap", s.d.Update(t.Context(), func(tx store.Tx) error { return tx.PutMessage(extra, 1) }), "thread_id")
	wantNotFound(t, "the refused message", readErr(s, func(tx store.Tx) error { _, err := tx.GetMessage(th.ID, extra.ID); return err }))
	first.Status = apitype.MessageIncomplete
	s.update(func(tx store.Tx) error { return tx.PutMessage(first, -1) })
	s.update(func(tx store.Tx) error { return tx.DeleteMessage(th.ID, first.ID) })
	s.update(func(tx store.Tx) error { return tx.PutMessage(extra, 1) })
	if n := read(s, func(tx store.Tx) (int, error) { return tx.CountMessages(th.ID) }); n != store.MaxMessagesPerThread {
		t.Errorf("CountMessages after a delete and an add: %d", n)
	}
}
