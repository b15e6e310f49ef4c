package apitype_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hearth-go/hearth/apitype"
)

// A request body decodes strictly and validates; every refusal names the
// parameter, as the hosted API's 400s do.
func ExampleDecodeResponseCreateParams() {
	p, err := apitype.DecodeResponseCreateParams([]byte(`{"model":"llama3.2","input":[
		{"role":"user","content":"What is the weather in Paris?"},
		{"type":"function_call_output","call_id":"call_1","output":"18C"}]}`))
	if err == nil {
		err = p.Validate()
	}
	fmt.Println(err, len(p.Input.Items), p.Input.Items[1].FunctionCallOutput.Output)

	_, err = apitype.DecodeResponseCreateParams([]byte(`{"model":"llama3.2","input":[{"role":"user","content":"hi","mood":"sunny"}]}`))
	var e *apitype.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Param, e.Message)
	}
	// Output:
	// <nil> 2 18C
	// 400 input[0].mood Unknown parameter: 'input[0].mood'.
}

// Items are a union: switch on AsAny.
func ExampleItem_AsAny() {
	var out []apitype.Item
	_ = json.Unmarshal([]byte(`[
		{"id":"fc_1","type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}","status":"completed"},
		{"id":"msg_1","type":"message","role":"assistant","status":"completed","content":[{"type":"output_text","text":"Sunny.","annotations":[]}]}]`), &out)
	for _, it := range out {
		switch v := it.AsAny().(type) {
		case *apitype.FunctionCallItem:
			fmt.Println("call", v.Name, v.Arguments)
		case *apitype.MessageItem:
			fmt.Println("message", v.Text())
		}
	}
	// Output:
	// call get_weather {"city":"Paris"}
	// message Sunny.
}

// OutputText is the SDKs' output_text: the reply's text parts, concatenated.
func ExampleResponse_OutputText() {
	r := apitype.Response{ID: "resp_1", Status: apitype.ResponseCompleted, Output: []apitype.Item{
		apitype.ItemOf(&apitype.MessageItem{ID: "msg_1", Role: apitype.RoleAssistant, Content: []apitype.ContentPart{apitype.OutputText("Hello!")}}),
	}}
	fmt.Println(r.OutputText())
	// Output: Hello!
}
