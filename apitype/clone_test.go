package apitype

import (
	"reflect"
	"testing"
	"unsafe"
)

// TestMessageCloneSharesNothing: a clone equals its message, nil-vs-empty
// included, and no string, pointer, slice or map of it aliases the original.
func TestMessageCloneSharesNothing(t *testing.T) {
	m := &Message{ID: "msg_1", Object: ObjectMessage, CreatedAt: 7, ThreadID: "thread_1", Status: MessageIncomplete,
		IncompleteDetails: &IncompleteDetails{Reason: "run_cancelled"}, CompletedAt: Ptr(int64(8)), IncompleteAt: Ptr(int64(9)),
		Role: RoleAssistant, AssistantID: Ptr("asst_1"), RunID: Ptr("run_1"),
		Content: []MessageContent{
			{Type: ContentText, Text: &TextContent{Value: "hello", Annotations: []Annotation{}}},
			{Type: ContentText, Index: Ptr(1), Text: &TextContent{Value: "see [1]", Annotations: []Annotation{
				{Type: AnnotationFileCitation, Text: "[1]", Index: Ptr(0), FileCitation: &FileCitation{FileID: "file-1", Quote: "q"}},
				{Type: AnnotationFilePath, Text: "out.csv", FilePath: &FilePath{FileID: "file-2"}}}}},
			{Type: ContentText, Text: &TextContent{Value: "no annotations"}},
			{Type: ContentImageFile, ImageFile: &ImageFile{FileID: "file-3", Detail: "low"}},
			{Type: ContentImageURL, ImageURL: &ImageURL{URL: "data:x", Detail: "high"}},
			{Type: ContentRefusal, Refusal: Ptr("no")},
		},
		Attachments: []Attachment{{FileID: "file-4", Tools: []AttachmentTool{{Type: ToolTypeFileSearch}}}, {FileID: "file-5"}},
		Metadata:    Metadata{"k": "v", "": ""}}
	c := m.Clone()
	if !reflect.DeepEqual(c, m) {
		t.Fatalf("clone differs:\n got  %+v\n want %+v", c, m)
	}
	var strs []*string
	m.eachString(func(s *string) { strs = append(strs, s) })
	var cstrs []*string
	c.eachString(func(s *string) { cstrs = append(cstrs, s) })
	for i := range strs {
		if *strs[i] != "" && unsafe.StringData(*strs[i]) == unsafe.StringData(*cstrs[i]) {
			t.Fatalf("string %q shares its bytes", *strs[i])
		}
		if strs[i] == cstrs[i] {
			t.Fatalf("string field %q shared", *strs[i])
		}
	}
	for k, v := range c.Metadata {
		for k0, v0 := range m.Metadata {
			if k != "" && k == k0 && unsafe.StringData(k) == unsafe.StringData(k0) || v != "" && v == v0 && unsafe.StringData(v) == unsafe.StringData(v0) {
				t.Fatalf("metadata %q shares its bytes", k)
			}
		}
	}
	// Writing through the clone leaves the original alone.
	c.Content[1].Text.Annotations[0].FileCitation.FileID = "x"
	*c.Content[1].Index = 5
	c.Attachments[0].Tools[0].Type = "x"
	c.Metadata["k"] = "x"
	*c.CompletedAt = 0
	if m.Content[1].Text.Annotations[0].FileCitation.FileID != "file-1" || *m.Content[1].Index != 1 ||
		m.Attachments[0].Tools[0].Type != ToolTypeFileSearch || m.Metadata["k"] != "v" || *m.CompletedAt != 8 {
		t.Fatal("writing through the clone changed the original")
	}
	// nil stays nil.
	var none *Message
	if none.Clone() != nil || (&Message{}).Clone().Content != nil {
		t.Fatal("nil not kept")
	}
}
