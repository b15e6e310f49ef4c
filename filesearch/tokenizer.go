package filesearch

import (
	"unicode"
	"unicode/utf8"
)

// Tokenizer counts and splits text into model tokens. truncate's tiktoken
// encoding satisfies it; ApproxTokenizer is a dependency-free stand-in.
type Tokenizer interface {
	Encode(text string) []int
	Decode(tokens []int) string
	Count(text string) int
}

// ApproxTokenizer is a stateless tokenizer whose pieces (a word, or up to 7
// bytes of one, a punctuation rune, a whitespace run) are packed into the
// token id itself, so Decode needs no vocabulary. Its density, about 4–5
// bytes per token on English prose, is close to cl100k's.
type ApproxTokenizer struct{}

const maxPiece = 7

// Encode splits text into pieces and packs each into an int: bytes in the low
// 56 bits, the length in the top byte.
func (ApproxTokenizer) Encode(text string) []int {
	var out []int
	forEachPiece(text, func(p string) { out = append(out, pack(p)) })
	return out
}

// Count returns len(Encode(text)) without allocating the tokens.
func (ApproxTokenizer) Count(text string) int {
	n := 0
	forEachPiece(text, func(string) { n++ })
	return n
}

// Decode concatenates the pieces; ids it did not make decode to nothing.
func (ApproxTokenizer) Decode(tokens []int) string {
	b := make([]byte, 0, len(tokens)*4)
	for _, t := range tokens {
		n := int(uint64(t) >> 56)
		if n > maxPiece {
			continue
		}
		for i := 0; i < n; i++ {
			b = append(b, byte(uint64(t)>>(8*i)))
		}
	}
	return string(b)
}

func pack(p string) int {
	var v uint64
	for i := 0; i < len(p); i++ {
		v |= uint64(p[i]) << (8 * i)
	}
	return int(v | uint64(len(p))<<56)
}

// forEachPiece calls fn for each piece: an optional leading space plus a run
// of letters/digits (cut into ≤7-byte pieces on rune boundaries), a run of
// other whitespace, or one other rune.
func forEachPiece(s string, fn func(string)) {
	for i := 0; i < len(s); {
		start := i
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == ' ' && i+1 < len(s) && isWordByte(s[i+1:]):
			i++
			i = wordEnd(s, start, i)
		case isWordRune(r):
			i = wordEnd(s, start, i)
		case unicode.IsSpace(r):
			i += size
			for i < len(s) && i-start < maxPiece {
				r2, s2 := utf8.DecodeRuneInString(s[i:])
				if !unicode.IsSpace(r2) || i+s2-start > maxPiece {
					break
				}
				i += s2
			}
		default:
			i += size
			if size > maxPiece { // cannot happen for valid or invalid UTF-8
				i = start + maxPiece
			}
		}
		fn(s[start:i])
	}
}

func wordEnd(s string, start, i int) int {
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isWordRune(r) || i+size-start > maxPiece {
			break
		}
		i += size
	}
	if i == start { // a lone space before a wide rune that does not fit
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}

func isWordByte(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isWordRune(r)
}

func isWordRune(r rune) bool {
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r))
}
