package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/scripted"
)

// backup returns the whole database file as a consistent copy: two equal
// backups mean nothing was committed in between.
func backup(t testing.TB, e *engine.Engine) []byte {
	t.Helper()
	if onPostgres {
		return pgSnapshot(t, e)
	}
	var b bytes.Buffer
	if _, err := e.Store().Backup(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// meta returns n metadata pairs.
func meta(n int) apitype.Metadata {
	m := apitype.Metadata{}
	for i := range n {
		m[fmt.Sprintf("k%d", i)] = "v"
	}
	return m
}

func fnTool(name, params string) apitype.Tool {
	f := &apitype.FunctionDef{Name: name}
	if params != "" {
		f.Parameters = json.RawMessage(params)
	}
	return apitype.Tool{Type: apitype.ToolTypeFunction, Function: f}
}

func userMsg(text string) apitype.MessageCreateParams {
	return apitype.MessageCreateParams{Role: apitype.RoleUser, Content: apitype.TextInput(text)}
}

// TestBadInput sends invalid requests through the Go API. Each must fail
// with an *apitype.Error of the right kind naming the right param, and the
// database file must be byte-for-byte what it was before.
func TestBadInput(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, scripted.Echo())
	a := mustAssistant(t, e)
	th := mustThread(t, e, "hello")
	done, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil || done.Status != apitype.RunCompleted {
		t.Fatalf("setup run: %v %+v", err, done)
	}
	msgs, err := e.Messages.List(ctx, th.ID, apitype.MessageListParams{})
	if err != nil {
		t.Fatal(err)
	}
	msgID := msgs.Data[0].ID

	long := func(n int) string { return strings.Repeat("a", n) }
	badUTF8 := string([]byte{'o', 'k', 0xff, 0xfe})
	huge := strings.Repeat("é", 256_001) // counted in characters, not bytes
	asst := func(p apitype.AssistantCreateParams) func() error {
		return func() error {
			if p.Model == "" {
				p.Model = "m"
			}
			_, err := e.Assistants.Create(ctx, p)
			return err
		}
	}
	asstNoModel := func() error { _, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{}); return err }
	thread := func(p apitype.ThreadCreateParams) func() error {
		return func() error { _, err := e.Threads.Create(ctx, p); return err }
	}
	message := func(threadID string, p apitype.MessageCreateParams) func() error {
		return func() error { _, err := e.Messages.Create(ctx, threadID, p); return err }
	}
	run := func(threadID string, p apitype.RunCreateParams) func() error {
		return func() error {
			if p.AssistantID == "" {
				p.AssistantID = a.ID
			}
			_, err := e.Runs.Create(ctx, threadID, p)
			return err
		}
	}
	tools := func(ts ...apitype.Tool) apitype.AssistantCreateParams {
		return apitype.AssistantCreateParams{Tools: ts}
	}
	manyTools := make([]apitype.Tool, engine.MaxTools+1)
	for i := range manyTools {
		manyTools[i] = fnTool(fmt.Sprintf("f%d", i), "")
	}
	manyFiles := make([]string, engine.MaxCodeFiles+1)
	for i := range manyFiles {
		manyFiles[i] = fmt.Sprintf("file-%d", i)
	}
	manyMsgs := make([]apitype.MessageCreateParams, engine.MaxInitialMessages+1)
	for i := range manyMsgs {
		manyMsgs[i] = userMsg("x")
	}
	rf := func(f apitype.ResponseFormat) apitype.AssistantCreateParams {
		return apitype.AssistantCreateParams{ResponseFormat: &f}
	}
	fs := func(f apitype.FileSearchTool) apitype.Tool {
		return apitype.Tool{Type: apitype.ToolTypeFileSearch, FileSearch: &f}
	}
	list := func(p apitype.ListParams) func() error {
		return func() error { _, err := e.Assistants.List(ctx, p); return err }
	}

	cases := []struct {
		name  string
		call  func() error
		want  error // apitype.ErrInvalidRequest or apitype.ErrNotFound
		param string
	}{
		// Metadata limits.
		{"metadata 17 pairs", asst(apitype.AssistantCreateParams{Metadata: meta(17)}), apitype.ErrInvalidRequest, "metadata"},
		{"metadata key 65 chars", asst(apitype.AssistantCreateParams{Metadata: apitype.Metadata{long(65): "v"}}), apitype.ErrInvalidRequest, "metadata"},
		{"metadata empty key", asst(apitype.AssistantCreateParams{Metadata: apitype.Metadata{"": "v"}}), apitype.ErrInvalidRequest, "metadata"},
		{"metadata value 513 chars", asst(apitype.AssistantCreateParams{Metadata: apitype.Metadata{"k": long(513)}}), apitype.ErrInvalidRequest, "metadata.k"},
		{"metadata value invalid UTF-8", asst(apitype.AssistantCreateParams{Metadata: apitype.Metadata{"k": badUTF8}}), apitype.ErrInvalidRequest, "metadata.k"},
		{"thread metadata 17 pairs", thread(apitype.ThreadCreateParams{Metadata: meta(17)}), apitype.ErrInvalidRequest, "metadata"},
		{"run update metadata 17 pairs", func() error {
			_, err := e.Runs.Update(ctx, th.ID, done.ID, apitype.RunUpdateParams{Metadata: meta(17)})
			return err
		}, apitype.ErrInvalidRequest, "metadata"},
		{"message update metadata value too long", func() error {
			_, err := e.Messages.Update(ctx, th.ID, msgID, apitype.MessageUpdateParams{Metadata: apitype.Metadata{"k": long(513)}})
			return err
		}, apitype.ErrInvalidRequest, "metadata.k"},
		// Text limits.
		{"instructions 256,001 chars", asst(apitype.AssistantCreateParams{Instructions: &huge}), apitype.ErrInvalidRequest, "instructions"},
		{"name 257 chars", asst(apitype.AssistantCreateParams{Name: apitype.Ptr(long(257))}), apitype.ErrInvalidRequest, "name"},
		{"name invalid UTF-8", asst(apitype.AssistantCreateParams{Name: &badUTF8}), apitype.ErrInvalidRequest, "name"},
		{"description 513 chars", asst(apitype.AssistantCreateParams{Description: apitype.Ptr(long(513))}), apitype.ErrInvalidRequest, "description"},
		{"model missing", asstNoModel, apitype.ErrInvalidRequest, "model"},
		{"model invalid UTF-8", asst(apitype.AssistantCreateParams{Model: badUTF8}), apitype.ErrInvalidRequest, "model"},
		{"model 257 chars", asst(apitype.AssistantCreateParams{Model: long(257)}), apitype.ErrInvalidRequest, "model"},
		{"update instructions too long", func() error {
			_, err := e.Assistants.Update(ctx, a.ID, apitype.AssistantUpdateParams{Instructions: &huge})
			return err
		}, apitype.ErrInvalidRequest, "instructions"},
		{"update model empty", func() error {
			_, err := e.Assistants.Update(ctx, a.ID, apitype.AssistantUpdateParams{Model: apitype.Ptr("")})
			return err
		}, apitype.ErrInvalidRequest, "model"},
		// Tools.
		{"129 tools", asst(tools(manyTools...)), apitype.ErrInvalidRequest, "tools"},
		{"function name with a space", asst(tools(fnTool("get weather", ""))), apitype.ErrInvalidRequest, "tools[0].function.name"},
		{"function name 65 chars", asst(tools(fnTool(long(65), ""))), apitype.ErrInvalidRequest, "tools[0].function.name"},
		{"function name empty", asst(tools(fnTool("", ""))), apitype.ErrInvalidRequest, "tools[0].function.name"},
		{"function name twice", asst(tools(fnTool("f", ""), fnTool("f", ""))), apitype.ErrInvalidRequest, "tools[1].function.name"},
		{"function missing", asst(tools(apitype.Tool{Type: apitype.ToolTypeFunction})), apitype.ErrInvalidRequest, "tools[0].function"},
		{"parameters an array", asst(tools(fnTool("f", `[1,2]`))), apitype.ErrInvalidRequest, "tools[0].function.parameters"},
		{"parameters type string", asst(tools(fnTool("f", `{"type":"string"}`))), apitype.ErrInvalidRequest, "tools[0].function.parameters"},
		{"parameters not JSON", asst(tools(fnTool("f", `{"type":`))), apitype.ErrInvalidRequest, "tools[0].function.parameters"},
		{"parameters null", asst(tools(fnTool("f", `null`))), apitype.ErrInvalidRequest, "tools[0].function.parameters"},
		{"tool type missing", asst(tools(apitype.Tool{})), apitype.ErrInvalidRequest, "tools[0].type"},
		{"tool type unknown", asst(tools(apitype.Tool{Type: "browser"})), apitype.ErrInvalidRequest, "tools[0].type"},
		{"file_search max_num_results 51", asst(tools(fs(apitype.FileSearchTool{MaxNumResults: 51}))), apitype.ErrInvalidRequest, "tools[0].file_search.max_num_results"},
		{"file_search score_threshold 2", asst(tools(fs(apitype.FileSearchTool{RankingOptions: &apitype.RankingOptions{ScoreThreshold: 2}}))), apitype.ErrInvalidRequest, "tools[0].file_search.ranking_options.score_threshold"},
		{"file_search ranker unknown", asst(tools(fs(apitype.FileSearchTool{RankingOptions: &apitype.RankingOptions{Ranker: "bm25"}}))), apitype.ErrInvalidRequest, "tools[0].file_search.ranking_options.ranker"},
		// Sampling ranges.
		{"temperature 2.5", asst(apitype.AssistantCreateParams{Temperature: apitype.Ptr(2.5)}), apitype.ErrInvalidRequest, "temperature"},
		{"temperature -0.1", asst(apitype.AssistantCreateParams{Temperature: apitype.Ptr(-0.1)}), apitype.ErrInvalidRequest, "temperature"},
		{"top_p 1.5", asst(apitype.AssistantCreateParams{TopP: apitype.Ptr(1.5)}), apitype.ErrInvalidRequest, "top_p"},
		{"top_p negative", asst(apitype.AssistantCreateParams{TopP: apitype.Ptr(-1.0)}), apitype.ErrInvalidRequest, "top_p"},
		{"run temperature 3", run(th.ID, apitype.RunCreateParams{Temperature: apitype.Ptr(3.0)}), apitype.ErrInvalidRequest, "temperature"},
		// Response formats.
		{"response_format unknown type", asst(rf(apitype.ResponseFormat{Type: "xml"})), apitype.ErrInvalidRequest, "response_format.type"},
		{"json_schema without schema", asst(rf(apitype.ResponseFormat{Type: apitype.ResponseFormatJSONSchema})), apitype.ErrInvalidRequest, "response_format.json_schema"},
		{"json_schema bad name", asst(rf(apitype.ResponseFormat{Type: apitype.ResponseFormatJSONSchema, JSONSchema: &apitype.JSONSchemaFormat{Name: "a b"}})), apitype.ErrInvalidRequest, "response_format.json_schema.name"},
		{"json_schema schema not object", asst(rf(apitype.ResponseFormat{Type: apitype.ResponseFormatJSONSchema, JSONSchema: &apitype.JSONSchemaFormat{Name: "n", Schema: json.RawMessage(`"x"`)}})), apitype.ErrInvalidRequest, "response_format.json_schema.schema"},
		{"text with json_schema", asst(rf(apitype.ResponseFormat{Type: apitype.ResponseFormatText, JSONSchema: &apitype.JSONSchemaFormat{Name: "n"}})), apitype.ErrInvalidRequest, "response_format.json_schema"},
		{"json_object with file_search", run(th.ID, apitype.RunCreateParams{Tools: []apitype.Tool{{Type: apitype.ToolTypeFileSearch}},
			ResponseFormat: &apitype.ResponseFormat{Type: apitype.ResponseFormatJSONObject}}), apitype.ErrInvalidRequest, "response_format"},
		// Tool resources.
		{"21 code_interpreter files", asst(apitype.AssistantCreateParams{ToolResources: &apitype.ToolResources{CodeInterpreter: &apitype.CodeInterpreterResources{FileIDs: manyFiles}}}), apitype.ErrInvalidRequest, "tool_resources.code_interpreter.file_ids"},
		{"2 vector stores", asst(apitype.AssistantCreateParams{ToolResources: &apitype.ToolResources{FileSearch: &apitype.FileSearchResources{VectorStoreIDs: []string{"vs_a", "vs_b"}}}}), apitype.ErrInvalidRequest, "tool_resources.file_search.vector_store_ids"},
		{"malformed file id", asst(apitype.AssistantCreateParams{ToolResources: &apitype.ToolResources{CodeInterpreter: &apitype.CodeInterpreterResources{FileIDs: []string{"asst_x"}}}}), apitype.ErrInvalidRequest, "tool_resources.code_interpreter.file_ids[0]"},
		{"unknown file id", asst(apitype.AssistantCreateParams{ToolResources: &apitype.ToolResources{CodeInterpreter: &apitype.CodeInterpreterResources{FileIDs: []string{"file-nope"}}}}), apitype.ErrInvalidRequest, "tool_resources.code_interpreter.file_ids[0]"},
		{"unknown vector store", thread(apitype.ThreadCreateParams{ToolResources: &apitype.ToolResources{FileSearch: &apitype.FileSearchResources{VectorStoreIDs: []string{"vs_nope"}}}}), apitype.ErrInvalidRequest, "tool_resources.file_search.vector_store_ids[0]"},
		// Messages.
		{"33 initial messages", thread(apitype.ThreadCreateParams{Messages: manyMsgs}), apitype.ErrInvalidRequest, "messages"},
		{"initial message role system", thread(apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: "system", Content: apitype.TextInput("x")}}}), apitype.ErrInvalidRequest, "messages[0].role"},
		{"initial message empty", thread(apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{userMsg("")}}), apitype.ErrInvalidRequest, "messages[0].content"},
		{"second initial message huge", thread(apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{userMsg("ok"), userMsg(huge)}}), apitype.ErrInvalidRequest, "messages[1].content"},
		{"message role missing", message(th.ID, apitype.MessageCreateParams{Content: apitype.TextInput("x")}), apitype.ErrInvalidRequest, "role"},
		{"message content empty", message(th.ID, userMsg("")), apitype.ErrInvalidRequest, "content"},
		{"message content invalid UTF-8", message(th.ID, userMsg(badUTF8)), apitype.ErrInvalidRequest, "content"},
		{"message content 256,001 chars", message(th.ID, userMsg(huge)), apitype.ErrInvalidRequest, "content"},
		{"message content empty parts", message(th.ID, apitype.MessageCreateParams{Role: apitype.RoleUser, Content: apitype.MessageContentInput{Parts: []apitype.MessageContent{}}}), apitype.ErrInvalidRequest, "content"},
		{"message part type unknown", message(th.ID, apitype.MessageCreateParams{Role: apitype.RoleUser, Content: apitype.MessageContentInput{Parts: []apitype.MessageContent{{Type: "video"}}}}), apitype.ErrInvalidRequest, "content[0].type"},
		{"message text part without text", message(th.ID, apitype.MessageCreateParams{Role: apitype.RoleUser, Content: apitype.MessageContentInput{Parts: []apitype.MessageContent{{Type: apitype.ContentText}}}}), apitype.ErrInvalidRequest, "content[0].text"},
		{"message attachment bad id", message(th.ID, apitype.MessageCreateParams{Role: apitype.RoleUser, Content: apitype.TextInput("x"), Attachments: []apitype.Attachment{{FileID: "nope"}}}), apitype.ErrInvalidRequest, "attachments[0].file_id"},
		{"message metadata 17 pairs", message(th.ID, apitype.MessageCreateParams{Role: apitype.RoleUser, Content: apitype.TextInput("x"), Metadata: meta(17)}), apitype.ErrInvalidRequest, "metadata"},
		{"message on unknown thread", message("thread_nope", userMsg("x")), apitype.ErrNotFound, ""},
		// Runs.
		{"run assistant_id empty", func() error {
			_, err := e.Runs.Create(ctx, th.ID, apitype.RunCreateParams{})
			return err
		}, apitype.ErrInvalidRequest, "assistant_id"},
		{"run unknown assistant", run(th.ID, apitype.RunCreateParams{AssistantID: "asst_nope"}), apitype.ErrNotFound, "assistant_id"},
		{"run unknown thread", run("thread_nope", apitype.RunCreateParams{}), apitype.ErrNotFound, ""},
		{"run model empty", run(th.ID, apitype.RunCreateParams{Model: apitype.Ptr("")}), apitype.ErrInvalidRequest, "model"},
		{"run max_completion_tokens 10", run(th.ID, apitype.RunCreateParams{MaxCompletionTokens: apitype.Ptr(10)}), apitype.ErrInvalidRequest, "max_completion_tokens"},
		{"run max_prompt_tokens 0", run(th.ID, apitype.RunCreateParams{MaxPromptTokens: apitype.Ptr(0)}), apitype.ErrInvalidRequest, "max_prompt_tokens"},
		{"run truncation type unknown", run(th.ID, apitype.RunCreateParams{TruncationStrategy: &apitype.TruncationStrategy{Type: "middle"}}), apitype.ErrInvalidRequest, "truncation_strategy.type"},
		{"run truncation last_messages 0", run(th.ID, apitype.RunCreateParams{TruncationStrategy: &apitype.TruncationStrategy{Type: apitype.TruncationLastMessages, LastMessages: apitype.Ptr(0)}}), apitype.ErrInvalidRequest, "truncation_strategy.last_messages"},
		{"run tool_choice names a missing function", run(th.ID, apitype.RunCreateParams{ToolChoice: &apitype.ToolChoice{Type: apitype.ToolTypeFunction, Function: &apitype.ToolChoiceTarget{Name: "nope"}}}), apitype.ErrInvalidRequest, "tool_choice.function.name"},
		{"run tool_choice code_interpreter without the tool", run(th.ID, apitype.RunCreateParams{ToolChoice: &apitype.ToolChoice{Type: apitype.ToolTypeCodeInterpreter}}), apitype.ErrInvalidRequest, "tool_choice.type"},
		{"run 33 additional messages", run(th.ID, apitype.RunCreateParams{AdditionalMessages: manyMsgs}), apitype.ErrInvalidRequest, "additional_messages"},
		{"run additional message empty", run(th.ID, apitype.RunCreateParams{AdditionalMessages: []apitype.MessageCreateParams{userMsg("")}}), apitype.ErrInvalidRequest, "additional_messages[0].content"},
		{"run additional_instructions too long", run(th.ID, apitype.RunCreateParams{AdditionalInstructions: &huge}), apitype.ErrInvalidRequest, "additional_instructions"},
		{"run tools bad function", run(th.ID, apitype.RunCreateParams{Tools: []apitype.Tool{fnTool("a.b", "")}}), apitype.ErrInvalidRequest, "tools[0].function.name"},
		{"thread and run bad message", func() error {
			_, err := e.Runs.CreateThreadAndRun(ctx, apitype.ThreadAndRunCreateParams{AssistantID: a.ID,
				Thread: &apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: "tool", Content: apitype.TextInput("x")}}}})
			return err
		}, apitype.ErrInvalidRequest, "messages[0].role"},
		{"thread and run unknown assistant", func() error {
			_, err := e.Runs.CreateThreadAndRun(ctx, apitype.ThreadAndRunCreateParams{AssistantID: "asst_nope",
				Thread: &apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{userMsg("hi")}}})
			return err
		}, apitype.ErrNotFound, "assistant_id"},
		{"submit no outputs", func() error {
			_, err := e.Runs.SubmitToolOutputs(ctx, th.ID, done.ID, apitype.SubmitToolOutputsParams{})
			return err
		}, apitype.ErrInvalidRequest, "tool_outputs"},
		{"steps include unknown", func() error {
			_, err := e.Steps.List(ctx, th.ID, done.ID, apitype.StepListParams{Include: []string{"everything"}})
			return err
		}, apitype.ErrInvalidRequest, "include[0]"},
		// Unknown ids.
		{"retrieve unknown assistant", func() error { _, err := e.Assistants.Retrieve(ctx, "asst_nope"); return err }, apitype.ErrNotFound, ""},
		{"update unknown assistant", func() error {
			_, err := e.Assistants.Update(ctx, "asst_nope", apitype.AssistantUpdateParams{Name: apitype.Ptr("x")})
			return err
		}, apitype.ErrNotFound, ""},
		{"delete unknown assistant", func() error { _, err := e.Assistants.Delete(ctx, "asst_nope"); return err }, apitype.ErrNotFound, ""},
		{"retrieve empty thread id", func() error { _, err := e.Threads.Retrieve(ctx, ""); return err }, apitype.ErrNotFound, ""},
		{"update unknown thread", func() error {
			_, err := e.Threads.Update(ctx, "thread_nope", apitype.ThreadUpdateParams{Metadata: meta(1)})
			return err
		}, apitype.ErrNotFound, ""},
		{"delete unknown thread", func() error { _, err := e.Threads.Delete(ctx, "thread_nope"); return err }, apitype.ErrNotFound, ""},
		{"retrieve unknown message", func() error { _, err := e.Messages.Retrieve(ctx, th.ID, "msg_nope"); return err }, apitype.ErrNotFound, ""},
		{"update unknown message", func() error {
			_, err := e.Messages.Update(ctx, th.ID, "msg_nope", apitype.MessageUpdateParams{Metadata: meta(1)})
			return err
		}, apitype.ErrNotFound, ""},
		{"delete unknown message", func() error { _, err := e.Messages.Delete(ctx, th.ID, "msg_nope"); return err }, apitype.ErrNotFound, ""},
		{"message of another thread's id", func() error { _, err := e.Messages.Retrieve(ctx, "thread_nope", msgID); return err }, apitype.ErrNotFound, ""},
		{"retrieve unknown run", func() error { _, err := e.Runs.Retrieve(ctx, th.ID, "run_nope"); return err }, apitype.ErrNotFound, ""},
		{"update unknown run", func() error {
			_, err := e.Runs.Update(ctx, th.ID, "run_nope", apitype.RunUpdateParams{Metadata: meta(1)})
			return err
		}, apitype.ErrNotFound, ""},
		{"cancel unknown run", func() error { _, err := e.Runs.Cancel(ctx, th.ID, "run_nope"); return err }, apitype.ErrNotFound, ""},
		{"submit to unknown run", func() error {
			_, err := e.Runs.SubmitToolOutputs(ctx, th.ID, "run_nope", apitype.SubmitToolOutputsParams{ToolOutputs: []apitype.ToolOutput{{ToolCallID: "call_x", Output: "1"}}})
			return err
		}, apitype.ErrNotFound, ""},
		{"steps of unknown run", func() error { _, err := e.Steps.List(ctx, th.ID, "run_nope", apitype.StepListParams{}); return err }, apitype.ErrNotFound, ""},
		{"retrieve unknown step", func() error { _, err := e.Steps.Retrieve(ctx, th.ID, done.ID, "step_nope", nil); return err }, apitype.ErrNotFound, ""},
		{"list messages of unknown thread", func() error {
			_, err := e.Messages.List(ctx, "thread_nope", apitype.MessageListParams{})
			return err
		}, apitype.ErrNotFound, ""},
		// Lists and cursors.
		{"list limit 101", list(apitype.ListParams{Limit: 101}), apitype.ErrInvalidRequest, "limit"},
		{"list limit -1", list(apitype.ListParams{Limit: -1}), apitype.ErrInvalidRequest, "limit"},
		{"list order sideways", list(apitype.ListParams{Order: "sideways"}), apitype.ErrInvalidRequest, "order"},
		{"list after of another kind", list(apitype.ListParams{After: th.ID}), apitype.ErrInvalidRequest, "after"},
		{"list before with bad characters", list(apitype.ListParams{Before: "asst_../x"}), apitype.ErrInvalidRequest, "before"},
		{"list after huge", list(apitype.ListParams{After: "asst_" + long(100)}), apitype.ErrInvalidRequest, "after"},
		{"messages list bad run_id", func() error {
			_, err := e.Messages.List(ctx, th.ID, apitype.MessageListParams{RunID: "nope"})
			return err
		}, apitype.ErrInvalidRequest, "run_id"},
		{"messages list after a run id", func() error {
			_, err := e.Messages.List(ctx, th.ID, apitype.MessageListParams{ListParams: apitype.ListParams{After: done.ID}})
			return err
		}, apitype.ErrInvalidRequest, "after"},
		{"runs list bad order", func() error {
			_, err := e.Runs.List(ctx, th.ID, apitype.ListParams{Order: "ASC"})
			return err
		}, apitype.ErrInvalidRequest, "order"},
		{"steps list bad before", func() error {
			_, err := e.Steps.List(ctx, th.ID, done.ID, apitype.StepListParams{ListParams: apitype.ListParams{Before: "msg_1"}})
			return err
		}, apitype.ErrInvalidRequest, "before"},
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	counts := func() [4]int {
		as, _ := e.Assistants.List(ctx, apitype.ListParams{Limit: 100})
		ths, _ := e.Messages.List(ctx, th.ID, apitype.MessageListParams{ListParams: apitype.ListParams{Limit: 100}})
		rs, _ := e.Runs.List(ctx, th.ID, apitype.ListParams{Limit: 100})
		return [4]int{len(as.Data), len(ths.Data), len(rs.Data)}
	}
	before, beforeCounts := backup(t, e), counts()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			var ae *apitype.Error
			if !errors.As(err, &ae) {
				t.Fatalf("got %T %v, want *apitype.Error", err, err)
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want.(*apitype.Error).Type)
			}
			if ae.Param != c.param {
				t.Fatalf("param %q, want %q (%v)", ae.Param, c.param, err)
			}
			if ae.Message == "" || ae.Status == 0 {
				t.Fatalf("error without message or status: %+v", ae)
			}
			if after := backup(t, e); !bytes.Equal(before, after) {
				t.Fatalf("the database changed")
			}
		})
	}
	if got := counts(); got != beforeCounts {
		t.Fatalf("counts %v, were %v", got, beforeCounts)
	}
}
