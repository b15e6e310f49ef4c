package storetest

import (
	"errors"
	"slices"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// Entities: Put, Get, replace, Delete of every kind of object, and the
// not-found promise (unknown ids, objects of another parent, Puts under an
// unknown parent), each refusal changing nothing.
var entityCases = []testCase{
	{"Assistants", testAssistants},
	{"Threads", testThreads},
	{"Messages", testMessages},
	{"Runs", testRuns},
	{"Steps", testSteps},
	{"Files", testFiles},
	{"VectorStores", testVectorStores},
	{"VectorStoreFiles", testVectorStoreFiles},
	{"FileBatches", testFileBatches},
	{"Conversations", testConversations},
	{"ConversationItems", testConversationItems},
	{"Responses", testResponses},
	{"Containers", testContainers},
	{"ContainerFiles", testContainerFiles},
}

func testAssistants(s *suite) {
	t := s.t
	a, b := s.assistant(), s.assistant()
	s.update(func(tx store.Tx) error { return errors.Join(tx.PutAssistant(a), tx.PutAssistant(b)) })
	sameJSON(t, "GetAssistant", read(s, func(tx store.Tx) (*apitype.Assistant, error) { return tx.GetAssistant(a.ID) }), a)
	s.view(func(tx store.Tx) error {
		if ok, err := tx.HasAssistant(a.ID); !ok || err != nil {
			t.Errorf("HasAssistant(stored) = %v, %v", ok, err)
		}
		if ok, err := tx.HasAssistant(s.id(store.PrefixAssistant)); ok || err != nil {
			t.Errorf("HasAssistant(unknown) = %v, %v", ok, err)
		}
		_, err := tx.GetAssistant(s.id(store.PrefixAssistant))
		wantNotFound(t, "GetAssistant(unknown)", err)
		return nil
	})
	a.Name, a.Metadata = ptr("renamed"), apitype.Metadata{"k": "w"}
	s.update(func(tx store.Tx) error { return tx.PutAssistant(a) })
	sameJSON(t, "GetAssistant after replace", read(s, func(tx store.Tx) (*apitype.Assistant, error) { return tx.GetAssistant(a.ID) }), a)
	wantNotFound(t, "DeleteAssistant(unknown)", s.d.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteAssistant(s.id(store.PrefixAssistant)) }))
	s.update(func(tx store.Tx) error { return tx.DeleteAssistant(a.ID) })
	s.view(func(tx store.Tx) error {
		_, err := tx.GetAssistant(a.ID)
		wantNotFound(t, "GetAssistant(deleted)", err)
		if ok, err := tx.HasAssistant(a.ID); ok || err != nil {
			t.Errorf("HasAssistant(deleted) = %v, %v", ok, err)
		}
		if _, err := tx.GetAssistant(b.ID); err != nil {
			t.Errorf("the other assistant: %v", err)
		}
		return nil
	})
	wantNotFound(t, "DeleteAssistant(deleted)", s.d.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteAssistant(a.ID) }))
}

func testThreads(s *suite) {
	t := s.t
	th := s.thread()
	s.update(func(tx store.Tx) error { return tx.PutThread(th) })
	sameJSON(t, "GetThread", read(s, func(tx store.Tx) (*apitype.Thread, error) { return tx.GetThread(th.ID) }), th)
	th.Metadata = apitype.Metadata{"topic": "changed"}
	m := s.message(th.ID, "kept across a thread's replace")
	s.update(func(tx store.Tx) error { return errors.Join(tx.PutMessage(m, 3), tx.PutThread(th)) })
	s.view(func(tx store.Tx) error {
		got, err := tx.GetThread(th.ID)
		if err != nil {
			return err
		}
		sameJSON(t, "GetThread after replace", got, th)
		// Replacing a thread's record keeps what it holds.
		if n, err := tx.CountMessages(th.ID); n != 1 || err != nil {
			t.Errorf("CountMessages after the thread's replace = %d, %v; want 1", n, err)
		}
		if ok, err := tx.HasThread(th.ID); !ok || err != nil {
			t.Errorf("HasThread(stored) = %v, %v", ok, err)
		}
		for _, id := range []string{s.id(store.PrefixThread), ""} {
			if ok, err := tx.HasThread(id); ok || err != nil {
				t.Errorf("HasThread(%q) = %v, %v", id, ok, err)
			}
		}
		_, err = tx.GetThread(s.id(store.PrefixThread))
		wantNotFound(t, "GetThread(unknown)", err)
		return nil
	})
	wantNotFound(t, "DeleteThread(unknown)", s.d.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteThread(s.id(store.PrefixThread)) }))
	s.update(func(tx store.Tx) error { return tx.DeleteThread(th.ID) })
	s.view(func(tx store.Tx) error {
		_, err := tx.GetThread(th.ID)
		wantNotFound(t, "GetThread(deleted)", err)
		if ok, err := tx.HasThread(th.ID); ok || err != nil {
			t.Errorf("HasThread(deleted) = %v, %v", ok, err)
		}
		return nil
	})
}

func testMessages(s *suite) {
	t := s.t
	th, other := s.thread(), s.thread()
	m := s.message(th.ID, "hello")
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.PutThread(th), tx.PutThread(other), tx.PutMessage(m, 5))
	})
	sameJSON(t, "GetMessage", read(s, func(tx store.Tx) (*apitype.Message, error) { return tx.GetMessage(th.ID, m.ID) }), m)
	m.Content[0].Text.Value, m.Status = "hello again", apitype.MessageIncomplete
	s.update(func(tx store.Tx) error { return tx.PutMessage(m, 6) })
	s.view(func(tx store.Tx) error {
		got, err := tx.GetMessage(th.ID, m.ID)
		if err != nil {
			return err
		}
		sameJSON(t, "GetMessage after replace", got, m)
		if n, err := tx.CountMessages(th.ID); n != 1 || err != nil {
			t.Errorf("CountMessages after a replace = %d, %v; want 1", n, err)
		}
		_, err = tx.GetMessage(other.ID, m.ID)
		wantNotFound(t, "GetMessage of another thread", err)
		_, err = tx.GetMessage(th.ID, s.id(store.PrefixMessage))
		wantNotFound(t, "GetMessage(unknown)", err)
		_, err = tx.GetMessage(s.id(store.PrefixThread), m.ID)
		wantNotFound(t, "GetMessage of an unknown thread", err)
		_, err = tx.CountMessages(s.id(store.PrefixThread))
		wantNotFound(t, "CountMessages of an unknown thread", err)
		_, err = tx.ListMessages(s.id(store.PrefixThread), apitype.MessageListParams{})
		wantNotFound(t, "ListMessages of an unknown thread", err)
		return nil
	})
	wantNotFound(t, "PutMessage in an unknown thread", s.d.Update(t.Context(), func(tx store.Tx) error {
		return tx.PutMessage(s.message(s.id(store.PrefixThread), "lost"), 1)
	}))
	wantNotFound(t, "DeleteMessage of another thread", s.d.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteMessage(other.ID, m.ID) }))
	wantNotFound(t, "DeleteMessage(unknown)", s.d.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteMessage(th.ID, s.id(store.PrefixMessage)) }))
	if n := read(s, func(tx store.Tx) (int, error) { return tx.CountMessages(th.ID) }); n != 1 {
		t.Fatalf("refused deletes changed the count: %d", n)
	}
	s.update(func(tx store.Tx) error { return tx.DeleteMessage(th.ID, m.ID) })
	s.view(func(tx store.Tx) error {
		_, err := tx.GetMessage(th.ID, m.ID)
		wantNotFound(t, "GetMessage(deleted)", err)
		if n, err := tx.CountMessages(th.ID); n != 0 || err != nil {
			t.Errorf("CountMessages after delete = %d, %v", n, err)
		}
		return nil
	})
}

func testRuns(s *suite) {
	t := s.t
	th, other := s.thread(), s.thread()
	r := s.run(th.ID, apitype.RunQueued)
	s.update(func(tx store.Tx) error { return errors.Join(tx.PutThread(th), tx.PutThread(other), tx.PutRun(r)) })
	sameJSON(t, "GetRun", read(s, func(tx store.Tx) (*apitype.Run, error) { return tx.GetRun(th.ID, r.ID) }), r)
	r.Status, r.StartedAt, r.LastError = apitype.RunFailed, ptr(s.now+1), &apitype.LastError{Code: "server_error", Message: "boom"}
	s.update(func(tx store.Tx) error { return tx.PutRun(r) })
	s.view(func(tx store.Tx) error {
		got, err := tx.GetRun(th.ID, r.ID)
		if err != nil {
			return err
		}
		sameJSON(t, "GetRun after replace", got, r)
		_, err = tx.GetRun(other.ID, r.ID)
		wantNotFound(t, "GetRun of another thread", err)
		_, err = tx.GetRun(th.ID, s.id(store.PrefixRun))
		wantNotFound(t, "GetRun(unknown)", err)
		_, err = tx.GetRun(s.id(store.PrefixThread), r.ID)
		wantNotFound(t, "GetRun of an unknown thread", err)
		_, err = tx.ListRuns(s.id(store.PrefixThread), apitype.ListParams{})
		wantNotFound(t, "ListRuns of an unknown thread", err)
		return nil
	})
	wantNotFound(t, "PutRun in an unknown thread", s.d.Update(t.Context(), func(tx store.Tx) error {
		return tx.PutRun(s.run(s.id(store.PrefixThread), apitype.RunQueued))
	}))
}

func testSteps(s *suite) {
	t := s.t
	th := s.thread()
	r, r2 := s.run(th.ID, apitype.RunInProgress), s.run(th.ID, apitype.RunCompleted)
	st := s.step(r)
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.PutThread(th), tx.PutRun(r), tx.PutRun(r2), tx.PutStep(st))
	})
	sameJSON(t, "GetStep", read(s, func(tx store.Tx) (*apitype.RunStep, error) { return tx.GetStep(th.ID, r.ID, st.ID) }), st)
	st.Status, st.LastError = apitype.StepFailed, &apitype.LastError{Code: "server_error", Message: "boom"}
	s.update(func(tx store.Tx) error { return tx.PutStep(st) })
	s.view(func(tx store.Tx) error {
		got, err := tx.GetStep(th.ID, r.ID, st.ID)
		if err != nil {
			return err
		}
		sameJSON(t, "GetStep after replace", got, st)
		_, err = tx.GetStep(th.ID, r2.ID, st.ID)
		wantNotFound(t, "GetStep of another run", err)
		_, err = tx.GetStep(th.ID, r.ID, s.id(store.PrefixStep))
		wantNotFound(t, "GetStep(unknown)", err)
		_, err = tx.GetStep(s.id(store.PrefixThread), r.ID, st.ID)
		wantNotFound(t, "GetStep of an unknown thread", err)
		_, err = tx.ListSteps(s.id(store.PrefixThread), r.ID, apitype.ListParams{})
		wantNotFound(t, "ListSteps of an unknown thread", err)
		// A run the thread does not hold (yet) lists no steps.
		if page, err := tx.ListSteps(th.ID, s.id(store.PrefixRun), apitype.ListParams{}); err != nil || len(page.Data) != 0 {
			t.Errorf("ListSteps of a run not stored yet: %d steps, %v; want an empty page", len(page.Data), err)
		} else {
			checkEnds(t, "ListSteps of a run not stored yet", page, nil)
		}
		return nil
	})
	other := s.thread()
	s.update(func(tx store.Tx) error { return tx.PutThread(other) })
	s.view(func(tx store.Tx) error {
		_, err := tx.GetStep(other.ID, r.ID, st.ID)
		wantNotFound(t, "GetStep under another thread", err)
		if page, err := tx.ListSteps(other.ID, r.ID, apitype.ListParams{}); err != nil || len(page.Data) != 0 {
			t.Errorf("ListSteps of a run of another thread: %d steps, %v; want an empty page", len(page.Data), err)
		}
		return nil
	})
	wantNotFound(t, "PutStep of an unknown run", s.d.Update(t.Context(), func(tx store.Tx) error {
		lost := s.step(r)
		lost.RunID = s.id(store.PrefixRun)
		return tx.PutStep(lost)
	}))
	wantNotFound(t, "PutStep of a run of another thread", s.d.Update(t.Context(), func(tx store.Tx) error {
		lost := s.step(r)
		lost.ThreadID = other.ID
		return tx.PutStep(lost)
	}))
}

func testFiles(s *suite) {
	t := s.t
	f := s.file("assistants", 100)
	s.update(func(tx store.Tx) error { return tx.PutFile(f) })
	sameJSON(t, "GetFile", read(s, func(tx store.Tx) (*apitype.File, error) { return tx.GetFile(f.ID) }), f)
	f.Status = "error"
	s.update(func(tx store.Tx) error { return tx.PutFile(f) })
	sameJSON(t, "GetFile after replace", read(s, func(tx store.Tx) (*apitype.File, error) { return tx.GetFile(f.ID) }), f)
	wantNotFound(t, "GetFile(unknown)", readErr(s, func(tx store.Tx) error { _, err := tx.GetFile(s.id(store.PrefixFile)); return err }))
	wantNotFound(t, "DeleteFile(unknown)", s.d.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteFile(s.id(store.PrefixFile)) }))
	s.update(func(tx store.Tx) error { return tx.DeleteFile(f.ID) })
	wantNotFound(t, "GetFile(deleted)", readErr(s, func(tx store.Tx) error { _, err := tx.GetFile(f.ID); return err }))
}

func testVectorStores(s *suite) {
	t := s.t
	v := s.vectorStore()
	s.update(func(tx store.Tx) error { return tx.PutVectorStore(v) })
	sameJSON(t, "GetVectorStore", read(s, func(tx store.Tx) (*apitype.VectorStore, error) { return tx.GetVectorStore(v.ID) }), v)
	f := s.vsFile(v.ID, s.id(store.PrefixFile), "completed")
	v.Name, v.FileCounts = "renamed", apitype.FileCounts{Completed: 1, Total: 1}
	s.update(func(tx store.Tx) error { return errors.Join(tx.PutVectorStoreFile(f, ""), tx.PutVectorStore(v)) })
	s.view(func(tx store.Tx) error {
		got, err := tx.GetVectorStore(v.ID)
		if err != nil {
			return err
		}
		sameJSON(t, "GetVectorStore after replace", got, v)
		if _, err := tx.GetVectorStoreFile(v.ID, f.ID); err != nil {
			t.Errorf("a vector store's replace lost its file: %v", err)
		}
		_, err = tx.GetVectorStore(s.id(store.PrefixVectorStore))
		wantNotFound(t, "GetVectorStore(unknown)", err)
		return nil
	})
	wantNotFound(t, "DeleteVectorStore(unknown)", s.d.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteVectorStore(s.id(store.PrefixVectorStore)) }))
	s.update(func(tx store.Tx) error { return tx.DeleteVectorStore(v.ID) })
	wantNotFound(t, "GetVectorStore(deleted)", readErr(s, func(tx store.Tx) error { _, err := tx.GetVectorStore(v.ID); return err }))
}

func testVectorStoreFiles(s *suite) {
	t := s.t
	v, w := s.vectorStore(), s.vectorStore()
	fileID := s.id(store.PrefixFile)
	f := s.vsFile(v.ID, fileID, "in_progress")
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.PutVectorStore(v), tx.PutVectorStore(w), tx.PutVectorStoreFile(f, ""))
	})
	sameJSON(t, "GetVectorStoreFile", read(s, func(tx store.Tx) (*apitype.VectorStoreFile, error) { return tx.GetVectorStoreFile(v.ID, fileID) }), f)
	f.Status, f.LastError = "failed", &apitype.LastError{Code: "server_error", Message: "parse"}
	wf := s.vsFile(w.ID, fileID, "completed")
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.PutVectorStoreFile(f, ""), tx.PutVectorStoreFile(wf, ""))
	})
	s.view(func(tx store.Tx) error {
		got, err := tx.GetVectorStoreFile(v.ID, fileID)
		if err != nil {
			return err
		}
		sameJSON(t, "GetVectorStoreFile after replace", got, f)
		sameJSON(t, "the same file in another vector store", must(tx.GetVectorStoreFile(w.ID, fileID)), wf)
		holding, err := tx.VectorStoresHolding(fileID)
		if slices.Sort(holding); err != nil || !slices.Equal(holding, []string{v.ID, w.ID}) {
			t.Errorf("VectorStoresHolding = %v, %v; want %v", holding, err, []string{v.ID, w.ID})
		}
		if holding, err := tx.VectorStoresHolding(s.id(store.PrefixFile)); len(holding) != 0 || err != nil {
			t.Errorf("VectorStoresHolding(unknown) = %v, %v", holding, err)
		}
		_, err = tx.GetVectorStoreFile(v.ID, s.id(store.PrefixFile))
		wantNotFound(t, "GetVectorStoreFile(unknown)", err)
		_, err = tx.GetVectorStoreFile(s.id(store.PrefixVectorStore), fileID)
		wantNotFound(t, "GetVectorStoreFile of an unknown vector store", err)
		_, err = tx.ListVectorStoreFiles(s.id(store.PrefixVectorStore), "", apitype.VectorStoreFileListParams{})
		wantNotFound(t, "ListVectorStoreFiles of an unknown vector store", err)
		wantNotFound(t, "EachVectorStoreFile of an unknown vector store",
			tx.EachVectorStoreFile(s.id(store.PrefixVectorStore), func(*apitype.VectorStoreFile) error { return nil }))
		return nil
	})
	wantNotFound(t, "PutVectorStoreFile in an unknown vector store", s.d.Update(t.Context(), func(tx store.Tx) error {
		return tx.PutVectorStoreFile(s.vsFile(s.id(store.PrefixVectorStore), fileID, "completed"), "")
	}))
	wantNotFound(t, "DeleteVectorStoreFile(unknown)", s.d.Update(t.Context(), func(tx store.Tx) error {
		return tx.DeleteVectorStoreFile(v.ID, s.id(store.PrefixFile))
	}))
	s.update(func(tx store.Tx) error { return tx.DeleteVectorStoreFile(v.ID, fileID) })
	s.view(func(tx store.Tx) error {
		_, err := tx.GetVectorStoreFile(v.ID, fileID)
		wantNotFound(t, "GetVectorStoreFile(detached)", err)
		if _, err := tx.GetVectorStoreFile(w.ID, fileID); err != nil {
			t.Errorf("detaching from one vector store detached from another: %v", err)
		}
		if holding, err := tx.VectorStoresHolding(fileID); err != nil || !slices.Equal(holding, []string{w.ID}) {
			t.Errorf("VectorStoresHolding after detach = %v, %v; want [%s]", holding, err, w.ID)
		}
		return nil
	})
	wantNotFound(t, "DeleteVectorStoreFile(detached)", s.d.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteVectorStoreFile(v.ID, fileID) }))
}

func testFileBatches(s *suite) {
	t := s.t
	v, w := s.vectorStore(), s.vectorStore()
	b := s.batch(v.ID)
	f1, f2, f3 := s.vsFile(v.ID, s.id(store.PrefixFile), "in_progress"), s.vsFile(v.ID, s.id(store.PrefixFile), "in_progress"), s.vsFile(v.ID, s.id(store.PrefixFile), "completed")
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.PutVectorStore(v), tx.PutVectorStore(w), tx.PutFileBatch(b),
			tx.PutVectorStoreFile(f1, b.ID), tx.PutVectorStoreFile(f2, b.ID), tx.PutVectorStoreFile(f3, ""))
	})
	sameJSON(t, "GetFileBatch", read(s, func(tx store.Tx) (*apitype.VectorStoreFileBatch, error) { return tx.GetFileBatch(v.ID, b.ID) }), b)
	b.Status, b.FileCounts = "completed", apitype.FileCounts{Completed: 2, Total: 2}
	s.update(func(tx store.Tx) error { return tx.PutFileBatch(b) })
	s.view(func(tx store.Tx) error {
		sameJSON(t, "GetFileBatch after replace", must(tx.GetFileBatch(v.ID, b.ID)), b)
		ids, err := tx.BatchFileIDs(v.ID, b.ID)
		if slices.Sort(ids); err != nil || !slices.Equal(ids, []string{f1.ID, f2.ID}) {
			t.Errorf("BatchFileIDs = %v, %v; want %v", ids, err, []string{f1.ID, f2.ID})
		}
		if of, err := tx.ListFileBatchesOf(v.ID, f1.ID); err != nil || !slices.Equal(of, []string{b.ID}) {
			t.Errorf("ListFileBatchesOf(in the batch) = %v, %v", of, err)
		}
		if of, err := tx.ListFileBatchesOf(v.ID, f3.ID); err != nil || len(of) != 0 {
			t.Errorf("ListFileBatchesOf(in no batch) = %v, %v", of, err)
		}
		_, err = tx.GetFileBatch(w.ID, b.ID)
		wantNotFound(t, "GetFileBatch of another vector store", err)
		_, err = tx.GetFileBatch(v.ID, s.id(store.PrefixFileBatch))
		wantNotFound(t, "GetFileBatch(unknown)", err)
		_, err = tx.GetFileBatch(s.id(store.PrefixVectorStore), b.ID)
		wantNotFound(t, "GetFileBatch of an unknown vector store", err)
		_, err = tx.BatchFileIDs(s.id(store.PrefixVectorStore), b.ID)
		wantNotFound(t, "BatchFileIDs of an unknown vector store", err)
		_, err = tx.ListFileBatchesOf(s.id(store.PrefixVectorStore), f1.ID)
		wantNotFound(t, "ListFileBatchesOf of an unknown vector store", err)
		return nil
	})
	wantNotFound(t, "PutFileBatch in an unknown vector store", s.d.Update(t.Context(), func(tx store.Tx) error {
		return tx.PutFileBatch(s.batch(s.id(store.PrefixVectorStore)))
	}))
}

func testConversations(s *suite) {
	t := s.t
	c := s.conversation()
	s.update(func(tx store.Tx) error { return tx.PutConversation(c) })
	sameJSON(t, "GetConversation", read(s, func(tx store.Tx) (*apitype.Conversation, error) { return tx.GetConversation(c.ID) }), c)
	items, tokens := s.items("c", 2, 1)
	c.Metadata = apitype.Metadata{"k": "w"}
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.AppendConversationItems(c.ID, items, tokens), tx.PutConversation(c))
	})
	s.view(func(tx store.Tx) error {
		sameJSON(t, "GetConversation after replace", must(tx.GetConversation(c.ID)), c)
		if n, err := tx.CountConversationItems(c.ID); n != 2 || err != nil {
			t.Errorf("a conversation's replace lost its items: %d, %v", n, err)
		}
		_, err := tx.GetConversation(s.id(store.PrefixConversation))
		wantNotFound(t, "GetConversation(unknown)", err)
		return nil
	})
	wantNotFound(t, "DeleteConversation(unknown)", s.d.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteConversation(s.id(store.PrefixConversation)) }))
	s.update(func(tx store.Tx) error { return tx.DeleteConversation(c.ID) })
	wantNotFound(t, "GetConversation(deleted)", readErr(s, func(tx store.Tx) error { _, err := tx.GetConversation(c.ID); return err }))
}

func testConversationItems(s *suite) {
	t := s.t
	c, other := s.conversation(), s.conversation()
	items, tokens := s.items("a", 4, 10)
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.PutConversation(c), tx.PutConversation(other), tx.AppendConversationItems(c.ID, items, tokens))
	})
	id := items[1].ID()
	s.view(func(tx store.Tx) error {
		sameJSON(t, "GetConversationItem", must(tx.GetConversationItem(c.ID, id)), items[1])
		if n, err := tx.CountConversationItems(c.ID); n != 4 || err != nil {
			t.Errorf("CountConversationItems = %d, %v; want 4", n, err)
		}
		_, err := tx.GetConversationItem(other.ID, id)
		wantNotFound(t, "GetConversationItem of another conversation", err)
		_, err = tx.GetConversationItem(c.ID, "msg_unknown")
		wantNotFound(t, "GetConversationItem(unknown)", err)
		_, err = tx.GetConversationItem(s.id(store.PrefixConversation), id)
		wantNotFound(t, "GetConversationItem of an unknown conversation", err)
		_, err = tx.CountConversationItems(s.id(store.PrefixConversation))
		wantNotFound(t, "CountConversationItems of an unknown conversation", err)
		_, err = tx.ListConversationItems(s.id(store.PrefixConversation), apitype.ListParams{})
		wantNotFound(t, "ListConversationItems of an unknown conversation", err)
		return nil
	})
	// The same ids may be another conversation's.
	s.update(func(tx store.Tx) error { return tx.AppendConversationItems(other.ID, items[:1], tokens[:1]) })
	// Refusals: an unknown conversation, an item without an id, an id the
	// conversation holds (in the store or earlier in the same call).
	wantNotFound(t, "AppendConversationItems to an unknown conversation", s.d.Update(t.Context(), func(tx store.Tx) error {
		return tx.AppendConversationItems(s.id(store.PrefixConversation), items[:1], tokens[:1])
	}))
	fresh, ft := s.items("fresh", 2, 1)
	noID := userItem("", "anonymous")
	wantInvalid(t, "an item without an id", s.d.Update(t.Context(), func(tx store.Tx) error {
		return tx.AppendConversationItems(c.ID, []apitype.Item{fresh[0], noID}, []int{1, 1})
	}), "items[1].id")
	wantInvalid(t, "an id the conversation holds", s.d.Update(t.Context(), func(tx store.Tx) error {
		return tx.AppendConversationItems(c.ID, []apitype.Item{fresh[0], items[2]}, []int{1, 1})
	}), "items[1].id")
	wantInvalid(t, "an id twice in one append", s.d.Update(t.Context(), func(tx store.Tx) error {
		return tx.AppendConversationItems(c.ID, []apitype.Item{fresh[0], fresh[1], fresh[0]}, []int{1, 1, 1})
	}), "items[2].id")
	if n := read(s, func(tx store.Tx) (int, error) { return tx.CountConversationItems(c.ID) }); n != 4 {
		t.Fatalf("refused appends changed the conversation: %d items", n)
	}
	s.update(func(tx store.Tx) error { return tx.AppendConversationItems(c.ID, fresh, ft) })
	wantNotFound(t, "DeleteConversationItem of another conversation", s.d.Update(t.Context(), func(tx store.Tx) error {
		return tx.DeleteConversationItem(other.ID, id)
	}))
	wantNotFound(t, "DeleteConversationItem(unknown)", s.d.Update(t.Context(), func(tx store.Tx) error {
		return tx.DeleteConversationItem(c.ID, "msg_unknown")
	}))
	s.update(func(tx store.Tx) error { return tx.DeleteConversationItem(c.ID, id) })
	s.view(func(tx store.Tx) error {
		_, err := tx.GetConversationItem(c.ID, id)
		wantNotFound(t, "GetConversationItem(deleted)", err)
		if n, err := tx.CountConversationItems(c.ID); n != 5 || err != nil {
			t.Errorf("CountConversationItems after delete = %d, %v; want 5", n, err)
		}
		return nil
	})
	wantNotFound(t, "DeleteConversationItem(deleted)", s.d.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteConversationItem(c.ID, id) }))
	// A deleted item's id is no longer held: it may be appended again, at
	// the end.
	s.update(func(tx store.Tx) error { return tx.AppendConversationItems(c.ID, items[1:2], []int{99}) })
	got := read(s, func(tx store.Tx) (apitype.Page[apitype.Item], error) {
		return tx.ListConversationItems(c.ID, apitype.ListParams{Order: apitype.OrderAsc})
	})
	want := []string{items[0].ID(), items[2].ID(), items[3].ID(), fresh[0].ID(), fresh[1].ID(), id}
	if ids := idsOf(got.Data, itemID); !slices.Equal(ids, want) {
		t.Errorf("items after re-adding a deleted id: %v, want %v", ids, want)
	}
}

func testResponses(s *suite) {
	t := s.t
	r := s.response(apitype.ResponseQueued, "")
	input, tokens := s.items("in", 3, 1)
	s.update(func(tx store.Tx) error { return tx.CreateResponse(r, input, tokens) })
	s.view(func(tx store.Tx) error {
		got, err := tx.GetResponse(r.ID)
		if err != nil {
			return err
		}
		want := *r
		want.Output = []apitype.Item{}
		sameJSON(t, "GetResponse", got, &want)
		if ok, err := tx.HasResponse(r.ID); !ok || err != nil {
			t.Errorf("HasResponse(stored) = %v, %v", ok, err)
		}
		if ok, err := tx.HasResponse(s.id(store.PrefixResponse)); ok || err != nil {
			t.Errorf("HasResponse(unknown) = %v, %v", ok, err)
		}
		_, err = tx.GetResponse(s.id(store.PrefixResponse))
		wantNotFound(t, "GetResponse(unknown)", err)
		_, err = tx.ListResponseInputItems(s.id(store.PrefixResponse), apitype.ListParams{})
		wantNotFound(t, "ListResponseInputItems(unknown)", err)
		return nil
	})
	// Output as it grows: PutResponse with tokens replaces the output; nil
	// tokens leave it.
	r.Status = apitype.ResponseInProgress
	r.Output = []apitype.Item{assistantItem("msg_out_1", "partial")}
	s.update(func(tx store.Tx) error { return tx.PutResponse(r, []int{4}) })
	sameJSON(t, "GetResponse with output", read(s, func(tx store.Tx) (*apitype.Response, error) { return tx.GetResponse(r.ID) }), r)
	r.Output = []apitype.Item{assistantItem("msg_out_1", "whole"), assistantItem("msg_out_2", "more")}
	s.update(func(tx store.Tx) error { return tx.PutResponse(r, []int{5, 6}) })
	sameJSON(t, "GetResponse with output replaced", read(s, func(tx store.Tx) (*apitype.Response, error) { return tx.GetResponse(r.ID) }), r)
	kept := r.Output
	r.Status, r.CompletedAt, r.Output = apitype.ResponseCompleted, ptr(s.now+2), nil
	s.update(func(tx store.Tx) error { return tx.PutResponse(r, nil) })
	s.view(func(tx store.Tx) error {
		got := must(tx.GetResponse(r.ID))
		want := *r
		want.Output = kept
		sameJSON(t, "GetResponse after a head-only put", got, &want)
		return nil
	})
	// Stored whole, with its output, as a response stored at its end is.
	done := s.response(apitype.ResponseCompleted, r.ID)
	done.Output = []apitype.Item{assistantItem("msg_done", "done")}
	din, dt := s.items("din", 1, 1)
	s.update(func(tx store.Tx) error { return tx.CreateResponseOutput(done, din, dt, []int{7}) })
	sameJSON(t, "CreateResponseOutput's response", read(s, func(tx store.Tx) (*apitype.Response, error) { return tx.GetResponse(done.ID) }), done)
	wantNotFound(t, "DeleteResponse(unknown)", s.d.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteResponse(s.id(store.PrefixResponse)) }))
	s.update(func(tx store.Tx) error { return tx.DeleteResponse(r.ID) })
	s.view(func(tx store.Tx) error {
		_, err := tx.GetResponse(r.ID)
		wantNotFound(t, "GetResponse(deleted)", err)
		if ok, err := tx.HasResponse(r.ID); ok || err != nil {
			t.Errorf("HasResponse(deleted) = %v, %v", ok, err)
		}
		_, err = tx.ListResponseInputItems(r.ID, apitype.ListParams{})
		wantNotFound(t, "ListResponseInputItems(deleted)", err)
		// The response naming it as previous keeps its own.
		sameJSON(t, "the next response", must(tx.GetResponse(done.ID)), done)
		return nil
	})
}

func testContainers(s *suite) {
	t := s.t
	c := s.container("box", s.now, 20)
	s.update(func(tx store.Tx) error { return tx.PutContainer(c) })
	sameJSON(t, "GetContainer", read(s, func(tx store.Tx) (*apitype.Container, error) { return tx.GetContainer(c.ID) }), c)
	f := s.containerFile(c.ID, "/mnt/data/a.txt")
	c.LastActiveAt = s.now + 60
	s.update(func(tx store.Tx) error { return errors.Join(tx.PutContainerFile(f), tx.PutContainer(c)) })
	s.view(func(tx store.Tx) error {
		sameJSON(t, "GetContainer after replace", must(tx.GetContainer(c.ID)), c)
		if _, err := tx.GetContainerFile(c.ID, f.ID); err != nil {
			t.Errorf("a container's replace lost its file: %v", err)
		}
		_, err := tx.GetContainer(s.id(store.PrefixContainer))
		wantNotFound(t, "GetContainer(unknown)", err)
		return nil
	})
	wantNotFound(t, "DeleteContainer(unknown)", s.d.Update(t.Context(), func(tx store.Tx) error {
		_, err := tx.DeleteContainer(s.id(store.PrefixContainer))
		return err
	}))
	var gone []apitype.ContainerFile
	s.update(func(tx store.Tx) (err error) { gone, err = tx.DeleteContainer(c.ID); return err })
	sameJSON(t, "DeleteContainer's files", gone, []apitype.ContainerFile{*f})
	s.view(func(tx store.Tx) error {
		_, err := tx.GetContainer(c.ID)
		wantNotFound(t, "GetContainer(deleted)", err)
		return nil
	})
}

func testContainerFiles(s *suite) {
	t := s.t
	c, other := s.container("a", s.now, 20), s.container("b", s.now, 20)
	f := s.containerFile(c.ID, "/mnt/data/a.txt")
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.PutContainer(c), tx.PutContainer(other), tx.PutContainerFile(f))
	})
	sameJSON(t, "GetContainerFile", read(s, func(tx store.Tx) (*apitype.ContainerFile, error) { return tx.GetContainerFile(c.ID, f.ID) }), f)
	f.Bytes, f.Source = 43, apitype.ContainerFileAssistant
	f2 := s.containerFile(c.ID, "/mnt/data/b.txt")
	s.update(func(tx store.Tx) error { return errors.Join(tx.PutContainerFile(f), tx.PutContainerFile(f2)) })
	s.view(func(tx store.Tx) error {
		sameJSON(t, "GetContainerFile after replace", must(tx.GetContainerFile(c.ID, f.ID)), f)
		sameJSON(t, "ContainerFiles", must(tx.ContainerFiles(c.ID)), []apitype.ContainerFile{*f, *f2})
		if files, err := tx.ContainerFiles(other.ID); len(files) != 0 || err != nil {
			t.Errorf("ContainerFiles(another) = %v, %v", files, err)
		}
		_, err := tx.GetContainerFile(other.ID, f.ID)
		wantNotFound(t, "GetContainerFile of another container", err)
		_, err = tx.GetContainerFile(c.ID, s.id(store.PrefixContainerFile))
		wantNotFound(t, "GetContainerFile(unknown)", err)
		_, err = tx.GetContainerFile(s.id(store.PrefixContainer), f.ID)
		wantNotFound(t, "GetContainerFile of an unknown container", err)
		_, err = tx.ListContainerFiles(s.id(store.PrefixContainer), apitype.ListParams{})
		wantNotFound(t, "ListContainerFiles of an unknown container", err)
		return nil
	})
	wantNotFound(t, "PutContainerFile in an unknown container", s.d.Update(t.Context(), func(tx store.Tx) error {
		return tx.PutContainerFile(s.containerFile(s.id(store.PrefixContainer), "/mnt/data/x"))
	}))
	wantNotFound(t, "DeleteContainerFile of another container", s.d.Update(t.Context(), func(tx store.Tx) error {
		return tx.DeleteContainerFile(other.ID, f.ID)
	}))
	s.update(func(tx store.Tx) error { return tx.DeleteContainerFile(c.ID, f.ID) })
	s.view(func(tx store.Tx) error {
		_, err := tx.GetContainerFile(c.ID, f.ID)
		wantNotFound(t, "GetContainerFile(deleted)", err)
		sameJSON(t, "ContainerFiles after delete", must(tx.ContainerFiles(c.ID)), []apitype.ContainerFile{*f2})
		return nil
	})
	wantNotFound(t, "DeleteContainerFile(deleted)", s.d.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteContainerFile(c.ID, f.ID) }))
}

// must is v, or on err a panic that the subtest's runner turns into a
// failure (a read inside a View whose result is compared next).
func must[T any](v T, err error) T {
	if err != nil {
		panic(mustFailed{err})
	}
	return v
}

type mustFailed struct{ err error }
