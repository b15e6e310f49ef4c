package ollama

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/hearth-go/hearth/llm"
)

func TestReadChat(t *testing.T) {
	var got []string
	fn := func(r api.ChatResponse) error { got = append(got, r.Message.Content); return nil }
	cases := []struct {
		body string
		want []string
		err  string // "" nil, "cut", or the error text
	}{
		{"{\"message\":{\"content\":\"a\"}}\n{\"message\":{\"content\":\"b\"},\"done\":true}\n", []string{"a", "b"}, ""},
		{"\n\n{\"message\":{\"content\":\"a\"}}", []string{"a"}, ""}, // no final newline
		{"{\"message\":{\"content\":\"a\"}}\n{\"message\":{\"con", []string{"a"}, "cut"},
		{"{\"message\":{\"content\":\"a\"}}\nnot json\n", []string{"a"}, "cut"},
		{"{\"message\":{\"content\":\"a\"}}\n{\"error\":\"boom\"}\n", []string{"a"}, "boom"},
		{"", nil, ""},
	}
	for _, tc := range cases {
		got = nil
		err := readChat(strings.NewReader(tc.body), fn)
		var ce *cutError
		switch {
		case tc.err == "" && err != nil, tc.err == "cut" && !errors.As(err, &ce),
			tc.err != "" && tc.err != "cut" && (err == nil || err.Error() != tc.err):
			t.Errorf("%q: err = %v, want %s", tc.body, err, tc.err)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%q: got %q", tc.body, got)
		}
	}
}

func FuzzReadChat(f *testing.F) {
	f.Add("{\"message\":{\"role\":\"assistant\",\"content\":\"hi\"}}\n{\"done\":true,\"done_reason\":\"stop\",\"eval_count\":1}\n")
	f.Add("{\"message\":{\"tool_calls\":[{\"id\":\"call_1\",\"function\":{\"index\":0,\"name\":\"f\",\"arguments\":{\"b\":1,\"a\":[2]}}}]}}\n")
	f.Add("{\"error\":\"the input length exceeds the context length\"}\n")
	f.Add("{\"message\":{\"content\":\"a\"}}\n{\"mess")
	f.Add("[1,2]\n\"x\"\nnull\n")
	f.Fuzz(func(t *testing.T, body string) {
		st := &replyState{req: &llm.Request{Model: "m"}, yield: func(ch llm.Chunk, err error) bool {
			for _, tc := range ch.ToolCalls {
				if !strings.HasPrefix(tc.ID, "call_") || !json.Valid(tc.Arguments) {
					t.Fatalf("bad call %+v", tc)
				}
			}
			return true
		}}
		_ = readChat(strings.NewReader(body), st.onResponse)
	})
}
