package filesearch

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hearth-go/hearth/truncate"
)

// truncate's cl100k encoding is the Tokenizer the engine passes in.
var _ Tokenizer = (*truncate.Encoding)(nil)

func TestChunkingWithCl100k(t *testing.T) {
	enc, err := truncate.Default()
	if err != nil {
		t.Fatal(err)
	}
	// Multi-byte runes that cl100k splits across tokens: window edges must
	// still give valid UTF-8.
	text := strings.Repeat("東京タワーの展望台から富士山が見える日もある。🚀 naïve café ", 200)
	chunks := SplitText(enc, text, 100, 50)
	if len(chunks) < 10 {
		t.Fatalf("%d chunks", len(chunks))
	}
	for _, c := range chunks {
		if !utf8.ValidString(c.Text) || c.Tokens > 100 {
			t.Fatalf("chunk %d: valid=%v tokens=%d", c.Index, utf8.ValidString(c.Text), c.Tokens)
		}
	}
	// The auto strategy on a long English document: 800-token windows.
	long := strings.Repeat(docTax+" ", 200)
	ch := SplitText(enc, long, AutoChunkTokens, AutoOverlapTokens)
	if n := enc.Count(ch[0].Text); n < 780 || n > 820 {
		t.Fatalf("first auto chunk has %d cl100k tokens", n)
	}
	ix, _, _ := newIndex(t, Config{Tokenizer: enc})
	st, err := ix.AddFile(context.Background(), "vs", "f", "tax.txt", long, nil)
	if err != nil || st.Chunks != len(ch) {
		t.Fatalf("%+v %v", st, err)
	}
}
