package openaichat

import (
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/llm"
)

// FuzzStream: any body is a clean end, a typed cut or a server error, never
// a panic.
func FuzzStream(f *testing.F) {
	f.Add("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n")
	f.Add("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":3,\"function\":{\"arguments\":{\"a\":1}}}]}}]}\n\n")
	f.Add(": ping\n\nevent: x\ndata: {\"error\":{\"message\":\"boom\"}}\n\n")
	f.Fuzz(func(t *testing.T, body string) {
		st := &reply{yield: func(llm.Chunk, error) bool { return true }}
		_ = readSSE(strings.NewReader(body), st.onData)
	})
}

func TestRetryAfter(t *testing.T) {
	if d := retryAfter("2"); d != 2*time.Second {
		t.Fatal(d)
	}
	if d := retryAfter("0.5"); d != 500*time.Millisecond {
		t.Fatal(d)
	}
	if d := retryAfter("soon"); d != 0 {
		t.Fatal(d)
	}
}
