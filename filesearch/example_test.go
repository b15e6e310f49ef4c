package filesearch_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hearth-go/hearth/filesearch"
	bolt "go.etcd.io/bbolt"
)

func Example() {
	dir, _ := os.MkdirTemp("", "filesearch")
	defer os.RemoveAll(dir)
	db, _ := bolt.Open(filepath.Join(dir, "hearth.db"), 0o600, nil)
	defer db.Close()

	// The offline lexical embedder is the default: no model needed.
	ix, _ := filesearch.Open(db, filesearch.Config{})
	ctx := context.Background()
	ix.AddFile(ctx, "vs_docs", "file-1", "kettle.md",
		"The kettle is covered by a two-year warranty. Descale it every month with white vinegar.", nil)
	ix.AddFile(ctx, "vs_docs", "file-2", "bike.md",
		"Inflate the tyres to the pressure printed on the sidewall before every ride.", nil)

	results, _ := ix.Search(ctx, []string{"vs_docs"}, "how long is the kettle warranty?", filesearch.SearchOptions{MaxNumResults: 5})
	fmt.Println(results[0].Filename)

	// The tool output the model reads, and the citations in its answer.
	_ = filesearch.FormatResults(0, results)
	answer := "Two years 【0:0†kettle.md】."
	for _, a := range filesearch.Citations(answer, filesearch.Sources(0, results)) {
		fmt.Println(a.Type, a.Text, a.StartIndex, a.EndIndex, a.FileCitation.FileID)
	}
	// Output:
	// kettle.md
	// file_citation 【0:0†kettle.md】 10 25 file-1
}

func ExampleFilePaths() {
	for _, p := range filesearch.FilePaths("Saved to [sales.csv](sandbox:/mnt/data/sales.csv).") {
		fmt.Println(p.Path, p.StartIndex, p.EndIndex)
	}
	// Output:
	// /mnt/data/sales.csv 21 48
}

func ExampleFormatResults() {
	fmt.Print(filesearch.FormatResults(1, []filesearch.Result{
		{FileID: "file-1", Filename: "kettle.md", Text: "The kettle is covered by a two-year warranty.", Score: 0.82},
	}))
	// Output:
	// Results from the attached files. Cite a result by copying its marker, like 【1:0†kettle.md】, right after the sentence it supports.
	//
	// 【1:0†kettle.md】 (score 0.82)
	// The kettle is covered by a two-year warranty.
}
