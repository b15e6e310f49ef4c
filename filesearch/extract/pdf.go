package extract

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/dslipak/pdf"
)

// maxPDFPages bounds the page loop: the page count comes from the file.
const maxPDFPages = 20000

// pdfText extracts the text of each page with github.com/dslipak/pdf (the
// rsc.io/pdf reader with ledongthuc's text extraction, the only tagged pure-Go
// release of that line). That reader panics on some malformed files, so a
// panic becomes ErrInvalid.
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
	n := r.NumPage()
	if n <= 0 {
		return "", fmt.Errorf("%w: PDF has no pages", ErrInvalid)
	}
	var b strings.Builder
	fonts := map[string]*pdf.Font{}
	for i := 1; i <= min(n, maxPDFPages); i++ {
		p := r.Page(i)
		if p.V.IsNull() {
			break
		}
		for _, name := range p.Fonts() {
			if _, ok := fonts[name]; !ok {
				f := p.Font(name)
				fonts[name] = &f
			}
		}
		t, err := p.GetPlainText(fonts)
		if err != nil {
			return "", fmt.Errorf("%w: page %d: %v", ErrInvalid, i, err)
		}
		if i > 1 {
			b.WriteString("\n\n")
		}
		b.WriteString(t)
	}
	return b.String(), nil
}
