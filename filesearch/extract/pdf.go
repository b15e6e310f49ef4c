package extract

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"rsc.io/pdf"
)

// maxPDFPages bounds the page loop: the page count comes from the file.
const maxPDFPages = 20000

// pdfText extracts the text of each page with rsc.io/pdf: a small pure-Go
// reader (tagged v0.1.1) that decodes content streams and fonts (standard
// encodings and ToUnicode maps) into positioned glyphs, and reports malformed
// input by panicking, which becomes ErrInvalid here. Forks that add plain-text
// helpers swallow those errors and can loop forever on a corrupt stream (our
// fuzzing found one), so we assemble lines from the glyphs ourselves.
func pdfText(data []byte) (text string, err error) {
	defer func() {
		if r := recover(); r != nil {
			text, err = "", fmt.Errorf("%w: malformed PDF: %v", ErrInvalid, r)
		}
	}()
	r, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		if strings.Contains(err.Error(), "encrypt") {
			return "", fmt.Errorf("%w: encrypted PDF", ErrUnsupported)
		}
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	pages := pageList(r.Trailer().Key("Root").Key("Pages"))
	if len(pages) == 0 {
		return "", fmt.Errorf("%w: PDF has no pages", ErrInvalid)
	}
	var b strings.Builder
	budget := int64(maxPDFStreamBytes)
	for i, p := range pages {
		if err := checkPageStreams(p, &budget); err != nil {
			return "", err
		}
		if i > 0 {
			b.WriteString("\n\n")
		}
		writeGlyphs(&b, p.Content().Text)
	}
	return b.String(), nil
}

// pageList walks the page tree depth first. rsc.io/pdf's Page(n) follows
// Kids without cycle checks, so a self-referencing tree would never end; here
// depth and the number of visited nodes are bounded.
func pageList(root pdf.Value) []pdf.Page {
	var out []pdf.Page
	visits := 0
	var walk func(v pdf.Value, depth int)
	walk = func(v pdf.Value, depth int) {
		visits++
		if depth > 64 || visits > 4*maxPDFPages || len(out) >= maxPDFPages {
			return
		}
		switch v.Key("Type").Name() {
		case "Page":
			out = append(out, pdf.Page{V: v})
		case "Pages":
			kids := v.Key("Kids")
			for i := 0; i < kids.Len(); i++ {
				walk(kids.Index(i), depth+1)
			}
		}
	}
	walk(root, 0)
	return out
}

// maxPDFStreamBytes caps the decoded content and cmap streams read from one
// PDF, against compression bombs.
const maxPDFStreamBytes = 256 << 20

// checkPageStreams decodes the page's content streams and its fonts'
// ToUnicode maps and checks that their strings, arrays and dictionaries are
// closed. rsc.io/pdf's content interpreter reads past the end of a stream
// forever when one is not, so such pages are ErrInvalid before it runs.
func checkPageStreams(p pdf.Page, budget *int64) error {
	// Inherited attributes follow Parent links without a cycle check.
	v, depth := p.V, 0
	for ; !v.IsNull() && depth <= 64; depth++ {
		v = v.Key("Parent")
	}
	if depth > 64 {
		return fmt.Errorf("%w: page tree Parent links form a cycle", ErrInvalid)
	}
	var streams []pdf.Value
	c := p.V.Key("Contents")
	if c.Kind() == pdf.Array {
		for i := 0; i < c.Len(); i++ {
			streams = append(streams, c.Index(i))
		}
	} else {
		streams = append(streams, c)
	}
	fonts := p.Resources().Key("Font")
	for _, k := range fonts.Keys() {
		if tu := fonts.Key(k).Key("ToUnicode"); tu.Kind() == pdf.Stream {
			streams = append(streams, tu)
		}
	}
	for _, s := range streams {
		if s.Kind() != pdf.Stream {
			continue
		}
		rc := s.Reader()
		data, err := io.ReadAll(io.LimitReader(rc, *budget+1))
		rc.Close()
		if err != nil {
			return fmt.Errorf("%w: reading a content stream: %v", ErrInvalid, err)
		}
		*budget -= int64(len(data))
		if *budget < 0 {
			return fmt.Errorf("%w: decoded streams exceed %d bytes", ErrInvalid, maxPDFStreamBytes)
		}
		if !balancedPS(data) {
			return fmt.Errorf("%w: unterminated string, array or dictionary in a content stream", ErrInvalid)
		}
	}
	return nil
}

// balancedPS reports whether every literal string, hex string, array and
// dictionary in a PostScript-like token stream is closed.
func balancedPS(d []byte) bool {
	arrays, dicts := 0, 0
	for i := 0; i < len(d); i++ {
		switch d[i] {
		case '%':
			for i < len(d) && d[i] != '\n' && d[i] != '\r' {
				i++
			}
		case '(':
			depth := 1
			for i++; ; i++ {
				if i >= len(d) {
					return false
				}
				if d[i] == '\\' {
					i++
					continue
				}
				if d[i] == '(' {
					depth++
				} else if d[i] == ')' {
					if depth--; depth == 0 {
						break
					}
				}
			}
		case '<':
			if i+1 < len(d) && d[i+1] == '<' {
				dicts++
				i++
				continue
			}
			j := bytes.IndexByte(d[i:], '>')
			if j < 0 {
				return false
			}
			i += j
		case '>':
			if i+1 < len(d) && d[i+1] == '>' {
				dicts--
				i++
			}
		case '[':
			arrays++
		case ']':
			arrays--
		}
	}
	return arrays <= 0 && dicts <= 0
}

// writeGlyphs lays glyphs out as lines: glyphs on the same baseline (within
// a third of the font size) form a line read left to right, a gap wider than
// a fifth of the font size is a space, lines go top to bottom.
func writeGlyphs(b *strings.Builder, glyphs []pdf.Text) {
	type line struct {
		y  float64
		gs []pdf.Text
	}
	var lines []*line
	for _, g := range glyphs {
		if g.S == "" || math.IsNaN(g.X) || math.IsNaN(g.Y) {
			continue
		}
		tol := math.Max(g.FontSize/3, 1)
		var l *line
		for j := len(lines) - 1; j >= 0 && j >= len(lines)-4; j-- {
			if math.Abs(lines[j].y-g.Y) <= tol {
				l = lines[j]
				break
			}
		}
		if l == nil {
			l = &line{y: g.Y}
			lines = append(lines, l)
		}
		l.gs = append(l.gs, g)
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].y > lines[j].y })
	for li, l := range lines {
		if li > 0 {
			b.WriteByte('\n')
		}
		sort.SliceStable(l.gs, func(i, j int) bool { return l.gs[i].X < l.gs[j].X })
		end := math.Inf(-1)
		for _, g := range l.gs {
			if g.X-end > math.Max(g.FontSize/5, 0.5) && end != math.Inf(-1) && !strings.HasPrefix(g.S, " ") {
				b.WriteByte(' ')
			}
			b.WriteString(g.S)
			end = g.X + g.W
		}
	}
}
