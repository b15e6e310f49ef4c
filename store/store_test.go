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
	err := s.Update(ctx, func(tx *Tx) error {
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
		if err := s.View(ctx, func(tx *Tx) error {
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
	if err := s.Update(ctx, func(tx *Tx) error { return tx.DeleteThread(th.ID) }); err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx *Tx) error { _, err := tx.GetMessage(th.ID, msgs[0]); return err })
	if !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}
