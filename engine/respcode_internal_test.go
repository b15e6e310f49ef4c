package engine

import (
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
)

// A code_interpreter_call counts the logs the model reads back, not only
// its code: a history of calls with long outputs must not overflow the
// window it was fitted to.
func TestCodeCallTokens(t *testing.T) {
	code := "print('x' * 4000)"
	bare := itemTokens(apitype.ItemOf(&apitype.CodeInterpreterCallItem{ID: "ci_1", Code: &code, Status: "completed"}))
	long := itemTokens(apitype.ItemOf(&apitype.CodeInterpreterCallItem{ID: "ci_1", Code: &code, Status: "completed",
		Outputs: []apitype.CodeInterpreterCallOutput{{Type: "logs", Logs: strings.Repeat("lorem ipsum ", 500)}}}))
	if long < bare+500 {
		t.Fatalf("a call with 1,000 words of logs counts %d tokens, without them %d", long, bare)
	}
}
