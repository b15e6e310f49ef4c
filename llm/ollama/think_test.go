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
