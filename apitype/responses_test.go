package apitype

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// parseResponseRequest is what the HTTP layer does with a body.
func parseResponseRequest(body string) (*ResponseCreateParams, error) {
	p, err := DecodeResponseCreateParams([]byte(body))
	if err != nil {
		return nil, err
	}
	return p, p.Validate()
}

// Each malformed request is refused with the API's 400 envelope: status,
// type, code, the exact param path and the message.
func TestResponseCreateMalformed(t *testing.T) {
	const m = `"model":"m",`
	cases := []struct {
		name, body, param, code, msg string
	}{
		{"unknown top-level field", `{` + m + `"input":"hi","frobnicate":1}`, "frobnicate", CodeUnknownParameter, "Unknown parameter: 'frobnicate'."},
		{"unknown field in item", `{` + m + `"input":[{"role":"user","content":"hi","colour":"red"}]}`, "input[0].colour", CodeUnknownParameter, "Unknown parameter: 'input[0].colour'."},
		{"unknown field in content part", `{` + m + `"input":[{"role":"user","content":[{"type":"input_text","text":"x","bold":true}]}]}`, "input[0].content[0].bold", CodeUnknownParameter, "Unknown parameter: 'input[0].content[0].bold'."},
		{"unknown field in tool", `{` + m + `"input":"x","tools":[{"type":"function","name":"f","parameters":{},"colour":1}]}`, "tools[0].colour", CodeUnknownParameter, "Unknown parameter: 'tools[0].colour'."},
		{"unknown field in text", `{` + m + `"input":"x","text":{"format":{"type":"text"},"size":3}}`, "text.size", CodeUnknownParameter, "Unknown parameter: 'text.size'."},
		{"unknown field in json_schema format", `{` + m + `"input":"x","text":{"format":{"type":"json_schema","name":"n","schema":{},"extra":1}}}`, "text.format.extra", CodeUnknownParameter, "Unknown parameter: 'text.format.extra'."},
		{"temperature as string", `{` + m + `"input":"x","temperature":"hot"}`, "temperature", CodeInvalidType, "Invalid type for 'temperature': expected a decimal, but got a string instead."},
		{"max_output_tokens decimal", `{` + m + `"input":"x","max_output_tokens":12.5}`, "max_output_tokens", CodeInvalidType, "Invalid type for 'max_output_tokens': expected an integer, but got a decimal instead."},
		{"store as string", `{` + m + `"input":"x","store":"yes"}`, "store", CodeInvalidType, "Invalid type for 'store': expected a boolean, but got a string instead."},
		{"model as number", `{"model":4,"input":"x"}`, "model", CodeInvalidType, "Invalid type for 'model': expected a string, but got an integer instead."},
		{"input as number", `{` + m + `"input":42}`, "input", CodeInvalidType, "Invalid type for 'input': expected one of a string or array of input items, but got an integer instead."},
		{"input item not an object", `{` + m + `"input":["hi"]}`, "input[0]", CodeInvalidType, "Invalid type for 'input[0]': expected an object, but got a string instead."},
		{"unknown item type", `{` + m + `"input":[{"type":"telegram","text":"x"}]}`, "input[0].type", CodeInvalidValue, "Invalid value: 'telegram'. Supported values are: 'message', 'function_call', 'function_call_output', 'reasoning', 'file_search_call', 'code_interpreter_call', and 'item_reference'."},
		{"item of a tool Hearth does not run", `{` + m + `"input":[{"type":"computer_call_output","call_id":"c","output":{}}]}`, "input[0].type", CodeUnsupported, "Unsupported parameter: 'input[0].type' is not supported by Hearth: items of type 'computer_call_output' belong to tools Hearth does not run."},
		{"item without type or role", `{` + m + `"input":[{"content":"x"}]}`, "input[0].type", CodeMissingParameter, "Missing required parameter: 'input[0].type'."},
		{"message bad role", `{` + m + `"input":[{"role":"wizard","content":"x"}]}`, "input[0].role", CodeInvalidValue, "Invalid value: 'wizard'. Supported values are: 'user', 'assistant', 'system', and 'developer'."},
		{"message without content", `{` + m + `"input":[{"type":"message","role":"user"}]}`, "input[0].content", CodeMissingParameter, "Missing required parameter: 'input[0].content'."},
		{"message content number", `{` + m + `"input":[{"role":"user","content":7}]}`, "input[0].content", CodeInvalidType, "Invalid type for 'input[0].content': expected one of a string or array of input content, but got an integer instead."},
		{"user message with output_text", `{` + m + `"input":[{"role":"user","content":[{"type":"output_text","text":"x"}]}]}`, "input[0].content[0]", CodeInvalidValue, "Invalid value: 'output_text'. Supported values are: 'input_text', 'input_image', and 'input_file'."},
		{"assistant message with input_text", `{` + m + `"input":[{"role":"assistant","content":[{"type":"input_text","text":"x"}]}]}`, "input[0].content[0]", CodeInvalidValue, "Invalid value: 'input_text'. Supported values are: 'output_text' and 'refusal'."},
		{"input_text without text", `{` + m + `"input":[{"role":"user","content":[{"type":"input_text"}]}]}`, "input[0].content[0].text", CodeMissingParameter, "Missing required parameter: 'input[0].content[0].text'."},
		{"input_text text as array", `{` + m + `"input":[{"role":"user","content":[{"type":"input_text","text":["x"]}]}]}`, "input[0].content[0].text", CodeInvalidType, "Invalid type for 'input[0].content[0].text': expected a string, but got an array instead."},
		{"input_image with nothing", `{` + m + `"input":[{"role":"user","content":[{"type":"input_image","detail":"auto"}]}]}`, "input[0].content[0]", CodeMissingParameter, "Invalid 'input[0].content[0]': an input_image needs one of 'image_url' or 'file_id'."},
		{"input_image bad detail", `{` + m + `"input":[{"role":"user","content":[{"type":"input_image","image_url":"data:x","detail":"ultra"}]}]}`, "input[0].content[0].detail", CodeInvalidValue, "Invalid value: 'ultra'. Supported values are: 'low', 'high', 'auto', and 'original'."},
		{"content part without type", `{` + m + `"input":[{"role":"user","content":[{"text":"x"}]}]}`, "input[0].content[0].type", CodeMissingParameter, "Missing required parameter: 'input[0].content[0].type'."},
		{"function_call_output without call_id", `{` + m + `"input":[{"type":"function_call_output","output":"42"}]}`, "input[0].call_id", CodeMissingParameter, "Missing required parameter: 'input[0].call_id'."},
		{"function_call_output without output", `{` + m + `"input":[{"type":"function_call_output","call_id":"call_1"}]}`, "input[0].output", CodeMissingParameter, "Missing required parameter: 'input[0].output'."},
		{"function_call_output output number", `{` + m + `"input":[{"type":"function_call_output","call_id":"call_1","output":42}]}`, "input[0].output", CodeInvalidType, "Invalid type for 'input[0].output': expected one of a string or array of input content, but got an integer instead."},
		{"function_call without name", `{` + m + `"input":[{"type":"function_call","call_id":"c","arguments":"{}"}]}`, "input[0].name", CodeMissingParameter, "Missing required parameter: 'input[0].name'."},
		{"reasoning without summary", `{` + m + `"input":[{"type":"reasoning","id":"rs_1"}]}`, "input[0].summary", CodeMissingParameter, "Missing required parameter: 'input[0].summary'."},
		{"reasoning summary wrong part", `{` + m + `"input":[{"type":"reasoning","id":"rs_1","summary":[{"type":"input_text","text":"x"}]}]}`, "input[0].summary[0]", CodeInvalidValue, "Invalid value: 'input_text'. Supported values are: 'summary_text'."},
		{"item_reference without id", `{` + m + `"input":[{"type":"item_reference"}]}`, "input[0].id", CodeMissingParameter, "Missing required parameter: 'input[0].id'."},
		{"bad item status", `{` + m + `"input":[{"role":"user","content":"x","status":"pending"}]}`, "input[0].status", CodeInvalidValue, "Invalid value: 'pending'. Supported values are: 'in_progress', 'completed', and 'incomplete'."},
		{"conversation with previous_response_id", `{` + m + `"input":"x","conversation":"conv_1","previous_response_id":"resp_1"}`, "conversation", CodeMutuallyExclusive, "Mutually exclusive parameters: Ensure you are only providing one of: 'previous_response_id' or 'conversation'."},
		{"conversation as number", `{` + m + `"input":"x","conversation":5}`, "conversation", CodeInvalidType, "Invalid type for 'conversation': expected one of a string or an object, but got an integer instead."},
		{"conversation object without id", `{` + m + `"input":"x","conversation":{}}`, "conversation.id", CodeMissingParameter, "Missing required parameter: 'conversation.id'."},
		{"bad include", `{` + m + `"input":"x","include":["file_search_call.results","everything"]}`, "include[1]", CodeInvalidValue, "Invalid value: 'everything'. Supported values are: 'file_search_call.results', 'web_search_call.results', 'web_search_call.action.sources', 'message.input_image.image_url', 'computer_call_output.output.image_url', 'code_interpreter_call.outputs', 'reasoning.encrypted_content', and 'message.output_text.logprobs'."},
		{"include Hearth cannot produce", `{` + m + `"input":"x","include":["message.output_text.logprobs"]}`, "include[0]", CodeUnsupported, "Unsupported parameter: 'include[0]' is not supported by Hearth: log probabilities are not supported."},
		{"include not strings", `{` + m + `"input":"x","include":[1]}`, "include[0]", CodeInvalidType, "Invalid type for 'include[0]': expected a string, but got an integer instead."},
		{"bad truncation", `{` + m + `"input":"x","truncation":"sometimes"}`, "truncation", CodeInvalidValue, "Invalid value: 'sometimes'. Supported values are: 'auto' and 'disabled'."},
		{"bad text.format type", `{` + m + `"input":"x","text":{"format":{"type":"yaml"}}}`, "text.format.type", CodeInvalidValue, "Invalid value: 'yaml'. Supported values are: 'text', 'json_schema', and 'json_object'."},
		{"json_schema without name", `{` + m + `"input":"x","text":{"format":{"type":"json_schema","schema":{}}}}`, "text.format.name", CodeMissingParameter, "Missing required parameter: 'text.format.name'."},
		{"json_schema without schema", `{` + m + `"input":"x","text":{"format":{"type":"json_schema","name":"n"}}}`, "text.format.schema", CodeMissingParameter, "Missing required parameter: 'text.format.schema'."},
		{"json_schema schema not object", `{` + m + `"input":"x","text":{"format":{"type":"json_schema","name":"n","schema":"{}"}}}`, "text.format.schema", CodeInvalidType, "Invalid type for 'text.format.schema': expected an object, but got a string instead."},
		{"json_schema bad name", `{` + m + `"input":"x","text":{"format":{"type":"json_schema","name":"my schema","schema":{}}}}`, "text.format.name", CodeInvalidValue, "Invalid 'text.format.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'."},
		{"grammar format", `{` + m + `"input":"x","text":{"format":{"type":"grammar","grammar":"x"}}}`, "text.format.type", CodeUnsupported, "Unsupported parameter: 'text.format.type' is not supported by Hearth: grammar-constrained output is not supported."},
		{"temperature above 2", `{` + m + `"input":"x","temperature":2.5}`, "temperature", CodeDecimalAboveMax, "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 2.5 instead."},
		{"top_p below 0", `{` + m + `"input":"x","top_p":-0.1}`, "top_p", CodeDecimalBelowMin, "Invalid 'top_p': decimal below minimum value. Expected a value >= 0, but got -0.1 instead."},
		{"max_output_tokens below 16", `{` + m + `"input":"x","max_output_tokens":4}`, "max_output_tokens", CodeBelowMin, "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got 4 instead."},
		{"max_tool_calls 0", `{` + m + `"input":"x","max_tool_calls":0}`, "max_tool_calls", CodeBelowMin, "Invalid 'max_tool_calls': integer below minimum value. Expected a value >= 1, but got 0 instead."},
		{"missing model", `{"input":"x"}`, "model", CodeMissingParameter, "Missing required parameter: 'model'."},
		{"missing input", `{` + `"model":"m"}`, "input", CodeMissingParameter, "Missing required parameter: 'input'."},
		{"background without store", `{` + m + `"input":"x","background":true,"store":false}`, "background", CodeInvalidValue, "Invalid value for 'background': background mode requires 'store' to be true."},
		{"unknown tool type", `{` + m + `"input":"x","tools":[{"type":"teleport"}]}`, "tools[0].type", CodeInvalidValue, "Invalid value: 'teleport'. Supported values are: 'function', 'file_search', and 'code_interpreter'."},
		{"tool Hearth does not run", `{` + m + `"input":"x","tools":[{"type":"web_search"}]}`, "tools[0].type", CodeUnsupported, "Unsupported parameter: 'tools[0].type' is not supported by Hearth: Hearth does not run the 'web_search' tool."},
		{"function tool without name", `{` + m + `"input":"x","tools":[{"type":"function","parameters":{}}]}`, "tools[0].name", CodeMissingParameter, "Missing required parameter: 'tools[0].name'."},
		{"function tool bad name", `{` + m + `"input":"x","tools":[{"type":"function","name":"get weather","parameters":{}}]}`, "tools[0].name", CodeInvalidValue, "Invalid 'tools[0].name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'."},
		{"function parameters not object", `{` + m + `"input":"x","tools":[{"type":"function","name":"f","parameters":[]}]}`, "tools[0].parameters", CodeInvalidType, "Invalid type for 'tools[0].parameters': expected an object, but got an array instead."},
		{"duplicate function names", `{` + m + `"input":"x","tools":[{"type":"function","name":"f"},{"type":"function","name":"f"}]}`, "tools[1].name", CodeInvalidValue, "Invalid 'tools': duplicate function name 'f'."},
		{"file_search without vector stores", `{` + m + `"input":"x","tools":[{"type":"file_search","vector_store_ids":[]}]}`, "tools[0].vector_store_ids", CodeEmptyArray, "Invalid 'tools[0].vector_store_ids': empty array. Expected an array with minimum length 1, but got an empty array instead."},
		{"code_interpreter without container", `{` + m + `"input":"x","tools":[{"type":"code_interpreter"}]}`, "tools[0].container", CodeMissingParameter, "Missing required parameter: 'tools[0].container'."},
		{"code_interpreter network allowlist", `{` + m + `"input":"x","tools":[{"type":"code_interpreter","container":{"type":"auto","network_policy":{"type":"allowlist"}}}]}`, "tools[0].container.network_policy", CodeUnsupported, "Unsupported parameter: 'tools[0].container.network_policy' is not supported by Hearth: the code interpreter's sandbox has no network."},
		{"bad tool_choice string", `{` + m + `"input":"x","tool_choice":"sometimes"}`, "tool_choice", CodeInvalidValue, "Invalid value: 'sometimes'. Supported values are: 'none', 'auto', and 'required'."},
		{"tool_choice function not in tools", `{` + m + `"input":"x","tools":[{"type":"function","name":"f"}],"tool_choice":{"type":"function","name":"g"}}`, "tool_choice", CodeInvalidValue, "Tool choice 'function' not found in 'tools' parameter: no function named 'g'."},
		{"tool_choice required without tools", `{` + m + `"input":"x","tool_choice":"required"}`, "tool_choice", CodeInvalidValue, "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified."},
		{"tool_choice mcp", `{` + m + `"input":"x","tool_choice":{"type":"mcp","server_label":"s"}}`, "tool_choice.type", CodeUnsupported, "Unsupported parameter: 'tool_choice.type' is not supported by Hearth: Hearth does not run the 'mcp' tool."},
		{"prompt without id", `{` + m + `"input":"x","prompt":{"variables":{}}}`, "prompt.id", "missing_required_parameter", "Missing required parameter: 'prompt.id'."},
		{"prompt variable not a string", `{` + m + `"input":"x","prompt":{"id":"asst_1","variables":{"n":{"type":"input_text","text":"x"}}}}`, "prompt.variables.n", CodeUnsupported, "Unsupported parameter: 'prompt.variables.n' is not supported by Hearth: prompt variables must be strings here."},
		{"top_logprobs", `{` + m + `"input":"x","top_logprobs":5}`, "top_logprobs", CodeUnsupported, "Unsupported parameter: 'top_logprobs' is not supported by Hearth: log probabilities are not supported."},
		{"context_management", `{` + m + `"input":"x","context_management":[{"type":"compaction"}]}`, "context_management", CodeUnsupported, "Unsupported parameter: 'context_management' is not supported by Hearth: server-side compaction is not supported."},
		{"metadata value not string", `{` + m + `"input":"x","metadata":{"k":1}}`, "metadata.k", CodeInvalidType, "Invalid type for 'metadata.k': expected a string, but got an integer instead."},
		{"metadata 17 pairs", `{` + m + `"input":"x","metadata":{"a":"","b":"","c":"","d":"","e":"","f":"","g":"","h":"","i":"","j":"","k":"","l":"","m":"","n":"","o":"","p":"","q":""}}`, "metadata", CodeInvalidValue, "Invalid 'metadata': too many properties. Expected an object with at most 16 properties, but got an object with 17 properties instead."},
		{"reasoning bad effort", `{` + m + `"input":"x","reasoning":{"effort":"extreme"}}`, "reasoning.effort", CodeInvalidValue, "Invalid value: 'extreme'. Supported values are: 'none', 'minimal', 'low', 'medium', 'high', 'xhigh', and 'max'."},
		{"reasoning context", `{` + m + `"input":"x","reasoning":{"context":"all_turns"}}`, "reasoning.context", CodeUnsupported, "Unsupported parameter: 'reasoning.context' is not supported by Hearth: which turns' reasoning the model sees is not configurable."},
		{"bad service_tier", `{` + m + `"input":"x","service_tier":"gold"}`, "service_tier", CodeInvalidValue, "Invalid value: 'gold'. Supported values are: 'auto', 'default', 'flex', 'scale', 'priority', 'fast', and 'ultrafast'."},
		{"stream_options unknown field", `{` + m + `"input":"x","stream":true,"stream_options":{"include_usage":true}}`, "stream_options.include_usage", CodeUnknownParameter, "Unknown parameter: 'stream_options.include_usage'."},
		{"body not an object", `["model"]`, "", CodeInvalidType, "Invalid type for '': expected an object, but got an array instead."},
		{"body not JSON", `{"model":`, "", "", "We could not parse the JSON body of your request. The API expects a JSON object."},
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseResponseRequest(c.body)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want a *Error", err)
			}
			if e.Status != 400 || e.Type != ErrorTypeInvalidRequest || !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("status %d type %s", e.Status, e.Type)
			}
			if e.Param != c.param || e.Code != c.code || e.Message != c.msg {
				t.Errorf("got param %q code %q message %q\nwant param %q code %q message %q", e.Param, e.Code, e.Message, c.param, c.code, c.msg)
			}
			// The envelope is the one every Hearth 400 has.
			b, _ := json.Marshal(ErrorBody{e})
			var env struct {
				Error struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Param   *string `json:"param"`
					Code    *string `json:"code"`
				} `json:"error"`
			}
			if json.Unmarshal(b, &env) != nil || env.Error.Type != "invalid_request_error" || env.Error.Message != c.msg {
				t.Errorf("envelope %s", b)
			}
		})
	}
}

// A request using every accepted field decodes, validates and re-encodes
// to the same JSON.
func TestResponseCreateFull(t *testing.T) {
	body := `{
	"model":"llama3.2","instructions":"Be brief.","store":true,"background":false,"stream":true,
	"input":[
		{"role":"developer","content":"Answer in French."},
		{"type":"message","role":"user","content":[
			{"type":"input_text","text":"What is in this image?"},
			{"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"low"},
			{"type":"input_file","file_id":"file-1"}]},
		{"type":"message","role":"assistant","id":"msg_1","status":"completed","content":[
			{"type":"output_text","text":"Un chat.","annotations":[{"type":"file_citation","file_id":"file-1","filename":"a.txt","index":3}]},
			{"type":"refusal","refusal":"no"}]},
		{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"thought"}],"content":[{"type":"reasoning_text","text":"deep"}]},
		{"type":"function_call","id":"fc_1","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}","status":"completed"},
		{"type":"function_call_output","call_id":"call_1","output":"18C","name":"get_weather"},
		{"type":"function_call_output","call_id":"call_2","output":[{"type":"input_text","text":"part"}]},
		{"type":"file_search_call","id":"fs_1","queries":["q"],"status":"completed","results":[{"file_id":"file-1","filename":"a.txt","score":0.5,"text":"t","attributes":{"k":"v"}}]},
		{"type":"code_interpreter_call","id":"ci_1","code":"print(1)","container_id":"cntr_1","status":"completed","outputs":[{"type":"logs","logs":"1\n"}]},
		{"type":"item_reference","id":"msg_0"}
	],
	"tools":[
		{"type":"function","name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true},
		{"type":"file_search","vector_store_ids":["vs_1"],"max_num_results":5,"ranking_options":{"ranker":"auto","score_threshold":0.2},"filters":{"type":"eq","key":"k","value":"v"}},
		{"type":"code_interpreter","container":{"type":"auto","file_ids":["file-2"],"memory_limit":"1g"}}
	],
	"tool_choice":{"type":"allowed_tools","mode":"auto","tools":[{"type":"function","name":"get_weather"},{"type":"file_search"}]},
	"parallel_tool_calls":false,"max_tool_calls":3,"max_output_tokens":256,"temperature":0.2,"top_p":0.9,"top_logprobs":0,
	"text":{"format":{"type":"json_schema","name":"answer","schema":{"type":"object"},"strict":true},"verbosity":"low"},
	"truncation":"auto","reasoning":{"effort":"low","summary":"auto"},"metadata":{"k":"v"},
	"include":["file_search_call.results","code_interpreter_call.outputs","reasoning.encrypted_content"],
	"service_tier":"auto","user":"u","safety_identifier":"s","prompt_cache_key":"p","prompt_cache_retention":"24h",
	"stream_options":{"include_obfuscation":false},"conversation":null,"prompt":null
}`
	p, err := parseResponseRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Input.Items) != 10 || p.Input.Items[0].Message.Content[0].Type != PartInputText || p.Input.Items[2].Message.Content[0].Annotations[0].Index != 3 {
		t.Fatalf("input decoded as %+v", p.Input.Items)
	}
	if p.Tools[2].Container.Auto == nil || *p.Tools[2].Container.Auto.MemoryLimit != "1g" || p.ToolChoice.Tools[1].Type != ToolTypeFileSearch {
		t.Fatalf("tools %+v choice %+v", p.Tools, p.ToolChoice)
	}
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := parseResponseRequest(string(out))
	if err != nil {
		t.Fatalf("re-encoded request refused: %v\n%s", err, out)
	}
	out2, _ := json.Marshal(q)
	if string(out) != string(out2) {
		t.Fatalf("not stable:\n%s\n%s", out, out2)
	}
	// The untyped string-content developer message came back typed and as parts.
	if !strings.Contains(string(out), `{"type":"message","role":"developer","content":[{"type":"input_text","text":"Answer in French."}]}`) {
		t.Fatalf("easy message re-encoded as %s", out)
	}
}

func TestResponseInputForms(t *testing.T) {
	var in ResponseInput
	if err := json.Unmarshal([]byte(`"hello"`), &in); err != nil || in.Text != "hello" || in.Items != nil {
		t.Fatalf("%v %+v", err, in)
	}
	items := in.AsItems()
	if len(items) != 1 || items[0].Message.Role != RoleUser || items[0].Message.Text() != "hello" {
		t.Fatalf("AsItems %+v", items)
	}
	if b, _ := json.Marshal(in); string(b) != `"hello"` {
		t.Fatalf("string input re-encoded as %s", b)
	}
	if err := json.Unmarshal([]byte(`[]`), &in); err != nil || in.Items == nil || len(in.Items) != 0 {
		t.Fatalf("empty list: %v %+v", err, in)
	}
	if b, _ := json.Marshal(in); string(b) != `[]` {
		t.Fatalf("empty list re-encoded as %s", b)
	}
	// An assistant's string content is output text.
	if err := json.Unmarshal([]byte(`[{"role":"assistant","content":"hi"}]`), &in); err != nil || in.Items[0].Message.Content[0].Type != PartOutputText {
		t.Fatalf("%v %+v", err, in)
	}
	var e *Error
	if err := json.Unmarshal([]byte(`{"a":1}`), &in); !errors.As(err, &e) || e.Param != "input" {
		t.Fatalf("object input: %v", err)
	}
}

func TestItemAsAny(t *testing.T) {
	items := []Item{
		ItemOf(&MessageItem{Role: RoleUser, Content: []ContentPart{InputText("x")}}),
		ItemOf(&FunctionCallItem{CallID: "c", Name: "f", Arguments: "{}"}),
		ItemOf(&FunctionCallOutputItem{CallID: "c", Output: FunctionCallOutput{Text: "1"}}),
		ItemOf(&ReasoningItem{ID: "rs_1"}),
		ItemOf(&FileSearchCallItem{ID: "fs_1", Status: ItemCompleted}),
		ItemOf(&CodeInterpreterCallItem{ID: "ci_1", Status: ItemCompleted, ContainerID: "c"}),
		ItemOf(&ItemReference{ID: "msg_1"}),
	}
	want := []ItemType{ItemMessage, ItemFunctionCall, ItemFunctionCallOutput, ItemReasoning, ItemFileSearchCall, ItemCodeInterpreterCall, ItemReferenceType}
	for i, it := range items {
		if it.Type() != want[i] || it.AsAny() == nil {
			t.Fatalf("item %d: type %q", i, it.Type())
		}
		b, err := json.Marshal(it)
		if err != nil {
			t.Fatal(err)
		}
		var back Item
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if back.Type() != want[i] {
			t.Fatalf("%s decoded as %q", b, back.Type())
		}
		if b2, _ := json.Marshal(back); string(b2) != string(b) {
			t.Fatalf("round trip %s → %s", b, b2)
		}
	}
	if (Item{}).AsAny() != nil || (Item{}).Type() != "" {
		t.Fatal("zero item has a variant")
	}
	if err := CheckItems("input", []Item{{}}); err == nil {
		t.Fatal("empty item accepted")
	}
	if err := CheckItems("input", []Item{{Message: &MessageItem{}, Reference: &ItemReference{ID: "x"}}}); err == nil {
		t.Fatal("two-variant item accepted")
	}
}

func TestResponseOutputText(t *testing.T) {
	r := Response{Output: []Item{
		ItemOf(&ReasoningItem{ID: "rs"}),
		ItemOf(&MessageItem{Role: RoleAssistant, Content: []ContentPart{OutputText("Hello, "), {Type: PartRefusal, Refusal: "no"}}}),
		ItemOf(&FunctionCallItem{CallID: "c", Name: "f"}),
		ItemOf(&MessageItem{Role: RoleAssistant, Content: []ContentPart{OutputText("world")}}),
	}}
	if got := r.OutputText(); got != "Hello, world" {
		t.Fatalf("OutputText %q", got)
	}
}

func TestResponseEventsMarshal(t *testing.T) {
	it := ItemOf(&MessageItem{ID: "msg_1", Role: RoleAssistant, Status: ItemInProgress})
	part := OutputText("")
	cases := []struct {
		ev   ResponseStreamEvent
		want string
	}{
		{ResponseStreamEvent{Type: EventOutputTextDelta, SequenceNumber: 4, ItemID: "msg_1", Delta: "Hi"},
			`{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi","logprobs":[]}`},
		{ResponseStreamEvent{Type: EventOutputItemAdded, SequenceNumber: 2, OutputIndex: 1, Item: &it},
			`{"type":"response.output_item.added","sequence_number":2,"output_index":1,"item":{"id":"msg_1","type":"message","role":"assistant","status":"in_progress","content":[]}}`},
		{ResponseStreamEvent{Type: EventContentPartAdded, SequenceNumber: 3, ItemID: "msg_1", Part: &part},
			`{"type":"response.content_part.added","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}}`},
		{ResponseStreamEvent{Type: EventFunctionCallArgumentsDone, SequenceNumber: 9, ItemID: "fc_1", Arguments: "{}"},
			`{"type":"response.function_call_arguments.done","sequence_number":9,"item_id":"fc_1","output_index":0,"arguments":"{}"}`},
		{ErrorResponseEvent(ServerError("boom")),
			`{"type":"error","sequence_number":0,"code":"server_error","message":"boom","param":null}`},
	}
	for _, c := range cases {
		b, err := json.Marshal(c.ev)
		if err != nil || string(b) != c.want {
			t.Errorf("%s: %v\n got %s\nwant %s", c.ev.Type, err, b, c.want)
		}
		var back ResponseStreamEvent
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if b2, _ := json.Marshal(back); string(b2) != string(b) {
			t.Errorf("round trip %s → %s", b, b2)
		}
	}
	if _, err := json.Marshal(ResponseStreamEvent{Type: "response.teleported"}); err == nil {
		t.Fatal("unknown event type marshalled")
	}
}

func TestConversationParams(t *testing.T) {
	var c ConversationCreateParams
	if err := json.Unmarshal([]byte(`{"items":[{"type":"message","role":"user","content":"hi"}],"metadata":{"topic":"demo"}}`), &c); err != nil || c.Validate() != nil {
		t.Fatalf("%v %+v", err, c)
	}
	var e *Error
	if err := json.Unmarshal([]byte(`{"items":[],"title":"x"}`), &c); !errors.As(err, &e) || e.Param != "title" || e.Code != CodeUnknownParameter {
		t.Fatalf("unknown field: %v", err)
	}
	var ic ConversationItemCreateParams
	if err := json.Unmarshal([]byte(`{}`), &ic); !errors.As(err, &e) || e.Param != "items" || e.Code != CodeMissingParameter {
		t.Fatalf("missing items: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"items":[]}`), &ic); err != nil || ic.Validate() == nil {
		t.Fatalf("empty items: %v", err)
	}
	many := `{"items":[` + strings.Repeat(`{"role":"user","content":"x"},`, 20) + `{"role":"user","content":"x"}]}`
	if err := json.Unmarshal([]byte(many), &ic); err != nil {
		t.Fatal(err)
	}
	if err := ic.Validate(); !errors.As(err, &e) || e.Code != CodeArrayTooLong {
		t.Fatalf("21 items: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"items":[{"type":"item_reference","id":"msg_1"}]}`), &ic); err != nil || ic.Validate() == nil {
		t.Fatalf("reference stored: %v", err)
	}
	var u ConversationUpdateParams
	if err := json.Unmarshal([]byte(`{}`), &u); !errors.As(err, &e) || e.Param != "metadata" {
		t.Fatalf("update without metadata: %v", err)
	}
	b, _ := json.Marshal(Conversation{ID: "conv_1", CreatedAt: 1})
	if string(b) != `{"id":"conv_1","object":"conversation","created_at":1,"metadata":{}}` {
		t.Fatalf("conversation %s", b)
	}
	b, _ = json.Marshal(NewItemList(nil))
	if string(b) != `{"object":"list","data":[],"first_id":null,"last_id":null,"has_more":false}` {
		t.Fatalf("empty list %s", b)
	}
}

// The decoders must never panic and, when they accept, must encode again.
func FuzzResponseCreateParams(f *testing.F) {
	f.Add([]byte(`{"model":"m","input":"hi"}`))
	f.Add([]byte(`{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"f"}]}],"tools":[{"type":"function","name":"f"}],"tool_choice":{"type":"function","name":"f"}}`))
	f.Add([]byte(`{"model":"m","conversation":{"id":"conv_1"},"text":{"format":{"type":"json_schema","name":"n","schema":{}}},"reasoning":{"effort":"low"}}`))
	f.Add([]byte(`{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":[{"type":"input_text","text":"x"}]}],"include":["file_search_call.results"]}`))
	f.Add([]byte(`{"tools":[{"type":"code_interpreter","container":{"type":"auto","network_policy":{"type":"disabled"}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecodeResponseCreateParams(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 {
				t.Fatalf("untyped error %T %v", err, err)
			}
			return
		}
		_ = p.Validate()
		if _, err := json.Marshal(p); err != nil {
			t.Fatalf("decoded but does not encode: %v", err)
		}
	})
}

func FuzzResponseInput(f *testing.F) {
	f.Add([]byte(`"hi"`))
	f.Add([]byte(`[{"role":"assistant","content":[{"type":"output_text","text":"x","annotations":[{"type":"url_citation","url":"u","title":"t","start_index":0,"end_index":1}]}]}]`))
	f.Add([]byte(`[{"type":"reasoning","id":"r","summary":[]},{"type":"item_reference","id":"x"},{"id":"y"}]`))
	f.Add([]byte(`[{"type":"file_search_call","id":"f","queries":[],"status":"completed","results":null}]`))
	f.Add([]byte(`{"model":"m","input":[{"role":"user","content":"a\"b"`))
	f.Add([]byte(`{"a":[1,{"b":"]"}],"c":tru}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		targets := []any{new(ResponseInput), new(Item), new(ContentPart), new(ConversationCreateParams), new(ConversationItemCreateParams),
			new(ResponseTool), new(ResponseToolChoice), new(ResponseStreamEvent), new(Response), new(TextFormat)}
		for _, v := range targets {
			if json.Unmarshal(data, v) == nil {
				if _, err := json.Marshal(v); err != nil {
					t.Fatalf("%T decoded but does not encode: %v", v, err)
				}
			}
		}
		// Called directly, the strict decoders see bytes encoding/json has
		// not checked: they must refuse them, not panic.
		for _, v := range []json.Unmarshaler{new(ResponseCreateParams), new(Item), new(ContentPart), new(ResponseTool),
			new(ResponseToolChoice), new(ConversationItemCreateParams), new(ResponseInput)} {
			_ = v.UnmarshalJSON(data)
		}
	})
}

// Validate catches what a Go caller can build but no decoded request can
// carry past the decoder.
func TestResponseCreateValidateGoValues(t *testing.T) {
	base := func() ResponseCreateParams {
		return ResponseCreateParams{Model: "m", Input: TextResponseInput("x")}
	}
	bad := "sometimes"
	cases := []struct {
		name  string
		edit  func(*ResponseCreateParams)
		param string
	}{
		{"bad role", func(p *ResponseCreateParams) {
			p.Input = ItemsResponseInput(ItemOf(&MessageItem{Role: "wizard", Content: []ContentPart{InputText("x")}}))
		}, "input[0].role"},
		{"output part in a user message", func(p *ResponseCreateParams) {
			p.Input = ItemsResponseInput(ItemOf(&MessageItem{Role: RoleUser, Content: []ContentPart{OutputText("x")}}))
		}, "input[0].content[0]"},
		{"function call output without call_id", func(p *ResponseCreateParams) {
			p.Input = ItemsResponseInput(ItemOf(&FunctionCallOutputItem{Output: FunctionCallOutput{Text: "1"}}))
		}, "input[0].call_id"},
		{"image part with nothing", func(p *ResponseCreateParams) {
			p.Input = ItemsResponseInput(ItemOf(&MessageItem{Role: RoleUser, Content: []ContentPart{{Type: PartInputImage}}}))
		}, "input[0].content[0]"},
		{"bad truncation", func(p *ResponseCreateParams) { p.Truncation = &bad }, "truncation"},
		{"bad include", func(p *ResponseCreateParams) { p.Include = []string{"everything"} }, "include[0]"},
		{"unknown tool type", func(p *ResponseCreateParams) { p.Tools = []ResponseTool{{Type: "teleport"}} }, "tools[0].type"},
		{"code interpreter without container", func(p *ResponseCreateParams) { p.Tools = []ResponseTool{{Type: ToolTypeCodeInterpreter}} }, "tools[0].container"},
		{"text format without type", func(p *ResponseCreateParams) { p.Text = &ResponseTextConfig{Format: &TextFormat{}} }, "text.format.type"},
		{"bad tool choice mode", func(p *ResponseCreateParams) { p.ToolChoice = &ResponseToolChoice{Mode: bad} }, "tool_choice"},
		{"allowed tool not in tools", func(p *ResponseCreateParams) {
			p.ToolChoice = &ResponseToolChoice{Type: ToolChoiceAllowedTools, Mode: ToolChoiceAuto, Tools: []AllowedTool{{Type: ToolTypeFunction, Name: "f"}}}
		}, "tool_choice.tools[0]"},
		{"bad reasoning summary", func(p *ResponseCreateParams) { p.Reasoning = &Reasoning{Summary: &bad} }, "reasoning.summary"},
		{"empty conversation id", func(p *ResponseCreateParams) { p.Conversation = &ConversationRef{} }, "conversation"},
	}
	ok := base()
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		p := base()
		c.edit(&p)
		var e *Error
		if err := p.Validate(); !errors.As(err, &e) || e.Param != c.param || e.Status != 400 {
			t.Errorf("%s: got %v, want a 400 naming %s", c.name, err, c.param)
		}
	}
}
