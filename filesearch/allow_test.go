package filesearch

import (
	"context"
	"math"
	"testing"
)

// Allow keeps a search to some files, ranked among themselves: what ranks
// below the others unfiltered is found with MaxNumResults 1, with the
// score the unfiltered search gives it, for every ranker.
func TestSearchAllow(t *testing.T) {
	ctx := context.Background()
	ix, _, _ := newIndex(t, Config{})
	for _, f := range []struct{ id, name, text string }{
		{"file-tea", "tea.md", docTea}, {"file-bike", "bikes.txt", docBikes}, {"file-tax", "tax.html", docTax},
	} {
		if _, err := ix.AddFile(ctx, "vs_1", f.id, f.name, f.text, nil); err != nil {
			t.Fatal(err)
		}
	}
	q := "brew green tea with water, then patch the tyre"
	for _, ranker := range []string{RankerAuto, RankerDefault, rankerKeyword} {
		all, err := ix.search(ctx, []string{"vs_1"}, q, SearchOptions{Ranker: ranker})
		if err != nil || len(all) < 2 {
			t.Fatalf("%s: %v %+v", ranker, err, all)
		}
		last := all[len(all)-1]
		got, err := ix.search(ctx, []string{"vs_1"}, q, SearchOptions{Ranker: ranker, MaxNumResults: 1,
			Allow: func(store, file string) bool { return store == "vs_1" && file == last.FileID }})
		if err != nil || len(got) != 1 || got[0].FileID != last.FileID || got[0].StoreID != "vs_1" || math.Abs(got[0].Score-last.Score) > 1e-6 {
			t.Fatalf("%s: allowed %s, got %+v (%v); unfiltered %+v", ranker, last.FileID, got, err, all)
		}
		none, err := ix.search(ctx, []string{"vs_1"}, q, SearchOptions{Ranker: ranker, Allow: func(string, string) bool { return false }})
		if err != nil || len(none) != 0 {
			t.Fatalf("%s: nothing allowed, got %+v %v", ranker, none, err)
		}
	}
}
