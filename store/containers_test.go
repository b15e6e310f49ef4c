package store

import (
	"errors"
	"slices"
	"testing"

	"github.com/hearth-go/hearth/apitype"
)

// The expiry index holds each active container once, at the second it
// expires: touching moves it, expiring or deleting drops it; deleting a
// container takes its files and leaves other containers' alone.
func TestContainerExpiryIndex(t *testing.T) {
	s := openTest(t)
	gen := NewIDGenerator(nil, nil)
	mk := func(last int64, minutes int) *apitype.Container {
		return &apitype.Container{ID: gen.New(PrefixContainer), Status: apitype.ContainerActive, LastActiveAt: last,
			ExpiresAfter: apitype.ContainerExpiresAfter{Anchor: apitype.ContainerAnchorLastActive, Minutes: minutes}}
	}
	a, b := mk(1000, 1), mk(1000, 10) // due at 1060 and 1600
	update(t, s, func(tx Tx) error {
		if err := tx.PutContainer(a); err != nil {
			return err
		}
		return tx.PutContainer(b)
	})
	due := func(now int64) []string {
		var ids []string
		if err := s.View(t.Context(), func(tx Tx) error {
			return tx.DueContainers(now, func(id string) bool { ids = append(ids, id); return true })
		}); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if got := due(1059); len(got) != 0 {
		t.Fatalf("due at 1059: %q", got)
	}
	if got := due(1600); !slices.Equal(got, []string{a.ID, b.ID}) {
		t.Fatalf("due at 1600: %q", got)
	}
	a.LastActiveAt = 2000 // touched: due at 2060, once
	update(t, s, func(tx Tx) error { return tx.PutContainer(a) })
	if got := due(2000); !slices.Equal(got, []string{b.ID}) {
		t.Fatalf("after the touch, due at 2000: %q", got)
	}
	b.Status = apitype.ContainerExpired
	update(t, s, func(tx Tx) error { return tx.PutContainer(b) })
	if got := due(1 << 40); !slices.Equal(got, []string{a.ID}) {
		t.Fatalf("after b expired: %q", got)
	}
	for _, c := range []*apitype.Container{a, b} {
		f := &apitype.ContainerFile{ID: gen.New(PrefixContainerFile), ContainerID: c.ID, Path: "/mnt/data/x"}
		update(t, s, func(tx Tx) error { return tx.PutContainerFile(f) })
	}
	var gone []apitype.ContainerFile
	update(t, s, func(tx Tx) (err error) { gone, err = tx.DeleteContainer(a.ID); return err })
	if len(gone) != 1 || gone[0].ContainerID != a.ID {
		t.Fatalf("deleted files %+v", gone)
	}
	if got := due(1 << 40); len(got) != 0 {
		t.Fatalf("after the delete: %q", got)
	}
	if err := s.View(t.Context(), func(tx Tx) error {
		if _, err := tx.GetContainer(a.ID); !errors.Is(err, apitype.ErrNotFound) {
			t.Errorf("deleted container: %v", err)
		}
		if files, err := tx.ContainerFiles(b.ID); err != nil || len(files) != 1 {
			t.Errorf("the other container's files: %v %+v", err, files)
		}
		if _, err := tx.ListContainerFiles(a.ID, apitype.ListParams{}); !errors.Is(err, apitype.ErrNotFound) {
			t.Errorf("files of the deleted container: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(t.Context(), func(tx Tx) error {
		return tx.PutContainerFile(&apitype.ContainerFile{ID: "cfile_x", ContainerID: a.ID})
	}); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("a file for a deleted container: %v", err)
	}
}
