package ollama

import (
	"strings"
	"testing"
)

func TestThinkFilter(t *testing.T) {
	cases := []struct {
		pieces         []string
		text, thinking string
	}{
		{[]string{"Hello", " world"}, "Hello world", ""},
		{[]string{"<think>", "plan", "</think>", "\n\nAnswer"}, "Answer", "plan"},
		{[]string{"  <thi", "nk>a b", " c</th", "ink>", "X"}, "X", "a b c"},
		{[]string{"<thought>", "x"}, "<thought>x", ""},
		{[]string{"<think>never closed <"}, "", "never closed <"},
		{[]string{"<", "b>bold</b>"}, "<b>bold</b>", ""},
		{[]string{"\n"}, "\n", ""},
		{[]string{"Answer with <think> inside"}, "Answer with <think> inside", ""},
	}
	for _, tc := range cases {
		var f thinkFilter
		var text, thinking strings.Builder
		for _, p := range tc.pieces {
			a, b := f.add(p)
			text.WriteString(a)
			thinking.WriteString(b)
		}
		a, b := f.flush()
		text.WriteString(a)
		thinking.WriteString(b)
		if text.String() != tc.text || thinking.String() != tc.thinking {
			t.Errorf("%q: text %q thinking %q, want %q %q", tc.pieces, text.String(), thinking.String(), tc.text, tc.thinking)
		}
	}
}

func FuzzThinkFilter(f *testing.F) {
	f.Add("<think>plan</think>answer", 3)
	f.Add("  <thi", 1)
	f.Add("plain text", 4)
	f.Add("<think></th", 2)
	f.Fuzz(func(t *testing.T, s string, step int) {
		if step <= 0 || step > len(s)+1 {
			step = 1
		}
		var fl thinkFilter
		var text, thinking strings.Builder
		for i := 0; i < len(s); i += step {
			a, b := fl.add(s[i:min(i+step, len(s))])
			text.WriteString(a)
			thinking.WriteString(b)
		}
		a, b := fl.flush()
		text.WriteString(a)
		thinking.WriteString(b)
		if text.Len()+thinking.Len() > len(s) {
			t.Fatalf("filter invented text: %q → %q + %q", s, text.String(), thinking.String())
		}
		if !strings.HasPrefix(strings.TrimLeft(s, " \t\r\n"), "<think>") && text.String() != s {
			t.Fatalf("text without a think block changed: %q → %q", s, text.String())
		}
	})
}
