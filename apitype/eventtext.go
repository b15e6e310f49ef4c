package apitype

import "strings"

// TextDelta is the text a thread.message.delta event adds to its message
// ("" for any other event): what a chat prints as it streams.
func (e Event) TextDelta() string {
	if e.MessageDelta == nil {
		return ""
	}
	var b strings.Builder
	for _, c := range e.MessageDelta.Delta.Content {
		if c.Text != nil {
			b.WriteString(c.Text.Value)
		}
	}
	return b.String()
}
