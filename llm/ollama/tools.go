package ollama

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"slices"
	"sync"

	"github.com/ollama/ollama/api"

	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/schema"
)

// emptyParameters stands in for a tool declared without parameters.
var emptyParameters = json.RawMessage(`{"type":"object","properties":{}}`)

// convertTools turns the caller's tools into Ollama's. Ollama's types keep
// only part of JSON Schema, so each schema is folded first (schema.Fold):
// dropped constraints reach the model as description text, and the root's
// constraints join the tool's description. A "function" tool choice sends
// only the chosen tool; Ollama has no tool_choice, the engine enforces it.
func (c *Client) convertTools(tools []llm.Tool, choice llm.ToolChoice) (api.Tools, error) {
	var out api.Tools
	for _, t := range tools {
		if choice.Mode == llm.ToolChoiceFunction && choice.Name != "" && t.Name != choice.Name {
			continue
		}
		at, err := c.tools.convert(t)
		if err != nil {
			return nil, err
		}
		out = append(out, at)
	}
	return out, nil
}

// toolCache keeps converted tools: a run sends the same tools on every
// step, and folding a schema costs ~50 µs (schema.BenchmarkFold). Entries
// are shared read-only by requests; the cache starts over at maxTools.
type toolCache struct {
	mu sync.Mutex
	m  map[string]api.Tool
}

const maxTools = 1024

func (tc *toolCache) convert(t llm.Tool) (api.Tool, error) {
	key := t.Name + "\x00" + t.Description + "\x00" + string(t.Parameters)
	tc.mu.Lock()
	at, ok := tc.m[key]
	tc.mu.Unlock()
	if ok {
		return at, nil
	}
	at, err := convertTool(t)
	if err != nil {
		return api.Tool{}, err
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.m == nil || len(tc.m) >= maxTools {
		tc.m = make(map[string]api.Tool)
	}
	tc.m[key] = at
	return at, nil
}

func convertTool(t llm.Tool) (api.Tool, error) {
	params := t.Parameters
	if len(params) == 0 || string(params) == "null" {
		params = emptyParameters
	}
	folded, err := schema.Fold(params)
	if err != nil {
		return api.Tool{}, fmt.Errorf("ollama: tool %s: parameters: %w", t.Name, err)
	}
	// ToolFunctionParameters with a type that may be a list, and the
	// description Ollama would drop.
	var p struct {
		Type        api.PropertyType       `json:"type"`
		Defs        any                    `json:"$defs,omitempty"`
		Items       any                    `json:"items,omitempty"`
		Required    []string               `json:"required,omitempty"`
		Properties  *api.ToolPropertiesMap `json:"properties"`
		Description string                 `json:"description"`
	}
	if err := json.Unmarshal(folded, &p); err != nil {
		return api.Tool{}, fmt.Errorf("ollama: tool %s: parameters do not fit Ollama's tool schema: %w: %v", t.Name, schema.ErrInvalidSchema, err)
	}
	fp := api.ToolFunctionParameters{Type: "object", Defs: p.Defs, Items: p.Items, Required: p.Required, Properties: p.Properties}
	if len(p.Type) == 1 || (len(p.Type) > 0 && !slices.Contains(p.Type, "object")) {
		fp.Type = p.Type[0]
	}
	if fp.Properties == nil {
		fp.Properties = api.NewToolPropertiesMap()
	}
	desc := t.Description
	if p.Description != "" {
		if desc != "" {
			desc += "\n\nParameters: " + p.Description
		} else {
			desc = p.Description
		}
	}
	return api.Tool{
		Type: "function",
		Function: api.ToolFunction{
			Name:        t.Name,
			Description: desc,
			Parameters:  fp,
		},
	}, nil
}

// promptDigest hashes the run-independent content of a request: model,
// roles, texts, tool traffic and image sizes. Call ids derive from it, so a
// call the model makes for the same prompt gets the same id on every run,
// and the same call in a later turn gets a different one.
func promptDigest(req *llm.Request) []byte {
	h := sha256.New()
	field(h, req.Model)
	for _, m := range req.Messages {
		field(h, string(m.Role))
		field(h, m.Content)
		field(h, m.ToolCallID)
		field(h, m.ToolName)
		for _, img := range m.Images {
			var n [8]byte
			binary.BigEndian.PutUint64(n[:], uint64(len(img)))
			h.Write(n[:])
		}
		for _, tc := range m.ToolCalls {
			field(h, tc.ID)
			field(h, tc.Name)
			field(h, string(tc.Arguments))
		}
	}
	return h.Sum(nil)
}

// callID is "call_" and 24 hex digits of sha256(prompt digest, index in the
// reply, name, arguments): stable across runs for the same prompt and reply.
func callID(prompt []byte, index int, name string, args []byte) string {
	h := sha256.New()
	h.Write(prompt)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(index))
	h.Write(n[:])
	field(h, name)
	field(h, string(args))
	return "call_" + hex.EncodeToString(h.Sum(nil))[:24]
}

// field writes a length-prefixed string so adjacent fields cannot run together.
func field(h hash.Hash, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}
