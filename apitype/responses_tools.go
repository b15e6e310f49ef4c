package apitype

import "encoding/json"

// The API's other tool types: valid there, refused by Hearth when decoded.
var toolTypesRefused = []string{"web_search", "web_search_2025_08_26", "web_search_preview", "web_search_preview_2025_03_11",
	"computer", "computer_use", "computer_use_preview", "mcp", "image_generation", "local_shell", "shell", "custom",
	"namespace", "tool_search", "apply_patch", "programmatic_tool_calling"}

var responseToolTypes = []string{string(ToolTypeFunction), string(ToolTypeFileSearch), string(ToolTypeCodeInterpreter)}

// ResponseTool is a tool a response may call. Type says which fields are
// used:
//
//	function: Name, Description, Parameters (a JSON Schema), Strict
//	file_search: VectorStoreIDs, MaxNumResults, RankingOptions, Filters
//	code_interpreter: Container
//
// (The Assistants API nests a function under "function"; the Responses API
// puts its fields on the tool itself.)
type ResponseTool struct {
	Type ToolType

	Name        string
	Description *string
	Parameters  json.RawMessage
	Strict      *bool

	VectorStoreIDs []string
	MaxNumResults  *int
	RankingOptions *ResponseRankingOptions
	// Filters is a comparison or compound filter on the vector store files'
	// attributes; nil searches every file.
	Filters *Filter

	Container *ToolContainer
}

// FunctionTool returns a function tool.
func FunctionTool(name, description string, parameters json.RawMessage, strict bool) ResponseTool {
	t := ResponseTool{Type: ToolTypeFunction, Name: name, Parameters: parameters, Strict: &strict}
	if description != "" {
		t.Description = &description
	}
	return t
}

// ResponseRankingOptions tunes file search ranking.
type ResponseRankingOptions struct {
	Ranker         string   `json:"ranker,omitempty"`
	ScoreThreshold *float64 `json:"score_threshold,omitempty"`
}

// ToolContainer is the code interpreter's container: an existing
// container's id, or Auto to make one.
type ToolContainer struct {
	ID   string
	Auto *ContainerAuto
}

// ContainerAuto asks for a new container with these files and memory.
type ContainerAuto struct {
	Type        string   `json:"type"`
	FileIDs     []string `json:"file_ids,omitempty"`
	MemoryLimit *string  `json:"memory_limit,omitempty"`
}

func (c ToolContainer) MarshalJSON() ([]byte, error) {
	if c.Auto == nil {
		return json.Marshal(c.ID)
	}
	a := *c.Auto
	a.Type = "auto"
	return json.Marshal(a)
}

func (t ResponseTool) MarshalJSON() ([]byte, error) {
	switch t.Type {
	case ToolTypeFunction:
		params := t.Parameters
		if len(params) == 0 {
			params = json.RawMessage("null")
		}
		return json.Marshal(struct {
			Type        ToolType        `json:"type"`
			Name        string          `json:"name"`
			Description *string         `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
			Strict      *bool           `json:"strict"`
		}{t.Type, t.Name, t.Description, params, t.Strict})
	case ToolTypeFileSearch:
		ids := t.VectorStoreIDs
		if ids == nil {
			ids = []string{}
		}
		return json.Marshal(struct {
			Type           ToolType                `json:"type"`
			VectorStoreIDs []string                `json:"vector_store_ids"`
			MaxNumResults  *int                    `json:"max_num_results,omitempty"`
			RankingOptions *ResponseRankingOptions `json:"ranking_options,omitempty"`
			Filters        *Filter                 `json:"filters"`
		}{t.Type, ids, t.MaxNumResults, t.RankingOptions, t.Filters})
	}
	c := t.Container
	if c == nil {
		c = &ToolContainer{Auto: &ContainerAuto{}}
	}
	return json.Marshal(struct {
		Type      ToolType       `json:"type"`
		Container *ToolContainer `json:"container"`
	}{t.Type, c})
}

func (t *ResponseTool) UnmarshalJSON(b []byte) error {
	return decodeStrict(b, func(b []byte) error {
		v, err := decodeTool("", b)
		if err == nil {
			*t = v
		}
		return err
	})
}

func decodeTool(path string, b []byte) (ResponseTool, error) {
	var t ResponseTool
	o, err := readObject(path, b)
	if err != nil {
		return t, err
	}
	typ, ok := o.typeOf()
	if !ok {
		o.take("type")
		if v, has := o.get("type"); has && !isNull(v) {
			return t, badType(o.at("type"), "a string", v)
		}
		return t, missingParam(o.at("type"))
	}
	o.take("type")
	t.Type = ToolType(typ)
	switch t.Type {
	case ToolTypeFunction:
		err = firstErr(o.reqStr("name", &t.Name), o.strPtr("description", &t.Description), o.rawObject("parameters", &t.Parameters),
			o.boolPtr("strict", &t.Strict),
			refuseTrue(o, "defer_loading", "tool search is not supported"),
			refuseTrue(o, "async", "asynchronous function calls are not supported"),
			refuseSet(o, "output_schema", "function output schemas are not supported"),
			refuseCallers(o))
	case ToolTypeFileSearch:
		var ranking, filters json.RawMessage
		err = firstErr(o.strings("vector_store_ids", &t.VectorStoreIDs), o.int("max_num_results", &t.MaxNumResults),
			o.rawObject("filters", &filters), o.rawObject("ranking_options", &ranking))
		if err == nil && filters != nil {
			t.Filters, err = DecodeFilter(o.at("filters"), filters)
		}
		if err == nil && !o.has("vector_store_ids") {
			err = missingParam(o.at("vector_store_ids"))
		}
		if err == nil && ranking != nil {
			t.RankingOptions, err = decodeRanking(o.at("ranking_options"), ranking)
		}
	case ToolTypeCodeInterpreter:
		err = refuseCallers(o)
		if err == nil {
			t.Container, err = decodeContainer(o)
		}
	default:
		for _, r := range toolTypesRefused {
			if typ == r {
				return t, unsupported(o.at("type"), "Hearth does not run the '"+typ+"' tool")
			}
		}
		return t, badValue(o.at("type"), typ, responseToolTypes...)
	}
	if err != nil {
		return t, err
	}
	return t, o.done()
}

// refuseCallers accepts allowed_callers only as absent, null or ["direct"].
func refuseCallers(o *object) error {
	var callers []string
	if err := o.strings("allowed_callers", &callers); err != nil {
		return err
	}
	for _, c := range callers {
		if c != "direct" {
			return unsupported(o.at("allowed_callers"), "programmatic tool calling is not supported")
		}
	}
	return nil
}

func decodeRanking(path string, b []byte) (*ResponseRankingOptions, error) {
	o, err := readObject(path, b)
	if err != nil {
		return nil, err
	}
	r := &ResponseRankingOptions{}
	if err := firstErr(o.enum("ranker", &r.Ranker, RankerAuto, RankerDefault20241115), o.float("score_threshold", &r.ScoreThreshold),
		refuseSet(o, "hybrid_search", "hybrid search weights are not supported")); err != nil {
		return nil, err
	}
	return r, o.done()
}

func decodeContainer(o *object) (*ToolContainer, error) {
	v, ok := o.raw("container")
	if !ok {
		return nil, missingParam(o.at("container"))
	}
	path := o.at("container")
	if v[0] == '"' {
		c := &ToolContainer{}
		_ = json.Unmarshal(v, &c.ID)
		return c, nil
	}
	if v[0] != '{' {
		return nil, invalidCode(path, CodeInvalidType, "Invalid type for '%s': expected one of a string or an object, but got %s instead.", path, kindOf(v))
	}
	co, err := readObject(path, v)
	if err != nil {
		return nil, err
	}
	a := &ContainerAuto{Type: "auto"}
	var typ string
	if !co.has("type") {
		co.take("type")
		return nil, missingParam(co.at("type"))
	}
	if err := firstErr(co.enum("type", &typ, "auto"), co.strings("file_ids", &a.FileIDs),
		co.enum("memory_limit", new(string), "1g", "4g", "16g", "64g")); err != nil {
		return nil, err
	}
	if v, ok := co.get("memory_limit"); ok && !isNull(v) {
		var s string
		_ = json.Unmarshal(v, &s)
		a.MemoryLimit = &s
	}
	// The sandbox has no network: a policy that disables it is what it
	// does anyway; an allowlist cannot be honoured.
	if v, ok := co.raw("network_policy"); ok {
		np, err := readObject(co.at("network_policy"), v)
		if err != nil {
			return nil, err
		}
		var t string
		if err := np.enum("type", &t, "disabled", "allowlist"); err != nil {
			return nil, err
		}
		if t != "disabled" {
			return nil, unsupported(co.at("network_policy"), "the code interpreter's sandbox has no network")
		}
		if err := np.done(); err != nil {
			return nil, err
		}
	}
	return &ToolContainer{Auto: a}, co.done()
}

// Tool choice types beyond the modes and the tool types.
const (
	ToolChoiceAllowedTools = "allowed_tools"
)

// ResponseToolChoice is "none" | "auto" | "required" (Mode alone), or
// {type:"function", name} (Type and Name), or {type:"file_search"} /
// {type:"code_interpreter"} (Type), or {type:"allowed_tools", mode, tools}
// (Type, Mode and Tools). The zero value is "auto".
type ResponseToolChoice struct {
	Mode  string
	Type  string
	Name  string
	Tools []AllowedTool
}

// AllowedTool names one tool of an allowed_tools choice: {type:"function",
// name} or {type:"file_search"} / {type:"code_interpreter"}.
type AllowedTool struct {
	Type ToolType `json:"type"`
	Name string   `json:"name,omitempty"`
}

// IsAuto reports whether the choice leaves the decision to the model.
func (c ResponseToolChoice) IsAuto() bool {
	return c.Type == "" && (c.Mode == "" || c.Mode == ToolChoiceAuto)
}

func (c ResponseToolChoice) MarshalJSON() ([]byte, error) {
	switch c.Type {
	case "":
		m := c.Mode
		if m == "" {
			m = ToolChoiceAuto
		}
		return json.Marshal(m)
	case string(ToolTypeFunction):
		return json.Marshal(struct {
			Type string `json:"type"`
			Name string `json:"name"`
		}{c.Type, c.Name})
	case ToolChoiceAllowedTools:
		tools := c.Tools
		if tools == nil {
			tools = []AllowedTool{}
		}
		return json.Marshal(struct {
			Type  string        `json:"type"`
			Mode  string        `json:"mode"`
			Tools []AllowedTool `json:"tools"`
		}{c.Type, c.Mode, tools})
	}
	return json.Marshal(struct {
		Type string `json:"type"`
	}{c.Type})
}

func (c *ResponseToolChoice) UnmarshalJSON(b []byte) error {
	return decodeStrict(b, func(b []byte) error {
		v, err := decodeToolChoice("tool_choice", b)
		if err == nil {
			*c = v
		}
		return err
	})
}

var toolChoiceRefused = []string{"mcp", "custom", "apply_patch", "shell", "programmatic_tool_calling", "web_search_preview",
	"web_search_preview_2025_03_11", "computer", "computer_use", "computer_use_preview", "image_generation"}

func decodeToolChoice(path string, b []byte) (ResponseToolChoice, error) {
	var c ResponseToolChoice
	if b[0] == '"' {
		var s string
		_ = json.Unmarshal(b, &s)
		switch s {
		case ToolChoiceNone, ToolChoiceAuto, ToolChoiceRequired:
			return ResponseToolChoice{Mode: s}, nil
		}
		return c, badValue(path, s, ToolChoiceNone, ToolChoiceAuto, ToolChoiceRequired)
	}
	if b[0] != '{' {
		return c, invalidCode(path, CodeInvalidType, "Invalid type for '%s': expected one of a string or an object, but got %s instead.", path, kindOf(b))
	}
	o, err := readObject(path, b)
	if err != nil {
		return c, err
	}
	typ, ok := o.typeOf()
	o.take("type")
	if !ok {
		if v, has := o.get("type"); has && !isNull(v) {
			return c, badType(o.at("type"), "a string", v)
		}
		return c, missingParam(o.at("type"))
	}
	c.Type = typ
	switch typ {
	case string(ToolTypeFunction):
		err = o.reqStr("name", &c.Name)
	case string(ToolTypeFileSearch), string(ToolTypeCodeInterpreter):
	case ToolChoiceAllowedTools:
		if !o.has("mode") {
			o.take("mode")
			return c, missingParam(o.at("mode"))
		}
		err = o.enum("mode", &c.Mode, ToolChoiceAuto, ToolChoiceRequired)
		if err == nil {
			v, ok := o.raw("tools")
			if !ok {
				return c, missingParam(o.at("tools"))
			}
			c.Tools = []AllowedTool{}
			err = readArray(o.at("tools"), v, func(p string, _ int, e json.RawMessage) error {
				to, err := readObject(p, e)
				if err != nil {
					return err
				}
				var t AllowedTool
				var tt string
				if !to.has("type") {
					to.take("type")
					return missingParam(to.at("type"))
				}
				if err := firstErr(to.enum("type", &tt, responseToolTypes...), to.str("name", &t.Name)); err != nil {
					return err
				}
				t.Type = ToolType(tt)
				if t.Type == ToolTypeFunction && t.Name == "" {
					return missingParam(to.at("name"))
				}
				c.Tools = append(c.Tools, t)
				return to.done()
			}, nil)
		}
	default:
		for _, r := range toolChoiceRefused {
			if typ == r {
				return c, unsupported(o.at("type"), "Hearth does not run the '"+typ+"' tool")
			}
		}
		return c, badValue(o.at("type"), typ, string(ToolTypeFunction), string(ToolTypeFileSearch), string(ToolTypeCodeInterpreter), ToolChoiceAllowedTools)
	}
	if err != nil {
		return c, err
	}
	return c, o.done()
}
