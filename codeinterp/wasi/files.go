package wasi

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hearth-go/hearth/codeinterp"
)

// snapshot records size and modification time of every regular file in dir.
func snapshot(dir string) map[string]fileStamp {
	m := map[string]fileStamp{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return m
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if info, err := e.Info(); err == nil {
			m[e.Name()] = fileStamp{info.Size(), info.ModTime()}
		}
	}
	return m
}

// collectFiles reports regular files at the top of /mnt/data that are new or
// changed since the last exec, and remembers the new state. Caller holds s.mu.
func (s *wasiSession) collectFiles() []codeinterp.OutputFile {
	now := snapshot(s.dir)
	var names []string
	for name, st := range now {
		if old, ok := s.snap[name]; !ok || old != st {
			names = append(names, name)
		}
	}
	s.snap = now
	sort.Strings(names)
	var out []codeinterp.OutputFile
	for _, name := range names {
		host := filepath.Join(s.dir, name)
		size := now[name].size
		if size > s.w.cfg.MaxFileBytes {
			continue
		}
		// Only the head is read here, to sniff the type: the engine streams
		// the rest into its store, so four 60 MB outputs cost no memory.
		head, err := readHead(host, 1024)
		if err != nil {
			continue
		}
		mime, img := sniff(name, head)
		out = append(out, codeinterp.OutputFile{
			Name: name, Path: guestData + "/" + name, HostPath: host, Size: size,
			Open:     func() (io.ReadCloser, error) { return os.Open(host) },
			MIMEType: mime, IsImage: img,
		})
	}
	return out
}

func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	k, err := io.ReadFull(f, b)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	return b[:k], err
}

// sniff detects the content type; png, jpeg, gif and svg count as images.
func sniff(name string, data []byte) (string, bool) {
	head := data
	if len(head) > 1024 {
		head = head[:1024]
	}
	if isSVG(head) {
		return "image/svg+xml", true
	}
	mime := http.DetectContentType(head)
	switch mime {
	case "image/png", "image/jpeg", "image/gif":
		return mime, true
	}
	if strings.HasPrefix(mime, "text/plain") {
		switch strings.ToLower(filepath.Ext(name)) {
		case ".csv":
			return "text/csv", false
		case ".json":
			return "application/json", false
		case ".md":
			return "text/markdown", false
		}
	}
	return mime, false
}

func isSVG(head []byte) bool {
	h := bytes.TrimSpace(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")))
	for bytes.HasPrefix(h, []byte("<?xml")) || bytes.HasPrefix(h, []byte("<!--")) || bytes.HasPrefix(h, []byte("<!DOCTYPE")) {
		end := bytes.IndexByte(h, '>')
		if end < 0 {
			return false
		}
		h = bytes.TrimSpace(h[end+1:])
	}
	return bytes.HasPrefix(h, []byte("<svg"))
}
