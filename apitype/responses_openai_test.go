package apitype_test

// Round trips against openai-go v3, the SDK Go callers of the Responses API
// use: what it sends decodes into Hearth's types with every field kept, and
// what Hearth writes decodes into its types with nothing missing, nothing
// unknown and no field of the wrong shape. An external test package, so
// that apitype itself imports nothing.

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/conversations"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"
)

func decodeParams(t *testing.T, v any) *apitype.ResponseCreateParams {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p, err := apitype.DecodeResponseCreateParams(b)
	if err != nil {
		t.Fatalf("openai-go's request refused: %v\n%s", err, b)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("openai-go's request invalid: %v\n%s", err, b)
	}
	return p
}

func TestOpenAIGoStringInput(t *testing.T) {
	p := decodeParams(t, responses.ResponseNewParams{
		Model:        "llama3.2",
		Input:        responses.ResponseNewParamsInputUnion{OfString: openai.String("Tell me a joke")},
		Instructions: openai.String("Be funny."),
		Store:        openai.Bool(false),
	})
	if p.Model != "llama3.2" || p.Input.Text != "Tell me a joke" || p.Input.Items != nil || *p.Instructions != "Be funny." || p.StoreOrDefault() {
		t.Fatalf("%+v", p)
	}
}

func TestOpenAIGoFullRequest(t *testing.T) {
	schema := map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}}
	input := responses.ResponseInputParam{
		responses.ResponseInputItemParamOfMessage("You are terse.", responses.EasyInputMessageRoleDeveloper),
		responses.ResponseInputItemParamOfInputMessage(responses.ResponseInputMessageContentListParam{
			{OfInputText: &responses.ResponseInputTextParam{Text: "What is this?"}},
			{OfInputImage: &responses.ResponseInputImageParam{ImageURL: openai.String("data:image/png;base64,AAAA"), Detail: responses.ResponseInputImageDetailLow}},
			{OfInputFile: &responses.ResponseInputFileParam{FileID: openai.String("file-abc"), Filename: openai.String("a.pdf")}},
		}, "user"),
		responses.ResponseInputItemParamOfOutputMessage([]responses.ResponseOutputMessageContentUnionParam{
			{OfOutputText: &responses.ResponseOutputTextParam{Text: "A cat.", Annotations: []responses.ResponseOutputTextAnnotationUnionParam{
				{OfFileCitation: &responses.ResponseOutputTextAnnotationFileCitationParam{FileID: "file-abc", Filename: "a.pdf", Index: 2}},
				{OfURLCitation: &responses.ResponseOutputTextAnnotationURLCitationParam{URL: "https://x", Title: "X", StartIndex: 0, EndIndex: 3}},
			}}},
			{OfRefusal: &responses.ResponseOutputRefusalParam{Refusal: "no more"}},
		}, "msg_1", responses.ResponseOutputMessageStatusCompleted),
		responses.ResponseInputItemParamOfReasoning("rs_1", []responses.ResponseReasoningItemSummaryParam{{Text: "thinking"}}),
		responses.ResponseInputItemParamOfFunctionCall(`{"city":"Paris"}`, "call_1", "get_weather"),
		responses.ResponseInputItemParamOfFunctionCallOutput("18C"),
		responses.ResponseInputItemParamOfFunctionCallOutput(responses.ResponseFunctionCallOutputItemListParam{
			{OfInputText: &responses.ResponseInputTextContentParam{Text: "chart:"}},
			{OfInputImage: &responses.ResponseInputImageContentParam{FileID: openai.String("file-img")}},
		}),
		responses.ResponseInputItemParamOfFileSearchCall("fs_1", []string{"cats"}, responses.ResponseFileSearchToolCallStatusCompleted),
		{OfCodeInterpreterCall: &responses.ResponseCodeInterpreterToolCallParam{ID: "ci_1", Code: openai.String("print(1)"), ContainerID: "cntr_1",
			Status:  responses.ResponseCodeInterpreterToolCallStatusCompleted,
			Outputs: []responses.ResponseCodeInterpreterToolCallOutputUnionParam{{OfLogs: &responses.ResponseCodeInterpreterToolCallOutputLogsParam{Logs: "1\n"}}}}},
		{OfItemReference: &responses.ResponseInputItemItemReferenceParam{ID: "msg_0"}},
	}
	input[5].OfFunctionCallOutput.CallID = openai.String("call_1")
	input[6].OfFunctionCallOutput.CallID = openai.String("call_2")
	input[4].OfFunctionCall.ID = openai.String("fc_1")
	input[4].OfFunctionCall.Status = responses.ResponseFunctionToolCallStatusCompleted

	p := decodeParams(t, responses.ResponseNewParams{
		Model:              "llama3.2",
		Input:              responses.ResponseNewParamsInputUnion{OfInputItemList: input},
		PreviousResponseID: openai.String("resp_prev"),
		Background:         openai.Bool(true),
		Store:              openai.Bool(true),
		MaxOutputTokens:    openai.Int(512),
		MaxToolCalls:       openai.Int(4),
		ParallelToolCalls:  openai.Bool(false),
		Temperature:        openai.Float(0.3),
		TopP:               openai.Float(0.8),
		Truncation:         responses.ResponseNewParamsTruncationAuto,
		Metadata:           shared.Metadata{"user": "42"},
		Include:            []responses.ResponseIncludable{responses.ResponseIncludableFileSearchCallResults, responses.ResponseIncludableCodeInterpreterCallOutputs},
		Reasoning:          shared.ReasoningParam{Effort: shared.ReasoningEffortLow, Summary: shared.ReasoningSummaryAuto},
		Text: responses.ResponseTextConfigParam{
			Format:    responses.ResponseFormatTextConfigUnionParam{OfJSONSchema: &responses.ResponseFormatTextJSONSchemaConfigParam{Name: "weather", Schema: schema, Strict: openai.Bool(true)}},
			Verbosity: responses.ResponseTextConfigVerbosityLow,
		},
		Tools: []responses.ToolUnionParam{
			{OfFunction: &responses.FunctionToolParam{Name: "get_weather", Description: openai.String("Weather by city"), Parameters: schema, Strict: openai.Bool(true)}},
			{OfFileSearch: &responses.FileSearchToolParam{VectorStoreIDs: []string{"vs_1"}, MaxNumResults: openai.Int(8)}},
			{OfCodeInterpreter: &responses.ToolCodeInterpreterParam{Container: responses.ToolCodeInterpreterContainerUnionParam{
				OfCodeInterpreterToolAuto: &responses.ToolCodeInterpreterContainerCodeInterpreterContainerAutoParam{FileIDs: []string{"file-data"}}}}},
		},
		ToolChoice:       responses.ResponseNewParamsToolChoiceUnion{OfFunctionTool: &responses.ToolChoiceFunctionParam{Name: "get_weather"}},
		User:             openai.String("u-1"),
		SafetyIdentifier: openai.String("sid"),
		PromptCacheKey:   openai.String("pck"),
		ServiceTier:      responses.ResponseNewParamsServiceTierAuto,
	})

	it := p.Input.Items
	if len(it) != 10 {
		t.Fatalf("%d items", len(it))
	}
	if m := it[0].Message; m == nil || m.Role != apitype.RoleDeveloper || m.Text() != "You are terse." {
		t.Fatalf("easy message %+v", it[0])
	}
	if m := it[1].Message; m == nil || m.Role != apitype.RoleUser || len(m.Content) != 3 || m.Content[1].Type != apitype.PartInputImage ||
		*m.Content[1].ImageURL != "data:image/png;base64,AAAA" || m.Content[1].Detail != "low" || *m.Content[2].FileID != "file-abc" || *m.Content[2].Filename != "a.pdf" {
		t.Fatalf("input message %+v", it[1].Message)
	}
	if m := it[2].Message; m == nil || m.Role != apitype.RoleAssistant || m.ID != "msg_1" || m.Status != "completed" || m.Content[0].Text != "A cat." ||
		len(m.Content[0].Annotations) != 2 || m.Content[0].Annotations[0].Index != 2 || m.Content[0].Annotations[1].URL != "https://x" || m.Content[1].Refusal != "no more" {
		t.Fatalf("output message %+v", it[2].Message)
	}
	if r := it[3].Reasoning; r == nil || r.ID != "rs_1" || r.Summary[0].Text != "thinking" {
		t.Fatalf("reasoning %+v", it[3])
	}
	if c := it[4].FunctionCall; c == nil || c.ID != "fc_1" || c.CallID != "call_1" || c.Name != "get_weather" || c.Arguments != `{"city":"Paris"}` || c.Status != "completed" {
		t.Fatalf("function call %+v", it[4])
	}
	if o := it[5].FunctionCallOutput; o == nil || o.CallID != "call_1" || o.Output.Text != "18C" || o.Output.Parts != nil {
		t.Fatalf("function output %+v", it[5])
	}
	if o := it[6].FunctionCallOutput; o == nil || len(o.Output.Parts) != 2 || o.Output.Parts[0].Text != "chart:" || *o.Output.Parts[1].FileID != "file-img" {
		t.Fatalf("function output parts %+v", it[6])
	}
	if c := it[7].FileSearchCall; c == nil || c.ID != "fs_1" || c.Queries[0] != "cats" || c.Status != "completed" {
		t.Fatalf("file search call %+v", it[7])
	}
	if c := it[8].CodeInterpreterCall; c == nil || *c.Code != "print(1)" || c.ContainerID != "cntr_1" || c.Outputs[0].Logs != "1\n" {
		t.Fatalf("code interpreter call %+v", it[8])
	}
	if r := it[9].Reference; r == nil || r.ID != "msg_0" {
		t.Fatalf("reference %+v", it[9])
	}
	if *p.PreviousResponseID != "resp_prev" || !*p.Background || *p.MaxOutputTokens != 512 || *p.MaxToolCalls != 4 || *p.ParallelToolCalls ||
		*p.Temperature != 0.3 || *p.TopP != 0.8 || *p.Truncation != "auto" || p.Metadata["user"] != "42" || len(p.Include) != 2 ||
		*p.Reasoning.Effort != "low" || *p.Reasoning.Summary != "auto" || *p.User != "u-1" || *p.SafetyIdentifier != "sid" ||
		*p.PromptCacheKey != "pck" || *p.ServiceTier != "auto" {
		t.Fatalf("scalars %+v", p)
	}
	if f := p.Text.Format; f.Type != "json_schema" || f.Name != "weather" || !*f.Strict || !strings.Contains(string(f.Schema), `"required":["city"]`) || *p.Text.Verbosity != "low" {
		t.Fatalf("text %+v", p.Text)
	}
	if tl := p.Tools; len(tl) != 3 || tl[0].Name != "get_weather" || *tl[0].Description != "Weather by city" || !*tl[0].Strict ||
		tl[1].VectorStoreIDs[0] != "vs_1" || *tl[1].MaxNumResults != 8 || tl[2].Container.Auto == nil || tl[2].Container.Auto.FileIDs[0] != "file-data" {
		t.Fatalf("tools %+v", p.Tools)
	}
	if c := p.ToolChoice; c.Type != "function" || c.Name != "get_weather" {
		t.Fatalf("tool choice %+v", c)
	}
}

func TestOpenAIGoConversationAndToolChoices(t *testing.T) {
	p := decodeParams(t, responses.ResponseNewParams{
		Model:        "m",
		Input:        responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
		Conversation: responses.ResponseNewParamsConversationUnion{OfString: openai.String("conv_1")},
		ToolChoice:   responses.ResponseNewParamsToolChoiceUnion{OfToolChoiceMode: openai.Opt(responses.ToolChoiceOptionsRequired)},
		Tools:        []responses.ToolUnionParam{{OfFunction: &responses.FunctionToolParam{Name: "f", Parameters: map[string]any{"type": "object"}}}},
	})
	if p.Conversation.ID != "conv_1" || p.ToolChoice.Mode != "required" {
		t.Fatalf("%+v %+v", p.Conversation, p.ToolChoice)
	}
	p = decodeParams(t, responses.ResponseNewParams{
		Model:        "m",
		Input:        responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
		Conversation: responses.ResponseNewParamsConversationUnion{OfConversationObject: &responses.ResponseConversationParam{ID: "conv_2"}},
		Tools: []responses.ToolUnionParam{{OfFileSearch: &responses.FileSearchToolParam{VectorStoreIDs: []string{"vs_1"}}},
			{OfFunction: &responses.FunctionToolParam{Name: "f", Parameters: map[string]any{"type": "object"}}}},
		ToolChoice: responses.ResponseNewParamsToolChoiceUnion{OfAllowedTools: &responses.ToolChoiceAllowedParam{
			Mode: responses.ToolChoiceAllowedModeAuto, Tools: []map[string]any{{"type": "function", "name": "f"}, {"type": "file_search"}}}},
	})
	if p.Conversation.ID != "conv_2" || p.ToolChoice.Type != "allowed_tools" || len(p.ToolChoice.Tools) != 2 || p.ToolChoice.Tools[0].Name != "f" {
		t.Fatalf("%+v %+v", p.Conversation, p.ToolChoice)
	}
	p = decodeParams(t, responses.ResponseNewParams{
		Model:      "m",
		Input:      responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
		Tools:      []responses.ToolUnionParam{{OfCodeInterpreter: &responses.ToolCodeInterpreterParam{Container: responses.ToolCodeInterpreterContainerUnionParam{OfString: openai.String("cntr_9")}}}},
		ToolChoice: responses.ResponseNewParamsToolChoiceUnion{OfHostedTool: &responses.ToolChoiceTypesParam{Type: responses.ToolChoiceTypesTypeCodeInterpreter}},
	})
	if p.Tools[0].Container.ID != "cntr_9" || p.ToolChoice.Type != "code_interpreter" {
		t.Fatalf("%+v %+v", p.Tools[0], p.ToolChoice)
	}
}

// extraFields lists the JSON fields openai-go did not recognise, recursively
// over the values given.
func noExtraFields(t *testing.T, what string, extras map[string]any, allowed ...string) {
	t.Helper()
	var bad []string
	for k := range extras {
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			bad = append(bad, k)
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Errorf("%s: fields openai-go does not know: %v", what, bad)
	}
}

func sampleResponse() apitype.Response {
	code := "print(2+2)"
	one, temp := 1.0, 0.7
	created := int64(1_700_000_000)
	done := created + 2
	instr := "Be brief."
	prev := "resp_prev"
	effort := "low"
	strict := true
	return apitype.Response{
		ID: "resp_1", CreatedAt: created, Status: apitype.ResponseCompleted, CompletedAt: &done, Model: "llama3.2",
		Instructions: &instr, PreviousResponseID: &prev, Store: true, ParallelToolCalls: true, Temperature: &temp, TopP: &one,
		Truncation: apitype.TruncationAuto, Reasoning: &apitype.Reasoning{Effort: &effort},
		Text:       apitype.ResponseTextConfig{Format: &apitype.TextFormat{Type: apitype.ResponseFormatJSONSchema, Name: "answer", Schema: json.RawMessage(`{"type":"object"}`), Strict: &strict}},
		ToolChoice: apitype.ResponseToolChoice{Mode: apitype.ToolChoiceAuto},
		Tools: []apitype.ResponseTool{
			apitype.FunctionTool("get_weather", "Weather", json.RawMessage(`{"type":"object"}`), true),
			{Type: apitype.ToolTypeFileSearch, VectorStoreIDs: []string{"vs_1"}},
			{Type: apitype.ToolTypeCodeInterpreter, Container: &apitype.ToolContainer{Auto: &apitype.ContainerAuto{}}},
		},
		Output: []apitype.Item{
			apitype.ItemOf(&apitype.ReasoningItem{ID: "rs_1", Summary: []apitype.ContentPart{{Type: apitype.PartSummaryText, Text: "sum"}},
				Content: []apitype.ContentPart{{Type: apitype.PartReasoningText, Text: "deep"}}, Status: apitype.ItemCompleted}),
			apitype.ItemOf(&apitype.FileSearchCallItem{ID: "fs_1", Queries: []string{"q"}, Status: apitype.ItemCompleted,
				Results: []apitype.FileSearchCallResult{{FileID: "file-1", Filename: "a.txt", Score: 0.9, Text: "chunk", Attributes: map[string]any{"k": "v"}}}}),
			apitype.ItemOf(&apitype.CodeInterpreterCallItem{ID: "ci_1", Code: &code, ContainerID: "cntr_1", Status: apitype.ItemCompleted,
				Outputs: []apitype.CodeInterpreterCallOutput{{Type: "logs", Logs: "4\n"}, {Type: "image", URL: "https://img"}}}),
			apitype.ItemOf(&apitype.FunctionCallItem{ID: "fc_1", CallID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`, Status: apitype.ItemCompleted}),
			apitype.ItemOf(&apitype.MessageItem{ID: "msg_1", Role: apitype.RoleAssistant, Status: apitype.ItemCompleted, Content: []apitype.ContentPart{
				{Type: apitype.PartOutputText, Text: "It is 18C.", Annotations: []apitype.OutputAnnotation{
					{Type: apitype.AnnotationFileCitation, FileID: "file-1", Filename: "a.txt", Index: 3},
					{Type: apitype.AnnotationContainerFileCitation, ContainerID: "cntr_1", FileID: "cfile_1", Filename: "plot.png", StartIndex: 0, EndIndex: 4},
					{Type: apitype.AnnotationFilePath, FileID: "file-2", Index: 1},
				}},
				{Type: apitype.PartRefusal, Refusal: "nope"},
			}}),
		},
		Usage: &apitype.ResponseUsage{InputTokens: 36, InputTokensDetails: apitype.InputTokensDetails{CachedTokens: 12},
			OutputTokens: 87, OutputTokensDetails: apitype.OutputTokensDetails{ReasoningTokens: 20}, TotalTokens: 123},
		Metadata: apitype.Metadata{"k": "v"},
	}
}

func TestOpenAIGoReadsResponse(t *testing.T) {
	r := sampleResponse()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got responses.Response
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("openai-go cannot read %s: %v", b, err)
	}
	// store is on the hosted API's response object though not in the SDKs' types.
	noExtraFields(t, "response", toAny(got.JSON.ExtraFields), "store")
	if got.ID != "resp_1" || got.Object != "response" || got.Status != responses.ResponseStatusCompleted || got.CreatedAt != 1_700_000_000 ||
		got.CompletedAt != 1_700_000_002 || got.Model != "llama3.2" || got.Instructions.OfString != "Be brief." || got.PreviousResponseID != "resp_prev" ||
		got.Temperature != 0.7 || got.TopP != 1 || !got.ParallelToolCalls || got.Truncation != "auto" || got.Reasoning.Effort != "low" ||
		got.Metadata["k"] != "v" || got.ServiceTier != "default" {
		t.Fatalf("scalars: %s", b)
	}
	if got.OutputText() != "It is 18C." || r.OutputText() != got.OutputText() {
		t.Fatalf("output text %q, Hearth %q", got.OutputText(), r.OutputText())
	}
	u := got.Usage
	if u.InputTokens != 36 || u.InputTokensDetails.CachedTokens != 12 || u.OutputTokens != 87 || u.OutputTokensDetails.ReasoningTokens != 20 || u.TotalTokens != 123 ||
		!u.JSON.InputTokensDetails.Valid() || !u.InputTokensDetails.JSON.CacheWriteTokens.Valid() {
		t.Fatalf("usage %+v", u)
	}
	if len(got.Output) != 5 {
		t.Fatalf("%d output items", len(got.Output))
	}
	for i, o := range got.Output {
		noExtraFields(t, "output item "+o.Type, extras(o.AsAny()))
		_ = i
	}
	rs, ok := got.Output[0].AsAny().(responses.ResponseReasoningItem)
	if !ok || rs.ID != "rs_1" || rs.Summary[0].Text != "sum" || rs.Content[0].Text != "deep" {
		t.Fatalf("reasoning %+v", got.Output[0])
	}
	fs, ok := got.Output[1].AsAny().(responses.ResponseFileSearchToolCall)
	if !ok || fs.Queries[0] != "q" || fs.Results[0].Filename != "a.txt" || fs.Results[0].Score != 0.9 || fs.Results[0].Text != "chunk" ||
		fs.Results[0].Attributes["k"].OfString != "v" {
		t.Fatalf("file search %+v", fs)
	}
	ci, ok := got.Output[2].AsAny().(responses.ResponseCodeInterpreterToolCall)
	if !ok || ci.Code != "print(2+2)" || ci.ContainerID != "cntr_1" || ci.Outputs[0].Logs != "4\n" || ci.Outputs[1].URL != "https://img" {
		t.Fatalf("code interpreter %+v", ci)
	}
	fc, ok := got.Output[3].AsAny().(responses.ResponseFunctionToolCall)
	if !ok || fc.CallID != "call_1" || fc.Name != "get_weather" || fc.Arguments != `{"city":"Paris"}` || fc.ID != "fc_1" {
		t.Fatalf("function call %+v", got.Output[3])
	}
	msg, ok := got.Output[4].AsAny().(responses.ResponseOutputMessage)
	if !ok || msg.ID != "msg_1" || msg.Status != "completed" || len(msg.Content) != 2 {
		t.Fatalf("message %+v", got.Output[4])
	}
	text := msg.Content[0].AsOutputText()
	if len(text.Annotations) != 3 || text.Annotations[0].AsFileCitation().Index != 3 || text.Annotations[1].AsContainerFileCitation().ContainerID != "cntr_1" ||
		text.Annotations[2].AsFilePath().FileID != "file-2" || msg.Content[1].AsRefusal().Refusal != "nope" {
		t.Fatalf("content %+v", msg.Content)
	}
	for _, a := range text.Annotations {
		noExtraFields(t, "annotation "+a.Type, extras(a.AsAny()))
	}
	if len(got.Tools) != 3 || got.Tools[0].AsFunction().Name != "get_weather" || !got.Tools[0].AsFunction().Strict ||
		got.Tools[1].AsFileSearch().VectorStoreIDs[0] != "vs_1" || got.Tools[2].AsCodeInterpreter().Container.Type != "auto" {
		t.Fatalf("tools %+v", got.Tools)
	}
	if got.ToolChoice.OfToolChoiceMode != "auto" || got.Text.Format.Type != "json_schema" || got.Text.Format.Name != "answer" || !got.Text.Format.Strict {
		t.Fatalf("tool choice %+v text %+v", got.ToolChoice, got.Text)
	}

	// And Hearth reads what it wrote back, equal.
	var back apitype.Response
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(back)
	if string(b) != string(b2) {
		t.Fatalf("round trip:\n%s\n%s", b, b2)
	}
}

func toAny[V any](m map[string]V) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// extras returns the ExtraFields openai-go recorded on a decoded variant
// (unions have none; pass their AsAny()).
func extras(v any) map[string]any {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		rv = rv.Elem()
	}
	out := map[string]any{}
	if rv.Kind() != reflect.Struct {
		return out
	}
	f := rv.FieldByName("JSON").FieldByName("ExtraFields")
	if !f.IsValid() {
		return out
	}
	known := map[string]bool{}
	jsonNames(rv.Type(), known)
	for _, k := range f.MapKeys() {
		// openai-go records the fields of an embedded struct (a
		// ResponseFunctionToolCallItem embeds ResponseFunctionToolCall) as
		// extra on the outer one; they are known.
		if !known[k.String()] {
			out[k.String()] = f.MapIndex(k).Interface()
		}
	}
	return out
}

func jsonNames(t reflect.Type, into map[string]bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			jsonNames(f.Type, into)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			into[name] = true
		}
	}
}

// A failed and an incomplete response, as openai-go reads them.
func TestOpenAIGoReadsTerminalResponses(t *testing.T) {
	r := apitype.Response{ID: "resp_2", Status: apitype.ResponseFailed, Model: "m",
		Error: &apitype.ResponseError{Code: apitype.ErrorCodeServer, Message: "the model crashed"}}
	var got responses.Response
	b, _ := json.Marshal(r)
	if err := json.Unmarshal(b, &got); err != nil || got.Error.Code != "server_error" || got.Error.Message != "the model crashed" || got.Status != "failed" {
		t.Fatalf("%v %s", err, b)
	}
	if got.IncompleteDetails.Reason != "" || got.Text.Format.Type != "text" || got.ServiceTier != "default" || got.Truncation != "disabled" {
		t.Fatalf("defaults of a bare response: %s", b)
	}
	r = apitype.Response{ID: "resp_3", Status: apitype.ResponseIncomplete, Model: "m",
		IncompleteDetails: &apitype.ResponseIncompleteDetails{Reason: apitype.IncompleteMaxOutputTokens}}
	b, _ = json.Marshal(r)
	if err := json.Unmarshal(b, &got); err != nil || got.IncompleteDetails.Reason != "max_output_tokens" || got.Status != "incomplete" {
		t.Fatalf("%v %s", err, b)
	}
}

func TestOpenAIGoReadsStreamEvents(t *testing.T) {
	resp := sampleResponse()
	msg := apitype.ItemOf(&apitype.MessageItem{ID: "msg_1", Role: apitype.RoleAssistant, Status: apitype.ItemInProgress})
	fc := apitype.ItemOf(&apitype.FunctionCallItem{ID: "fc_1", CallID: "call_1", Name: "f", Status: apitype.ItemInProgress})
	part := apitype.OutputText("Hi")
	errCode := "server_error"
	events := []apitype.ResponseStreamEvent{
		{Type: apitype.EventResponseCreated, Response: &resp},
		{Type: apitype.EventResponseInProgress, Response: &resp},
		{Type: apitype.EventOutputItemAdded, OutputIndex: 1, Item: &msg},
		{Type: apitype.EventContentPartAdded, ItemID: "msg_1", OutputIndex: 1, Part: &part},
		{Type: apitype.EventOutputTextDelta, ItemID: "msg_1", OutputIndex: 1, Delta: "Hi"},
		{Type: apitype.EventOutputTextDone, ItemID: "msg_1", OutputIndex: 1, Text: "Hi"},
		{Type: apitype.EventContentPartDone, ItemID: "msg_1", OutputIndex: 1, Part: &part},
		{Type: apitype.EventOutputItemDone, OutputIndex: 1, Item: &msg},
		{Type: apitype.EventOutputItemAdded, OutputIndex: 2, Item: &fc},
		{Type: apitype.EventFunctionCallArgumentsDelta, ItemID: "fc_1", OutputIndex: 2, Delta: "{}"},
		{Type: apitype.EventFunctionCallArgumentsDone, ItemID: "fc_1", OutputIndex: 2, Arguments: "{}"},
		{Type: apitype.EventRefusalDelta, ItemID: "msg_1", Delta: "no"},
		{Type: apitype.EventRefusalDone, ItemID: "msg_1", Refusal: "no"},
		{Type: apitype.EventReasoningTextDelta, ItemID: "rs_1", Delta: "hmm"},
		{Type: apitype.EventReasoningTextDone, ItemID: "rs_1", Text: "hmm"},
		{Type: apitype.EventReasoningSummaryTextDelta, ItemID: "rs_1", Delta: "s"},
		{Type: apitype.EventFileSearchCallInProgress, ItemID: "fs_1"},
		{Type: apitype.EventFileSearchCallSearching, ItemID: "fs_1"},
		{Type: apitype.EventFileSearchCallCompleted, ItemID: "fs_1"},
		{Type: apitype.EventCodeInterpreterInProgress, ItemID: "ci_1"},
		{Type: apitype.EventCodeInterpreterCodeDelta, ItemID: "ci_1", Delta: "print("},
		{Type: apitype.EventCodeInterpreterCodeDone, ItemID: "ci_1", Code: "print(1)"},
		{Type: apitype.EventCodeInterpreterInterpreting, ItemID: "ci_1"},
		{Type: apitype.EventCodeInterpreterCompleted, ItemID: "ci_1"},
		{Type: apitype.EventOutputTextAnnotationAdded, ItemID: "msg_1", AnnotationIndex: 0,
			Annotation: &apitype.OutputAnnotation{Type: apitype.AnnotationFileCitation, FileID: "file-1", Filename: "a.txt"}},
		{Type: apitype.EventResponseCompleted, Response: &resp},
		{Type: apitype.EventResponseIncomplete, Response: &resp},
		{Type: apitype.EventResponseFailed, Response: &resp},
		{Type: apitype.EventResponseQueued, Response: &resp},
		{Type: apitype.EventResponseError, ErrorCode: &errCode, Message: "boom"},
	}
	for i := range events {
		events[i].SequenceNumber = i
		b, err := json.Marshal(events[i])
		if err != nil {
			t.Fatal(err)
		}
		var got responses.ResponseStreamEventUnion
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("openai-go cannot read %s: %v", b, err)
		}
		if got.Type != string(events[i].Type) || got.SequenceNumber != int64(i) || got.AsAny() == nil {
			t.Fatalf("event %d read as %q seq %d: %s", i, got.Type, got.SequenceNumber, b)
		}
		// Each event carries its variant's required fields.
		switch v := got.AsAny().(type) {
		case responses.ResponseTextDeltaEvent:
			if v.Delta != "Hi" || v.ItemID != "msg_1" || v.OutputIndex != 1 || !v.JSON.Logprobs.Valid() {
				t.Fatalf("%s", b)
			}
		case responses.ResponseOutputItemAddedEvent:
			if v.Item.ID == "" || !v.JSON.OutputIndex.Valid() {
				t.Fatalf("%s", b)
			}
		case responses.ResponseFunctionCallArgumentsDoneEvent:
			if v.Arguments != "{}" || v.ItemID != "fc_1" {
				t.Fatalf("%s", b)
			}
		case responses.ResponseCompletedEvent:
			if v.Response.ID != "resp_1" || v.Response.OutputText() != "It is 18C." {
				t.Fatalf("%s", b)
			}
		case responses.ResponseErrorEvent:
			if v.Code != "server_error" || v.Message != "boom" || v.Param != "" {
				t.Fatalf("%s", b)
			}
		case responses.ResponseCodeInterpreterCallCodeDoneEvent:
			if v.Code != "print(1)" {
				t.Fatalf("%s", b)
			}
		case responses.ResponseOutputTextAnnotationAddedEvent:
			if v.Annotation.AsFileCitation().Filename != "a.txt" {
				t.Fatalf("%s", b)
			}
		}
		// openai-go's accumulator-facing fields are all known.
		noExtraFields(t, string(events[i].Type), extras(got.AsAny()))
		var back apitype.ResponseStreamEvent
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if b2, _ := json.Marshal(back); string(b2) != string(b) {
			t.Fatalf("round trip\n%s\n%s", b, b2)
		}
	}
}

func TestOpenAIGoConversations(t *testing.T) {
	// What openai-go sends to create a conversation and add items.
	b, _ := json.Marshal(conversations.ConversationNewParams{
		Items:    []responses.ResponseInputItemUnionParam{responses.ResponseInputItemParamOfMessage("hello", responses.EasyInputMessageRoleUser)},
		Metadata: shared.Metadata{"topic": "demo"},
	})
	var cp apitype.ConversationCreateParams
	if err := json.Unmarshal(b, &cp); err != nil || cp.Validate() != nil || cp.Items[0].Message.Text() != "hello" || cp.Metadata["topic"] != "demo" {
		t.Fatalf("%v %+v %s", err, cp, b)
	}
	b, _ = json.Marshal(conversations.ItemNewParams{Items: []responses.ResponseInputItemUnionParam{
		responses.ResponseInputItemParamOfFunctionCall("{}", "call_1", "f"),
	}})
	var ip apitype.ConversationItemCreateParams
	if err := json.Unmarshal(b, &ip); err != nil || ip.Validate() != nil || ip.Items[0].FunctionCall.CallID != "call_1" {
		t.Fatalf("%v %+v %s", err, ip, b)
	}
	b, _ = json.Marshal(conversations.ConversationUpdateParams{Metadata: shared.Metadata{"a": "b"}})
	var up apitype.ConversationUpdateParams
	if err := json.Unmarshal(b, &up); err != nil || up.Metadata["a"] != "b" {
		t.Fatalf("%v %s", err, b)
	}

	// What Hearth answers, as openai-go reads it.
	b, _ = json.Marshal(apitype.Conversation{ID: "conv_1", CreatedAt: 5, Metadata: apitype.Metadata{"topic": "demo"}})
	var conv conversations.Conversation
	if err := json.Unmarshal(b, &conv); err != nil || conv.ID != "conv_1" || conv.Object != "conversation" || conv.CreatedAt != 5 {
		t.Fatalf("%v %s", err, b)
	}
	noExtraFields(t, "conversation", toAny(conv.JSON.ExtraFields))
	b, _ = json.Marshal(apitype.ConversationDeleted("conv_1"))
	var del conversations.ConversationDeletedResource
	if err := json.Unmarshal(b, &del); err != nil || !del.Deleted || del.Object != "conversation.deleted" || del.ID != "conv_1" {
		t.Fatalf("%v %s", err, b)
	}
	items := []apitype.Item{
		apitype.ItemOf(&apitype.MessageItem{ID: "msg_1", Role: apitype.RoleUser, Status: apitype.ItemCompleted, Content: []apitype.ContentPart{apitype.InputText("hello")}}),
		apitype.ItemOf(&apitype.MessageItem{ID: "msg_2", Role: apitype.RoleAssistant, Status: apitype.ItemCompleted, Content: []apitype.ContentPart{apitype.OutputText("hi")}}),
		apitype.ItemOf(&apitype.FunctionCallItem{ID: "fc_1", CallID: "call_1", Name: "f", Arguments: "{}", Status: apitype.ItemCompleted}),
		apitype.ItemOf(&apitype.FunctionCallOutputItem{ID: "fco_1", CallID: "call_1", Output: apitype.FunctionCallOutput{Text: "42"}, Status: apitype.ItemCompleted}),
	}
	page := apitype.NewItemList(items)
	page.HasMore = true
	b, _ = json.Marshal(page)
	var list conversations.ConversationItemList
	if err := json.Unmarshal(b, &list); err != nil || list.FirstID != "msg_1" || list.LastID != "fco_1" || !list.HasMore || len(list.Data) != 4 {
		t.Fatalf("%v %s", err, b)
	}
	if m := list.Data[0].AsMessage(); m.Role != "user" || m.Content[0].Text != "hello" || m.Content[0].Type != "input_text" {
		t.Fatalf("%+v", list.Data[0])
	}
	if out := list.Data[3].AsFunctionCallOutput(); out.CallID != "call_1" || out.Output.OfString != "42" || out.Status != "completed" {
		t.Fatalf("%+v", list.Data[3])
	}
	for _, d := range list.Data {
		noExtraFields(t, "conversation item "+d.Type, extras(d.AsAny()))
	}
	// The same list is what GET /v1/responses/{id}/input_items answers.
	var inputs responses.ResponseItemList
	if err := json.Unmarshal(b, &inputs); err != nil || len(inputs.Data) != 4 || inputs.Data[2].AsFunctionCall().Name != "f" {
		t.Fatalf("%v %s", err, b)
	}
}

// param is imported for openai.Opt's type in the tests above.
var _ param.Opt[string]

// A response started from a request echoes its parameters, with the API's
// defaults for the rest, as openai-go reads them.
func TestOpenAIGoReadsEchoedParams(t *testing.T) {
	p := decodeParams(t, responses.ResponseNewParams{
		Model:           "llama3.2",
		Input:           responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
		Instructions:    openai.String("Be brief."),
		Background:      openai.Bool(true),
		MaxOutputTokens: openai.Int(64),
		Temperature:     openai.Float(0.5),
		Truncation:      responses.ResponseNewParamsTruncationAuto,
		Metadata:        shared.Metadata{"k": "v"},
		Tools:           []responses.ToolUnionParam{{OfFunction: &responses.FunctionToolParam{Name: "f", Parameters: map[string]any{"type": "object"}, Strict: openai.Bool(true)}}},
		ToolChoice:      responses.ResponseNewParamsToolChoiceUnion{OfToolChoiceMode: openai.Opt(responses.ToolChoiceOptionsRequired)},
		Text:            responses.ResponseTextConfigParam{Format: responses.ResponseFormatTextConfigUnionParam{OfJSONObject: &shared.ResponseFormatJSONObjectParam{}}},
	})
	b, _ := json.Marshal(apitype.NewResponse("resp_1", 7, p))
	var got responses.Response
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Status != "queued" || !got.Background || got.Instructions.OfString != "Be brief." || got.MaxOutputTokens != 64 || got.Temperature != 0.5 ||
		got.TopP != 1 || got.Truncation != "auto" || got.Metadata["k"] != "v" || got.Tools[0].Name != "f" || got.ToolChoice.OfToolChoiceMode != "required" ||
		got.Text.Format.Type != "json_object" || got.Text.Verbosity != "medium" || !got.ParallelToolCalls || got.ServiceTier != "default" ||
		got.CreatedAt != 7 || len(got.Output) != 0 || got.JSON.Usage.Valid() {
		t.Fatalf("%s", b)
	}
	if !strings.Contains(string(b), `"store":true`) || !strings.Contains(string(b), `"reasoning":{"effort":null,"summary":null}`) {
		t.Fatalf("store/reasoning echo: %s", b)
	}
}
