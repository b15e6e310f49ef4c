package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"
)

// gguf is what the test reads back from a written file.
type gguf struct {
	meta    map[string]any
	tensors map[string][]float32
	shapes  map[string][]uint64
}

type reader struct {
	b   *bytes.Reader
	err error
}

func (r *reader) read(v any) {
	if r.err == nil {
		r.err = binary.Read(r.b, binary.LittleEndian, v)
	}
}

func (r *reader) u32() uint32 { var v uint32; r.read(&v); return v }
func (r *reader) u64() uint64 { var v uint64; r.read(&v); return v }

func (r *reader) str() string {
	n := r.u64()
	if r.err != nil || n > uint64(r.b.Len()) {
		r.err = fmt.Errorf("bad string length %d", n)
		return ""
	}
	b := make([]byte, n)
	r.read(b)
	return string(b)
}

func (r *reader) value(typ uint32) any {
	switch typ {
	case ggufUint32:
		return r.u32()
	case ggufInt32:
		var v int32
		r.read(&v)
		return v
	case ggufFloat32:
		var v float32
		r.read(&v)
		return v
	case ggufBool:
		var v bool
		r.read(&v)
		return v
	case ggufString:
		return r.str()
	case ggufArray:
		et, n := r.u32(), r.u64()
		out := make([]any, 0, min(n, 1<<16))
		for i := uint64(0); i < n && r.err == nil; i++ {
			out = append(out, r.value(et))
		}
		return out
	}
	r.err = fmt.Errorf("unknown type %d", typ)
	return nil
}

func parse(t *testing.T, data []byte) gguf {
	t.Helper()
	r := &reader{b: bytes.NewReader(data)}
	magic := make([]byte, 4)
	r.read(magic)
	if string(magic) != "GGUF" || r.u32() != 3 {
		t.Fatalf("not a GGUF v3 file")
	}
	nt, nkv := r.u64(), r.u64()
	g := gguf{meta: map[string]any{}, tensors: map[string][]float32{}, shapes: map[string][]uint64{}}
	for i := uint64(0); i < nkv; i++ {
		k := r.str()
		g.meta[k] = r.value(r.u32())
	}
	type info struct {
		name  string
		shape []uint64
		off   uint64
	}
	var infos []info
	for i := uint64(0); i < nt; i++ {
		in := info{name: r.str()}
		in.shape = make([]uint64, r.u32())
		r.read(in.shape)
		if typ := r.u32(); typ != ggmlF32 {
			t.Fatalf("tensor %s has type %d, want F32", in.name, typ)
		}
		in.off = r.u64()
		infos = append(infos, in)
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	base := len(data) - r.b.Len()
	base += (32 - base%32) % 32
	for _, in := range infos {
		if in.off%32 != 0 {
			t.Errorf("tensor %s at unaligned offset %d", in.name, in.off)
		}
		n := uint64(1)
		for _, d := range in.shape {
			n *= d
		}
		start := uint64(base) + in.off
		if start+4*n > uint64(len(data)) {
			t.Fatalf("tensor %s runs past the end of the file", in.name)
		}
		v := make([]float32, n)
		if err := binary.Read(bytes.NewReader(data[start:start+4*n]), binary.LittleEndian, v); err != nil {
			t.Fatal(err)
		}
		g.tensors[in.name], g.shapes[in.name] = v, in.shape
	}
	return g
}

// decode runs the model the way llama.cpp would for this file (attention and
// feed-forward contribute zero): greedy next token from the last token.
func (g gguf) decode(t *testing.T, start string, max int) string {
	t.Helper()
	var tokens []string
	for _, v := range g.meta["tokenizer.ggml.tokens"].([]any) {
		tokens = append(tokens, v.(string))
	}
	id := map[string]int{}
	for i, s := range tokens {
		id[s] = i
	}
	d := int(g.meta["llama.embedding_length"].(uint32))
	eos := int(g.meta["tokenizer.ggml.eos_token_id"].(uint32))
	embd, out := g.tensors["token_embd.weight"], g.tensors["output.weight"]
	tok, ok := id[start]
	if !ok {
		t.Fatalf("no token %q", start)
	}
	var b strings.Builder
	for range max {
		h := embd[tok*d : (tok+1)*d]
		var ss float64
		for _, x := range h {
			ss += float64(x * x)
		}
		scale := 1 / math.Sqrt(ss/float64(d)+1e-5)
		var nz []int // skipping zero terms keeps the dot products exact and fast
		for k, x := range h {
			if x != 0 {
				nz = append(nz, k)
			}
		}
		best, bestLogit := -1, math.Inf(-1)
		for j := range tokens {
			var l float64
			for _, k := range nz {
				l += float64(out[j*d+k]) * float64(h[k]) * scale
			}
			if l > bestLogit {
				best, bestLogit = j, l
			}
		}
		if best == eos {
			return b.String()
		}
		b.WriteString(strings.ReplaceAll(tokens[best], "▁", " "))
		tok = best
	}
	return b.String()
}

func TestWriteDecodes(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, false); err != nil {
		t.Fatal(err)
	}
	g := parse(t, buf.Bytes())
	if g.meta["general.architecture"] != "llama" || g.meta["llama.context_length"] != uint32(ContextLen) {
		t.Fatalf("metadata = %v", g.meta)
	}
	if _, ok := g.meta["llama.pooling_type"]; ok {
		t.Error("chat model declares a pooling type")
	}
	for start, want := range map[string]string{
		"<|assistant|>": PlainReply,
		"<|end|>":       PlainReply, // any other last token
		"<|call|>":      `<tool_call>{"name":"get_weather","arguments":{"city":"Paris"}}</tool_call>`,
		"<|weather|>":   WeatherReply,
		"<|loop|>":      "tick tock tick tock tick",
	} {
		max := 20
		if start == "<|loop|>" {
			max = 5 // endless: stop after five tokens
		}
		if got := g.decode(t, start, max); got != want {
			t.Errorf("after %s the model writes %q, want %q", start, got, want)
		}
	}
}

func TestWriteDeterministic(t *testing.T) {
	var a, b, e bytes.Buffer
	if err := Write(&a, false); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, false); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two writes differ")
	}
	if err := Write(&e, true); err != nil {
		t.Fatal(err)
	}
	if g := parse(t, e.Bytes()); g.meta["llama.pooling_type"] != uint32(1) {
		t.Errorf("embedding variant pooling_type = %v, want 1", g.meta["llama.pooling_type"])
	}
}
