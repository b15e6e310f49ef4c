package filesearch

import (
	"context"
	"fmt"
	"math"

	"github.com/hearth-go/hearth/llm"
)

// Embedder turns texts into vectors. ID names the model and its settings:
// vectors made by embedders with different IDs are not comparable, so an index
// records the ID (and dimension) it was built with.
type Embedder interface {
	ID() string
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// LLMEmbedder adapts an llm.Embedder (such as the Ollama backend's batched
// /api/embed) to Embedder, sending at most Batch texts per call.
type LLMEmbedder struct {
	E llm.Embedder
	// Model names the model E embeds with (for the Ollama backend, its
	// Config.EmbedModel). It only labels the vectors: the ID "llm:" + Model
	// is what a store records, so it must change when E's model does.
	Model string
	Batch int // texts per call; 0 means 64
}

// NewLLMEmbedder returns an Embedder over e for model.
func NewLLMEmbedder(e llm.Embedder, model string) *LLMEmbedder {
	return &LLMEmbedder{E: e, Model: model}
}

// ID is "llm:" + the model name.
func (l *LLMEmbedder) ID() string { return "llm:" + l.Model }

// Embed embeds texts in batches and normalizes every vector.
func (l *LLMEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	batch := l.Batch
	if batch <= 0 {
		batch = 64
	}
	out := make([][]float32, 0, len(texts))
	for i := 0; i < len(texts); i += batch {
		part := texts[i:min(i+batch, len(texts))]
		vecs, err := l.E.Embed(ctx, part)
		if err != nil {
			return nil, fmt.Errorf("filesearch: embedding with %s: %w", l.Model, err)
		}
		if len(vecs) != len(part) {
			return nil, fmt.Errorf("filesearch: embedder %s returned %d vectors for %d texts", l.Model, len(vecs), len(part))
		}
		for _, v := range vecs {
			if len(v) == 0 {
				return nil, fmt.Errorf("filesearch: embedder %s returned an empty vector", l.Model)
			}
			out = append(out, normalize(v))
		}
	}
	return out, nil
}

// normalize scales v to unit length in place; a zero vector becomes a unit
// vector on axis 0 so cosine similarity stays defined.
func normalize(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		for i := range v {
			v[i] = 0
		}
		v[0] = 1
		return v
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
	return v
}

func dot(a, b []float32) float32 {
	var s float32
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		s += a[i] * b[i]
	}
	return s
}
