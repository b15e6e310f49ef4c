package engine

import (
	"encoding/json"
	"fmt"
)

// validateJSON checks doc against a JSON Schema: the top-level type and
// required properties.
func (e *Engine) validateJSON(schema, doc []byte) error {
	var s struct {
		Type     string   `json:"type"`
		Required []string `json:"required"`
	}
	if err := json.Unmarshal(schema, &s); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return err
	}
	obj, isObj := v.(map[string]any)
	if s.Type == "object" && !isObj {
		return fmt.Errorf("expected an object")
	}
	for _, k := range s.Required {
		if _, ok := obj[k]; !ok {
			return fmt.Errorf("missing required property %q", k)
		}
	}
	return nil
}
