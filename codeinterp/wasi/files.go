package wasi

import (
	"bytes"
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
		data, err := os.ReadFile(host)
		if err != nil || int64(len(data)) > s.w.cfg.MaxFileBytes {
			continue
		}
		mime, img := sniff(name, data)
		out = append(out, codeinterp.OutputFile{
			Name: name, Path: guestData + "/" + name, HostPath: host,
			Size: int64(len(data)), Data: data, MIMEType: mime, IsImage: img,
		})
	}
	return out
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
