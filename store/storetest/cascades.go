package storetest

import (
	"errors"
	"slices"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// Cascades: a delete takes what the object owns with it, in the same
// transaction, and leaves other objects alone. Each test stores the
// object again under the same id afterwards: it must come back empty.
var cascadeCases = []testCase{
	{"DeleteThread", testDeleteThread},
	{"DeleteVectorStore", testDeleteVectorStore},
	{"DeleteConversation", testDeleteConversation},
	{"DeleteContainer", testDeleteContainer},
	{"DeleteResponse", testDeleteResponse},
}

func testDeleteThread(s *suite) {
	t := s.t
	th, keep := s.thread(), s.thread()
	m := s.message(th.ID, "doomed")
	done, live := s.run(th.ID, apitype.RunCompleted), s.run(th.ID, apitype.RunInProgress)
	st := s.step(done)
	km, kr := s.message(keep.ID, "kept"), s.run(keep.ID, apitype.RunQueued)
	out := s.file("assistants_output", 3)
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.PutThread(th), tx.PutThread(keep), tx.PutMessage(m, 1), tx.PutRun(done), tx.PutRun(live),
			tx.PutStep(st), tx.PutOutputFile(th.ID, out), tx.PutMessage(km, 1), tx.PutRun(kr))
	})
	s.update(func(tx store.Tx) error { return tx.DeleteThread(th.ID) })
	s.view(func(tx store.Tx) error {
		_, err := tx.GetMessage(th.ID, m.ID)
		wantNotFound(t, "a deleted thread's message", err)
		_, err = tx.GetRun(th.ID, done.ID)
		wantNotFound(t, "a deleted thread's run", err)
		_, err = tx.GetStep(th.ID, done.ID, st.ID)
		wantNotFound(t, "a deleted thread's step", err)
		if id, err := tx.ActiveRun(th.ID); id != "" || err != nil {
			t.Errorf("a deleted thread's active run: %q, %v", id, err)
		}
		if id, err := tx.ActiveRun(keep.ID); id != kr.ID || err != nil {
			t.Errorf("the other thread's active run: %q, %v", id, err)
		}
		if _, err := tx.GetMessage(keep.ID, km.ID); err != nil {
			t.Errorf("the other thread's message: %v", err)
		}
		return nil
	})
	if got := liveRuns(s); !slices.Equal(got, [][2]string{{keep.ID, kr.ID}}) {
		t.Errorf("LiveRuns after the delete: %v; want only the other thread's", got)
	}
	// Stored again, the thread holds nothing.
	s.update(func(tx store.Tx) error { return tx.PutThread(th) })
	s.view(func(tx store.Tx) error {
		if n, err := tx.CountMessages(th.ID); n != 0 || err != nil {
			t.Errorf("the thread stored again: CountMessages %d, %v", n, err)
		}
		msgs, err := tx.ListMessages(th.ID, apitype.MessageListParams{})
		if err != nil || len(msgs.Data) != 0 {
			t.Errorf("the thread stored again: ListMessages %d, %v", len(msgs.Data), err)
		}
		runs, err := tx.ListRuns(th.ID, apitype.ListParams{})
		if err != nil || len(runs.Data) != 0 {
			t.Errorf("the thread stored again: ListRuns %d, %v", len(runs.Data), err)
		}
		if n, size, err := tx.OutputFiles(th.ID); n != 0 || size != 0 || err != nil {
			t.Errorf("the thread stored again: OutputFiles %d, %d, %v", n, size, err)
		}
		return nil
	})
	// Its ids are free again: the run may be stored anew.
	live.Status = apitype.RunQueued
	s.update(func(tx store.Tx) error { return tx.PutRun(live) })
	if got := activeRun(s, th.ID); got != live.ID {
		t.Errorf("a run stored again in the thread stored again: active %q", got)
	}
}

func testDeleteVectorStore(s *suite) {
	t := s.t
	v, keep := s.vectorStore(), s.vectorStore()
	fileID := s.id(store.PrefixFile)
	b := s.batch(v.ID)
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.PutVectorStore(v), tx.PutVectorStore(keep), tx.PutFileBatch(b),
			tx.PutVectorStoreFile(s.vsFile(v.ID, fileID, "completed"), b.ID), tx.PutVectorStoreFile(s.vsFile(keep.ID, fileID, "completed"), ""))
	})
	s.update(func(tx store.Tx) error { return tx.DeleteVectorStore(v.ID) })
	s.view(func(tx store.Tx) error {
		_, err := tx.GetVectorStoreFile(v.ID, fileID)
		wantNotFound(t, "a deleted vector store's file", err)
		_, err = tx.GetFileBatch(v.ID, b.ID)
		wantNotFound(t, "a deleted vector store's batch", err)
		if holding, err := tx.VectorStoresHolding(fileID); err != nil || !slices.Equal(holding, []string{keep.ID}) {
			t.Errorf("VectorStoresHolding after the delete: %v, %v; want [%s]", holding, err, keep.ID)
		}
		return nil
	})
	s.update(func(tx store.Tx) error { return tx.PutVectorStore(v) })
	s.view(func(tx store.Tx) error {
		files, err := tx.ListVectorStoreFiles(v.ID, "", apitype.VectorStoreFileListParams{})
		if err != nil || len(files.Data) != 0 {
			t.Errorf("the vector store stored again: %d files, %v", len(files.Data), err)
		}
		_, err = tx.GetFileBatch(v.ID, b.ID)
		wantNotFound(t, "the vector store stored again: its old batch", err)
		if ids, err := tx.BatchFileIDs(v.ID, b.ID); len(ids) != 0 || err != nil {
			t.Errorf("the vector store stored again: its old batch's files %v, %v", ids, err)
		}
		return nil
	})
}

func testDeleteConversation(s *suite) {
	t := s.t
	c, keep := s.conversation(), s.conversation()
	items, tokens := s.items("dc", 3, 1)
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.PutConversation(c), tx.PutConversation(keep),
			tx.AppendConversationItems(c.ID, items, tokens), tx.AppendConversationItems(keep.ID, items, tokens))
	})
	s.update(func(tx store.Tx) error { return tx.DeleteConversation(c.ID) })
	s.view(func(tx store.Tx) error {
		_, err := tx.GetConversationItem(c.ID, items[0].ID())
		wantNotFound(t, "a deleted conversation's item", err)
		if n, err := tx.CountConversationItems(keep.ID); n != 3 || err != nil {
			t.Errorf("the other conversation: %d items, %v", n, err)
		}
		return nil
	})
	s.update(func(tx store.Tx) error { return tx.PutConversation(c) })
	s.view(func(tx store.Tx) error {
		if n, err := tx.CountConversationItems(c.ID); n != 0 || err != nil {
			t.Errorf("the conversation stored again: %d items, %v", n, err)
		}
		_, err := tx.GetConversationItem(c.ID, items[0].ID())
		wantNotFound(t, "the conversation stored again: its old item", err)
		return nil
	})
	// New items take no old item's place, and the old ids are free.
	fresh, ft := s.items("dc_new", 3, 1)
	s.update(func(tx store.Tx) error { return tx.AppendConversationItems(c.ID, fresh, ft) })
	s.view(func(tx store.Tx) error {
		for _, it := range items {
			_, err := tx.GetConversationItem(c.ID, it.ID())
			wantNotFound(t, "the conversation stored again and added to: its old item", err)
		}
		return nil
	})
	s.update(func(tx store.Tx) error { return tx.AppendConversationItems(c.ID, items[:1], tokens[:1]) })
	got := read(s, func(tx store.Tx) (apitype.Page[apitype.Item], error) {
		return tx.ListConversationItems(c.ID, apitype.ListParams{Order: apitype.OrderAsc})
	})
	if ids, want := idsOf(got.Data, itemID), append(idsOf(fresh, itemID), items[0].ID()); !slices.Equal(ids, want) {
		t.Errorf("the conversation stored again: items %v; want %v", ids, want)
	}
}

func testDeleteContainer(s *suite) {
	t := s.t
	c, keep := s.container("a", s.now, 20), s.container("b", s.now, 20)
	f1, f2, kf := s.containerFile(c.ID, "/mnt/data/1"), s.containerFile(c.ID, "/mnt/data/2"), s.containerFile(keep.ID, "/mnt/data/k")
	s.update(func(tx store.Tx) error {
		return errors.Join(tx.PutContainer(c), tx.PutContainer(keep), tx.PutContainerFile(f1), tx.PutContainerFile(f2), tx.PutContainerFile(kf))
	})
	var gone []apitype.ContainerFile
	s.update(func(tx store.Tx) (err error) { gone, err = tx.DeleteContainer(c.ID); return err })
	sameJSON(t, "DeleteContainer's files", gone, []apitype.ContainerFile{*f1, *f2})
	s.view(func(tx store.Tx) error {
		_, err := tx.GetContainerFile(c.ID, f1.ID)
		wantNotFound(t, "a deleted container's file", err)
		if _, err := tx.GetContainerFile(keep.ID, kf.ID); err != nil {
			t.Errorf("the other container's file: %v", err)
		}
		return nil
	})
	s.update(func(tx store.Tx) error { return tx.PutContainer(c) })
	s.view(func(tx store.Tx) error {
		if files, err := tx.ContainerFiles(c.ID); len(files) != 0 || err != nil {
			t.Errorf("the container stored again: files %v, %v", files, err)
		}
		return nil
	})
}

func testDeleteResponse(s *suite) {
	t := s.t
	r := s.response(apitype.ResponseQueued, "")
	in, it := s.items("dr", 3, 1)
	s.update(func(tx store.Tx) error { return tx.CreateResponse(r, in, it) })
	r.Output = []apitype.Item{assistantItem("msg_dr_out", "out")}
	r.Status = apitype.ResponseCompleted
	s.update(func(tx store.Tx) error { return tx.PutResponse(r, []int{1}) })
	s.update(func(tx store.Tx) error { return tx.DeleteResponse(r.ID) })
	// Created again under the same id with other items: only those.
	again := *r
	again.Output, again.Status = nil, apitype.ResponseQueued
	in2, it2 := s.items("dr2", 1, 5)
	s.update(func(tx store.Tx) error { return tx.CreateResponse(&again, in2, it2) })
	s.view(func(tx store.Tx) error {
		got, err := tx.GetResponse(r.ID)
		if err != nil {
			return err
		}
		if len(got.Output) != 0 {
			t.Errorf("the response created again has the old output: %s", jsonOf(t, got.Output))
		}
		var ids []string
		if err := tx.ResponseInput(r.ID, false, func(it *apitype.Item, _ int) (bool, error) { ids = append(ids, it.ID()); return true, nil }); err != nil {
			return err
		}
		if !slices.Equal(ids, []string{in2[0].ID()}) {
			t.Errorf("the response created again: input %v; want only its own", ids)
		}
		return nil
	})
}
