package filesearch

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hearth-go/hearth/apitype"
)

// Source is a search result the model can cite by its marker
// 【Call:Index†Filename】: Call numbers the file_search calls of a run (the
// engine picks it, e.g. the tool call's position), Index the result within it.
type Source struct {
	Call     int
	Index    int
	FileID   string
	Filename string
}

// Marker returns the source marker, e.g. 【4:0†guide.md】.
func (s Source) Marker() string {
	return fmt.Sprintf("【%d:%d†%s】", s.Call, s.Index, markerName(s.Filename))
}

// markerName keeps a filename from closing or splitting the marker.
func markerName(name string) string {
	name = strings.NewReplacer("】", "]", "【", "[", "†", "+", "\n", " ", "\r", " ").Replace(name)
	if name == "" {
		return "source"
	}
	return name
}

// Sources numbers results for call.
func Sources(call int, results []Result) []Source {
	out := make([]Source, len(results))
	for i, r := range results {
		out[i] = Source{Call: call, Index: i, FileID: r.FileID, Filename: r.Filename}
	}
	return out
}

// FormatResults renders results as the file_search tool output the model
// reads: each chunk under its source marker, with an instruction to cite.
func FormatResults(call int, results []Result) string {
	if len(results) == 0 {
		return "No results were found in the attached files for this query."
	}
	var b strings.Builder
	b.WriteString("Results from the attached files. Cite a result by copying its marker, like ")
	b.WriteString(Sources(call, results[:1])[0].Marker())
	b.WriteString(", right after the sentence it supports.\n")
	for i, s := range Sources(call, results) {
		fmt.Fprintf(&b, "\n%s (score %.2f)\n", s.Marker(), results[i].Score)
		b.WriteString(strings.TrimSpace(results[i].Text))
		b.WriteString("\n")
	}
	return b.String()
}

// markerRE matches 【c:i†name】, and the looser 【i†name】 and 【c:i】 forms
// models also write. Names stop at the closing bracket.
var markerRE = regexp.MustCompile(`【(\d{1,9})(?::(\d{1,9}))?(?:†([^】\n]{0,300}))?】`)

// Citations finds the source markers in a final answer and returns a
// file_citation annotation for each marker that names a known source.
// Markers stay in the text, as the hosted API left them: the annotation's text
// is the marker and StartIndex/EndIndex (end exclusive) are its offsets in
// Unicode code points, as the hosted API (Python strings) counted them.
// Markers naming no known source get no annotation.
func Citations(text string, sources []Source) []apitype.Annotation {
	if !strings.Contains(text, "【") || len(sources) == 0 {
		return nil
	}
	type key struct{ c, i int }
	byKey := map[key]Source{}
	latest := map[int]Source{} // 【i†name】: the index in the last call
	byName := map[string][]Source{}
	for _, s := range sources {
		byKey[key{s.Call, s.Index}] = s
		if p, ok := latest[s.Index]; !ok || s.Call >= p.Call {
			latest[s.Index] = s
		}
		n := markerName(s.Filename)
		byName[n] = append(byName[n], s)
	}
	var out []apitype.Annotation
	pos, runes := 0, 0 // byte offset and its code point count
	for _, m := range markerRE.FindAllStringSubmatchIndex(text, -1) {
		runes += utf8.RuneCountInString(text[pos:m[0]])
		start := runes
		runes += utf8.RuneCountInString(text[m[0]:m[1]])
		pos = m[1]

		a, _ := strconv.Atoi(text[m[2]:m[3]])
		name := ""
		if m[6] >= 0 {
			name = text[m[6]:m[7]]
		}
		var (
			s  Source
			ok bool
		)
		if m[4] >= 0 {
			b, _ := strconv.Atoi(text[m[4]:m[5]])
			s, ok = byKey[key{a, b}]
		} else {
			s, ok = latest[a]
		}
		if name != "" && (!ok || markerName(s.Filename) != name) {
			// Numbers and name disagree: trust a name that names one file.
			ok = false
			if c := byName[name]; len(c) > 0 {
				s, ok = c[0], true
				for _, x := range c[1:] {
					if x.FileID != s.FileID {
						ok = false
					}
				}
			}
		}
		if !ok {
			continue
		}
		out = append(out, apitype.Annotation{
			Type:         apitype.AnnotationFileCitation,
			Text:         text[m[0]:m[1]],
			StartIndex:   start,
			EndIndex:     runes,
			FileCitation: &apitype.FileCitation{FileID: s.FileID},
		})
	}
	return out
}

// PathSpan is a sandbox:/mnt/data/… link in a model's answer. Start and End
// (exclusive) are code point offsets of Text; Path is the file's path in the
// sandbox, for the engine to resolve to a file id.
type PathSpan struct {
	Text       string
	Path       string
	StartIndex int
	EndIndex   int
}

var sandboxRE = regexp.MustCompile(`sandbox:(/mnt/data/[^\s()\[\]<>"'` + "`" + `«»“”‘’「」【】]+)`)

// FilePaths finds sandbox:/mnt/data/… paths in text, as candidates for
// file_path annotations. Trailing sentence punctuation is not part of a path.
func FilePaths(text string) []PathSpan {
	var out []PathSpan
	pos, runes := 0, 0
	for _, m := range sandboxRE.FindAllStringSubmatchIndex(text, -1) {
		end := m[1]
		for end > m[2]+len("/mnt/data/") && strings.ContainsRune(".,;:!?", rune(text[end-1])) {
			end--
		}
		if end <= m[2]+len("/mnt/data/") {
			continue
		}
		runes += utf8.RuneCountInString(text[pos:m[0]])
		start := runes
		runes += utf8.RuneCountInString(text[m[0]:end])
		pos = end
		out = append(out, PathSpan{Text: text[m[0]:end], Path: text[m[2]:end], StartIndex: start, EndIndex: runes})
	}
	return out
}
