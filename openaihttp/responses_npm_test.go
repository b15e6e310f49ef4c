package openaihttp_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/hearth-go/hearth/internal/npmtest"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/ollama"
	"github.com/hearth-go/hearth/llm/ollama/ollamatest"
	"github.com/hearth-go/hearth/llm/scripted"
)

// TestNpmResponses runs testdata/npm/responses.mjs: client.responses
// create / stream / finalResponse / retrieve (and its stream) / cancel /
// inputItems.list and a conversation, with the npm SDK's strict stream
// accumulator reading every event, against the scripted model and against
// the fake Ollama answering the same way. Skipped without HEARTH_NPM_OPENAI.
func TestNpmResponses(t *testing.T) {
	npmtest.Require(t)
	models := []struct {
		name string
		open func(t *testing.T) llm.Model
	}{
		{"scripted", func(*testing.T) llm.Model {
			m := scripted.New()
			m.Fallback = npmResponder
			return m
		}},
		{"ollama", func(t *testing.T) llm.Model {
			fake := ollamatest.NewServer(t, ollamatest.WithHandler(npmOllamaResponder))
			m, err := ollama.New(ollama.Config{URL: fake.URL(), RetryBackoff: 1e6})
			if err != nil {
				t.Fatal(err)
			}
			return m
		}},
	}
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, m.open(t))
			npmtest.Run(t, filepath.Join("testdata", "npm", "responses.mjs"), []string{"HEARTH_URL=" + e.srv.URL + "/v1", "HEARTH_KEY=" + testKey},
				"create", "stream", "functions", "conversation", "background", "errors", "bridge", "inputs")
		})
	}
}

// npmResponder is the script's model: it echoes the last user text, calls
// get_weather when offered it and answers its result, and blocks on "slow"
// until the response is cancelled.
func npmResponder(req *llm.Request) scripted.Turn {
	last := scripted.LastUser(req)
	switch {
	case scripted.HasToolResult(req):
		return scripted.Turn{Text: "Sunny in Oslo."}
	case len(req.Tools) > 0:
		return scripted.Turn{Calls: []scripted.Call{{Name: "get_weather", Arguments: `{"city":"Oslo"}`}}, StreamArguments: true}
	case last == "slow":
		return scripted.Turn{Block: true}
	}
	return scripted.Turn{Text: "echo: " + strings.TrimSpace(last), Pieces: 3}
}

// npmOllamaResponder is npmResponder on Ollama's wire.
func npmOllamaResponder(req *api.ChatRequest) ollamatest.Reply {
	last, toolResult := "", false
	for _, m := range req.Messages {
		switch m.Role {
		case "user":
			last, toolResult = m.Content, false
		case "tool":
			toolResult = true
		}
	}
	switch {
	case toolResult:
		return ollamatest.Reply{Text: "Sunny in Oslo."}
	case len(req.Tools) > 0:
		return ollamatest.Reply{ToolCalls: []ollamatest.ToolCall{{Name: "get_weather", Arguments: `{"city":"Oslo"}`}}}
	case last == "slow":
		return ollamatest.Reply{Fault: ollamatest.Hang}
	}
	return ollamatest.Reply{Text: "echo: " + strings.TrimSpace(last), Pieces: 3}
}
