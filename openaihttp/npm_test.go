package openaihttp_test

import (
	"path/filepath"
	"testing"

	"github.com/hearth-go/hearth/internal/npmtest"
	"github.com/hearth-go/hearth/llm/scripted"
)

// TestNpmSDK runs testdata/npm/conformance.mjs with the npm `openai`
// package against the handler. Tests need no network, so the package is not
// installed by the test: set HEARTH_NPM_OPENAI to an installed copy, e.g.
//
//	(cd /tmp/npmoai && npm install openai@7.57.0)
//	HEARTH_NPM_OPENAI=/tmp/npmoai/node_modules/openai go test -run Npm -v ./openaihttp
//
// Without it (or without node) the test is skipped.
func TestNpmSDK(t *testing.T) {
	npmtest.Require(t)
	m := scripted.New(
		scripted.Turn{Text: "Subtract 11 from both sides: 3x = 3, so x = 1."},
		scripted.Turn{Text: "Subtract 11, divide by 3.", Pieces: 5},
		scripted.Turn{Calls: []scripted.Call{{Name: "get_weather", Arguments: `{"location":"Paris"}`}}, StreamArguments: true},
		scripted.Turn{Match: scripted.HasToolResult, Text: "Sunny, 22C."},
		scripted.Turn{Calls: []scripted.Call{{Name: "get_weather", Arguments: `{"location":"Rome"}`}}},
		scripted.Turn{Text: "ok"}, scripted.Turn{Text: "ok"}, // all-params
		scripted.Turn{Calls: []scripted.Call{{Name: "file_search", Arguments: `{"query":"warranty"}`}}},
		scripted.Turn{Match: scripted.HasToolResult, Text: "Two years【0:0†warranty.txt】.", Pieces: 6},
	)
	e := newEnv(t, m)
	npmtest.Run(t, filepath.Join("testdata", "npm", "conformance.mjs"), []string{"HEARTH_URL=" + e.srv.URL + "/v1", "HEARTH_KEY=" + testKey},
		"math-tutor", "stream-text", "weather-stream", "paging", "vector-stores", "errors", "whole-call", "content-parts", "all-params", "citations")
}
