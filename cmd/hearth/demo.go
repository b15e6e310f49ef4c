package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

// demoModel is the name the demo backend lists.
const demoModel = "hearth-demo"

// demoBackend is --model-backend scripted: it shows what the API does
// without a model. "run code …" calls code_interpreter with the rest as
// Python, "search …" calls file_search, "call <function> …" (or naming a
// function the assistant defines) calls it; after a tool answers it reports
// the output (citing the first search result); anything else is echoed.
type demoBackend struct{ *scripted.Model }

// It keeps no record of requests: nothing reads it, and on long threads 256
// recorded prompts held ~10 MiB more after 30k runs than after 1k.
func newDemo() demoBackend {
	return demoBackend{&scripted.Model{Fallback: demoTurn, KeepRequests: -1}}
}

// ListModels lists the one demo model, so /v1/models and /readyz answer.
func (demoBackend) ListModels(context.Context) ([]llm.ModelInfo, error) {
	return []llm.ModelInfo{{ID: demoModel, OwnedBy: "hearth"}}, nil
}

var firstMarker = regexp.MustCompile(`【[^】]*】`)

func demoTurn(r *llm.Request) scripted.Turn {
	if out, ok := scripted.LastToolResult(r); ok {
		name := lastToolName(r)
		switch name {
		case "file_search":
			m := firstMarker.FindString(out)
			if m == "" {
				return scripted.Turn{Text: "The search found nothing."}
			}
			passage := strings.TrimSpace(strings.SplitN(out[strings.Index(out, m)+len(m):], "\n\n", 2)[0])
			return scripted.Turn{Text: fmt.Sprintf("The files say: %s %s", clip(passage, 200), m)}
		case "code_interpreter":
			return scripted.Turn{Text: "The code printed: " + strings.TrimSpace(out)}
		}
		return scripted.Turn{Text: fmt.Sprintf("%s returned: %s", name, out)}
	}
	text := strings.TrimSpace(scripted.LastUser(r))
	lower := strings.ToLower(text)
	switch {
	case strings.HasPrefix(lower, "run code") && hasTool(r, "code_interpreter"):
		code := strings.TrimSpace(strings.TrimPrefix(text[len("run code"):], ":"))
		code = strings.Trim(code, "`")
		if code == "" {
			code = "print(6 * 7)"
		}
		return call("code_interpreter", map[string]any{"code": code})
	case strings.HasPrefix(lower, "search") && hasTool(r, "file_search"):
		q := strings.TrimSpace(strings.TrimPrefix(text[len("search"):], ":"))
		if q == "" {
			q = text
		}
		return call("file_search", map[string]any{"query": q})
	}
	for _, t := range r.Tools {
		if t.Name == "code_interpreter" || t.Name == "file_search" {
			continue
		}
		if strings.Contains(lower, "call "+strings.ToLower(t.Name)) || strings.Contains(lower, strings.ToLower(t.Name)) {
			return call(t.Name, sampleArgs(t.Parameters, text))
		}
	}
	return scripted.Turn{Text: "You said: " + text}
}

func call(name string, args map[string]any) scripted.Turn {
	b, _ := json.Marshal(args)
	return scripted.Turn{Calls: []scripted.Call{{Name: name, Arguments: string(b)}}, StreamArguments: true}
}

func hasTool(r *llm.Request, name string) bool {
	for _, t := range r.Tools {
		if t.Name == name {
			return true
		}
	}
	return false
}

func lastToolName(r *llm.Request) string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if m := r.Messages[i]; m.Role == llm.RoleTool {
			if m.ToolName != "" {
				return m.ToolName
			}
			// The call it answers, in the assistant message before.
			for j := i - 1; j >= 0; j-- {
				for _, c := range r.Messages[j].ToolCalls {
					if c.ID == m.ToolCallID {
						return c.Name
					}
				}
			}
		}
	}
	return ""
}

// sampleArgs fills a function's required parameters with values of their
// types (strings get the user's message), so strict schemas accept them.
func sampleArgs(schema json.RawMessage, text string) map[string]any {
	var s struct {
		Properties map[string]struct {
			Type any   `json:"type"`
			Enum []any `json:"enum"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	_ = json.Unmarshal(schema, &s)
	args := map[string]any{}
	for _, name := range s.Required {
		p := s.Properties[name]
		if len(p.Enum) > 0 {
			args[name] = p.Enum[0]
			continue
		}
		typ, _ := p.Type.(string)
		if ts, ok := p.Type.([]any); ok && len(ts) > 0 {
			typ, _ = ts[0].(string)
		}
		switch typ {
		case "integer", "number":
			args[name] = 1
		case "boolean":
			args[name] = true
		case "array":
			args[name] = []any{}
		case "object":
			args[name] = map[string]any{}
		default:
			args[name] = text
		}
	}
	return args
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
