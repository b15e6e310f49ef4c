package filesearch

import (
	"strings"
	"unicode/utf8"

	"github.com/hearth-go/hearth/apitype"
)

// Defaults of the auto chunking strategy, as the hosted API documented them.
const (
	AutoChunkTokens   = 800
	AutoOverlapTokens = 400
)

// ValidateChunking checks a chunking strategy; nil means auto. Errors are
// *apitype.Error (400) naming the offending parameter.
func ValidateChunking(cs *apitype.ChunkingStrategy) error {
	_, _, err := chunkSizes(cs)
	return err
}

// chunkSizes returns the window and overlap in tokens of a valid strategy.
func chunkSizes(cs *apitype.ChunkingStrategy) (size, overlap int, err error) {
	if cs == nil {
		return AutoChunkTokens, AutoOverlapTokens, nil
	}
	switch cs.Type {
	case "", apitype.ChunkingAuto:
		if cs.Static != nil {
			return 0, 0, apitype.Invalid("chunking_strategy.static", "static settings are only allowed with chunking_strategy type 'static'.")
		}
		return AutoChunkTokens, AutoOverlapTokens, nil
	case apitype.ChunkingStatic:
		s := cs.Static
		if s == nil {
			return 0, 0, apitype.Invalid("chunking_strategy.static", "Missing required parameter: 'chunking_strategy.static' when type is 'static'.")
		}
		if s.MaxChunkSizeTokens < 100 || s.MaxChunkSizeTokens > 4096 {
			return 0, 0, apitype.Invalid("chunking_strategy.static.max_chunk_size_tokens",
				"max_chunk_size_tokens must be between 100 and 4096, got %d.", s.MaxChunkSizeTokens)
		}
		if s.ChunkOverlapTokens < 0 {
			return 0, 0, apitype.Invalid("chunking_strategy.static.chunk_overlap_tokens",
				"chunk_overlap_tokens must not be negative, got %d.", s.ChunkOverlapTokens)
		}
		if s.ChunkOverlapTokens > s.MaxChunkSizeTokens/2 {
			return 0, 0, apitype.Invalid("chunking_strategy.static.chunk_overlap_tokens",
				"chunk_overlap_tokens must not exceed half of max_chunk_size_tokens (%d), got %d.",
				s.MaxChunkSizeTokens/2, s.ChunkOverlapTokens)
		}
		return s.MaxChunkSizeTokens, s.ChunkOverlapTokens, nil
	default:
		return 0, 0, apitype.Invalid("chunking_strategy.type",
			"Invalid chunking_strategy type %q: expected 'auto' or 'static'.", cs.Type)
	}
}

// Chunk is one window of a document.
type Chunk struct {
	Index  int
	Text   string
	Tokens int
}

// SplitText cuts text into windows of size tokens that overlap by overlap
// tokens, as the hosted API did. A window's edges are decoded tokens; bytes of
// a rune split across a window edge are dropped from that window (the
// neighbouring window still holds the whole rune thanks to the overlap).
// Whitespace-only windows are skipped.
func SplitText(tok Tokenizer, text string, size, overlap int) []Chunk {
	if size <= 0 {
		return nil
	}
	if overlap < 0 || overlap >= size {
		overlap = 0
	}
	ids := tok.Encode(text)
	var out []Chunk
	step := size - overlap
	for start := 0; start < len(ids); start += step {
		end := min(start+size, len(ids))
		s := tok.Decode(ids[start:end])
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "")
		}
		if strings.TrimSpace(s) != "" {
			out = append(out, Chunk{Index: len(out), Text: s, Tokens: end - start})
		}
		if end == len(ids) {
			break
		}
	}
	return out
}
