package schema_test

import (
	"encoding/json"
	"fmt"

	"github.com/hearth-go/hearth/schema"
)

// Validate a model's tool-call arguments against the caller's full schema.
func ExampleSchema_Validate() {
	s, err := schema.Compile(json.RawMessage(`{
		"type": "object",
		"properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
		"required": ["city"]
	}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Validate(json.RawMessage(`{"city": "Paris", "days": 2}`)))
	fmt.Println(s.Validate(json.RawMessage(`{"days": 0}`)))
	// Output:
	// <nil>
	// value does not match the schema: at /: required: missing property 'city'; at /days: minimum: got 0, want 1
}

// Fold states the constraints Ollama drops in the descriptions it keeps.
func ExampleFold() {
	folded, err := schema.Fold(json.RawMessage(`{"type":"object","properties":{"code":{"type":"string","description":"Ticker","pattern":"^[A-Z]+$"}}}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(string(folded))
	// Output:
	// {"type":"object","properties":{"code":{"type":"string","description":"Ticker (pattern ^[A-Z]+$)","pattern":"^[A-Z]+$"}}}
}

func ExampleDescribe() {
	fmt.Println(schema.Describe(json.RawMessage(`{"type":"integer","minimum":1,"default":3}`)))
	// Output: minimum 1; default 3
}
