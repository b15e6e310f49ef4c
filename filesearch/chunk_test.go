package filesearch

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hearth-go/hearth/apitype"
)

func TestApproxTokenizerRoundTrip(t *testing.T) {
	var tok ApproxTokenizer
	for _, s := range []string{"", "Hello, world!", "  spaced   out\n\ttabs", "naïve café — 東京タワー 🚀", "supercalifragilistic", "\xff\xfebad utf8"} {
		ids := tok.Encode(s)
		if got := tok.Decode(ids); got != s {
			t.Errorf("round trip %q → %q", s, got)
		}
		if tok.Count(s) != len(ids) {
			t.Errorf("Count(%q) = %d, len(Encode) = %d", s, tok.Count(s), len(ids))
		}
	}
	// Density close to cl100k on prose: ~4–5 bytes per token.
	prose := strings.Repeat("The quick brown fox jumps over the lazy dog near the riverbank. ", 20)
	if r := float64(len(prose)) / float64(tok.Count(prose)); r < 3 || r > 6 {
		t.Errorf("bytes per token = %.1f", r)
	}
}

func FuzzApproxTokenizer(f *testing.F) {
	f.Add("Hello, world!")
	f.Add("naïve café 🚀 \xff")
	f.Fuzz(func(t *testing.T, s string) {
		var tok ApproxTokenizer
		if got := tok.Decode(tok.Encode(s)); got != s {
			t.Fatalf("round trip %q → %q", s, got)
		}
	})
}

func TestValidateChunking(t *testing.T) {
	ok := []*apitype.ChunkingStrategy{nil, {Type: "auto"}, {Type: ""},
		{Type: "static", Static: &apitype.StaticChunking{MaxChunkSizeTokens: 100, ChunkOverlapTokens: 50}},
		{Type: "static", Static: &apitype.StaticChunking{MaxChunkSizeTokens: 4096, ChunkOverlapTokens: 0}}}
	for _, cs := range ok {
		if err := ValidateChunking(cs); err != nil {
			t.Errorf("%+v: %v", cs, err)
		}
	}
	bad := []struct {
		cs    *apitype.ChunkingStrategy
		param string
	}{
		{&apitype.ChunkingStrategy{Type: "semantic"}, "chunking_strategy.type"},
		{&apitype.ChunkingStrategy{Type: "static"}, "chunking_strategy.static"},
		{&apitype.ChunkingStrategy{Type: "auto", Static: &apitype.StaticChunking{MaxChunkSizeTokens: 200}}, "chunking_strategy.static"},
		{&apitype.ChunkingStrategy{Type: "static", Static: &apitype.StaticChunking{MaxChunkSizeTokens: 99}}, "chunking_strategy.static.max_chunk_size_tokens"},
		{&apitype.ChunkingStrategy{Type: "static", Static: &apitype.StaticChunking{MaxChunkSizeTokens: 4097}}, "chunking_strategy.static.max_chunk_size_tokens"},
		{&apitype.ChunkingStrategy{Type: "static", Static: &apitype.StaticChunking{MaxChunkSizeTokens: 100, ChunkOverlapTokens: 51}}, "chunking_strategy.static.chunk_overlap_tokens"},
		{&apitype.ChunkingStrategy{Type: "static", Static: &apitype.StaticChunking{MaxChunkSizeTokens: 100, ChunkOverlapTokens: -1}}, "chunking_strategy.static.chunk_overlap_tokens"},
	}
	for _, tc := range bad {
		err := ValidateChunking(tc.cs)
		var ae *apitype.Error
		if !errors.As(err, &ae) || ae.Param != tc.param || !errors.Is(err, apitype.ErrInvalidRequest) {
			t.Errorf("%+v: err = %v, want param %s", tc.cs, err, tc.param)
		}
	}
}

func TestSplitText(t *testing.T) {
	var tok ApproxTokenizer
	text := strings.Repeat("Alpha beta gamma delta epsilon. ", 300)
	chunks := SplitText(tok, text, 100, 50)
	total := tok.Count(text)
	if want := (total-100)/50 + 2; len(chunks) < want-1 || len(chunks) > want {
		t.Fatalf("%d chunks for %d tokens, want about %d", len(chunks), total, want)
	}
	for i, c := range chunks {
		if c.Index != i || c.Tokens > 100 || !utf8.ValidString(c.Text) {
			t.Fatalf("chunk %d: %+v", i, c)
		}
	}
	// Consecutive chunks overlap by 50 tokens.
	a, b := tok.Encode(chunks[0].Text), tok.Encode(chunks[1].Text)
	if tok.Decode(a[50:]) != tok.Decode(b[:50]) {
		t.Errorf("no overlap between chunk 0 and 1")
	}
	// The last chunk ends the text.
	if !strings.HasSuffix(text, chunks[len(chunks)-1].Text) {
		t.Errorf("last chunk does not end the text")
	}
	if got := SplitText(tok, "short text", 800, 400); len(got) != 1 || got[0].Text != "short text" {
		t.Errorf("short: %+v", got)
	}
	if got := SplitText(tok, "   \n ", 800, 400); len(got) != 0 {
		t.Errorf("blank: %+v", got)
	}
}
