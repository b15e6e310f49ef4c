// Command tinymodel writes a tiny deterministic llama-architecture GGUF model
// for Hearth's integration tier, so a real Ollama server can be exercised
// offline without downloading weights.
//
// The model is a lookup table dressed as a transformer: token embeddings are
// one-hot (embedding width = vocabulary size), every attention and
// feed-forward projection is zero so the residual stream stays the current
// token's one-hot vector, and the output matrix maps each token to a fixed
// next token. Greedy decoding therefore walks a fixed chain that starts at the
// prompt's last token, which the Modelfile TEMPLATE chooses with a control
// token:
//
//	<|assistant|> → "Hello from the tiny model."
//	<|call|>      → <tool_call>{"name":"get_weather","arguments":{"city":"Paris"}}</tool_call>
//	<|weather|>   → "It is sunny in Paris."
//	<|loop|>      → "tick tock tick tock …" without end (for kill-mid-stream tests)
//
// Any other last token starts the "Hello" chain. The file is byte-for-byte
// reproducible.
//
// Usage: go run ./integration/tinymodel -o tiny.gguf [-embed]
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
)

// Reply texts the integration tests assert on; keep in sync with
// integration/ollama_test.go.
const (
	PlainReply   = "Hello from the tiny model."
	WeatherReply = "It is sunny in Paris."
	ContextLen   = 4096
)

// Token types of llama.cpp's SentencePiece vocabulary.
const (
	tokNormal  = 1
	tokUnknown = 2
	tokControl = 3
	tokUnused  = 5
	tokByte    = 6
)

const (
	vocabSize = 320 // = embedding width; 5 heads of 64
	heads     = 5
	ffnLen    = 16
	// logit of the chosen next token after RMS norm is outScale*sqrt(vocabSize);
	// every other logit is 0, so sampling is deterministic at any temperature.
	outScale = 8
)

type vocab struct {
	tokens []string
	types  []int32
	ids    map[string]int
}

func (v *vocab) add(piece string, typ int32) int {
	if id, ok := v.ids[piece]; ok {
		return id
	}
	v.ids[piece] = len(v.tokens)
	v.tokens = append(v.tokens, piece)
	v.types = append(v.types, typ)
	return len(v.tokens) - 1
}

// model builds the vocabulary and the next-token table.
func model() (*vocab, []int) {
	v := &vocab{ids: map[string]int{}}
	v.add("<unk>", tokUnknown)
	v.add("<s>", tokControl)
	eos := v.add("</s>", tokControl)
	for _, c := range []string{"<|system|>", "<|user|>", "<|assistant|>", "<|tool|>", "<|end|>", "<|call|>", "<|weather|>", "<|loop|>"} {
		v.add(c, tokControl)
	}
	for b := 0; b < 256; b++ {
		v.add(fmt.Sprintf("<0x%02X>", b), tokByte)
	}
	// SentencePiece spells a leading space as U+2581.
	chains := map[string][]string{
		"<|assistant|>": {"Hello", "▁from", "▁the", "▁tiny", "▁model", "."},
		"<|call|>":      {"<tool_call>", `{"name":"get_weather",`, `"arguments":`, `{"city":"Paris"}}`, "</tool_call>"},
		"<|weather|>":   {"It", "▁is", "▁sunny", "▁in", "▁Paris", "."},
	}
	for _, start := range []string{"<|assistant|>", "<|call|>", "<|weather|>"} {
		for _, p := range chains[start] {
			v.add(p, tokNormal)
		}
	}
	tick, tick2, tock := v.add("tick", tokNormal), v.add("▁tick", tokNormal), v.add("▁tock", tokNormal)
	for i := len(v.tokens); i < vocabSize; i++ {
		v.add(fmt.Sprintf("<|unused%d|>", i), tokUnused)
	}

	next := make([]int, vocabSize)
	hello := v.ids["Hello"]
	for i := range next {
		next[i] = hello
	}
	for start, chain := range chains {
		prev := v.ids[start]
		for _, p := range chain {
			next[prev] = v.ids[p]
			prev = v.ids[p]
		}
		next[prev] = eos
	}
	next[v.ids["<|loop|>"]] = tick
	next[tick] = tock
	next[tock] = tick2
	next[tick2] = tock
	return v, next
}

type tensor struct {
	name  string
	shape []uint64 // ne[0] first: ne[0] is the contiguous dimension
	data  []float32
}

func zeros(name string, shape ...uint64) tensor {
	n := uint64(1)
	for _, d := range shape {
		n *= d
	}
	return tensor{name: name, shape: shape, data: make([]float32, n)}
}

func ones(name string, n uint64) tensor {
	t := zeros(name, n)
	for i := range t.data {
		t.data[i] = 1
	}
	return t
}

func tensors(next []int) []tensor {
	const d = vocabSize
	embd := zeros("token_embd.weight", d, vocabSize)
	out := zeros("output.weight", d, vocabSize)
	for tok := 0; tok < vocabSize; tok++ {
		embd.data[tok*d+tok] = 1
		// logit[j] = row j of output · hidden; hidden is one-hot at tok.
		out.data[next[tok]*d+tok] = outScale
	}
	return []tensor{
		embd,
		ones("output_norm.weight", d),
		out,
		ones("blk.0.attn_norm.weight", d),
		zeros("blk.0.attn_q.weight", d, d),
		zeros("blk.0.attn_k.weight", d, d),
		zeros("blk.0.attn_v.weight", d, d),
		zeros("blk.0.attn_output.weight", d, d),
		ones("blk.0.ffn_norm.weight", d),
		zeros("blk.0.ffn_gate.weight", d, ffnLen),
		zeros("blk.0.ffn_up.weight", d, ffnLen),
		zeros("blk.0.ffn_down.weight", ffnLen, d),
	}
}

// kv is one GGUF metadata entry; order is kept as written.
type kv struct {
	key string
	val any
}

func metadata(v *vocab, embed bool) []kv {
	scores := make([]float32, len(v.tokens))
	m := []kv{
		{"general.architecture", "llama"},
		{"general.name", "hearth-tiny"},
		{"general.file_type", uint32(0)}, // all F32
		{"general.alignment", uint32(32)},
		{"llama.context_length", uint32(ContextLen)},
		{"llama.embedding_length", uint32(vocabSize)},
		{"llama.block_count", uint32(1)},
		{"llama.feed_forward_length", uint32(ffnLen)},
		{"llama.attention.head_count", uint32(heads)},
		{"llama.attention.head_count_kv", uint32(heads)},
		{"llama.attention.layer_norm_rms_epsilon", float32(1e-5)},
		{"llama.rope.dimension_count", uint32(vocabSize / heads)},
		{"llama.rope.freq_base", float32(10000)},
		{"llama.vocab_size", uint32(len(v.tokens))},
		{"tokenizer.ggml.model", "llama"},
		{"tokenizer.ggml.tokens", v.tokens},
		{"tokenizer.ggml.scores", scores},
		{"tokenizer.ggml.token_type", v.types},
		{"tokenizer.ggml.unknown_token_id", uint32(0)},
		{"tokenizer.ggml.bos_token_id", uint32(1)},
		{"tokenizer.ggml.eos_token_id", uint32(2)},
		{"tokenizer.ggml.add_bos_token", true},
		{"tokenizer.ggml.add_eos_token", false},
	}
	if embed {
		// Ollama lists a model with a pooling type as embedding-only.
		m = append(m, kv{"llama.pooling_type", uint32(1)}) // mean
	}
	return m
}

// GGUF v3 value type codes.
const (
	ggufUint32  = 4
	ggufFloat32 = 6
	ggufBool    = 7
	ggufString  = 8
	ggufArray   = 9
	ggufInt32   = 5
	ggmlF32     = 0
)

type writer struct {
	w   *bufio.Writer
	n   int64
	err error
}

func (w *writer) raw(v any) {
	if w.err != nil {
		return
	}
	w.err = binary.Write(w.w, binary.LittleEndian, v)
	w.n += int64(binary.Size(v))
}

func (w *writer) str(s string) {
	w.raw(uint64(len(s)))
	if w.err == nil {
		var n int
		n, w.err = w.w.WriteString(s)
		w.n += int64(n)
	}
}

func (w *writer) value(v any) {
	switch v := v.(type) {
	case uint32:
		w.raw(uint32(ggufUint32))
		w.raw(v)
	case float32:
		w.raw(uint32(ggufFloat32))
		w.raw(v)
	case bool:
		w.raw(uint32(ggufBool))
		w.raw(v)
	case string:
		w.raw(uint32(ggufString))
		w.str(v)
	case []string:
		w.raw(uint32(ggufArray))
		w.raw(uint32(ggufString))
		w.raw(uint64(len(v)))
		for _, s := range v {
			w.str(s)
		}
	case []float32:
		w.raw(uint32(ggufArray))
		w.raw(uint32(ggufFloat32))
		w.raw(uint64(len(v)))
		w.raw(v)
	case []int32:
		w.raw(uint32(ggufArray))
		w.raw(uint32(ggufInt32))
		w.raw(uint64(len(v)))
		w.raw(v)
	default:
		w.err = fmt.Errorf("tinymodel: unsupported metadata type %T", v)
	}
}

func (w *writer) pad(align int64) {
	if r := w.n % align; r != 0 {
		w.raw(make([]byte, align-r))
	}
}

// writeGGUF writes a GGUF v3 file with F32 tensors.
func writeGGUF(out io.Writer, meta []kv, ts []tensor) error {
	const align = 32
	w := &writer{w: bufio.NewWriter(out)}
	w.raw([]byte("GGUF"))
	w.raw(uint32(3))
	w.raw(uint64(len(ts)))
	w.raw(uint64(len(meta)))
	for _, e := range meta {
		w.str(e.key)
		w.value(e.val)
	}
	var off uint64
	for _, t := range ts {
		w.str(t.name)
		w.raw(uint32(len(t.shape)))
		w.raw(t.shape)
		w.raw(uint32(ggmlF32))
		w.raw(off)
		size := uint64(4 * len(t.data))
		off += (size + align - 1) / align * align
	}
	w.pad(align)
	for _, t := range ts {
		w.raw(t.data)
		w.pad(align)
	}
	if w.err != nil {
		return w.err
	}
	return w.w.Flush()
}

// Write writes the tiny model to out. With embed set, the file declares a
// pooling type, which makes Ollama treat it as an embedding model.
func Write(out io.Writer, embed bool) error {
	v, next := model()
	if len(v.tokens) != vocabSize {
		return fmt.Errorf("tinymodel: vocabulary has %d tokens, want %d", len(v.tokens), vocabSize)
	}
	if math.Sqrt(vocabSize)*outScale < 20 {
		return errors.New("tinymodel: output scale too small for a decisive argmax")
	}
	return writeGGUF(out, metadata(v, embed), tensors(next))
}

func main() {
	path := flag.String("o", "tiny.gguf", "output GGUF file")
	embed := flag.Bool("embed", false, "declare a pooling type (embedding-only model)")
	flag.Parse()
	if err := run(*path, *embed); err != nil {
		slog.Error("tinymodel", "err", err)
		os.Exit(1)
	}
}

func run(path string, embed bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := Write(f, embed); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
