package truncate

import (
	"maps"
	"testing"

	loader "github.com/pkoukk/tiktoken-go-loader"
)

// The vocabulary embedded here is the loader's cl100k_base, rank for rank.
func TestEmbeddedRanksMatchLoader(t *testing.T) {
	want, err := loader.NewOfflineLoader().LoadTiktokenBpe("cl100k_base.tiktoken")
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseRanks(cl100kRanks)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("embedded ranks differ from the loader's: %d vs %d entries", len(got), len(want))
	}
	if _, err := parseRanks("QQ==\n"); err == nil {
		t.Fatal("a line without a rank parsed")
	}
}
