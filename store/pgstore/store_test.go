package pgstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/internal/pgtest"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/store/pgstore"
)

func open(t testing.TB) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), pgtest.DSN(t), pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSmoke(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	ids := store.NewIDGenerator(nil, nil)
	th := &apitype.Thread{ID: ids.New("thread"), Object: "thread", CreatedAt: 1}
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutThread(th); err != nil {
			return err
		}
		for i := range 5 {
			m := &apitype.Message{ID: ids.New("msg"), ThreadID: th.ID, Object: "thread.message", Role: apitype.RoleUser, CreatedAt: int64(i)}
			if err := tx.PutMessage(m, 10+i); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx store.Tx) error {
		n, err := tx.CountMessages(th.ID)
		if err != nil || n != 5 {
			t.Fatalf("count %d %v", n, err)
		}
		page, err := tx.ListMessages(th.ID, apitype.MessageListParams{ListParams: apitype.ListParams{Limit: 2}})
		if err != nil || len(page.Data) != 2 || !page.HasMore {
			t.Fatalf("page %+v %v", page, err)
		}
		_, err = tx.GetMessage(th.ID, "msg_nope")
		if !errors.Is(err, apitype.ErrNotFound) {
			t.Fatalf("get: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
