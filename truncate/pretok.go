package truncate

import (
	"unicode"
	"unicode/utf8"
)

// The pre-tokenizer splits text into the pieces BPE encodes, exactly as
// tiktoken-go's cl100k_base pattern does under dlclark/regexp2:
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//	 ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// Every position matches some alternative, so the matches tile the text and
// the split is a left-to-right scan. Character classes are the ones regexp2
// uses: \p{L} is unicode.L, \p{N} is unicode.N and \s is unicode.IsSpace
// (not .NET's table); the contractions compare unicode.ToLower of the input.

// Rune classes, as the pattern distinguishes them.
const (
	clOther   uint8 = iota // [^\s\p{L}\p{N}]
	clLetter               // \p{L}
	clNumber               // \p{N}
	clSpace                // \s other than \r and \n
	clNewline              // \r or \n
)

func classOf(r rune) uint8 {
	switch {
	case r == '\r' || r == '\n':
		return clNewline
	case unicode.Is(unicode.L, r):
		return clLetter
	case unicode.Is(unicode.N, r):
		return clNumber
	case unicode.IsSpace(r):
		return clSpace
	}
	return clOther
}

// asciiClass is classOf for ASCII, computed from classOf itself so the two
// cannot disagree; it is never written after package init.
var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for r := range t {
		t[r] = classOf(rune(r))
	}
	return t
}()

// runeAt decodes the rune at s[i] (s is valid UTF-8) and its class.
func runeAt(s string, i int) (r rune, size int, class uint8) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1, asciiClass[c]
	}
	r, size = utf8.DecodeRuneInString(s[i:])
	return r, size, classOf(r)
}

// scan returns the end of the run of class c starting at i.
func scan(s string, i int, c uint8) int {
	for i < len(s) {
		_, n, k := runeAt(s, i)
		if k != c {
			break
		}
		i += n
	}
	return i
}

// scanNewlines returns the end of the run of \r and \n starting at i.
func scanNewlines(s string, i int) int {
	for i < len(s) && (s[i] == '\r' || s[i] == '\n') {
		i++
	}
	return i
}

// contraction returns the length of (?i:s|t|re|ve|m|ll|d) at s[i:], or 0.
func contraction(s string, i int) int {
	lower := func(i int) (rune, int) {
		if i >= len(s) {
			return -1, 0
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		return unicode.ToLower(r), n
	}
	r, n := lower(i)
	switch r {
	case 's', 't', 'm', 'd':
		return n
	case 'r', 'v', 'l':
		want := 'e'
		if r == 'l' {
			want = 'l'
		}
		if r2, n2 := lower(i + n); r2 == want {
			return n + n2
		}
	}
	return 0
}

// nextPiece returns the end of the piece that starts at s[i], i < len(s);
// s must be valid UTF-8. The cases follow the pattern's alternatives in
// order, since regexp2 takes the first that matches.
func nextPiece(s string, i int) int {
	r0, n0, c0 := runeAt(s, i)
	j := i + n0
	if r0 == '\'' { // (?i:'s|'t|'re|'ve|'m|'ll|'d)
		if n := contraction(s, j); n > 0 {
			return j + n
		}
	}
	n1, c1 := 0, uint8(255) // 255: no next rune
	if j < len(s) {
		_, n1, c1 = runeAt(s, j)
	}
	switch c0 {
	case clLetter: // \p{L}+ with the optional prefix empty
		return scan(s, j, clLetter)
	case clNumber: // \p{N}{1,3}
		for k := 1; k < 3 && j < len(s); k++ {
			_, n, c := runeAt(s, j)
			if c != clNumber {
				break
			}
			j += n
		}
		return j
	case clOther:
		if c1 == clLetter { // [^\r\n\p{L}\p{N}]\p{L}+
			return scan(s, j+n1, clLetter)
		}
		// [^\s\p{L}\p{N}]+[\r\n]*
		return scanNewlines(s, scan(s, j, clOther))
	}
	// c0 is whitespace.
	if c0 == clSpace && c1 == clLetter { // [^\r\n\p{L}\p{N}]\p{L}+
		return scan(s, j+n1, clLetter)
	}
	if r0 == ' ' && c1 == clOther { // ' '[^\s\p{L}\p{N}]+[\r\n]*
		return scanNewlines(s, scan(s, j+n1, clOther))
	}
	// The whitespace run from i: \s*[\r\n]+ backtracks to its last newline;
	// failing that \s+(?!\S) takes it all at the end of the text, or all but
	// its last rune if that leaves one; failing that \s+ takes it all.
	lastNewline, lastStart, k, runes := -1, i, i, 0
	for k < len(s) {
		_, n, c := runeAt(s, k)
		if c == clNewline {
			lastNewline = k
		} else if c != clSpace {
			break
		}
		lastStart = k
		k += n
		runes++
	}
	switch {
	case lastNewline >= 0:
		return lastNewline + 1
	case k == len(s) || runes == 1:
		return k
	}
	return lastStart
}
