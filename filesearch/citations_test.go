package filesearch

import (
	"testing"
	"unicode/utf8"
)

func TestCitations(t *testing.T) {
	srcs := Sources(2, []Result{{FileID: "file-a", Filename: "guide.md"}, {FileID: "file-b", Filename: "faq.txt"}})
	text := "Über alles: the warranty lasts two years【2:0†guide.md】. Returns take 30 days 【2:1†faq.txt】【9:9†ghost.pdf】 and 【1†faq.txt】."
	got := Citations(text, srcs)
	if len(got) != 3 {
		t.Fatalf("got %d annotations: %+v", len(got), got)
	}
	runes := []rune(text)
	wantIDs := []string{"file-a", "file-b", "file-b"}
	for i, a := range got {
		if string(runes[a.StartIndex:a.EndIndex]) != a.Text {
			t.Errorf("annotation %d: indices [%d,%d) cover %q, text %q", i, a.StartIndex, a.EndIndex, string(runes[a.StartIndex:a.EndIndex]), a.Text)
		}
		if a.Type != "file_citation" || a.FileCitation == nil || a.FileCitation.FileID != wantIDs[i] {
			t.Errorf("annotation %d: %+v", i, a)
		}
	}
	// Numbers wrong but the name identifies the file.
	if got := Citations("x【0:5†guide.md】", srcs); len(got) != 1 || got[0].FileCitation.FileID != "file-a" {
		t.Errorf("by name: %+v", got)
	}
	if got := Citations("no markers", srcs); got != nil {
		t.Errorf("no markers: %+v", got)
	}
}

func TestFormatResultsMarkersRoundTrip(t *testing.T) {
	rs := []Result{{FileID: "file-1", Filename: "a】b†c.md", Text: "alpha", Score: 0.9}}
	out := FormatResults(0, rs)
	m := Sources(0, rs)[0].Marker()
	if m != "【0:0†a]b+c.md】" {
		t.Fatalf("marker %q", m)
	}
	answer := "Alpha it is " + m
	if got := Citations(answer, Sources(0, rs)); len(got) != 1 || got[0].FileCitation.FileID != "file-1" {
		t.Fatalf("round trip: %+v\n%s", got, out)
	}
}

func TestFilePaths(t *testing.T) {
	text := "Download [the chart](sandbox:/mnt/data/chart.png) or sandbox:/mnt/data/out dir/x.csv. Also «sandbox:/mnt/data/données.csv»."
	got := FilePaths(text)
	want := []string{"/mnt/data/chart.png", "/mnt/data/out", "/mnt/data/données.csv"}
	if len(got) != len(want) {
		t.Fatalf("%+v", got)
	}
	runes := []rune(text)
	for i, s := range got {
		if s.Path != want[i] {
			t.Errorf("%d: path %q want %q", i, s.Path, want[i])
		}
		if string(runes[s.StartIndex:s.EndIndex]) != s.Text {
			t.Errorf("%d: span %q != %q", i, string(runes[s.StartIndex:s.EndIndex]), s.Text)
		}
	}
}

func FuzzCitations(f *testing.F) {
	f.Add("see 【0:1†a.md】 and 【3†b】【】【0:0】")
	f.Add("sandbox:/mnt/data/x.csv. 【12:34†名前】")
	f.Fuzz(func(t *testing.T, text string) {
		srcs := []Source{{0, 0, "f0", "a.md"}, {0, 1, "f1", "b"}, {3, 0, "f2", "名前"}}
		n := utf8.RuneCountInString(text)
		runes := []rune(text)
		last := 0
		for _, a := range Citations(text, srcs) {
			if a.StartIndex < last || a.EndIndex <= a.StartIndex || a.EndIndex > n {
				t.Fatalf("bad span %+v in %q", a, text)
			}
			if utf8.ValidString(text) && string(runes[a.StartIndex:a.EndIndex]) != a.Text {
				t.Fatalf("span text mismatch %+v", a)
			}
			last = a.EndIndex
		}
		for _, p := range FilePaths(text) {
			if p.StartIndex < 0 || p.EndIndex > n || p.EndIndex <= p.StartIndex {
				t.Fatalf("bad path span %+v", p)
			}
		}
	})
}

func TestResultConversions(t *testing.T) {
	r := Result{FileID: "file-1", Filename: "a.md", Text: "alpha", Score: 0.5}
	if got := r.FileSearchResult(false); got.Content != nil || got.FileName != "a.md" || got.Score != 0.5 {
		t.Fatalf("%+v", got)
	}
	if got := r.FileSearchResult(true); len(got.Content) != 1 || got.Content[0].Text != "alpha" {
		t.Fatalf("%+v", got)
	}
	if got := r.VectorStoreSearchResult(); got.Filename != "a.md" || got.Content[0].Type != "text" || got.Attributes == nil {
		t.Fatalf("%+v", got)
	}
}
