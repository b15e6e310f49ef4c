package truncate

import (
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
	tiktoken "github.com/pkoukk/tiktoken-go"
	loader "github.com/pkoukk/tiktoken-go-loader"
)

// reference is tiktoken-go's own cl100k_base, regexp2 pre-tokenizer and all:
// what Encode and Count must equal, token for token.
var reference = sync.OnceValues(func() (*tiktoken.Tiktoken, error) {
	tiktoken.SetBpeLoader(loader.NewOfflineLoader())
	return tiktoken.GetEncoding("cl100k_base")
})

func ref(t testing.TB) *tiktoken.Tiktoken {
	t.Helper()
	tk, err := reference()
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func defaultEncoding(t testing.TB) *Encoding {
	t.Helper()
	e, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// same fails t unless Encode and Count agree with tiktoken-go on text.
func same(t testing.TB, e *Encoding, tk *tiktoken.Tiktoken, text string) {
	t.Helper()
	want := tk.EncodeOrdinary(text)
	if got := e.Encode(text); !slices.Equal(got, want) {
		t.Fatalf("Encode(%+q)\n got %v\nwant %v", text, got, want)
	}
	if got := e.Count(text); got != len(want) {
		t.Fatalf("Count(%+q) = %d, want %d", text, got, len(want))
	}
}

// spaces are the runes where .NET's \s and Go's unicode.IsSpace (which
// regexp2 uses for \s) might be expected to differ, and near neighbours.
var spaces = []rune{
	'\t', '\n', '\v', '\f', '\r', ' ', 0x1c, 0x1d, 0x1e, 0x1f, 0x85, 0xa0, 0x1680, 0x180e,
	0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
	0x200b, 0x200c, 0x200d, 0x2028, 0x2029, 0x202f, 0x205f, 0x2060, 0x3000, 0xfeff,
}

var tricky = []string{
	"", " ", "  ", "\n", "\r\n", "\r\n\r\n", " \n", "\n ", "\n  x", "  x", "   x", "x  ", "x \n ",
	"a", "hello world", "Hello, World!", "  leading", "trailing  ", "\t\ttabs\tand spaces  \t",
	"don't", "DON'T", "I'm", "you're", "we've", "they'll", "she'd", "it's", "IT'S", "'S", "'LL", "'Ll",
	"'re", "'rE", "'x", "''s", "'", "''", "' s", "’s", "o'clock", "rock'n'roll", "'ſ", "'\u212a",
	"<|endoftext|>", "a<|endoftext|>b", "<|fim_prefix|><|fim_middle|><|fim_suffix|><|endofprompt|>",
	"1", "12", "123", "1234", "1234567", "3.14159", "1,000,000", "٣٤٥٦", "１２３４", "²³", "½", "ⅫⅩ", "x2y", "abc123def",
	"東京タワーの展望台から富士山が見える日もある。", "Привет, мир!", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया",
	"naïve café", "nai\u0308ve cafe\u0301", "🚀 rocket 🚀🚀", "👨‍👩‍👧‍👦", "e\u0301\u0301\u0301",
	"func main() {\n\tfmt.Println(\"hi\")\n}\n", "if (a<b && c>=d) { return x->y; }", "x := []int{1, 2, 3}\r\n",
	"    indented\n        more\n", "\n\n\n\n", "!!!\n\n", "?!\r\n\r\nnext", " ...\n", " (x)",
	"\u00a0word", "\u3000word", "\u00a0\u00a0x", "a\u00a0\u00a0", "\u3000\u3000\u3000", "\u2028x", "\x1cx", "\x1c\x1c",
	"\xff", "\xff\xfe", "a\xffb", "\xc3", "caf\xc3", "\xed\xa0\x80", "\xe2\x82", "\xf0\x9f\x9a", "\ufffd", "\x80abc",
	"\x00", "a\x00b", "\x7f", strings.Repeat(" ", 100), strings.Repeat(" ", 100) + "x", strings.Repeat("\n", 50),
	strings.Repeat("a", 300), strings.Repeat("ab1 ", 50), strings.Repeat("🚀", 40), strings.Repeat("=", 200),
	strings.Repeat("\t", 70) + "x", strings.Repeat(" \n", 40), strings.Repeat("x\u3000", 30),
	// Pieces of heapMinPiece bytes or more, which mergeHeap merges.
	strings.Repeat(" ", 127) + "x", strings.Repeat(" ", 129) + "x", strings.Repeat(" ", 3000),
	strings.Repeat("\n ", 500) + "x", strings.Repeat("東京タワー", 100), strings.Repeat("ab", 64), strings.Repeat("=-", 700),
}

func TestEncodeMatchesTiktoken(t *testing.T) {
	e, tk := defaultEncoding(t), ref(t)
	for _, s := range tricky {
		same(t, e, tk, s)
	}
	for _, r := range spaces {
		for _, f := range []string{"%c", "%c%c", "x%cy", "x%c%cy", "x%c", "%cx", " %c", "%c ", "%c\n", "\n%c", "%c!", "!%c"} {
			same(t, e, tk, strings.ReplaceAll(f, "%c", string(r)))
		}
	}
}

// alphabet mixes scripts, digit kinds, apostrophes and contraction letters,
// every kind of space, punctuation, special-token text and invalid bytes.
var alphabet = []string{
	"a", "b", "s", "t", "r", "e", "v", "m", "l", "d", "S", "T", "R", "E", "V", "M", "L", "D", "ſ", "\u212a",
	"é", "e\u0301", "\u0308", "ß", "ǅ", "Ω", "ж", "Я", "東", "京", "の", "カ", "한", "ا", "ل", "ש", "न", "\u093f", "ก",
	"0", "1", "9", "٣", "１", "²", "½", "Ⅻ", "𝟙",
	"'", "'", "'s", "'ll", "'RE", "’",
	" ", " ", " ", "\t", "\n", "\r", "\r\n", "\v", "\f", "\u00a0", "\u3000", "\u2028", "\u0085", "\u1680", "\u200b", "\x1c",
	".", ",", "!", "?", "(", ")", "-", "_", "\"", "<", ">", "|", "/", "\\", "{", "}", "=", "#", "$", "€", "🚀", "👍🏽", "\u200d",
	"<|endoftext|>", "<|fim_prefix|>",
	"\xff", "\xfe", "\xc3", "\xe2\x82", "\x80", "\xed\xa0\x80", "\ufffd", "\x00",
	"hello", " world", "The", "don't", "123456",
}

func randomText(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(alphabet[rng.IntN(len(alphabet))])
	}
	return b.String()
}

func TestEncodeMatchesTiktokenRandom(t *testing.T) {
	e, tk := defaultEncoding(t), ref(t)
	rng := rand.New(rand.NewPCG(1, 2))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for range n {
		same(t, e, tk, randomText(rng, rng.IntN(24)))
	}
}

func FuzzCountMatchesTiktoken(f *testing.F) {
	for _, s := range tricky {
		f.Add(s)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		f.Add(randomText(rng, 1+rng.IntN(30)))
	}
	e, tk := defaultEncoding(f), ref(f)
	f.Fuzz(func(t *testing.T, s string) {
		same(t, e, tk, s)
	})
}

// The splitter's classes are regexp2's: checked for every rune against the
// pattern's own classes compiled by regexp2.
func TestClassesMatchRegexp2(t *testing.T) {
	if testing.Short() {
		t.Skip("walks every rune")
	}
	classes := []struct {
		re   *regexp2.Regexp
		want func(uint8) bool
	}{
		{regexp2.MustCompile(`^\p{L}$`, regexp2.None), func(c uint8) bool { return c == clLetter }},
		{regexp2.MustCompile(`^\p{N}$`, regexp2.None), func(c uint8) bool { return c == clNumber }},
		{regexp2.MustCompile(`^\s$`, regexp2.None), func(c uint8) bool { return c == clSpace || c == clNewline }},
		{regexp2.MustCompile(`^[^\s\p{L}\p{N}]$`, regexp2.None), func(c uint8) bool { return c == clOther }},
		{regexp2.MustCompile(`^[^\r\n\p{L}\p{N}]$`, regexp2.None), func(c uint8) bool { return c == clOther || c == clSpace }},
	}
	in := make([]rune, 1)
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue // never reaches the splitter: invalid text becomes U+FFFD first
		}
		c := classOf(r)
		if r < utf8.RuneSelf && asciiClass[r] != c {
			t.Fatalf("asciiClass[%U] = %d, classOf = %d", r, asciiClass[r], c)
		}
		in[0] = r
		for i, cl := range classes {
			m, err := cl.re.FindRunesMatch(in)
			if err != nil {
				t.Fatal(err)
			}
			if (m != nil) != cl.want(c) {
				t.Fatalf("%U: regexp2 class %d says %v, classOf says %d", r, i, m != nil, c)
			}
		}
	}
}

// The contractions are case-insensitive as regexp2 folds: unicode.ToLower
// of each input rune. Runes that fold onto the pattern's letters must split
// as tiktoken-go splits them.
func TestContractionFolding(t *testing.T) {
	e, tk := defaultEncoding(t), ref(t)
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if strings.ContainsRune("strevmld", unicode.ToLower(r)) && utf8.ValidRune(r) {
			same(t, e, tk, "x'"+string(r)+"y")
			same(t, e, tk, "'"+string(r)+string(r))
		}
	}
	for _, s := range []string{"'ſ", "'\u212a", "'İ", "'ﬅ", "'ẞ"} {
		same(t, e, tk, s)
	}
}

func TestDecodeMatchesTiktoken(t *testing.T) {
	e, tk := defaultEncoding(t), ref(t)
	for _, s := range tricky {
		toks := tk.EncodeOrdinary(s)
		if got, want := e.Decode(toks), tk.Decode(toks); got != want {
			t.Fatalf("Decode(%v) = %+q, want %+q", toks, got, want)
		}
	}
	for _, toks := range [][]int{nil, {100257}, {100258, 100259, 100260, 100276}, {100261, -1, 1 << 30, 15339}, {0, 255}} {
		if got, want := e.Decode(toks), tk.Decode(toks); got != want {
			t.Fatalf("Decode(%v) = %+q, want %+q", toks, got, want)
		}
	}
}

func TestCountConcurrent(t *testing.T) {
	e, tk := defaultEncoding(t), ref(t)
	text := strings.Join(tricky, " ")
	want := len(tk.EncodeOrdinary(text))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				if got := e.Count(text); got != want {
					t.Errorf("Count = %d, want %d", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// mergeHeap must make mergeLinear's merges: compared on pieces of every
// length the splitter can produce, letters of several scripts and spaces.
func TestMergeHeapMatchesLinear(t *testing.T) {
	e := defaultEncoding(t)
	rng := rand.New(rand.NewPCG(5, 6))
	runs := []string{"abcdefghijklmnopqrstuvwxyz", "aaaaaaaaab", "東京タワーの展望台", "привет", " ", " \n\t", "é\u0301ß"}
	for range 3000 {
		var b strings.Builder
		src := []rune(runs[rng.IntN(len(runs))])
		for n := rng.IntN(600); b.Len() < n; {
			b.WriteRune(src[rng.IntN(len(src))])
		}
		piece := b.String()
		lin := mergeLinear(e.ranks, piece, nil)
		hp := mergeHeap(e.ranks, piece, nil)
		if len(lin) != len(hp) {
			t.Fatalf("%+q: linear %d parts, heap %d", piece, len(lin), len(hp))
		}
		for i := range lin {
			if lin[i].start != hp[i].start {
				t.Fatalf("%+q: part %d starts at %d (linear), %d (heap)", piece, i, lin[i].start, hp[i].start)
			}
		}
	}
}

// Long single pieces, which take mergeHeap, against tiktoken-go itself.
func TestLongPiecesMatchTiktoken(t *testing.T) {
	e, tk := defaultEncoding(t), ref(t)
	rng := rand.New(rand.NewPCG(7, 8))
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyzäöü"
	for range 40 {
		b := []rune{}
		for n := heapMinPiece + rng.IntN(3000); len(b) < n; {
			b = append(b, []rune(letters)[rng.IntN(len([]rune(letters)))])
		}
		same(t, e, tk, string(b))
		same(t, e, tk, " "+string(b)+strings.Repeat(" ", rng.IntN(400))+"\n")
	}
}
