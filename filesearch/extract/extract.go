package extract

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode/utf8"
)

var (
	// ErrUnsupported: the file is not a type file search can read (the
	// engine reports last_error code unsupported_file).
	ErrUnsupported = errors.New("extract: unsupported file type")
	// ErrInvalid: the file claims a supported type but cannot be read
	// (a broken PDF); the engine reports invalid_file.
	ErrInvalid = errors.New("extract: invalid file")
	// ErrTooLarge: the file exceeds the size limit.
	ErrTooLarge = errors.New("extract: file too large")
	// ErrNoText: the file holds no extractable text (a scanned PDF).
	ErrNoText = errors.New("extract: no text in file")
)

// Kind is a supported file kind.
type Kind string

// Supported kinds.
const (
	KindText     Kind = "text"
	KindMarkdown Kind = "markdown"
	KindCode     Kind = "code"
	KindJSON     Kind = "json"
	KindCSV      Kind = "csv"
	KindHTML     Kind = "html"
	KindPDF      Kind = "pdf"
)

var byExt = map[string]Kind{
	".txt": KindText, ".text": KindText, ".log": KindText, ".rst": KindText, ".tex": KindText, ".org": KindText,
	".md": KindMarkdown, ".markdown": KindMarkdown, ".mdx": KindMarkdown,
	".json": KindJSON, ".jsonl": KindText, ".ndjson": KindText,
	".csv": KindCSV, ".tsv": KindCSV,
	".html": KindHTML, ".htm": KindHTML, ".xhtml": KindHTML,
	".pdf": KindPDF,
}

var codeExt = strings.Fields(`.go .py .js .mjs .cjs .ts .tsx .jsx .java .kt .kts .scala .c .h .cc .cpp .cxx .hpp .hh .cs
.rb .php .sh .bash .zsh .ps1 .rs .swift .m .mm .sql .r .lua .pl .pm .hs .ex .exs .erl .clj .dart .vue .svelte .css .scss
.less .yaml .yml .toml .ini .cfg .conf .xml .proto .gradle .cmake .mk .tf .graphql .ipynb .bat .env .dockerfile`)

// Known binary formats by magic number, to fail fast with ErrUnsupported
// even when their name looks like text.
var binaryMagic = [][]byte{
	[]byte("PK\x03\x04"), []byte("\x89PNG"), []byte("\xff\xd8\xff"), []byte("GIF8"), []byte("\x1f\x8b"),
	[]byte("\xd0\xcf\x11\xe0"), []byte("BZh"), []byte("7z\xbc\xaf"), []byte("Rar!"), []byte("\x7fELF"), []byte("RIFF"),
	[]byte("\x00asm"), []byte("%!PS"), []byte("{\\rtf"), []byte("OggS"), []byte("ID3"), []byte("fLaC"),
}

func init() {
	for _, e := range codeExt {
		byExt[e] = KindCode
	}
}

// Detect returns the kind of a file from its name and first bytes, or
// ErrUnsupported.
func Detect(filename string, head []byte) (Kind, error) {
	ext := strings.ToLower(path.Ext(strings.ReplaceAll(filename, "\\", "/")))
	base := strings.ToLower(path.Base(strings.ReplaceAll(filename, "\\", "/")))
	if bytes.HasPrefix(head, []byte("%PDF-")) {
		return KindPDF, nil
	}
	for _, m := range binaryMagic {
		if bytes.HasPrefix(head, m) {
			return "", fmt.Errorf("%w: %q is a binary file", ErrUnsupported, filename)
		}
	}
	if k, ok := byExt[ext]; ok {
		if k == KindPDF {
			return "", fmt.Errorf("%w: %q is named .pdf but does not start with %%PDF-", ErrInvalid, filename)
		}
		return k, nil
	}
	switch base {
	case "makefile", "dockerfile", "readme", "license", "changelog", "notice", "authors":
		return KindText, nil
	}
	// Unknown or no extension: accept text that looks like text.
	if !looksText(head) {
		return "", fmt.Errorf("%w: %q (unknown extension %q, binary content)", ErrUnsupported, filename, ext)
	}
	lh := bytes.ToLower(bytes.TrimSpace(head))
	if bytes.HasPrefix(lh, []byte("<!doctype html")) || bytes.HasPrefix(lh, []byte("<html")) {
		return KindHTML, nil
	}
	if ext != "" && knownBinaryExt[ext] {
		return "", fmt.Errorf("%w: %q", ErrUnsupported, filename)
	}
	return KindText, nil
}

var knownBinaryExt = map[string]bool{".docx": true, ".doc": true, ".pptx": true, ".ppt": true, ".xlsx": true, ".xls": true,
	".odt": true, ".epub": true, ".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".webp": true, ".zip": true,
	".exe": true, ".bin": true, ".mp3": true, ".mp4": true, ".wav": true}

// looksText reports whether b is UTF-8 (or UTF-16 with a BOM) text without
// NUL bytes or many control characters.
func looksText(b []byte) bool {
	if bytes.HasPrefix(b, []byte{0xff, 0xfe}) || bytes.HasPrefix(b, []byte{0xfe, 0xff}) {
		return true
	}
	// A sniff window may cut a rune in two: ignore up to 3 trailing bytes.
	valid := utf8.Valid(b)
	for i := 1; !valid && i <= 3 && i <= len(b); i++ {
		valid = utf8.Valid(b[:len(b)-i])
	}
	if !valid || bytes.IndexByte(b, 0) >= 0 {
		return false
	}
	ctl := 0
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' {
			ctl++
		}
	}
	return ctl*100 <= len(b)
}

// sniffLen is how much of a file Detect sees.
const sniffLen = 4096

// Text reads at most maxBytes from r (0 means 64 MiB) and returns the file's
// text. Errors wrap ErrUnsupported, ErrInvalid, ErrTooLarge or ErrNoText.
func Text(filename string, r io.Reader, maxBytes int64) (string, error) {
	if maxBytes <= 0 {
		maxBytes = 64 << 20
	}
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return "", fmt.Errorf("extract: reading %q: %w", filename, err)
	}
	if int64(len(data)) > maxBytes {
		return "", fmt.Errorf("%w: %q exceeds %d bytes", ErrTooLarge, filename, maxBytes)
	}
	return Bytes(filename, data)
}

// Bytes is Text over a byte slice.
func Bytes(filename string, data []byte) (string, error) {
	kind, err := Detect(filename, data[:min(len(data), sniffLen)])
	if err != nil {
		return "", err
	}
	var text string
	switch kind {
	case KindPDF:
		text, err = pdfText(data)
	default:
		var s string
		if s, err = decodeText(filename, data); err != nil {
			return "", err
		}
		switch kind {
		case KindHTML:
			text = htmlText(s)
		case KindCSV:
			text = csvText(filename, s)
		case KindJSON:
			text = jsonText(s)
		default:
			text = s
		}
	}
	if err != nil {
		return "", err
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	if strings.TrimSpace(text) == "" {
		return "", fmt.Errorf("%w: %q", ErrNoText, filename)
	}
	return text, nil
}

// decodeText returns data as UTF-8: a UTF-8 BOM is dropped, UTF-16 with a BOM
// is converted, anything else must be valid UTF-8 without NUL bytes.
func decodeText(filename string, data []byte) (string, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xef, 0xbb, 0xbf}):
		data = data[3:]
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}), bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		return utf16Text(data), nil
	}
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		return "", fmt.Errorf("%w: %q is not UTF-8 text", ErrUnsupported, filename)
	}
	return string(data), nil
}

func utf16Text(data []byte) string {
	be := data[0] == 0xfe
	data = data[2:]
	u := make([]uint16, 0, len(data)/2)
	for i := 0; i+1 < len(data); i += 2 {
		if be {
			u = append(u, uint16(data[i])<<8|uint16(data[i+1]))
		} else {
			u = append(u, uint16(data[i+1])<<8|uint16(data[i]))
		}
	}
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		r := rune(u[i])
		if r >= 0xd800 && r < 0xdc00 && i+1 < len(u) && u[i+1] >= 0xdc00 && u[i+1] < 0xe000 {
			r = (r-0xd800)<<10 + (rune(u[i+1]) - 0xdc00) + 0x10000
			i++
		} else if r >= 0xd800 && r < 0xe000 {
			r = utf8.RuneError
		}
		if r != 0 {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// csvText renders each row as "header: value" pairs so a chunk cut from the
// middle of a table still says what its numbers mean. Malformed CSV is kept
// as it is.
func csvText(filename, s string) string {
	r := csv.NewReader(strings.NewReader(s))
	if strings.HasSuffix(strings.ToLower(filename), ".tsv") {
		r.Comma = '\t'
	}
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	rows, err := r.ReadAll()
	if err != nil || len(rows) < 2 {
		return s
	}
	head := rows[0]
	var b strings.Builder
	b.WriteString(strings.Join(head, ", "))
	b.WriteString("\n")
	for _, row := range rows[1:] {
		for i, v := range row {
			if i > 0 {
				b.WriteString("; ")
			}
			if i < len(head) && head[i] != "" {
				b.WriteString(head[i])
				b.WriteString(": ")
			}
			b.WriteString(v)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// jsonText pretty-prints valid JSON (so chunks break at lines) and keeps
// invalid JSON as text.
func jsonText(s string) string {
	var out bytes.Buffer
	if json.Valid([]byte(s)) && json.Indent(&out, []byte(s), "", "  ") == nil {
		return out.String()
	}
	return s
}
