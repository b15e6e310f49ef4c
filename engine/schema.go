package engine

import (
	"encoding/json"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/schema"
)

// validateJSON checks doc against a JSON Schema.
func (e *Engine) validateJSON(raw json.RawMessage, doc []byte) error {
	s, err := e.schemas.Compile(raw)
	if err != nil {
		return err
	}
	return s.Validate(doc)
}

// checkSchema requires a JSON Schema of type object that compiles.
func checkSchema(param string, raw json.RawMessage) error {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return apitype.Invalid(param, "'%s' must be a JSON Schema object.", param)
	}
	if t, ok := m["type"]; ok && t != "object" {
		return apitype.Invalid(param, "'%s' must be a JSON Schema of type object, got type %v.", param, t)
	}
	if _, err := schema.Compile(raw); err != nil {
		return apitype.Invalid(param, "'%s' is not a valid JSON Schema: %v.", param, err)
	}
	return nil
}
