package truncate

import (
	"strings"
	"testing"
)

// mixedText is 3.1 KB of code, prose in several scripts, numbers, emoji and
// whitespace runs: the inputs where the pre-tokenizer leaves ASCII words.
var mixedText = strings.Repeat("func (e *Encoding) Count(text string) int {\n\tn := 0 // 計数\n"+
	"\tfor i := 0; i < len(text); i++ {\n\t\tn += 3\n\t}\n\treturn n\n}\n\n"+
	"東京タワーの展望台から富士山が見える。Привет, мир! مرحبا بالعالم 🚀👍🏽 "+
	"naïve café, 1,234,567.89 € — it's “quoted”\r\n    indented   \u00a0\u3000x\n", 10)

// BenchmarkCount times tiktoken-go's EncodeOrdinary (the reference, and what
// Count was) beside Count, on the 4 KB English message
// BenchmarkCountAtInsert uses and on mixedText.
func BenchmarkCount(b *testing.B) {
	e, tk := defaultEncoding(b), ref(b)
	texts := []struct{ name, text string }{
		{"english", strings.Repeat("Hearth counts every message's tokens once, when it is written. ", 64)},
		{"mixed", mixedText},
	}
	for _, x := range texts {
		if got, want := e.Count(x.text), len(tk.EncodeOrdinary(x.text)); got != want {
			b.Fatalf("%s: Count = %d, tiktoken-go %d", x.name, got, want)
		}
		b.Run(x.name+"/tiktoken", func(b *testing.B) {
			b.SetBytes(int64(len(x.text)))
			for b.Loop() {
				_ = len(tk.EncodeOrdinary(x.text))
			}
		})
		b.Run(x.name+"/hearth", func(b *testing.B) {
			b.SetBytes(int64(len(x.text)))
			for b.Loop() {
				e.Count(x.text)
			}
		})
	}
}
