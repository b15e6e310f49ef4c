package filesearch

import (
	"context"
	"fmt"
	"math"
	"strings"
	"unicode"
)

// DefaultLexicalDim is the dimension of NewLexicalEmbedder(0).
const DefaultLexicalDim = 512

// LexicalEmbedder is an offline embedder: it hashes word unigrams, word
// bigrams and character trigrams of a text (lower-cased, stop words dropped,
// light suffix stemming) into a signed feature vector with sublinear term
// frequency, then normalizes it. It needs no model, so file search works on
// any machine; it captures vocabulary overlap and spelling variants, not
// synonyms.
type LexicalEmbedder struct {
	dim int
}

// NewLexicalEmbedder returns a lexical embedder of dim dimensions (0 means
// DefaultLexicalDim).
func NewLexicalEmbedder(dim int) *LexicalEmbedder {
	if dim <= 0 {
		dim = DefaultLexicalDim
	}
	return &LexicalEmbedder{dim: dim}
}

// ID names the embedder and its dimension.
func (e *LexicalEmbedder) ID() string { return fmt.Sprintf("hearth-lexical-v1/%d", e.dim) }

// Dim is the vector length.
func (e *LexicalEmbedder) Dim() int { return e.dim }

// Embed embeds each text; it never fails except on a cancelled context.
func (e *LexicalEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if i%256 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		out[i] = e.embed(t)
	}
	return out, nil
}

// Feature weights, chosen on the evaluation set in testdata.
const (
	wUnigram = 1.0
	wBigram  = 0.6
	wTrigram = 0.25
)

func (e *LexicalEmbedder) embed(text string) []float32 {
	// Features are hashed straight from the term bytes (FNV-1a with a kind
	// byte first) so no feature string is built.
	v := make([]float32, e.dim)
	add := func(x uint64, w float32) {
		x = mix64(x)
		if x>>63 == 1 {
			w = -w
		}
		v[x%uint64(e.dim)] += w
	}
	terms := Terms(text)
	for i, t := range terms {
		add(fnvString(fnvByte(fnvOffset, 'w'), t), wUnigram)
		if i > 0 {
			h := fnvString(fnvByte(fnvOffset, 'b'), terms[i-1])
			add(fnvString(fnvByte(h, ' '), t), wBigram)
		}
		// Character trigrams of "<t>", on rune boundaries.
		var win [4]int     // byte offsets of the last runes in "<"+t+">"
		w := "<" + t + ">" // one small allocation per term
		n := 0
		for j := range w {
			win[n%4] = j
			n++
			if n >= 4 {
				add(fnvString(fnvByte(fnvOffset, 'c'), w[win[(n-4)%4]:j]), wTrigram)
			}
		}
		if n >= 3 {
			add(fnvString(fnvByte(fnvOffset, 'c'), w[win[(n-3)%4]:]), wTrigram)
		}
	}
	// Dampen repeated features (sublinear term frequency) on the summed
	// vector rather than per feature: no map, and close in effect.
	for i, x := range v {
		if x > 1 {
			v[i] = 1 + float32(math.Log(float64(x)))
		} else if x < -1 {
			v[i] = -1 - float32(math.Log(float64(-x)))
		}
	}
	return normalize(v)
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvByte(h uint64, c byte) uint64 { return (h ^ uint64(c)) * fnvPrime }

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

// mix64 spreads FNV's weak high bits (the sign) and low bits (the index).
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// Terms lower-cases text, splits it on anything but letters and digits, drops
// stop words and strips common English suffixes. The keyword index and the
// lexical embedder share it so both see the same words.
func Terms(text string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if stopWords[f] {
			continue
		}
		out = append(out, stem(f))
	}
	return out
}

// stem strips a few inflections so "charging", "charged" and "charges" meet.
func stem(w string) string {
	n := len(w)
	switch {
	case n > 5 && strings.HasSuffix(w, "ies"):
		return w[:n-3] + "y"
	case n > 5 && strings.HasSuffix(w, "ing"):
		return w[:n-3]
	case n > 4 && strings.HasSuffix(w, "ed"):
		return w[:n-2]
	case n > 4 && strings.HasSuffix(w, "es") && !strings.HasSuffix(w, "ses"):
		return w[:n-1]
	case n > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss"):
		return w[:n-1]
	}
	return w
}

var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a about above after again against all am an and any are as at be because been
before being below between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
of off on once only or other our ours ourselves out over own same she should so some such than that the their theirs
them themselves then there these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves also may might must shall us tell please`) {
		m[w] = true
	}
	return m
}()
