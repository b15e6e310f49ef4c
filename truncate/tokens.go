package truncate

import (
	_ "embed"
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// MessageOverhead is the tokens a chat format spends around each message
// (role and separators), as OpenAI's counting guide gives for its models.
const MessageOverhead = 4

// ImageTokens is what an image is counted as: local vision models vary, so
// this is a conservative flat figure rather than a tile computation.
const ImageTokens = 765

// Encoding counts, encodes and decodes tokens. It is safe for concurrent use:
// nothing in it is written after Default builds it.
//
// It gives exactly the tokens github.com/pkoukk/tiktoken-go's cl100k_base
// EncodeOrdinary gives (the tests hold it to that), without the regexp2
// pre-tokenizer that took ~93% of tiktoken-go's time: pretok.go splits the
// text by hand and bpe.go merges each piece over the same ranks.
type Encoding struct {
	ranks   map[string]int // token bytes -> id, as tiktoken-go's loader reads them
	decoder []string       // id -> token bytes; "" where no token has that id
}

// cl100k's special tokens, for Decode only: Encode never produces them.
var cl100kSpecial = map[string]int{
	"<|endoftext|>":   100257,
	"<|fim_prefix|>":  100258,
	"<|fim_middle|>":  100259,
	"<|fim_suffix|>":  100260,
	"<|endofprompt|>": 100276,
}

// cl100kRanks is cl100k_base.tiktoken as github.com/pkoukk/tiktoken-go-loader
// ships it (MIT). It is embedded here rather than through that loader, whose
// package embeds all four vocabularies (7.0 MB) when only this one is used.
//
//go:embed cl100k_base.tiktoken
var cl100kRanks string

// parseRanks reads a .tiktoken file: a base64 token and its rank a line.
func parseRanks(contents string) (map[string]int, error) {
	ranks := make(map[string]int, 100256)
	for line := range strings.SplitSeq(contents, "\n") {
		if line == "" {
			continue
		}
		tok, rank, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("rank line %q has no rank", line)
		}
		b, err := base64.StdEncoding.DecodeString(tok)
		if err != nil {
			return nil, err
		}
		r, err := strconv.Atoi(rank)
		if err != nil {
			return nil, err
		}
		ranks[string(b)] = r
	}
	return ranks, nil
}

var (
	defaultOnce sync.Once
	defaultEnc  *Encoding
	defaultErr  error
)

// Default returns the cl100k_base encoding, built once per process from
// ranks embedded in the binary (from github.com/pkoukk/tiktoken-go-loader):
// no network, ever.
func Default() (*Encoding, error) {
	defaultOnce.Do(func() {
		ranks, err := parseRanks(cl100kRanks)
		if err != nil {
			defaultErr = fmt.Errorf("truncate: load cl100k_base ranks: %w", err)
			return
		}
		defaultEnc = newEncoding(ranks, cl100kSpecial)
	})
	return defaultEnc, defaultErr
}

func newEncoding(ranks, special map[string]int) *Encoding {
	n := 0
	for _, m := range []map[string]int{ranks, special} {
		for _, id := range m {
			n = max(n, id+1)
		}
	}
	e := &Encoding{ranks: ranks, decoder: make([]string, n)}
	for _, m := range []map[string]int{ranks, special} {
		for tok, id := range m {
			if id >= 0 {
				e.decoder[id] = tok
			}
		}
	}
	return e
}

// validUTF8 is text as tiktoken-go's regexp2 sees it: converted to runes,
// each invalid byte becoming U+FFFD, whose UTF-8 bytes are then encoded.
func validUTF8(text string) string {
	if utf8.ValidString(text) {
		return text
	}
	return string([]rune(text))
}

// Encode returns text's tokens. Special-token strings such as
// "<|endoftext|>" are encoded as the plain text they are: user text never
// controls the tokenizer (and never panics it).
func (e *Encoding) Encode(text string) []int {
	text = validUTF8(text)
	out := make([]int, 0, len(text)/4+1)
	var scratch [64]part
	for i := 0; i < len(text); {
		j := nextPiece(text, i)
		piece := text[i:j]
		i = j
		if id, ok := e.ranks[piece]; ok {
			out = append(out, id)
			continue
		}
		parts := mergeParts(e.ranks, piece, scratch[:0])
		for k := 0; k+1 < len(parts); k++ {
			out = append(out, e.ranks[piece[parts[k].start:parts[k+1].start]])
		}
	}
	return out
}

// Decode returns the text of tokens; ids that are no token decode to "".
func (e *Encoding) Decode(tokens []int) string {
	n := 0
	for _, t := range tokens {
		if t >= 0 && t < len(e.decoder) {
			n += len(e.decoder[t])
		}
	}
	b := make([]byte, 0, n)
	for _, t := range tokens {
		if t >= 0 && t < len(e.decoder) {
			b = append(b, e.decoder[t]...)
		}
	}
	return string(b)
}

// Count returns how many tokens text encodes to, without building them.
func (e *Encoding) Count(text string) int {
	text = validUTF8(text)
	n := 0
	var scratch [64]part
	for i := 0; i < len(text); {
		j := nextPiece(text, i)
		piece := text[i:j]
		i = j
		if _, ok := e.ranks[piece]; ok {
			n++
			continue
		}
		n += len(mergeParts(e.ranks, piece, scratch[:0])) - 1
	}
	return n
}

// CountMessage returns a message's tokens: its text, its images and the
// per-message overhead.
func (e *Encoding) CountMessage(text string, images int) int {
	return e.Count(text) + images*ImageTokens + MessageOverhead
}

// Calibrator learns, per model, how the backend's reported prompt tokens
// (Ollama's prompt_eval_count) compare with the estimate, since tiktoken
// counts OpenAI's tokenizer, not the local model's. Adjust scales an
// estimate by the learned ratio plus a safety margin. It is safe for
// concurrent use and bounded in memory.
type Calibrator struct {
	// Margin is added on top of the learned ratio (default 0.10).
	Margin float64
	// MaxModels bounds how many models are remembered (default 256).
	MaxModels int

	mu     sync.Mutex
	ratios map[string]float64
}

// minimum evidence: estimates smaller than this say little about the ratio.
const minCalibrationTokens = 32

// Observe records one call: the prompt was estimated at estimate tokens and
// the backend reported reported.
func (c *Calibrator) Observe(model string, estimate, reported int) {
	if estimate < minCalibrationTokens || reported <= 0 {
		return
	}
	r := float64(reported) / float64(estimate)
	r = math.Min(math.Max(r, 0.5), 4) // a wild report must not wreck the budget
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ratios == nil {
		c.ratios = map[string]float64{}
	}
	old, ok := c.ratios[model]
	if !ok {
		max := c.MaxModels
		if max <= 0 {
			max = 256
		}
		if len(c.ratios) >= max {
			clear(c.ratios)
		}
		c.ratios[model] = r
		return
	}
	// Exponential moving average, leaning to the larger: underestimating
	// overflows the context, overestimating only wastes some of it.
	if r > old {
		c.ratios[model] = 0.5*old + 0.5*r
	} else {
		c.ratios[model] = 0.8*old + 0.2*r
	}
}

// Ratio is the learned reported/estimate ratio for model (1 when unknown).
func (c *Calibrator) Ratio(model string) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.ratios[model]; ok {
		return r
	}
	return 1
}

// Adjust scales an estimate to what the model will likely count, with the
// margin on top.
func (c *Calibrator) Adjust(model string, estimate int) int {
	margin := c.Margin
	if margin <= 0 {
		margin = 0.10
	}
	return int(math.Ceil(float64(estimate) * c.Ratio(model) * (1 + margin)))
}
