package ollama_test

import (
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/hearth-go/hearth/hearthtest"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/ollama"
	"github.com/hearth-go/hearth/llm/ollama/ollamatest"
)

// A chat the server fails once is retried, and the retry is logged as a
// warning with its reason, the model, the attempt and the wait.
func TestChatRetryLogged(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv := ollamatest.NewServer(t, ollamatest.WithHandler(func(*api.ChatRequest) ollamatest.Reply {
		mu.Lock()
		defer mu.Unlock()
		if calls++; calls == 1 {
			return ollamatest.Reply{Fault: ollamatest.ServerError}
		}
		return ollamatest.Reply{Text: "fine"}
	}))
	logs := &hearthtest.Logs{}
	c := newClient(t, srv, func(c *ollama.Config) { c.Retries = 2; c.Logger = slog.New(logs) })
	chunks, err := collect(t, c, &llm.Request{Model: "llama3.2", Messages: []llm.Message{user("hi")}})
	var text strings.Builder
	for _, ch := range chunks {
		text.WriteString(ch.Text)
	}
	if err != nil || text.String() != "fine" {
		t.Fatalf("%q %v", text.String(), err)
	}
	var retries []map[string]string
	for _, r := range logs.Records() {
		if r["msg"] == "ollama: retrying chat" {
			retries = append(retries, r)
		}
	}
	if len(retries) != 1 || retries[0]["level"] != "WARN" || retries[0]["model"] != "llama3.2" || retries[0]["attempt"] != "1" ||
		retries[0]["delay"] == "" || !strings.Contains(retries[0]["reason"], "500") {
		t.Fatalf("retry records: %v", retries)
	}
}
