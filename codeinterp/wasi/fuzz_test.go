package wasi

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReadFrames feeds arbitrary interpreter output to the frame reader: it
// must never panic, and a well-formed frame after any junk must come through.
func FuzzReadFrames(f *testing.F) {
	const token = "abc123"
	f.Add([]byte("hello"), []byte(`{"stdout":"1\n"}`))
	f.Add([]byte("\x00\x01HEARTH:abc"), []byte(`{}`))
	f.Add([]byte("\x00\x02quota hit\n\x00"), []byte(`{"error":"x"}`))
	f.Add([]byte("\x00\x01HEARTH:abc123 9999999999\n"), []byte(""))
	f.Fuzz(func(t *testing.T, junk, payload []byte) {
		var in bytes.Buffer
		in.Write(junk)
		in.WriteString(markerPrefix + token)
		in.WriteString(" ")
		in.WriteString(itoa(len(payload)) + "\n")
		in.Write(payload)
		p := &proc{frames: make(chan frame, 64)}
		p.readFrames(&in, token, 1<<10)
		var got []frame
		for fr := range p.frames {
			got = append(got, fr)
		}
		if len(got) == 0 && !bytes.Contains(junk, []byte{0}) {
			t.Fatalf("no frame decoded")
		}
		for _, fr := range got {
			if len(fr.raw) > 1<<10 {
				t.Fatalf("raw bytes not capped: %d", len(fr.raw))
			}
		}
	})
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func FuzzCapText(f *testing.F) {
	f.Add("héllo wörld", int64(3), int64(0))
	f.Add("", int64(0), int64(5))
	f.Add("日本語テキスト", int64(4), int64(1))
	f.Fuzz(func(t *testing.T, s string, max, dropped int64) {
		if max < 0 || max > 1<<20 || dropped < 0 {
			return
		}
		out := capText(s, max, dropped)
		body, _, _ := strings.Cut(out, "\n[output truncated")
		if int64(len(body)) > max && int64(len(s)) > max {
			t.Fatalf("kept %d bytes, max %d", len(body), max)
		}
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("cut inside a rune: %q", out)
		}
		if (int64(len(s)) > max || dropped > 0) != strings.Contains(out, "[output truncated") {
			t.Fatalf("marker mismatch for %q max %d dropped %d: %q", s, max, dropped, out)
		}
	})
}

func FuzzFileNames(f *testing.F) {
	for _, s := range []string{"a.csv", "../x", "", ".", "a/b", "a\\b", "ok name.png"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if checkName(name) == nil && (strings.ContainsAny(name, "/\\\x00") || name == ".." || name == "." || name == "") {
			t.Fatalf("accepted %q", name)
		}
		sniff(name, []byte(name))
		splitNotes([]byte(name))
	})
}
