package openaihttp_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/internal/npmtest"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

// TestNpmResponses runs testdata/npm/responses.mjs: client.responses
// create / stream / finalResponse / retrieve (and its stream) / cancel /
// inputItems.list and a conversation, with the npm SDK's strict stream
// accumulator reading every event. Skipped without HEARTH_NPM_OPENAI.
func TestNpmResponses(t *testing.T) {
	npmtest.Require(t)
	m := scripted.New()
	m.Fallback = npmResponder
	e := newEnv(t, m)
	npmtest.Run(t, filepath.Join("testdata", "npm", "responses.mjs"), []string{"HEARTH_URL=" + e.srv.URL + "/v1", "HEARTH_KEY=" + testKey},
		"create", "stream", "functions", "conversation", "background", "errors")
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
