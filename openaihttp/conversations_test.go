package openaihttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/conversations"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/store"
)

// The Conversations API through openai-go v3: every call, and the items'
// shapes as the SDK reads them.
func TestOpenAIGoConversations(t *testing.T) {
	e := newEnv(t, scripted.New())
	ctx := context.Background()
	cs := &e.client.Conversations

	out := responses.ResponseInputItemParamOfFunctionCallOutput("sunny")
	out.OfFunctionCallOutput.CallID = openai.String("call_1")
	c, err := cs.New(ctx, conversations.ConversationNewParams{
		Metadata: shared.Metadata{"topic": "weather"},
		Items: []responses.ResponseInputItemUnionParam{
			responses.ResponseInputItemParamOfMessage("What is the weather in Oslo?", responses.EasyInputMessageRoleUser),
			responses.ResponseInputItemParamOfFunctionCall(`{"city":"Oslo"}`, "call_1", "get_weather"),
			out,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.ID, "conv_") || c.CreatedAt == 0 || c.Object != "conversation" {
		t.Fatalf("created %s", c.RawJSON())
	}
	if md, _ := c.Metadata.(map[string]any); md["topic"] != "weather" {
		t.Fatalf("metadata %s", c.RawJSON())
	}
	if g, err := cs.Get(ctx, c.ID); err != nil || g.ID != c.ID {
		t.Fatalf("get %v %v", g, err)
	}
	u, err := cs.Update(ctx, c.ID, conversations.ConversationUpdateParams{Metadata: shared.Metadata{"topic": "sun"}})
	if md, _ := u.Metadata.(map[string]any); err != nil || md["topic"] != "sun" {
		t.Fatalf("update %v %v", u, err)
	}

	added, err := cs.Items.New(ctx, c.ID, conversations.ItemNewParams{Items: []responses.ResponseInputItemUnionParam{
		responses.ResponseInputItemParamOfMessage("And tomorrow?", responses.EasyInputMessageRoleUser),
		responses.ResponseInputItemParamOfMessage("Rain.", responses.EasyInputMessageRoleAssistant),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(added.Data) != 2 || added.FirstID != added.Data[0].ID || added.LastID != added.Data[1].ID || added.Data[1].Role != "assistant" {
		t.Fatalf("items new %s", added.RawJSON())
	}

	// Newest first by default; pages of 2 followed by after=last_id.
	var ids, types []string
	iter := cs.Items.ListAutoPaging(ctx, c.ID, conversations.ItemListParams{Limit: openai.Int(2)})
	for iter.Next() {
		it := iter.Current()
		ids, types = append(ids, it.ID), append(types, it.Type)
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(types, []string{"message", "message", "function_call_output", "function_call", "message"}) || ids[0] != added.LastID {
		t.Fatalf("auto-paged %v %v", types, ids)
	}
	page, err := cs.Items.List(ctx, c.ID, conversations.ItemListParams{Order: conversations.ItemListParamsOrderAsc, Limit: openai.Int(3)})
	if err != nil || len(page.Data) != 3 || !page.HasMore || page.Data[0].ID != ids[4] {
		t.Fatalf("asc page %v %v", page, err)
	}
	call := page.Data[1].AsFunctionCall()
	if call.CallID != "call_1" || call.Name != "get_weather" || call.Arguments != `{"city":"Oslo"}` || !strings.HasPrefix(call.ID, "fc_") {
		t.Fatalf("function call %s", page.Data[1].RawJSON())
	}
	if o := page.Data[2].AsFunctionCallOutput(); o.CallID != "call_1" || o.Output.OfString != "sunny" || !strings.HasPrefix(o.ID, "fco_") {
		t.Fatalf("function call output %s", page.Data[2].RawJSON())
	}
	it, err := cs.Items.Get(ctx, c.ID, ids[4], conversations.ItemGetParams{})
	if err != nil {
		t.Fatal(err)
	}
	if m := it.AsMessage(); m.Role != "user" || m.Status != "completed" || len(m.Content) != 1 || m.Content[0].Text != "What is the weather in Oslo?" {
		t.Fatalf("message %s", it.RawJSON())
	}

	conv, err := cs.Items.Delete(ctx, c.ID, ids[4])
	if err != nil || conv.ID != c.ID {
		t.Fatalf("item delete %v %v", conv, err)
	}
	_, err = cs.Items.Get(ctx, c.ID, ids[4], conversations.ItemGetParams{})
	apiErr(t, err, 404, "not_found_error")
	d, err := cs.Delete(ctx, c.ID)
	if err != nil || !d.Deleted || d.ID != c.ID || d.Object != "conversation.deleted" {
		t.Fatalf("delete %v %v", d, err)
	}
	_, err = cs.Get(ctx, c.ID)
	if ae := apiErr(t, err, 404, "not_found_error"); ae.Message != fmt.Sprintf("Conversation with id '%s' not found.", c.ID) {
		t.Fatalf("404 message %q", ae.Message)
	}
}

// Malformed Conversations requests: the API's status, error type, param and
// code, and nothing written.
func TestConversationBadInputHTTP(t *testing.T) {
	e := newEnv(t, scripted.New())
	ctx := context.Background()
	c, err := e.eng.Conversations.Create(ctx, apitype.ConversationCreateParams{Items: []apitype.Item{
		apitype.ItemOf(&apitype.MessageItem{ID: "msg_a", Role: apitype.RoleUser, Content: []apitype.ContentPart{apitype.InputText("hi")}})}})
	if err != nil {
		t.Fatal(err)
	}
	conv, items := "/v1/conversations/"+c.ID, "/v1/conversations/"+c.ID+"/items"
	msg := `{"type":"message","role":"user","content":"x"}`
	many := `{"items":[` + strings.TrimSuffix(strings.Repeat(msg+",", 21), ",") + `]}`
	cases := []badInputCase{
		{"unknown conversation", "GET", "/v1/conversations/conv_nope", "", 404, "not_found_error", "", ""},
		{"update unknown conversation", "POST", "/v1/conversations/conv_nope", `{"metadata":{}}`, 404, "not_found_error", "", ""},
		{"delete unknown conversation", "DELETE", "/v1/conversations/conv_nope", "", 404, "not_found_error", "", ""},
		{"items of unknown conversation", "POST", "/v1/conversations/conv_nope/items", `{"items":[` + msg + `]}`, 404, "not_found_error", "", ""},
		{"list of unknown conversation", "GET", "/v1/conversations/conv_nope/items", "", 404, "not_found_error", "", ""},
		{"unknown item", "GET", items + "/msg_nope", "", 404, "not_found_error", "", ""},
		{"delete unknown item", "DELETE", items + "/msg_nope", "", 404, "not_found_error", "", ""},
		{"create 21 items", "POST", "/v1/conversations", many, 400, "invalid_request_error", "items", apitype.CodeArrayTooLong},
		{"items 21", "POST", items, many, 400, "invalid_request_error", "items", apitype.CodeArrayTooLong},
		{"items empty", "POST", items, `{"items":[]}`, 400, "invalid_request_error", "items", apitype.CodeEmptyArray},
		{"items missing", "POST", items, `{}`, 400, "invalid_request_error", "items", apitype.CodeMissingParameter},
		{"items not an array", "POST", items, `{"items":"hi"}`, 400, "invalid_request_error", "items", apitype.CodeInvalidType},
		{"item type unknown", "POST", items, `{"items":[{"type":"banana"}]}`, 400, "invalid_request_error", "items[0].type", apitype.CodeInvalidValue},
		{"item type of an unrun tool", "POST", items, `{"items":[{"type":"web_search_call","id":"ws_1","status":"completed"}]}`, 400, "invalid_request_error", "items[0].type", apitype.CodeUnsupported},
		{"item role bad", "POST", items, `{"items":[{"type":"message","role":"robot","content":"x"}]}`, 400, "invalid_request_error", "items[0].role", apitype.CodeInvalidValue},
		{"item_reference", "POST", items, `{"items":[{"type":"item_reference","id":"msg_a"}]}`, 400, "invalid_request_error", "items[0]", apitype.CodeUnsupported},
		{"function_call without call_id", "POST", items, `{"items":[{"type":"function_call","name":"f","arguments":"{}"}]}`, 400, "invalid_request_error", "items[0].call_id", apitype.CodeMissingParameter},
		// The conversation and its items are one transaction: the second
		// item's refusal leaves no conversation behind.
		{"create with a duplicate item id", "POST", "/v1/conversations", `{"items":[{"type":"message","id":"msg_x","role":"user","content":"x"},{"type":"message","id":"msg_x","role":"user","content":"y"}]}`, 400, "invalid_request_error", "items[1].id", ""},
		{"duplicate item id", "POST", items, `{"items":[{"type":"message","id":"msg_a","role":"user","content":"x"}]}`, 400, "invalid_request_error", "items[0].id", ""},
		{"unknown item field", "POST", items, `{"items":[{"type":"message","role":"user","content":"x","colour":"red"}]}`, 400, "invalid_request_error", "items[0].colour", apitype.CodeUnknownParameter},
		{"unknown field", "POST", "/v1/conversations", `{"title":"x"}`, 400, "invalid_request_error", "title", apitype.CodeUnknownParameter},
		{"metadata not an object", "POST", "/v1/conversations", `{"metadata":"x"}`, 400, "invalid_request_error", "metadata", apitype.CodeInvalidType},
		{"metadata too many keys", "POST", "/v1/conversations", `{"metadata":{` + manyKeys(17) + `}}`, 400, "invalid_request_error", "metadata", ""},
		{"metadata value too long", "POST", conv, `{"metadata":{"k":"` + strings.Repeat("v", 513) + `"}}`, 400, "invalid_request_error", "metadata.k", ""},
		{"update without metadata", "POST", conv, `{}`, 400, "invalid_request_error", "metadata", apitype.CodeMissingParameter},
		{"bad JSON", "POST", "/v1/conversations", `{"items":[`, 400, "invalid_request_error", "", ""},
		{"bad JSON items", "POST", items, `{items:1}`, 400, "invalid_request_error", "", ""},
		{"body not an object", "POST", "/v1/conversations", `[]`, 400, "invalid_request_error", "", ""},
		{"limit 0", "GET", items + "?limit=0", "", 400, "invalid_request_error", "limit", ""},
		{"limit 101", "GET", items + "?limit=101", "", 400, "invalid_request_error", "limit", ""},
		{"limit not a number", "GET", items + "?limit=ten", "", 400, "invalid_request_error", "limit", ""},
		{"order bad", "GET", items + "?order=up", "", 400, "invalid_request_error", "order", ""},
		{"after unknown item", "GET", items + "?after=msg_nope", "", 400, "invalid_request_error", "after", ""},
		{"include bad", "GET", items + "?include[]=nope", "", 400, "invalid_request_error", "include[0]", apitype.CodeInvalidValue},
		{"include bad on create", "POST", items + "?include[]=nope", `{"items":[` + msg + `]}`, 400, "invalid_request_error", "include[0]", apitype.CodeInvalidValue},
	}
	checkBadInput(t, e, cases)
	if len(cases) < 15 {
		t.Fatalf("only %d cases", len(cases))
	}
	if err := e.eng.Store().View(ctx, func(tx store.Tx) error {
		n, err := tx.CountConversationItems(c.ID)
		if err == nil && n != 1 {
			err = fmt.Errorf("conversation holds %d items", n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// badInputCase is a malformed request and the error envelope it must get.
type badInputCase struct {
	name, method, path, body string
	status                   int
	typ, param, code         string
}

// checkBadInput sends each case and checks its status, error type, param
// and code (when set), and that the database was not written.
func checkBadInput(t *testing.T, e *env, cases []badInputCase) {
	t.Helper()
	before := txID(t, e.eng)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := doReq(t, e, tc.method, tc.path, tc.body)
			var env struct {
				Error *struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Param   *string `json:"param"`
					Code    *string `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &env); err != nil || env.Error == nil || env.Error.Message == "" {
				t.Fatalf("%d not an envelope: %s", resp.StatusCode, body)
			}
			param, code := "", ""
			if env.Error.Param != nil {
				param = *env.Error.Param
			}
			if env.Error.Code != nil {
				code = *env.Error.Code
			}
			if resp.StatusCode != tc.status || env.Error.Type != tc.typ || param != tc.param || (tc.code != "" && code != tc.code) {
				t.Fatalf("got %d %s param %q code %q, want %d %s param %q code %q: %s",
					resp.StatusCode, env.Error.Type, param, code, tc.status, tc.typ, tc.param, tc.code, body)
			}
			if now := txID(t, e.eng); now != before {
				t.Fatalf("database written: tx %d → %d", before, now)
			}
		})
	}
}

func manyKeys(n int) string {
	kv := make([]string, n)
	for i := range kv {
		kv[i] = fmt.Sprintf(`"k%d":"v"`, i)
	}
	return strings.Join(kv, ",")
}
