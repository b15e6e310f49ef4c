package storetest

import (
	"errors"
	"fmt"
	"slices"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// Walks: order both ways, token counts given back as stored, stopping
// when fn says so, fn's error returned as it is; Lend* walks give what
// Each* walks give.
var walkCases = []testCase{
	{"MessageTokens", testMessageTokens},
	{"MessageWalks", testMessageWalks},
	{"ConversationItemWalks", testConversationItemWalks},
	{"ResponseInput", testResponseInput},
	{"ResponseHistory", testResponseHistory},
	{"ResponseHistoryEndsAtDeleted", testResponseHistoryEndsAtDeleted},
	{"VectorStoreFileWalk", testVectorStoreFileWalk},
	{"LiveWalksReturnFnError", testLiveWalkErrors},
}

// visit is one thing a walk gave: what it was (its JSON, taken inside fn,
// as a lent value is valid only there) and its token count.
type visit struct {
	json   string
	tokens int
}

// walkFn is a walk's signature (EachMessage's, EachConversationItem's…)
// over T.
type walkFn[T any] func(fn func(v *T, tokens int) (bool, error)) error

// collect walks all of w; stopAfter > 0 stops it after that many; fail
// returns errStop at that visit instead.
func collect[T any](s *suite, w func(tx store.Tx) walkFn[T], stopAfter int, fail bool) ([]visit, error) {
	var got []visit
	err := readErr(s, func(tx store.Tx) error {
		got = nil
		return w(tx)(func(v *T, tokens int) (bool, error) {
			got = append(got, visit{jsonOf(s.t, v), tokens})
			if len(got) == stopAfter {
				if fail {
					return true, errStop
				}
				return false, nil
			}
			return true, nil
		})
	})
	return got, err
}

// checkWalk runs w whole, stopped after two and failing at the second,
// comparing with want (in the walk's order).
func checkWalk[T any](s *suite, what string, w func(tx store.Tx) walkFn[T], want []visit) {
	t := s.t
	t.Helper()
	got, err := collect(s, w, 0, false)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("%s: %v\n got  %v\n want %v", what, err, got, want)
	}
	if len(want) < 3 {
		t.Fatalf("%s: the check needs 3 or more visits", what)
	}
	got, err = collect(s, w, 2, false)
	if err != nil || !slices.Equal(got, want[:2]) {
		t.Errorf("%s stopped after 2: %v, %d visits; want 2", what, err, len(got))
	}
	got, err = collect(s, w, 2, true)
	if err != errStop || len(got) != 2 {
		t.Errorf("%s with fn failing at 2: err %v (want fn's error as it is), %d visits", what, err, len(got))
	}
}

func visits[T any](t interface{ Helper() }, s *suite, vs []T, tokens []int) []visit {
	out := make([]visit, len(vs))
	for i := range vs {
		out[i] = visit{jsonOf(s.t, &vs[i]), tokens[i]}
	}
	return out
}

func reverseVisits(v []visit) []visit {
	out := slices.Clone(v)
	slices.Reverse(out)
	return out
}

// testMessageTokens: a message is stored with the count its writer gives;
// PutMessage with tokens < 0 keeps the stored count.
func testMessageTokens(s *suite) {
	t := s.t
	th := s.thread()
	m1, m2 := s.message(th.ID, "one"), s.message(th.ID, "two")
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.PutThread(th), tx.PutMessage(m1, 7), tx.PutMessage(m2, 0))
	})
	counts := func() []int {
		t.Helper()
		var n []int
		s.view(func(tx store.Tx) error {
			return tx.EachMessage(th.ID, false, func(_ *apitype.Message, tokens int) (bool, error) {
				n = append(n, tokens)
				return true, nil
			})
		})
		return n
	}
	if got := counts(); !slices.Equal(got, []int{7, 0}) {
		t.Fatalf("counts as written: %v; want [7 0]", got)
	}
	m1.Content[0].Text.Value = "one, completed"
	s.update(func(tx store.Tx) error { return tx.PutMessage(m1, -1) })
	if got := counts(); !slices.Equal(got, []int{7, 0}) {
		t.Errorf("after a replace with tokens -1: %v; want the stored 7 kept", got)
	}
	sameJSON(t, "the message replaced with tokens -1", read(s, func(tx store.Tx) (*apitype.Message, error) { return tx.GetMessage(th.ID, m1.ID) }), m1)
	s.update(func(tx store.Tx) error { return errors.Join(tx.PutMessage(m1, 9), tx.PutMessage(m2, 3)) })
	if got := counts(); !slices.Equal(got, []int{9, 3}) {
		t.Errorf("after replaces with counts: %v; want [9 3]", got)
	}
}

func testMessageWalks(s *suite) {
	t := s.t
	th, other := s.thread(), s.thread()
	var msgs []apitype.Message
	var tokens []int
	for i := range 5 {
		m := s.message(th.ID, fmt.Sprintf("message %d", i))
		if i == 3 {
			m.Role, m.AssistantID, m.RunID = apitype.RoleAssistant, ptr("asst_x"), ptr("run_x")
		}
		msgs, tokens = append(msgs, *m), append(tokens, 10+i)
	}
	s.update(func(tx store.Tx) error {
		errs := []error{tx.PutThread(th), tx.PutThread(other), tx.PutMessage(s.message(other.ID, "elsewhere"), 1)}
		for i := range msgs {
			errs = append(errs, tx.PutMessage(&msgs[i], tokens[i]))
		}
		return errors.Join(errs...)
	})
	want := visits(t, s, msgs, tokens)
	for _, desc := range []bool{false, true} {
		w := want
		if desc {
			w = reverseVisits(want)
		}
		checkWalk(s, fmt.Sprintf("EachMessage desc=%v", desc), func(tx store.Tx) walkFn[apitype.Message] {
			return func(fn func(*apitype.Message, int) (bool, error)) error { return tx.EachMessage(th.ID, desc, fn) }
		}, w)
		checkWalk(s, fmt.Sprintf("LendMessages desc=%v", desc), func(tx store.Tx) walkFn[apitype.Message] {
			return func(fn func(*apitype.Message, int) (bool, error)) error { return tx.LendMessages(th.ID, desc, fn) }
		}, w)
	}
	s.view(func(tx store.Tx) error {
		none := func(*apitype.Message, int) (bool, error) { return true, nil }
		wantNotFound(t, "EachMessage of an unknown thread", tx.EachMessage(s.id(store.PrefixThread), false, none))
		wantNotFound(t, "LendMessages of an unknown thread", tx.LendMessages(s.id(store.PrefixThread), true, none))
		return nil
	})
	// EachMessage's messages are fn's to keep.
	var kept []*apitype.Message
	s.view(func(tx store.Tx) error {
		return tx.EachMessage(th.ID, false, func(m *apitype.Message, _ int) (bool, error) {
			kept = append(kept, m)
			return true, nil
		})
	})
	for i := range kept {
		sameJSON(t, "a message EachMessage gave, after the View", kept[i], &msgs[i])
	}
}

func testConversationItemWalks(s *suite) {
	t := s.t
	c, other := s.conversation(), s.conversation()
	items, tokens := s.items("w", 6, 20)
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.PutConversation(c), tx.PutConversation(other),
			tx.AppendConversationItems(c.ID, items[:2], tokens[:2]),
			tx.AppendConversationItems(other.ID, items[:1], []int{1}))
	})
	s.update(func(tx store.Tx) error { return tx.AppendConversationItems(c.ID, items[2:], tokens[2:]) })
	want := visits(t, s, items, tokens)
	for _, desc := range []bool{false, true} {
		w := want
		if desc {
			w = reverseVisits(want)
		}
		checkWalk(s, fmt.Sprintf("EachConversationItem desc=%v", desc), func(tx store.Tx) walkFn[apitype.Item] {
			return func(fn func(*apitype.Item, int) (bool, error)) error { return tx.EachConversationItem(c.ID, desc, fn) }
		}, w)
		checkWalk(s, fmt.Sprintf("LendConversationItems desc=%v", desc), func(tx store.Tx) walkFn[apitype.Item] {
			return func(fn func(*apitype.Item, int) (bool, error)) error { return tx.LendConversationItems(c.ID, desc, fn) }
		}, w)
	}
	s.view(func(tx store.Tx) error {
		none := func(*apitype.Item, int) (bool, error) { return true, nil }
		wantNotFound(t, "EachConversationItem of an unknown conversation", tx.EachConversationItem(s.id(store.PrefixConversation), false, none))
		wantNotFound(t, "LendConversationItems of an unknown conversation", tx.LendConversationItems(s.id(store.PrefixConversation), true, none))
		return nil
	})
}

func testResponseInput(s *suite) {
	t := s.t
	r, other := s.response(apitype.ResponseCompleted, ""), s.response(apitype.ResponseCompleted, "")
	input, tokens := s.items("ri", 5, 30)
	oin, ot := s.items("ro", 2, 1)
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.CreateResponse(r, input, tokens), tx.CreateResponse(other, oin, ot))
	})
	want := visits(t, s, input, tokens)
	for _, desc := range []bool{false, true} {
		w := want
		if desc {
			w = reverseVisits(want)
		}
		checkWalk(s, fmt.Sprintf("ResponseInput desc=%v", desc), func(tx store.Tx) walkFn[apitype.Item] {
			return func(fn func(*apitype.Item, int) (bool, error)) error { return tx.ResponseInput(r.ID, desc, fn) }
		}, w)
	}
}

// chain stores n responses, each the previous one's next, each with two
// input items and one output item; it returns their ids and everything
// ResponseHistory of the last gives, newest first.
func (s *suite) chain(n int) ([]string, []visit) {
	var ids []string
	var history []visit
	prev := ""
	for i := range n {
		r := s.response(apitype.ResponseCompleted, prev)
		in, it := s.items(fmt.Sprintf("c%d", i), 2, 100*i)
		r.Output = []apitype.Item{assistantItem(fmt.Sprintf("msg_c%d_out", i), fmt.Sprintf("answer %d", i))}
		ot := []int{100*i + 50}
		s.update(func(tx store.Tx) error { return tx.CreateResponseOutput(r, in, it, ot) })
		mine := append(visits(s.t, s, in, it), visits(s.t, s, r.Output, ot)...)
		history = append(reverseVisits(mine), history...)
		ids, prev = append(ids, r.ID), r.ID
	}
	return ids, history
}

func testResponseHistory(s *suite) {
	ids, want := s.chain(3)
	last := ids[len(ids)-1]
	checkWalk(s, "ResponseHistory", func(tx store.Tx) walkFn[apitype.Item] {
		return func(fn func(*apitype.Item, int) (bool, error)) error { return tx.ResponseHistory(last, fn) }
	}, want)
	checkWalk(s, "LendResponseHistory", func(tx store.Tx) walkFn[apitype.Item] {
		return func(fn func(*apitype.Item, int) (bool, error)) error { return tx.LendResponseHistory(last, fn) }
	}, want)
	// A response in the middle gives its own history only.
	checkWalk(s, "ResponseHistory of the middle response", func(tx store.Tx) walkFn[apitype.Item] {
		return func(fn func(*apitype.Item, int) (bool, error)) error { return tx.ResponseHistory(ids[1], fn) }
	}, want[3:])
	// Stopped at the first response's output: nothing of it read past.
	got, err := collect(s, func(tx store.Tx) walkFn[apitype.Item] {
		return func(fn func(*apitype.Item, int) (bool, error)) error { return tx.ResponseHistory(last, fn) }
	}, 7, false)
	if err != nil || !slices.Equal(got, want[:7]) {
		s.t.Errorf("ResponseHistory stopped at 7: %v, %d visits", err, len(got))
	}
}

// testResponseHistoryEndsAtDeleted: responses naming a deleted response as
// previous keep their own items, their chain ending there.
func testResponseHistoryEndsAtDeleted(s *suite) {
	ids, want := s.chain(4)
	s.update(func(tx store.Tx) error { return tx.DeleteResponse(ids[1]) })
	checkWalk(s, "ResponseHistory past a deleted response", func(tx store.Tx) walkFn[apitype.Item] {
		return func(fn func(*apitype.Item, int) (bool, error)) error { return tx.ResponseHistory(ids[3], fn) }
	}, want[:6])
	checkWalk(s, "LendResponseHistory past a deleted response", func(tx store.Tx) walkFn[apitype.Item] {
		return func(fn func(*apitype.Item, int) (bool, error)) error { return tx.LendResponseHistory(ids[3], fn) }
	}, want[:6])
	// The first response is whole.
	checkWalk(s, "ResponseHistory of the first response", func(tx store.Tx) walkFn[apitype.Item] {
		return func(fn func(*apitype.Item, int) (bool, error)) error { return tx.ResponseHistory(ids[0], fn) }
	}, want[9:])
}

func testVectorStoreFileWalk(s *suite) {
	t := s.t
	v, other := s.vectorStore(), s.vectorStore()
	var want []string
	s.update(func(tx store.Tx) error {
		want = nil
		errs := []error{tx.PutVectorStore(v), tx.PutVectorStore(other)}
		for range 4 {
			f := s.vsFile(v.ID, s.id(store.PrefixFile), "completed")
			want = append(want, jsonOf(t, f))
			errs = append(errs, tx.PutVectorStoreFile(f, ""), tx.PutVectorStoreFile(s.vsFile(other.ID, s.id(store.PrefixFile), "completed"), ""))
		}
		return errors.Join(errs...)
	})
	var got []string
	s.view(func(tx store.Tx) error {
		return tx.EachVectorStoreFile(v.ID, func(f *apitype.VectorStoreFile) error { got = append(got, jsonOf(t, f)); return nil })
	})
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("EachVectorStoreFile: %v\nwant %v", got, want)
	}
	n := 0
	err := readErr(s, func(tx store.Tx) error {
		return tx.EachVectorStoreFile(v.ID, func(*apitype.VectorStoreFile) error { n++; return errStop })
	})
	if err != errStop || n != 1 {
		t.Errorf("EachVectorStoreFile with fn failing: err %v after %d visits; want fn's error after 1", err, n)
	}
}

func testLiveWalkErrors(s *suite) {
	t := s.t
	th := s.thread()
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.PutThread(th), tx.PutRun(s.run(th.ID, apitype.RunQueued)),
			tx.CreateResponse(s.response(apitype.ResponseQueued, ""), nil, nil), tx.CreateResponse(s.response(apitype.ResponseInProgress, ""), nil, nil))
	})
	n := 0
	if err := readErr(s, func(tx store.Tx) error { return tx.LiveRuns(func(_, _ string) error { n++; return errStop }) }); err != errStop || n != 1 {
		t.Errorf("LiveRuns with fn failing: err %v after %d", err, n)
	}
	n = 0
	if err := readErr(s, func(tx store.Tx) error { return tx.LiveResponses(func(string) error { n++; return errStop }) }); err != errStop || n != 1 {
		t.Errorf("LiveResponses with fn failing: err %v after %d", err, n)
	}
}
