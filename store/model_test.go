package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
)

// msgModel is the in-memory truth List is compared with: a thread's
// messages as (id, run id) in ascending id order.
type msgModel struct {
	ids  []string
	runs map[string]string // msg id → run id ("" for none)
}

func newMsgModel() *msgModel { return &msgModel{runs: map[string]string{}} }

func (m *msgModel) put(id, run string) {
	if _, ok := m.runs[id]; !ok {
		i, _ := slices.BinarySearch(m.ids, id)
		m.ids = slices.Insert(m.ids, i, id)
	}
	m.runs[id] = run
}

func (m *msgModel) del(id string) {
	if i, ok := slices.BinarySearch(m.ids, id); ok {
		m.ids = slices.Delete(m.ids, i, i+1)
		delete(m.runs, id)
	}
}

// expect is list.go's documented semantics written the obvious way: filter,
// order, bound by the cursors as positions, then cut a page.
func (m *msgModel) expect(p apitype.MessageListParams) (ids []string, hasMore bool) {
	limit := p.Limit
	if limit <= 0 {
		limit = apitype.DefaultListLimit
	}
	limit = min(limit, apitype.MaxListLimit)
	seq := m.seq(p)
	if len(seq) <= limit {
		return seq, false
	}
	if p.Before != "" && p.After == "" {
		return seq[len(seq)-limit:], true
	}
	return seq[:limit], true
}

// seq is every item the params select, in list order, before the page cut.
func (m *msgModel) seq(p apitype.MessageListParams) []string {
	asc := p.Order == apitype.OrderAsc
	// inOrder reports whether a comes strictly before b in list order.
	inOrder := func(a, b string) bool {
		if asc {
			return a < b
		}
		return a > b
	}
	var seq []string
	for _, id := range m.ids {
		if p.RunID != "" && m.runs[id] != p.RunID {
			continue
		}
		if p.After != "" && !inOrder(p.After, id) {
			continue
		}
		if p.Before != "" && !inOrder(id, p.Before) {
			continue
		}
		seq = append(seq, id)
	}
	if !asc {
		slices.Reverse(seq)
	}
	return seq
}

func pageIDs(p apitype.Page[apitype.Message]) []string {
	out := make([]string, 0, len(p.Data))
	for _, m := range p.Data {
		out = append(out, m.ID)
	}
	return out
}

// checkPage compares one List call with the model, including first/last
// ids, and the lending scan with the same params with both.
func checkPage(t testing.TB, s *Store, threadID string, model *msgModel, p apitype.MessageListParams) apitype.Page[apitype.Message] {
	t.Helper()
	var page apitype.Page[apitype.Message]
	var lent []*apitype.Message
	var info PageInfo
	err := s.View(context.Background(), func(tx Tx) error {
		var err error
		if page, err = tx.ListMessages(threadID, p); err != nil {
			return err
		}
		info, err = tx.(*boltTx).ScanMessages(threadID, p, func(m *apitype.Message) error {
			lent = append(lent, m.Clone())
			return nil
		})
		return err
	})
	if err != nil {
		t.Fatalf("ListMessages/ScanMessages(%+v): %v", p, err)
	}
	want, more := model.expect(p)
	got := pageIDs(page)
	if !slices.Equal(got, want) || page.HasMore != more {
		t.Fatalf("ListMessages(%+v):\n got  %v has_more=%v\n want %v has_more=%v", p, got, page.HasMore, want, more)
	}
	if page.Object != apitype.ObjectList || page.Data == nil {
		t.Fatalf("page object %q data nil=%v", page.Object, page.Data == nil)
	}
	if len(want) == 0 {
		if page.FirstID != nil || page.LastID != nil || info.FirstID != "" || info.LastID != "" {
			t.Fatalf("empty page has first/last ids %v %v, scan %q %q", page.FirstID, page.LastID, info.FirstID, info.LastID)
		}
	} else if page.FirstID == nil || *page.FirstID != want[0] || page.LastID == nil || *page.LastID != want[len(want)-1] ||
		info.FirstID != want[0] || info.LastID != want[len(want)-1] {
		t.Fatalf("first/last ids wrong for %+v: list %v %v, scan %q %q", p, page.FirstID, page.LastID, info.FirstID, info.LastID)
	}
	if info.HasMore != more || len(lent) != len(page.Data) {
		t.Fatalf("ScanMessages(%+v): %d messages has_more=%v, want %d %v", p, len(lent), info.HasMore, len(want), more)
	}
	for i, m := range page.Data {
		if m.ThreadID != threadID || (m.RunID == nil) != (model.runs[m.ID] == "") {
			t.Fatalf("message %s decoded wrong: %+v", m.ID, m)
		}
		// The scan lends exactly what List owns, item for item.
		if !reflect.DeepEqual(lent[i], &page.Data[i]) {
			t.Fatalf("ScanMessages(%+v) item %d:\n lent %+v\n list %+v", p, i, *lent[i], m)
		}
	}
	return page
}

// fakeClock steps forward, stands still or goes back at random so ids come
// from new milliseconds, the same millisecond and a clock gone backwards.
type fakeClock struct {
	t   time.Time
	rng *rand.Rand
}

func (c *fakeClock) now() time.Time {
	switch c.rng.IntN(4) {
	case 0:
		c.t = c.t.Add(time.Duration(c.rng.IntN(5)+1) * time.Millisecond)
	case 1:
		c.t = c.t.Add(-time.Duration(c.rng.IntN(3)+1) * time.Millisecond)
	}
	return c.t
}

func TestListMatchesModel(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 42))
	ctx := context.Background()
	s := openTest(t)
	clock := &fakeClock{t: time.UnixMilli(1_700_000_000_000), rng: rng}
	gen := NewIDGenerator(clock.now, nil)

	threads := []string{gen.New(PrefixThread), gen.New(PrefixThread)}
	models := map[string]*msgModel{}
	runs := []string{gen.New(PrefixRun), gen.New(PrefixRun), gen.New(PrefixRun)}
	if err := s.Update(ctx, func(tx Tx) error {
		for _, id := range threads {
			if err := tx.PutThread(&apitype.Thread{ID: id, Object: apitype.ObjectThread}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, id := range threads {
		models[id] = newMsgModel()
	}
	// Cursors: live ids, deleted ids, ids never stored (they sort between
	// neighbours), ids of other threads and odd strings.
	var cursors []string
	randCursor := func() string {
		switch n := rng.IntN(10); {
		case n < 2 || len(cursors) == 0:
			return ""
		case n == 2:
			return []string{"msg_", "msg_0", "msg_zzzzzzzzzzzzzzzzzzzzzzzzzzz", "a", "\xff", "msg_\x00", runs[0]}[rng.IntN(7)]
		default:
			return cursors[rng.IntN(len(cursors))]
		}
	}
	newMsg := func(thread, run string) *apitype.Message {
		m := &apitype.Message{ID: gen.New(PrefixMessage), Object: apitype.ObjectMessage, ThreadID: thread,
			Role: apitype.RoleUser, Status: apitype.MessageCompleted,
			Content: []apitype.MessageContent{{Type: apitype.ContentText, Text: &apitype.TextContent{Value: "hi", Annotations: []apitype.Annotation{}}}}}
		if run != "" {
			m.RunID = apitype.Ptr(run)
		}
		return m
	}
	randRun := func() string {
		if rng.IntN(3) == 0 {
			return ""
		}
		return runs[rng.IntN(len(runs))]
	}

	for round := range 60 {
		// A batch of random changes in one transaction.
		type op struct {
			thread, id, run string
			del             bool
		}
		var ops []op
		for range rng.IntN(40) + 1 {
			th := threads[rng.IntN(len(threads))]
			md := models[th]
			switch n := rng.IntN(10); {
			case n < 6 || len(md.ids) == 0:
				m := newMsg(th, randRun())
				run := ""
				if m.RunID != nil {
					run = *m.RunID
				}
				ops = append(ops, op{thread: th, id: m.ID, run: run})
				cursors = append(cursors, m.ID)
			case n < 8:
				ops = append(ops, op{thread: th, id: md.ids[rng.IntN(len(md.ids))], del: true})
			case n == 8:
				// Re-put an existing message under another run: the run
				// index must follow.
				ops = append(ops, op{thread: th, id: md.ids[rng.IntN(len(md.ids))], run: randRun()})
			default:
				// An id that is never stored: a cursor between neighbours.
				cursors = append(cursors, gen.New(PrefixMessage))
			}
		}
		err := s.Update(ctx, func(tx Tx) error {
			for _, o := range ops {
				if o.del {
					if err := tx.DeleteMessage(o.thread, o.id); err != nil && !errors.Is(err, apitype.ErrNotFound) {
						return err
					}
					continue
				}
				m := newMsg(o.thread, o.run)
				m.ID = o.id
				if err := tx.PutMessage(m, len(o.id)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for _, o := range ops {
			if o.del {
				models[o.thread].del(o.id)
			} else {
				models[o.thread].put(o.id, o.run)
			}
		}

		for range 40 {
			th := threads[rng.IntN(len(threads))]
			p := apitype.MessageListParams{ListParams: apitype.ListParams{
				Limit:  []int{0, 1, 2, 3, 7, 20, 100, 101, -5}[rng.IntN(9)],
				Order:  []string{"", apitype.OrderAsc, apitype.OrderDesc}[rng.IntN(3)],
				After:  randCursor(),
				Before: randCursor(),
			}}
			if rng.IntN(3) == 0 {
				p.RunID = append(slices.Clone(runs), "run_none")[rng.IntN(len(runs)+1)]
			}
			checkPage(t, s, th, models[th], p)
		}
		for _, th := range threads {
			var n int
			if err := s.View(ctx, func(tx Tx) error {
				var err error
				n, err = tx.CountMessages(th)
				return err
			}); err != nil || n != len(models[th].ids) {
				t.Fatalf("CountMessages = %d, %v; model has %d", n, err, len(models[th].ids))
			}
		}
	}

	// Page through every list to the end, forwards with after=last_id and
	// backwards with before=first_id, deleting the cursor's message between
	// pages: a cursor is a position, so nothing is skipped or repeated.
	for _, th := range threads {
		md := models[th]
		for _, order := range []string{apitype.OrderAsc, apitype.OrderDesc} {
			for _, run := range append([]string{""}, runs...) {
				all := md.seq(apitype.MessageListParams{ListParams: apitype.ListParams{Order: order}, RunID: run})
				var seen []string
				p := apitype.MessageListParams{ListParams: apitype.ListParams{Limit: 3, Order: order}, RunID: run}
				for {
					page := checkPage(t, s, th, md, p)
					seen = append(seen, pageIDs(page)...)
					if !page.HasMore {
						break
					}
					p.After = *page.LastID
					if rng.IntN(2) == 0 {
						// Delete the cursor's message (not yet in seen's future).
						if err := s.Update(ctx, func(tx Tx) error { return tx.DeleteMessage(th, p.After) }); err != nil {
							t.Fatal(err)
						}
						md.del(p.After)
					}
				}
				if !slices.Equal(seen, all) {
					t.Fatalf("walk %s run=%q saw %v, want %v", order, run, seen, all)
				}
				// Backwards from the end with before=first_id.
				remaining := md.seq(apitype.MessageListParams{ListParams: apitype.ListParams{Order: order}, RunID: run})
				var back []string
				p = apitype.MessageListParams{ListParams: apitype.ListParams{Limit: 4, Order: order}, RunID: run}
				if len(remaining) > 0 {
					p.Before = "msg_" + strings.Repeat("z", 26) // past every id in asc order
					if order == apitype.OrderDesc {
						p.Before = "msg_"
					}
				}
				for len(remaining) > 0 {
					page := checkPage(t, s, th, md, p)
					back = append(pageIDs(page), back...)
					if !page.HasMore {
						break
					}
					p.Before = *page.FirstID
				}
				if !slices.Equal(back, remaining) {
					t.Fatalf("backward walk %s run=%q saw %v, want %v", order, run, back, remaining)
				}
			}
		}
	}
}

// fuzzFixture is a small thread the fuzzer lists with arbitrary params.
func fuzzFixture(f *testing.F) (*Store, string, *msgModel) {
	ctx := context.Background()
	s := openTest(f)
	gen := NewIDGenerator(nil, nil)
	th := gen.New(PrefixThread)
	model := newMsgModel()
	err := s.Update(ctx, func(tx Tx) error {
		if err := tx.PutThread(&apitype.Thread{ID: th}); err != nil {
			return err
		}
		for i := range 57 {
			m := &apitype.Message{ID: gen.New(PrefixMessage), ThreadID: th}
			run := ""
			if i%3 == 0 {
				run = "run_a"
				m.RunID = &run
			}
			if err := tx.PutMessage(m, 1); err != nil {
				return err
			}
			model.put(m.ID, run)
		}
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	return s, th, model
}

// FuzzListParams: any limit, order and cursors list without panicking and
// agree with the model.
func FuzzListParams(f *testing.F) {
	s, th, model := fuzzFixture(f)
	mid := model.ids[len(model.ids)/2]
	f.Add(0, "", "", "", false)
	f.Add(5, "asc", mid, "", false)
	f.Add(5, "desc", "", mid, true)
	f.Add(100, "asc", model.ids[3], model.ids[40], true)
	f.Add(-1, "sideways", "\xff\x00", "msg_", false)
	f.Add(1<<40, "desc", mid[:10], mid+"0", true)
	f.Fuzz(func(t *testing.T, limit int, order, after, before string, byRun bool) {
		p := apitype.MessageListParams{ListParams: apitype.ListParams{Limit: limit, Order: order, After: after, Before: before}}
		if byRun {
			p.RunID = "run_a"
		}
		checkPage(t, s, th, model, p)
	})
}

func TestListOtherKinds(t *testing.T) {
	// Runs, steps (prefix-scoped per run) and assistants share list.go;
	// a quick check that each is ordered and scoped.
	ctx := context.Background()
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	th := gen.New(PrefixThread)
	var runIDs, asstIDs []string
	steps := map[string][]string{}
	err := s.Update(ctx, func(tx Tx) error {
		if err := tx.PutThread(&apitype.Thread{ID: th}); err != nil {
			return err
		}
		for range 5 {
			a := &apitype.Assistant{ID: gen.New(PrefixAssistant)}
			asstIDs = append(asstIDs, a.ID)
			if err := tx.PutAssistant(a); err != nil {
				return err
			}
			r := &apitype.Run{ID: gen.New(PrefixRun), ThreadID: th, Status: apitype.RunCompleted}
			runIDs = append(runIDs, r.ID)
			if err := tx.PutRun(r); err != nil {
				return err
			}
			for range 3 {
				st := &apitype.RunStep{ID: gen.New(PrefixStep), ThreadID: th, RunID: r.ID}
				steps[r.ID] = append(steps[r.ID], st.ID)
				if err := tx.PutStep(st); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx Tx) error {
		rp, err := tx.ListRuns(th, apitype.ListParams{Order: "asc", After: runIDs[1], Limit: 2})
		if err != nil {
			return err
		}
		if len(rp.Data) != 2 || rp.Data[0].ID != runIDs[2] || rp.Data[1].ID != runIDs[3] || !rp.HasMore {
			return fmt.Errorf("runs page %+v", rp)
		}
		for _, r := range runIDs {
			sp, err := tx.ListSteps(th, r, apitype.ListParams{})
			if err != nil {
				return err
			}
			want := slices.Clone(steps[r])
			slices.Reverse(want)
			var got []string
			for _, s := range sp.Data {
				got = append(got, s.ID)
			}
			if !slices.Equal(got, want) || sp.HasMore {
				return fmt.Errorf("steps of %s: %v, want %v", r, got, want)
			}
			st, err := tx.GetStep(th, r, steps[r][1])
			if err != nil || st.ID != steps[r][1] {
				return fmt.Errorf("GetStep: %v %v", st, err)
			}
		}
		ap, err := tx.ListAssistants(apitype.ListParams{Before: asstIDs[1]})
		if err != nil {
			return err
		}
		if len(ap.Data) != 3 || ap.Data[0].ID != asstIDs[4] || ap.Data[2].ID != asstIDs[2] || ap.HasMore {
			return fmt.Errorf("assistants page %+v", ap)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
