package storetest

import (
	"errors"
	"fmt"
	"slices"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// Lists: cursor pagination both ways with after and before as positions,
// has_more, limits, the page's ends, and the filters.
var listCases = []testCase{
	{"PagingAssistants", func(s *suite) { checkPaging(s, assistantList(s)) }},
	{"PagingThreads", func(s *suite) { checkPaging(s, threadList(s)) }},
	{"PagingMessages", func(s *suite) { checkPaging(s, messageList(s)) }},
	{"PagingRuns", func(s *suite) { checkPaging(s, runList(s)) }},
	{"PagingSteps", func(s *suite) { checkPaging(s, stepList(s)) }},
	{"PagingFiles", func(s *suite) { checkPaging(s, fileList(s)) }},
	{"PagingVectorStores", func(s *suite) { checkPaging(s, vectorStoreList(s)) }},
	{"PagingVectorStoreFiles", func(s *suite) { checkPaging(s, vectorStoreFileList(s)) }},
	{"PagingContainers", func(s *suite) { checkPaging(s, containerList(s)) }},
	{"PagingContainerFiles", func(s *suite) { checkPaging(s, containerFileList(s)) }},
	{"DefaultLimit", testDefaultLimit},
	{"MessagesOfRun", testMessagesOfRun},
	{"FilesOfPurpose", testFilesOfPurpose},
	{"FilesPastHundred", testFilesPastHundred},
	{"VectorStoreFilesOfStatusAndBatch", testVectorStoreFileFilters},
	{"ContainersOfName", testContainersOfName},
	{"ConversationItemPages", testConversationItemPages},
	{"ResponseInputItemPages", testResponseInputItemPages},
}

// pageView is a page as the paging checks read it.
type pageView struct {
	ids         []string
	first, last *string
	more        bool
	nilData     bool
}

func viewOf[T any](p apitype.Page[T], id func(*T) string) pageView {
	return pageView{ids: idsOf(p.Data, id), first: p.FirstID, last: p.LastID, more: p.HasMore, nilData: p.Data == nil}
}

// listed is a list under test: make stores one more object and returns
// its id (ids made in order), drop deletes one (nil for a kind that has no
// delete: its cursor is then an id made but never stored, which sorts
// where it would), page reads a page.
type listed struct {
	name string
	make func() string
	drop func(id string)
	page func(p apitype.ListParams) (pageView, error)
}

// checkPaging stores a0…a6 with x between a2 and a3, deletes x (or never
// stores it), and reads pages every way a client does.
func checkPaging(s *suite, l listed) {
	t := s.t
	var a []string
	for range 3 {
		a = append(a, l.make())
	}
	var x string
	if l.drop != nil {
		x = l.make()
	}
	for range 4 {
		if l.drop == nil {
			// An id between a2 and a3, never stored.
			if x == "" {
				x = s.id(prefixOf(a[0]))
			}
		}
		a = append(a, l.make())
	}
	if l.drop != nil {
		l.drop(x)
	}
	asc, desc := apitype.OrderAsc, apitype.OrderDesc
	for _, c := range []struct {
		p    apitype.ListParams
		want []string
		more bool
	}{
		{apitype.ListParams{}, reversed(a), false},
		{apitype.ListParams{Limit: 3}, []string{a[6], a[5], a[4]}, true},
		{apitype.ListParams{Limit: 3, Order: desc}, []string{a[6], a[5], a[4]}, true},
		{apitype.ListParams{Limit: 3, Order: asc}, a[0:3], true},
		{apitype.ListParams{Limit: 1}, a[6:7], true},
		{apitype.ListParams{Limit: 100, Order: asc}, a, false},
		{apitype.ListParams{Limit: 7, Order: asc}, a, false},
		// after: the page after a position, in list order.
		{apitype.ListParams{Limit: 3, Order: asc, After: a[2]}, a[3:6], true},
		{apitype.ListParams{Limit: 3, Order: asc, After: a[4]}, a[5:7], false},
		{apitype.ListParams{Limit: 3, Order: asc, After: a[6]}, nil, false},
		{apitype.ListParams{Limit: 3, After: a[4]}, []string{a[3], a[2], a[1]}, true},
		{apitype.ListParams{Limit: 3, After: a[2]}, []string{a[1], a[0]}, false},
		{apitype.ListParams{Limit: 3, After: a[0]}, nil, false},
		// before alone: the page just before a position (the previous
		// page), still in list order; has_more: more lie further before.
		{apitype.ListParams{Limit: 3, Order: asc, Before: a[5]}, a[2:5], true},
		{apitype.ListParams{Limit: 3, Order: asc, Before: a[2]}, a[0:2], false},
		{apitype.ListParams{Limit: 3, Order: asc, Before: a[0]}, nil, false},
		{apitype.ListParams{Limit: 3, Before: a[1]}, []string{a[4], a[3], a[2]}, true},
		{apitype.ListParams{Limit: 3, Before: a[4]}, []string{a[6], a[5]}, false},
		// both: bounded on each side.
		{apitype.ListParams{Limit: 3, Order: asc, After: a[0], Before: a[5]}, a[1:4], true},
		{apitype.ListParams{Limit: 3, Order: asc, After: a[0], Before: a[4]}, a[1:4], false},
		{apitype.ListParams{Limit: 3, After: a[6], Before: a[2]}, []string{a[5], a[4], a[3]}, false},
		// x, deleted (or never stored), is a position between a2 and a3.
		{apitype.ListParams{Limit: 3, Order: asc, After: x}, a[3:6], true},
		{apitype.ListParams{Limit: 3, After: x}, []string{a[2], a[1], a[0]}, false},
		{apitype.ListParams{Limit: 3, Order: asc, Before: x}, a[0:3], false},
		{apitype.ListParams{Limit: 3, Before: x}, []string{a[5], a[4], a[3]}, true},
		{apitype.ListParams{Limit: 2, Order: asc, After: a[1], Before: x}, a[2:3], false},
	} {
		got, err := l.page(c.p)
		what := fmt.Sprintf("%s %+v", l.name, c.p)
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		if !slices.Equal(got.ids, c.want) || got.more != c.more {
			t.Errorf("%s: %v has_more %v; want %v has_more %v (a=%v x=%s)", what, got.ids, got.more, c.want, c.more, a, x)
		}
		checkEnds(t, what, apitype.Page[string]{Object: apitype.ObjectList, Data: nonNil(got), FirstID: got.first, LastID: got.last}, c.want)
	}
}

// nonNil is a page's ids as Data for checkEnds, nil when the page's was.
func nonNil(v pageView) []string {
	if v.nilData {
		return nil
	}
	if v.ids == nil {
		return []string{}
	}
	return v.ids
}

// prefixOf is the prefix of an id the generator made ("asst_…" → "asst_").
func prefixOf(id string) string {
	for i := len(id) - 1; i >= 0; i-- {
		if id[i] == '_' || id[i] == '-' {
			return id[:i+1]
		}
	}
	return ""
}

// upd is s.update for closures that return nothing.
func upd(s *suite, fn func(tx store.Tx) error) {
	s.t.Helper()
	s.update(fn)
}

func assistantList(s *suite) listed {
	return listed{name: "ListAssistants",
		make: func() string {
			a := s.assistant()
			upd(s, func(tx store.Tx) error { return tx.PutAssistant(a) })
			return a.ID
		},
		drop: func(id string) { upd(s, func(tx store.Tx) error { return tx.DeleteAssistant(id) }) },
		page: func(p apitype.ListParams) (pageView, error) {
			return pageRead(s, func(tx store.Tx) (apitype.Page[apitype.Assistant], error) { return tx.ListAssistants(p) },
				func(a *apitype.Assistant) string { return a.ID })
		}}
}

func threadList(s *suite) listed {
	return listed{name: "ListThreads",
		make: func() string {
			th := s.thread()
			upd(s, func(tx store.Tx) error { return tx.PutThread(th) })
			return th.ID
		},
		drop: func(id string) { upd(s, func(tx store.Tx) error { return tx.DeleteThread(id) }) },
		page: func(p apitype.ListParams) (pageView, error) {
			return pageRead(s, func(tx store.Tx) (apitype.Page[apitype.Thread], error) { return tx.ListThreads(p) },
				func(th *apitype.Thread) string { return th.ID })
		}}
}

func messageList(s *suite) listed {
	th, other := s.thread(), s.thread()
	upd(s, func(tx store.Tx) error {
		// Another thread's messages, made between, are not this one's.
		return errors.Join(tx.PutThread(th), tx.PutThread(other))
	})
	return listed{name: "ListMessages",
		make: func() string {
			m := s.message(th.ID, "m")
			upd(s, func(tx store.Tx) error {
				return errors.Join(tx.PutMessage(m, 1), tx.PutMessage(s.message(other.ID, "o"), 1))
			})
			return m.ID
		},
		drop: func(id string) { upd(s, func(tx store.Tx) error { return tx.DeleteMessage(th.ID, id) }) },
		page: func(p apitype.ListParams) (pageView, error) {
			return pageRead(s, func(tx store.Tx) (apitype.Page[apitype.Message], error) {
				return tx.ListMessages(th.ID, apitype.MessageListParams{ListParams: p})
			}, func(m *apitype.Message) string { return m.ID })
		}}
}

func runList(s *suite) listed {
	th, other := s.thread(), s.thread()
	upd(s, func(tx store.Tx) error { return errors.Join(tx.PutThread(th), tx.PutThread(other)) })
	return listed{name: "ListRuns",
		make: func() string {
			r := s.run(th.ID, apitype.RunCompleted)
			upd(s, func(tx store.Tx) error {
				return errors.Join(tx.PutRun(r), tx.PutRun(s.run(other.ID, apitype.RunCompleted)))
			})
			return r.ID
		},
		page: func(p apitype.ListParams) (pageView, error) {
			return pageRead(s, func(tx store.Tx) (apitype.Page[apitype.Run], error) { return tx.ListRuns(th.ID, p) },
				func(r *apitype.Run) string { return r.ID })
		}}
}

func stepList(s *suite) listed {
	th := s.thread()
	r, other := s.run(th.ID, apitype.RunInProgress), s.run(th.ID, apitype.RunCompleted)
	upd(s, func(tx store.Tx) error { return errors.Join(tx.PutThread(th), tx.PutRun(r), tx.PutRun(other)) })
	return listed{name: "ListSteps",
		make: func() string {
			st := s.step(r)
			upd(s, func(tx store.Tx) error { return errors.Join(tx.PutStep(st), tx.PutStep(s.step(other))) })
			return st.ID
		},
		page: func(p apitype.ListParams) (pageView, error) {
			return pageRead(s, func(tx store.Tx) (apitype.Page[apitype.RunStep], error) { return tx.ListSteps(th.ID, r.ID, p) },
				func(st *apitype.RunStep) string { return st.ID })
		}}
}

func fileList(s *suite) listed {
	return listed{name: "ListFiles",
		make: func() string {
			f := s.file("assistants", 1)
			upd(s, func(tx store.Tx) error { return tx.PutFile(f) })
			return f.ID
		},
		drop: func(id string) { upd(s, func(tx store.Tx) error { return tx.DeleteFile(id) }) },
		page: func(p apitype.ListParams) (pageView, error) {
			return pageRead(s, func(tx store.Tx) (apitype.Page[apitype.File], error) { return tx.ListFiles(p, "") },
				func(f *apitype.File) string { return f.ID })
		}}
}

func vectorStoreList(s *suite) listed {
	return listed{name: "ListVectorStores",
		make: func() string {
			v := s.vectorStore()
			upd(s, func(tx store.Tx) error { return tx.PutVectorStore(v) })
			return v.ID
		},
		drop: func(id string) { upd(s, func(tx store.Tx) error { return tx.DeleteVectorStore(id) }) },
		page: func(p apitype.ListParams) (pageView, error) {
			return pageRead(s, func(tx store.Tx) (apitype.Page[apitype.VectorStore], error) { return tx.ListVectorStores(p) },
				func(v *apitype.VectorStore) string { return v.ID })
		}}
}

func vectorStoreFileList(s *suite) listed {
	v, other := s.vectorStore(), s.vectorStore()
	upd(s, func(tx store.Tx) error { return errors.Join(tx.PutVectorStore(v), tx.PutVectorStore(other)) })
	return listed{name: "ListVectorStoreFiles",
		make: func() string {
			id := s.id(store.PrefixFile)
			upd(s, func(tx store.Tx) error {
				return errors.Join(tx.PutVectorStoreFile(s.vsFile(v.ID, id, "completed"), ""),
					tx.PutVectorStoreFile(s.vsFile(other.ID, s.id(store.PrefixFile), "completed"), ""))
			})
			return id
		},
		drop: func(id string) { upd(s, func(tx store.Tx) error { return tx.DeleteVectorStoreFile(v.ID, id) }) },
		page: func(p apitype.ListParams) (pageView, error) {
			return pageRead(s, func(tx store.Tx) (apitype.Page[apitype.VectorStoreFile], error) {
				return tx.ListVectorStoreFiles(v.ID, "", apitype.VectorStoreFileListParams{ListParams: p})
			}, func(f *apitype.VectorStoreFile) string { return f.ID })
		}}
}

func containerList(s *suite) listed {
	return listed{name: "ListContainers",
		make: func() string {
			c := s.container("box", s.now, 20)
			upd(s, func(tx store.Tx) error { return tx.PutContainer(c) })
			return c.ID
		},
		drop: func(id string) {
			upd(s, func(tx store.Tx) error { _, err := tx.DeleteContainer(id); return err })
		},
		page: func(p apitype.ListParams) (pageView, error) {
			return pageRead(s, func(tx store.Tx) (apitype.Page[apitype.Container], error) { return tx.ListContainers(p, "") },
				func(c *apitype.Container) string { return c.ID })
		}}
}

func containerFileList(s *suite) listed {
	c, other := s.container("a", s.now, 20), s.container("b", s.now, 20)
	upd(s, func(tx store.Tx) error { return errors.Join(tx.PutContainer(c), tx.PutContainer(other)) })
	return listed{name: "ListContainerFiles",
		make: func() string {
			f := s.containerFile(c.ID, "/mnt/data/f")
			upd(s, func(tx store.Tx) error {
				return errors.Join(tx.PutContainerFile(f), tx.PutContainerFile(s.containerFile(other.ID, "/mnt/data/o")))
			})
			return f.ID
		},
		drop: func(id string) { upd(s, func(tx store.Tx) error { return tx.DeleteContainerFile(c.ID, id) }) },
		page: func(p apitype.ListParams) (pageView, error) {
			return pageRead(s, func(tx store.Tx) (apitype.Page[apitype.ContainerFile], error) { return tx.ListContainerFiles(c.ID, p) },
				func(f *apitype.ContainerFile) string { return f.ID })
		}}
}

func pageRead[T any](s *suite, list func(tx store.Tx) (apitype.Page[T], error), id func(*T) string) (pageView, error) {
	var v pageView
	err := readErr(s, func(tx store.Tx) error {
		p, err := list(tx)
		v = viewOf(p, id)
		return err
	})
	return v, err
}

// testDefaultLimit: a limit of 0 is apitype.DefaultListLimit.
func testDefaultLimit(s *suite) {
	n := apitype.DefaultListLimit + 1
	var ids []string
	s.update(func(tx store.Tx) error {
		ids = ids[:0]
		for range n {
			a := s.assistant()
			ids = append(ids, a.ID)
			if err := tx.PutAssistant(a); err != nil {
				return err
			}
		}
		return nil
	})
	got := must(pageRead(s, func(tx store.Tx) (apitype.Page[apitype.Assistant], error) {
		return tx.ListAssistants(apitype.ListParams{Order: apitype.OrderAsc})
	}, func(a *apitype.Assistant) string { return a.ID }))
	if !slices.Equal(got.ids, ids[:n-1]) || !got.more {
		s.t.Errorf("limit 0: %d ids has_more %v; want the first %d, has_more", len(got.ids), got.more, n-1)
	}
}

// testMessagesOfRun: ListMessages with RunID lists that run's messages, and
// follows a message's run_id as it is replaced.
func testMessagesOfRun(s *suite) {
	t := s.t
	th := s.thread()
	run, run2 := s.id(store.PrefixRun), s.id(store.PrefixRun)
	var m []*apitype.Message
	for i := range 6 {
		msg := s.message(th.ID, fmt.Sprint(i))
		switch i {
		case 1, 3, 4:
			msg.RunID = &run
		case 2:
			msg.RunID = &run2
		}
		m = append(m, msg)
	}
	s.update(func(tx store.Tx) error {
		errs := []error{tx.PutThread(th)}
		for _, msg := range m {
			errs = append(errs, tx.PutMessage(msg, 1))
		}
		return errors.Join(errs...)
	})
	list := func(p apitype.ListParams, runID string) pageView {
		t.Helper()
		return must(pageRead(s, func(tx store.Tx) (apitype.Page[apitype.Message], error) {
			return tx.ListMessages(th.ID, apitype.MessageListParams{ListParams: p, RunID: runID})
		}, func(m *apitype.Message) string { return m.ID }))
	}
	asc := apitype.OrderAsc
	for _, c := range []struct {
		p    apitype.ListParams
		run  string
		want []string
		more bool
	}{
		{apitype.ListParams{Order: asc}, run, []string{m[1].ID, m[3].ID, m[4].ID}, false},
		{apitype.ListParams{}, run, []string{m[4].ID, m[3].ID, m[1].ID}, false},
		{apitype.ListParams{Order: asc, Limit: 2}, run, []string{m[1].ID, m[3].ID}, true},
		{apitype.ListParams{Order: asc, Limit: 2, After: m[3].ID}, run, []string{m[4].ID}, false},
		{apitype.ListParams{Order: asc, After: m[2].ID}, run, []string{m[3].ID, m[4].ID}, false},
		{apitype.ListParams{Limit: 1, Before: m[1].ID}, run, []string{m[3].ID}, true},
		{apitype.ListParams{Order: asc}, run2, []string{m[2].ID}, false},
		{apitype.ListParams{Order: asc}, s.id(store.PrefixRun), nil, false},
	} {
		got := list(c.p, c.run)
		if !slices.Equal(got.ids, c.want) || got.more != c.more {
			t.Errorf("run %s %+v: %v has_more %v; want %v has_more %v", c.run, c.p, got.ids, got.more, c.want, c.more)
		}
	}
	// Replaced with another run_id (or none), a message moves.
	m[3].RunID, m[0].RunID = nil, &run
	s.update(func(tx store.Tx) error { return errors.Join(tx.PutMessage(m[3], -1), tx.PutMessage(m[0], -1)) })
	if got := list(apitype.ListParams{Order: asc}, run); !slices.Equal(got.ids, []string{m[0].ID, m[1].ID, m[4].ID}) {
		t.Errorf("after moving messages: %v; want %v", got.ids, []string{m[0].ID, m[1].ID, m[4].ID})
	}
	s.update(func(tx store.Tx) error { return tx.DeleteMessage(th.ID, m[1].ID) })
	if got := list(apitype.ListParams{Order: asc}, run); !slices.Equal(got.ids, []string{m[0].ID, m[4].ID}) {
		t.Errorf("after deleting a run's message: %v", got.ids)
	}
}

// testFilesOfPurpose: ListFiles with a purpose pages only those files, and
// has_more counts only those.
func testFilesOfPurpose(s *suite) {
	t := s.t
	var a, all []string
	s.update(func(tx store.Tx) error {
		a, all = nil, nil
		for i := range 6 {
			purpose := "assistants"
			if i%2 == 1 {
				purpose = "batch"
			}
			f := s.file(purpose, 1)
			if purpose == "assistants" {
				a = append(a, f.ID)
			}
			all = append(all, f.ID)
			if err := tx.PutFile(f); err != nil {
				return err
			}
		}
		return nil
	})
	asc := apitype.OrderAsc
	for _, c := range []struct {
		p       apitype.ListParams
		purpose string
		want    []string
		more    bool
	}{
		{apitype.ListParams{Order: asc}, "", all, false},
		{apitype.ListParams{Order: asc}, "assistants", a, false},
		// The files after the page are of another purpose: no more.
		{apitype.ListParams{Order: asc, Limit: 3}, "assistants", a, false},
		{apitype.ListParams{Order: asc, Limit: 2}, "assistants", a[:2], true},
		{apitype.ListParams{Order: asc, Limit: 2, After: a[1]}, "assistants", a[2:], false},
		{apitype.ListParams{Limit: 2}, "assistants", []string{a[2], a[1]}, true},
		{apitype.ListParams{Order: asc, Before: a[2]}, "assistants", a[:2], false},
		{apitype.ListParams{Order: asc, Limit: 1, Before: a[2]}, "assistants", a[1:2], true},
		{apitype.ListParams{}, "fine-tune", nil, false},
	} {
		got := must(pageRead(s, func(tx store.Tx) (apitype.Page[apitype.File], error) { return tx.ListFiles(c.p, c.purpose) },
			func(f *apitype.File) string { return f.ID }))
		if !slices.Equal(got.ids, c.want) || got.more != c.more {
			t.Errorf("purpose %q %+v: %v has_more %v; want %v has_more %v", c.purpose, c.p, got.ids, got.more, c.want, c.more)
		}
	}
}

// testFilesPastHundred: ListFiles takes limits up to
// apitype.MaxFileListLimit, as files.list does.
func testFilesPastHundred(s *suite) {
	t := s.t
	var all, batch []string
	s.update(func(tx store.Tx) error {
		all, batch = nil, nil
		for i := range 150 {
			purpose := "assistants"
			if i%3 == 0 {
				purpose = "batch"
			}
			f := s.file(purpose, 1)
			all = append(all, f.ID)
			if purpose == "batch" {
				batch = append(batch, f.ID)
			}
			if err := tx.PutFile(f); err != nil {
				return err
			}
		}
		return nil
	})
	for _, c := range []struct {
		p       apitype.ListParams
		purpose string
		want    []string
		more    bool
	}{
		{apitype.ListParams{Order: apitype.OrderAsc, Limit: 120}, "", all[:120], true},
		{apitype.ListParams{Order: apitype.OrderAsc, Limit: apitype.MaxFileListLimit}, "", all, false},
		{apitype.ListParams{Limit: apitype.MaxFileListLimit}, "", reversed(all), false},
		{apitype.ListParams{Order: apitype.OrderAsc, Limit: 120, After: all[10]}, "", all[11:131], true},
		{apitype.ListParams{Order: apitype.OrderAsc, Limit: apitype.MaxFileListLimit}, "batch", batch, false},
		{apitype.ListParams{Order: apitype.OrderAsc, Limit: 49}, "batch", batch[:49], true},
	} {
		got := must(pageRead(s, func(tx store.Tx) (apitype.Page[apitype.File], error) { return tx.ListFiles(c.p, c.purpose) },
			func(f *apitype.File) string { return f.ID }))
		if !slices.Equal(got.ids, c.want) || got.more != c.more {
			t.Errorf("purpose %q limit %d after %q: %d files has_more %v; want %d has_more %v", c.purpose, c.p.Limit, c.p.After, len(got.ids), got.more, len(c.want), c.more)
		}
		if len(c.want) > 0 && (got.first == nil || got.last == nil || *got.first != c.want[0] || *got.last != c.want[len(c.want)-1]) {
			t.Errorf("purpose %q limit %d: first_id %s last_id %s", c.purpose, c.p.Limit, deref(got.first), deref(got.last))
		}
	}
}

// testVectorStoreFileFilters: a vector store's files of a status, a
// batch's files, both; a file detached is no longer its batch's.
func testVectorStoreFileFilters(s *suite) {
	t := s.t
	v := s.vectorStore()
	b, b2 := s.batch(v.ID), s.batch(v.ID)
	statuses := []string{"completed", "in_progress", "completed", "failed", "completed", "in_progress"}
	var f []string
	s.update(func(tx store.Tx) error {
		f = nil
		errs := []error{tx.PutVectorStore(v), tx.PutFileBatch(b), tx.PutFileBatch(b2)}
		for i, st := range statuses {
			id := s.id(store.PrefixFile)
			f = append(f, id)
			batch := ""
			switch i {
			case 1, 2, 4:
				batch = b.ID
			case 5:
				batch = b2.ID
			}
			errs = append(errs, tx.PutVectorStoreFile(s.vsFile(v.ID, id, st), batch))
		}
		return errors.Join(errs...)
	})
	asc := apitype.OrderAsc
	list := func(batch, status string, p apitype.ListParams) pageView {
		t.Helper()
		return must(pageRead(s, func(tx store.Tx) (apitype.Page[apitype.VectorStoreFile], error) {
			return tx.ListVectorStoreFiles(v.ID, batch, apitype.VectorStoreFileListParams{ListParams: p, Filter: status})
		}, func(f *apitype.VectorStoreFile) string { return f.ID }))
	}
	for _, c := range []struct {
		batch, status string
		p             apitype.ListParams
		want          []string
		more          bool
	}{
		{"", "completed", apitype.ListParams{Order: asc}, []string{f[0], f[2], f[4]}, false},
		{"", "completed", apitype.ListParams{Order: asc, Limit: 2}, []string{f[0], f[2]}, true},
		{"", "completed", apitype.ListParams{Limit: 2, After: f[4]}, []string{f[2], f[0]}, false},
		{"", "failed", apitype.ListParams{Order: asc}, []string{f[3]}, false},
		{"", "cancelled", apitype.ListParams{Order: asc}, nil, false},
		{b.ID, "", apitype.ListParams{Order: asc}, []string{f[1], f[2], f[4]}, false},
		{b.ID, "", apitype.ListParams{Order: asc, Limit: 2}, []string{f[1], f[2]}, true},
		{b.ID, "", apitype.ListParams{Limit: 2}, []string{f[4], f[2]}, true},
		{b.ID, "", apitype.ListParams{Order: asc, After: f[1]}, []string{f[2], f[4]}, false},
		{b.ID, "completed", apitype.ListParams{Order: asc}, []string{f[2], f[4]}, false},
		{b.ID, "in_progress", apitype.ListParams{Order: asc}, []string{f[1]}, false},
		{b2.ID, "", apitype.ListParams{Order: asc}, []string{f[5]}, false},
	} {
		got := list(c.batch, c.status, c.p)
		if !slices.Equal(got.ids, c.want) || got.more != c.more {
			t.Errorf("batch %q status %q %+v: %v has_more %v; want %v has_more %v", c.batch, c.status, c.p, got.ids, got.more, c.want, c.more)
		}
	}
	s.update(func(tx store.Tx) error { return tx.DeleteVectorStoreFile(v.ID, f[2]) })
	if got := list(b.ID, "", apitype.ListParams{Order: asc}); !slices.Equal(got.ids, []string{f[1], f[4]}) {
		t.Errorf("batch after detaching one of its files: %v; want %v", got.ids, []string{f[1], f[4]})
	}
}

// testContainersOfName: ListContainers with a name pages only those.
func testContainersOfName(s *suite) {
	t := s.t
	var a, all []string
	s.update(func(tx store.Tx) error {
		a, all = nil, nil
		for i := range 5 {
			name := "a"
			if i%2 == 1 {
				name = "b"
			}
			c := s.container(name, s.now, 20)
			all = append(all, c.ID)
			if name == "a" {
				a = append(a, c.ID)
			}
			if err := tx.PutContainer(c); err != nil {
				return err
			}
		}
		return nil
	})
	asc := apitype.OrderAsc
	for _, c := range []struct {
		name string
		p    apitype.ListParams
		want []string
		more bool
	}{
		{"", apitype.ListParams{Order: asc}, all, false},
		{"a", apitype.ListParams{Order: asc}, a, false},
		{"a", apitype.ListParams{Order: asc, Limit: 2}, a[:2], true},
		{"a", apitype.ListParams{Limit: 2, After: a[2]}, []string{a[1], a[0]}, false},
		{"a", apitype.ListParams{Order: asc, Before: a[2]}, a[:2], false},
		{"c", apitype.ListParams{}, nil, false},
	} {
		got := must(pageRead(s, func(tx store.Tx) (apitype.Page[apitype.Container], error) { return tx.ListContainers(c.p, c.name) },
			func(c *apitype.Container) string { return c.ID }))
		if !slices.Equal(got.ids, c.want) || got.more != c.more {
			t.Errorf("name %q %+v: %v has_more %v; want %v has_more %v", c.name, c.p, got.ids, got.more, c.want, c.more)
		}
	}
}

// testConversationItemPages: items page in insertion order (their ids need
// not sort), after an item the conversation holds or held; an unknown
// after is refused.
func testConversationItemPages(s *suite) {
	t := s.t
	c := s.conversation()
	// Ids a client chose: not in any sorted order.
	ids := []string{"msg_z", "msg_b", "msg_y", "msg_a", "msg_x", "msg_c"}
	items := make([]apitype.Item, len(ids))
	for i, id := range ids {
		items[i] = userItem(id, id)
	}
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.PutConversation(c), tx.AppendConversationItems(c.ID, items[:4], make([]int, 4)))
	})
	s.update(func(tx store.Tx) error { return tx.AppendConversationItems(c.ID, items[4:], make([]int, 2)) })
	s.update(func(tx store.Tx) error { return tx.DeleteConversationItem(c.ID, "msg_a") })
	kept := []string{"msg_z", "msg_b", "msg_y", "msg_x", "msg_c"}
	asc := apitype.OrderAsc
	for _, cs := range []struct {
		p    apitype.ListParams
		want []string
		more bool
	}{
		{apitype.ListParams{Order: asc}, kept, false},
		{apitype.ListParams{}, reversed(kept), false},
		{apitype.ListParams{Order: asc, Limit: 2}, kept[:2], true},
		{apitype.ListParams{Order: asc, Limit: 2, After: "msg_b"}, []string{"msg_y", "msg_x"}, true},
		{apitype.ListParams{Order: asc, Limit: 2, After: "msg_x"}, []string{"msg_c"}, false},
		{apitype.ListParams{Limit: 2, After: "msg_x"}, []string{"msg_y", "msg_b"}, true},
		{apitype.ListParams{Limit: 5, After: "msg_b"}, []string{"msg_z"}, false},
		// A deleted item's place is still a cursor.
		{apitype.ListParams{Order: asc, After: "msg_a"}, []string{"msg_x", "msg_c"}, false},
		{apitype.ListParams{After: "msg_a"}, []string{"msg_y", "msg_b", "msg_z"}, false},
	} {
		got := must(pageRead(s, func(tx store.Tx) (apitype.Page[apitype.Item], error) { return tx.ListConversationItems(c.ID, cs.p) }, itemID))
		if !slices.Equal(got.ids, cs.want) || got.more != cs.more {
			t.Errorf("%+v: %v has_more %v; want %v has_more %v", cs.p, got.ids, got.more, cs.want, cs.more)
		}
		checkEnds(t, fmt.Sprintf("%+v", cs.p), apitype.Page[string]{Object: apitype.ObjectList, Data: nonNil(got), FirstID: got.first, LastID: got.last}, cs.want)
	}
	wantInvalid(t, "after an item the conversation never held", readErr(s, func(tx store.Tx) error {
		_, err := tx.ListConversationItems(c.ID, apitype.ListParams{After: "msg_never"})
		return err
	}), "after")
}

// testResponseInputItemPages: a response's input items page in their
// order, after and before naming items of its input; other cursors are
// refused.
func testResponseInputItemPages(s *suite) {
	t := s.t
	r := s.response(apitype.ResponseCompleted, "")
	input, tokens := s.items("in", 6, 1)
	other := s.response(apitype.ResponseCompleted, "")
	oin, ot := s.items("other", 2, 1)
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.CreateResponse(r, input, tokens), tx.CreateResponse(other, oin, ot))
	})
	in := idsOf(input, itemID)
	asc := apitype.OrderAsc
	for _, c := range []struct {
		p    apitype.ListParams
		want []string
		more bool
	}{
		{apitype.ListParams{Order: asc}, in, false},
		{apitype.ListParams{}, reversed(in), false},
		{apitype.ListParams{Order: asc, Limit: 2}, in[:2], true},
		{apitype.ListParams{Limit: 2}, []string{in[5], in[4]}, true},
		{apitype.ListParams{Order: asc, Limit: 2, After: in[1]}, in[2:4], true},
		{apitype.ListParams{Order: asc, Limit: 2, After: in[3]}, in[4:6], false},
		{apitype.ListParams{Limit: 3, After: in[3]}, []string{in[2], in[1], in[0]}, false},
		// before, where every item before it fits the page.
		{apitype.ListParams{Order: asc, Before: in[2]}, in[:2], false},
		{apitype.ListParams{Before: in[3]}, []string{in[5], in[4]}, false},
		{apitype.ListParams{Order: asc, After: in[0], Before: in[4]}, in[1:4], false},
	} {
		got := must(pageRead(s, func(tx store.Tx) (apitype.Page[apitype.Item], error) { return tx.ListResponseInputItems(r.ID, c.p) }, itemID))
		if !slices.Equal(got.ids, c.want) || got.more != c.more {
			t.Errorf("%+v: %v has_more %v; want %v has_more %v", c.p, got.ids, got.more, c.want, c.more)
		}
		checkEnds(t, fmt.Sprintf("%+v", c.p), apitype.Page[string]{Object: apitype.ObjectList, Data: nonNil(got), FirstID: got.first, LastID: got.last}, c.want)
	}
	for _, c := range []struct {
		p     apitype.ListParams
		param string
	}{
		{apitype.ListParams{After: "msg_never"}, "after"},
		{apitype.ListParams{Before: "msg_never"}, "before"},
		{apitype.ListParams{After: oin[0].ID()}, "after"}, // another response's item
	} {
		wantInvalid(t, fmt.Sprintf("input items %+v", c.p), readErr(s, func(tx store.Tx) error {
			_, err := tx.ListResponseInputItems(r.ID, c.p)
			return err
		}), c.param)
	}
}
