package ollama

import (
	"encoding/json"
	"testing"

	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/schema"
)

// Every schema the engine accepts (schema.Compile) must reach Ollama.
func FuzzConvertTool(f *testing.F) {
	f.Add(`{"type":"object","properties":{"a":{"type":"integer","minimum":1}},"required":["a"]}`)
	f.Add(`{"type":["object","null"],"properties":{"a":true}}`)
	f.Add(`{"properties":{"a":{"properties":{"b":false}}}}`)
	f.Add(`{"$defs":{"x":{"type":"string"}},"properties":{"a":{"$ref":"#/$defs/x"}}}`)
	f.Add(`{"type":"object","properties":{"a":{"type":"string","enum":"x"}}}`)
	f.Add(`{"type":"object","required":"a"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		if _, err := schema.Compile(json.RawMessage(raw)); err != nil {
			return
		}
		if _, err := convertTool(llm.Tool{Name: "f", Parameters: json.RawMessage(raw)}); err != nil {
			t.Fatalf("a valid schema does not convert: %v", err)
		}
	})
}
