package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/hearth-go/hearth/apitype"
)

func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "hearth.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestMessagesPageBothOrders(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	ids := NewIDGenerator(nil, nil)
	th := &apitype.Thread{ID: ids.New(PrefixThread), Object: apitype.ObjectThread}
	var msgs []string
	err := s.Update(ctx, func(tx Tx) error {
		if err := tx.PutThread(th); err != nil {
			return err
		}
		msgs = nil
		for range 5 {
			m := &apitype.Message{ID: ids.New(PrefixMessage), ThreadID: th.ID, Role: apitype.RoleUser}
			msgs = append(msgs, m.ID)
			if err := tx.PutMessage(m, 3); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(p apitype.MessageListParams, want []string, more bool) {
		t.Helper()
		var page apitype.Page[apitype.Message]
		if err := s.View(ctx, func(tx Tx) error {
			var err error
			page, err = tx.ListMessages(th.ID, p)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range page.Data {
			got = append(got, m.ID)
		}
		if len(got) != len(want) || page.HasMore != more {
			t.Fatalf("%+v: got %v more=%v, want %v more=%v", p, got, page.HasMore, want, more)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%+v: got %v, want %v", p, got, want)
			}
		}
	}
	lp := func(limit int, order, after, before string) apitype.MessageListParams {
		return apitype.MessageListParams{ListParams: apitype.ListParams{Limit: limit, Order: order, After: after, Before: before}}
	}
	check(lp(2, "", "", ""), []string{msgs[4], msgs[3]}, true)
	check(lp(2, "asc", "", ""), []string{msgs[0], msgs[1]}, true)
	check(lp(2, "asc", msgs[1], ""), []string{msgs[2], msgs[3]}, true)
	check(lp(2, "desc", msgs[1], ""), []string{msgs[0]}, false)
	check(lp(2, "desc", "", msgs[1]), []string{msgs[3], msgs[2]}, true)
	check(lp(10, "asc", msgs[0], msgs[4]), []string{msgs[1], msgs[2], msgs[3]}, false)
	if err := s.Update(ctx, func(tx Tx) error { return tx.DeleteThread(th.ID) }); err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx Tx) error { _, err := tx.GetMessage(th.ID, msgs[0]); return err })
	if !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

// A thread's output files count only while their records exist, and go
// with the thread.
func TestOutputFiles(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	ids := NewIDGenerator(nil, nil)
	th := &apitype.Thread{ID: ids.New(PrefixThread), Object: apitype.ObjectThread}
	f1 := &apitype.File{ID: ids.New(PrefixFile), Object: apitype.ObjectFile, Bytes: 100}
	f2 := &apitype.File{ID: ids.New(PrefixFile), Object: apitype.ObjectFile, Bytes: 20}
	counts := func() (int, int64) {
		t.Helper()
		var n int
		var b int64
		if err := s.View(ctx, func(tx Tx) error {
			var err error
			n, b, err = tx.OutputFiles(th.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n, b
	}
	update := func(fn func(tx Tx) error) {
		t.Helper()
		if err := s.Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	update(func(tx Tx) error { return tx.PutThread(th) })
	if n, b := counts(); n != 0 || b != 0 {
		t.Fatalf("new thread: %d files %d bytes", n, b)
	}
	update(func(tx Tx) error {
		if err := tx.PutMessage(&apitype.Message{ID: ids.New(PrefixMessage), ThreadID: th.ID, Role: apitype.RoleUser}, 1); err != nil {
			return err
		}
		if err := tx.PutOutputFile(th.ID, f1); err != nil {
			return err
		}
		return tx.PutOutputFile(th.ID, f2)
	})
	if n, b := counts(); n != 2 || b != 120 {
		t.Fatalf("two files: %d files %d bytes", n, b)
	}
	update(func(tx Tx) error { return tx.DeleteFile(f1.ID) })
	if n, b := counts(); n != 1 || b != 20 {
		t.Fatalf("after deleting one: %d files %d bytes", n, b)
	}
	// The thread's other records are untouched by the output keys.
	if err := s.View(ctx, func(tx Tx) error {
		n, err := tx.CountMessages(th.ID)
		if err == nil && n != 1 {
			t.Errorf("%d messages, want 1", n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx Tx) error { return tx.PutOutputFile("thread_missing", f1) }); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("unknown thread: %v", err)
	}
	update(func(tx Tx) error { return tx.DeleteThread(th.ID) })
	if err := s.View(ctx, func(tx Tx) error { _, _, err := tx.OutputFiles(th.ID); return err }); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("deleted thread: %v", err)
	}
}
