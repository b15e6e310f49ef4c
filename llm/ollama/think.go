package ollama

import "strings"

// thinkFilter moves a leading <think>…</think> block out of the answer text.
// Ollama does this itself for models it knows think (capability "thinking");
// the filter covers models whose template it cannot infer tags from, so
// reasoning never reaches the answer. Tags may be split across chunks.
type thinkFilter struct {
	state   int // filterStart, filterThinking, filterAfterThinking or filterAnswer
	pending string
}

const (
	filterStart = iota
	filterThinking
	filterAfterThinking // drops the blank lines after </think>
	filterAnswer
)

const (
	openTag  = "<think>"
	closeTag = "</think>"
)

// add takes a content delta and returns what is answer text and what is
// thinking so far.
func (f *thinkFilter) add(s string) (text, thinking string) {
	switch f.state {
	case filterAnswer:
		return s, ""
	case filterAfterThinking:
		s = strings.TrimLeft(s, " \t\r\n")
		if s != "" {
			f.state = filterAnswer
		}
		return s, ""
	case filterStart:
		f.pending += s
		trimmed := strings.TrimLeft(f.pending, " \t\r\n")
		switch {
		case trimmed == "" || (len(trimmed) < len(openTag) && strings.HasPrefix(openTag, trimmed)):
			return "", "" // could still become <think>
		case strings.HasPrefix(trimmed, openTag):
			f.state = filterThinking
			f.pending = ""
			return f.add(trimmed[len(openTag):])
		default:
			f.state = filterAnswer
			text, f.pending = f.pending, ""
			return text, ""
		}
	default: // filterThinking
		f.pending += s
		if i := strings.Index(f.pending, closeTag); i >= 0 {
			thinking = f.pending[:i]
			rest := f.pending[i+len(closeTag):]
			f.state = filterAfterThinking
			f.pending = ""
			text, _ = f.add(rest)
			return text, thinking
		}
		// Hold back a tail that may be the start of </think>.
		keep := 0
		for n := min(len(closeTag)-1, len(f.pending)); n > 0; n-- {
			if strings.HasPrefix(closeTag, f.pending[len(f.pending)-n:]) {
				keep = n
				break
			}
		}
		thinking = f.pending[:len(f.pending)-keep]
		f.pending = f.pending[len(f.pending)-keep:]
		return "", thinking
	}
}

// flush returns what is held back when the reply ends.
func (f *thinkFilter) flush() (text, thinking string) {
	p := f.pending
	f.pending = ""
	if f.state == filterThinking {
		return "", p
	}
	return p, ""
}
