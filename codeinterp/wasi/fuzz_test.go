package wasi

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReadRecords feeds arbitrary guest output to the record reader: it
// must never panic, and whatever the code wrote before it (forged frames
// included), the frame that ends an exec's output is the reply.
func FuzzReadRecords(f *testing.F) {
	const token = "abc123"
	f.Add([]byte("hello"), []byte(`{"stdout":"1\n"}`), []byte{})
	f.Add([]byte("\x00\x01HEARTH:abc"), []byte(`{}`), []byte("D\x00\x00"))
	f.Add([]byte("\x00\x01HEARTH:abc123 9\n{\"a\":1}"), []byte(`{"error":"x"}`), []byte("Q\x00\x00\x00\x02hi"))
	f.Add([]byte("\x00\x01HEARTH:abc123 9999999999\n"), []byte(""), []byte("I\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, junk, payload, trailing []byte) {
		var in bytes.Buffer
		rw := &recordWriter{w: &in}
		rw.record(recData, junk)
		rw.record(recData, []byte(markerPrefix+token+" "+itoa(len(payload))+"\n"))
		rw.record(recData, payload)
		rw.record(recIdle, nil)
		in.Write(trailing) // arbitrary bytes after: must not panic
		p := &proc{frames: make(chan frame, 64)}
		p.readRecords(&in, token, 1<<10)
		var got []frame
		for fr := range p.frames {
			got = append(got, fr)
		}
		if len(got) == 0 || !got[0].replied || !bytes.Equal(got[0].payload, payload) {
			t.Fatalf("reply not decoded: %+v", got)
		}
		if want := min(len(junk), 1<<10); !bytes.Equal(got[0].raw, junk[:want]) || got[0].dropped != int64(len(junk)-want) {
			t.Fatalf("raw = %q (+%d dropped), want %q", got[0].raw, got[0].dropped, junk[:want])
		}
	})
}

// FuzzRequestReader: whatever the chunking of a request, the reader says
// idle exactly once, after the whole request was read.
func FuzzRequestReader(f *testing.F) {
	f.Add("print(1)", uint8(3))
	f.Add("", uint8(1))
	f.Add("x = '\\n' * 40\n", uint8(7))
	f.Fuzz(func(t *testing.T, code string, chunk uint8) {
		if chunk == 0 {
			return
		}
		req := itoa(len(code)) + "\n" + code
		var out bytes.Buffer
		r := &requestReader{r: &chunked{reqs: []string{req, req}, n: int(chunk)}, out: &guestStdout{rw: &recordWriter{w: &out}, q: &quota{}}, rescan: func() {}}
		buf := make([]byte, 256)
		idles := func() int { return bytes.Count(out.Bytes(), []byte{recIdle, 0, 0, 0, 0}) }
		for read := 0; read < 2*len(req); {
			n, _ := r.Read(buf[:min(len(buf), 2*len(req)-read)])
			read += n
			if want := 1 + (read-1)/len(req); idles() != want {
				t.Fatalf("after %d of %d bytes: %d idle records, want %d", read, 2*len(req), idles(), want)
			}
		}
		r.Read(buf)
		if idles() != 3 {
			t.Fatalf("%d idle records for 2 requests, want 3", idles())
		}
	})
}

// chunked delivers requests as the host does, one at a time (the next is
// written only after the reply), in reads of at most n bytes.
type chunked struct {
	reqs []string
	n    int
}

func (c *chunked) Read(p []byte) (int, error) {
	for len(c.reqs) > 0 && c.reqs[0] == "" {
		c.reqs = c.reqs[1:]
	}
	if len(c.reqs) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.reqs[0])
	c.reqs[0] = c.reqs[0][k:]
	return k, nil
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
	})
}
