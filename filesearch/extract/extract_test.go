package extract

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// makePDF writes a minimal valid PDF with one page per entry of pages, each
// line shown with the standard Helvetica font.
func makePDF(pages [][]string) []byte {
	var b bytes.Buffer
	var offs []int
	obj := func(s string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), s)
	}
	b.WriteString("%PDF-1.4\n")
	n := len(pages)
	kids := make([]string, n)
	for i := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", 4+2*i)
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n))
	widths := strings.TrimSpace(strings.Repeat("556 ", 95))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding /FirstChar 32 /LastChar 126 /Widths [278 " + widths[4:] + "] >>")
	for i, lines := range pages {
		var cs strings.Builder
		cs.WriteString("BT /F1 12 Tf 72 720 Td 14 TL\n")
		for _, l := range lines {
			l = strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(l)
			fmt.Fprintf(&cs, "(%s) Tj T*\n", l)
		}
		cs.WriteString("ET")
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i))
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", cs.Len(), cs.String()))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}

func TestText(t *testing.T) {
	pdfData := makePDF([][]string{{"The lighthouse keeper logs the weather.", "Fog arrived at dawn."}, {"Second page about tides."}})
	tests := []struct {
		name, file string
		data       []byte
		want       []string // substrings
		notWant    []string
	}{
		{"plain", "notes.txt", []byte("hello world\r\nline two"), []string{"hello world\nline two"}, nil},
		{"markdown", "README.md", []byte("# Title\n\nSome *text*."), []string{"# Title", "Some *text*."}, nil},
		{"code", "main.go", []byte("package main\n\nfunc main() {}\n"), []string{"func main()"}, nil},
		{"no extension text", "LICENSE", []byte("Permission is granted"), []string{"Permission is granted"}, nil},
		{"unknown ext text", "data.xyz", []byte("plain words here"), []string{"plain words"}, nil},
		{"json", "cfg.json", []byte(`{"a":1,"b":[true,"x"]}`), []string{"\"a\": 1", "\"x\""}, nil},
		{"bad json kept", "cfg.json", []byte(`{"a":`), []string{`{"a":`}, nil},
		{"csv", "people.csv", []byte("name,city\nAda,London\nGrace,Arlington\n"), []string{"name: Ada; city: London", "name: Grace"}, nil},
		{"html", "page.html", []byte(`<!DOCTYPE html><html><head><title>T</title><style>p{color:red}</style></head>
<body><h1>Header</h1><p>First &amp; para.</p><script>alert(1)</script><ul><li>one</li><li>two</li></ul></body></html>`),
			[]string{"Header", "First & para.", "one\ntwo"}, []string{"alert", "color:red"}},
		{"html sniffed", "page", []byte("<html><body><p>sniffed</p></body></html>"), []string{"sniffed"}, []string{"<p>"}},
		{"utf8 bom", "a.txt", []byte("\xef\xbb\xbfbom text"), []string{"bom text"}, []string{"\ufeff"}},
		{"utf16", "a.txt", []byte("\xff\xfeh\x00i\x00"), []string{"hi"}, nil},
		{"pdf", "doc.pdf", pdfData, []string{"lighthouse keeper", "Fog arrived", "Second page about tides"}, nil},
		{"pdf by content", "upload.bin", pdfData, []string{"lighthouse keeper"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Text(tc.file, bytes.NewReader(tc.data), 0)
			if err != nil {
				t.Fatalf("Text: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in %q", w, got)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("unexpected %q in %q", w, got)
				}
			}
		})
	}
}

func TestTextErrors(t *testing.T) {
	tests := []struct {
		name, file string
		data       []byte
		want       error
	}{
		{"docx", "report.docx", []byte("PK\x03\x04\x14\x00rest"), ErrUnsupported},
		{"png named txt", "x.txt", []byte("\x89PNG\r\n\x1a\n...."), ErrUnsupported},
		{"binary unknown", "blob", []byte{0, 1, 2, 3, 0xff, 0xfe, 0x00}, ErrUnsupported},
		{"latin1 txt", "old.txt", []byte("caf\xe9 cr\xe8me"), ErrUnsupported},
		{"fake pdf", "doc.pdf", []byte("not a pdf at all"), ErrInvalid},
		{"broken pdf", "doc.pdf", []byte("%PDF-1.4\ngarbage garbage"), ErrInvalid},
		{"empty", "a.txt", nil, ErrNoText},
		{"blank", "a.md", []byte(" \n\t "), ErrNoText},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Text(tc.file, bytes.NewReader(tc.data), 0)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := Text("a.txt", strings.NewReader(strings.Repeat("x", 101)), 100); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("too large: %v", err)
	}
}

func FuzzBytes(f *testing.F) {
	f.Add("a.txt", []byte("hello"))
	f.Add("a.html", []byte("<p>x<script>y</script></p>"))
	f.Add("a.csv", []byte("a,b\n1,\"2\n"))
	f.Add("a.json", []byte(`{"k":[1,2,{"z":null}]}`))
	f.Add("a.pdf", makePDF([][]string{{"fuzz seed"}}))
	f.Add("a.pdf", []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj trailer << /Root 1 0 R >>"))
	f.Add("x", []byte("\xff\xfe\x00\xd8"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		s, err := Bytes(name, data)
		if err == nil && strings.TrimSpace(s) == "" {
			t.Fatalf("no error but empty text")
		}
		if err != nil && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrNoText) {
			t.Fatalf("untyped error: %v", err)
		}
	})
}
