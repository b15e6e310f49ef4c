package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"

	"github.com/hearth-go/hearth/apitype"
)

// TestScanMessagesContract: fn's error comes back as it was and stops the
// scan; an unknown thread is a 404; concurrent scans (sharing the Store's
// pooled lenders) each lend their own page; a clone kept from a scan reads
// the same after its transaction, and after the file has grown.
func TestScanMessagesContract(t *testing.T) {
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	th := gen.New(PrefixThread)
	var ids []string
	update(t, s, func(tx Tx) error {
		if err := tx.PutThread(&apitype.Thread{ID: th}); err != nil {
			return err
		}
		for i := range 30 {
			m := benchMessage(gen, th, "run_x", i)
			if i == 3 {
				m.Metadata = apitype.Metadata{"k": "v"}
				m.IncompleteDetails = &apitype.IncompleteDetails{Reason: apitype.IncompleteRunFailed}
			}
			ids = append(ids, m.ID)
			if err := tx.PutMessage(m, 1); err != nil {
				return err
			}
		}
		return nil
	})

	stop := errors.New("stop")
	view(t, s, func(tx Tx) error {
		n := 0
		_, err := tx.(*boltTx).ScanMessages(th, apitype.MessageListParams{}, func(*apitype.Message) error {
			if n++; n == 2 {
				return stop
			}
			return nil
		})
		if err != stop || n != 2 {
			t.Fatalf("fn's error: got %v after %d messages", err, n)
		}
		_, err = tx.(*boltTx).ScanMessages("thread_none", apitype.MessageListParams{}, func(*apitype.Message) error { return nil })
		if !errors.Is(err, apitype.ErrNotFound) {
			t.Fatalf("unknown thread: %v", err)
		}
		return nil
	})

	var kept []*apitype.Message
	var want apitype.Page[apitype.Message]
	asc := apitype.MessageListParams{ListParams: apitype.ListParams{Order: apitype.OrderAsc, Limit: 10}}
	view(t, s, func(tx Tx) error {
		var err error
		if want, err = tx.ListMessages(th, asc); err != nil {
			return err
		}
		_, err = tx.(*boltTx).ScanMessages(th, asc, func(m *apitype.Message) error {
			kept = append(kept, m.Clone())
			return nil
		})
		return err
	})
	// Grow the file so bbolt remaps it: nothing kept may point into it.
	update(t, s, func(tx Tx) error {
		for i := range 2000 {
			if err := tx.PutMessage(benchMessage(gen, th, "", i), 1); err != nil {
				return err
			}
		}
		return nil
	})
	for i := range want.Data {
		if !reflect.DeepEqual(kept[i], &want.Data[i]) {
			t.Fatalf("kept message %d:\n got  %+v\n want %+v", i, *kept[i], want.Data[i])
		}
	}

	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			p := apitype.MessageListParams{ListParams: apitype.ListParams{Order: apitype.OrderAsc, Limit: 5, After: ids[g]}}
			for range 50 {
				var got []string
				err := s.View(context.Background(), func(tx Tx) error {
					_, err := tx.(*boltTx).ScanMessages(th, p, func(m *apitype.Message) error {
						got = append(got, m.ID)
						return nil
					})
					return err
				})
				if err != nil || !reflect.DeepEqual(got, ids[g+1:g+6]) {
					t.Errorf("scan %d: %v %v, want %v", g, got, err, ids[g+1:g+6])
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestLendMessagesMatchesEachMessage: the lent walk gives, message for
// message and in both directions, what the owned walk gives, over messages
// of every shape (plain, JSON parts, attachments, metadata pairs), and stops
// when fn says so.
func TestLendMessagesMatchesEachMessage(t *testing.T) {
	s := openTest(t)
	th := "thread_lend"
	rng := rand.New(rand.NewPCG(7, 8))
	update(t, s, func(tx Tx) error {
		if err := tx.PutThread(&apitype.Thread{ID: th}); err != nil {
			return err
		}
		for i := range 200 {
			m := randMessage(rng)
			m.ID, m.ThreadID = fmt.Sprintf("msg_%04d", i), th
			if err := tx.PutMessage(m, i); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx Tx) error {
		for _, desc := range []bool{false, true} {
			var owned []*apitype.Message
			var counts []int
			if err := tx.EachMessage(th, desc, func(m *apitype.Message, n int) (bool, error) {
				owned, counts = append(owned, m), append(counts, n)
				return true, nil
			}); err != nil {
				return err
			}
			i := 0
			err := tx.LendMessages(th, desc, func(m *apitype.Message, n int) (bool, error) {
				if !reflect.DeepEqual(m, owned[i]) || n != counts[i] {
					t.Fatalf("desc=%v message %d lent as %+v (%d tokens), owned %+v (%d)", desc, i, *m, n, *owned[i], counts[i])
				}
				i++
				return i < 150, nil
			})
			if err != nil || i != 150 {
				t.Fatalf("desc=%v: lent %d messages, %v", desc, i, err)
			}
		}
		return nil
	})
}
