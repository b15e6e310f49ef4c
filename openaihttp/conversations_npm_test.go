package openaihttp_test

import (
	"path/filepath"
	"testing"

	"github.com/hearth-go/hearth/internal/npmtest"
	"github.com/hearth-go/hearth/llm/scripted"
)

// TestNpmConversations runs testdata/npm/conversations.mjs: every
// client.conversations call of the npm SDK against the handler. Skipped
// without HEARTH_NPM_OPENAI (see internal/npmtest).
func TestNpmConversations(t *testing.T) {
	npmtest.Require(t)
	e := newEnv(t, scripted.New())
	npmtest.Run(t, filepath.Join("testdata", "npm", "conversations.mjs"), []string{"HEARTH_URL=" + e.srv.URL + "/v1", "HEARTH_KEY=" + testKey},
		"conversation", "items", "errors")
}
