package store

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/hearth-go/hearth/apitype"
)

// FuzzPlainMessage holds the store's fast reader to the strict decoder it
// stands in for: whatever bytes plainMessage takes, lent or owned, it
// makes exactly what the strict apitype.Item decoder makes of them; what it
// refuses is left to that decoder.
func FuzzPlainMessage(f *testing.F) {
	for _, it := range []apitype.Item{
		apitype.ItemOf(&apitype.MessageItem{ID: "msg_1", Role: apitype.RoleUser, Status: apitype.ItemCompleted, Content: []apitype.ContentPart{apitype.InputText("hi \"there\"\n")}}),
		apitype.ItemOf(&apitype.MessageItem{ID: "msg_2", Role: apitype.RoleAssistant, Status: apitype.ItemCompleted, Content: []apitype.ContentPart{apitype.OutputText("héllo\u2028"), apitype.OutputText("")}}),
		apitype.ItemOf(&apitype.MessageItem{Role: apitype.RoleDeveloper, Content: []apitype.ContentPart{apitype.InputText("be brief")}}),
		apitype.ItemOf(&apitype.FunctionCallItem{ID: "fc_1", CallID: "call_1", Name: "f", Arguments: "{}"}),
	} {
		b, err := json.Marshal(it)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"message","role":"user","content":[]}`))
	f.Add([]byte(`{"id":"msg_1","type":"message","role":"system","status":"in_progress","content":[{"type":"input_text","text":"\u00e9\ud83c\udf89"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, lend := range []bool{false, true} {
			got, ok := plainMessage(b, new(plainItem), lend)
			if !ok {
				continue
			}
			var want apitype.Item
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatalf("plainMessage (lend %v) took %q, which the strict decoder refuses: %v", lend, b, err)
			}
			if !reflect.DeepEqual(*got, want) {
				t.Fatalf("plainMessage (lend %v) of %q:\n got %#v\nwant %#v", lend, b, *got.Message, *want.Message)
			}
		}
	})
}
