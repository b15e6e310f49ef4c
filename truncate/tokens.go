package truncate

import (
	"fmt"
	"math"
	"sync"

	tiktoken "github.com/pkoukk/tiktoken-go"
	loader "github.com/pkoukk/tiktoken-go-loader"
)

// MessageOverhead is the tokens a chat format spends around each message
// (role and separators), as OpenAI's counting guide gives for its models.
const MessageOverhead = 4

// ImageTokens is what an image is counted as: local vision models vary, so
// this is a conservative flat figure rather than a tile computation.
const ImageTokens = 765

// Encoding counts, encodes and decodes tokens. It is safe for concurrent use.
type Encoding struct {
	tk *tiktoken.Tiktoken
}

var (
	defaultOnce sync.Once
	defaultEnc  *Encoding
	defaultErr  error
)

// Default returns the cl100k_base encoding, built once per process from
// ranks embedded in the binary (github.com/pkoukk/tiktoken-go-loader): no
// network, ever. Building it takes ~200 ms, paid on first use.
//
// tiktoken-go's loader setting is process-global; Default sets it to the
// offline loader, once, before it builds anything.
func Default() (*Encoding, error) {
	defaultOnce.Do(func() {
		tiktoken.SetBpeLoader(loader.NewOfflineLoader())
		tk, err := tiktoken.GetEncoding("cl100k_base")
		if err != nil {
			defaultErr = fmt.Errorf("truncate: build cl100k_base: %w", err)
			return
		}
		defaultEnc = &Encoding{tk: tk}
	})
	return defaultEnc, defaultErr
}

// Encode returns text's tokens. Special-token strings such as
// "<|endoftext|>" are encoded as the plain text they are: user text never
// controls the tokenizer (and never panics it).
func (e *Encoding) Encode(text string) []int { return e.tk.EncodeOrdinary(text) }

// Decode returns the text of tokens.
func (e *Encoding) Decode(tokens []int) string { return e.tk.Decode(tokens) }

// Count returns how many tokens text encodes to.
func (e *Encoding) Count(text string) int {
	if text == "" {
		return 0
	}
	return len(e.tk.EncodeOrdinary(text))
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
