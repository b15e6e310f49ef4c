package apitype

import "testing"

func TestEventTextDelta(t *testing.T) {
	ev := Event{Event: EventMessageDelta, MessageDelta: &MessageDeltaEvent{Delta: MessageDelta{Content: []MessageContent{
		{Type: ContentText, Text: &TextContent{Value: "Hel"}}, {Type: ContentImageFile}, {Type: ContentText, Text: &TextContent{Value: "lo"}}}}}}
	if got := ev.TextDelta(); got != "Hello" {
		t.Fatalf("TextDelta = %q", got)
	}
	if got := (Event{Event: EventRunCompleted, Run: &Run{}}).TextDelta(); got != "" {
		t.Fatalf("a run event's TextDelta = %q", got)
	}
}
