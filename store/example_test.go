package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// Open a store, write a thread with messages in one transaction, and page
// through them oldest first.
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "hearth-example")
	defer os.RemoveAll(dir)
	s, err := store.Open(filepath.Join(dir, "hearth.db"), store.Options{LockTimeout: time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	ctx := context.Background()
	ids := store.NewIDGenerator(nil, nil)
	th := &apitype.Thread{ID: ids.New(store.PrefixThread), Object: apitype.ObjectThread}
	err = s.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutThread(th); err != nil {
			return err
		}
		for _, text := range []string{"one", "two", "three"} {
			m := &apitype.Message{ID: ids.New(store.PrefixMessage), Object: apitype.ObjectMessage, ThreadID: th.ID,
				Role: apitype.RoleUser, Content: []apitype.MessageContent{{Type: apitype.ContentText,
					Text: &apitype.TextContent{Value: text, Annotations: []apitype.Annotation{}}}}}
			if err := tx.PutMessage(m, 1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	p := apitype.MessageListParams{ListParams: apitype.ListParams{Order: apitype.OrderAsc, Limit: 2}}
	for {
		var page apitype.Page[apitype.Message]
		err := s.View(ctx, func(tx store.Tx) error {
			var err error
			page, err = tx.ListMessages(th.ID, p)
			return err
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, m := range page.Data {
			fmt.Println(m.Text())
		}
		if !page.HasMore {
			break
		}
		p.After = *page.LastID
	}
	// Output:
	// one
	// two
	// three
}
