package wasi

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hearth-go/hearth/codeinterp"
)

// The interpreter, built by build/build.sh from Debian's packages; see wasm/README.md.
//
//go:embed wasm/python.wasm.gz wasm/stdlib.zip.gz wasm/sitepkgs.zip.gz wasm/SHA256SUMS
var artifacts embed.FS

//go:embed driver.py
var driverSource string

// Guest layout. The runtime directory on the host holds python.wasm and the
// prefix tree mounted read-only at /usr/local.
const (
	guestPrefix = "/usr/local"
	guestData   = "/mnt/data"
	sitePth     = "/usr/local/lib/python3/dist-packages/sitepkgs.zip\n"
)

// artifactSums parses wasm/SHA256SUMS into name → hex digest.
func artifactSums() (map[string]string, error) {
	b, err := artifacts.ReadFile("wasm/SHA256SUMS")
	if err != nil {
		return nil, err
	}
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 {
			sums[f[1]] = f[0]
		}
	}
	return sums, nil
}

// ensureRuntime extracts the embedded artifacts under dir once (keyed by their
// checksum, so a new build never reuses an old tree) and returns the runtime
// directory. Decompressed bytes are checked against SHA256SUMS.
func ensureRuntime(dir string) (string, error) {
	sums, err := artifactSums()
	if err != nil {
		return "", err
	}
	key := sums["python.wasm"] + sums["stdlib.zip"] + sums["sitepkgs.zip"]
	if len(key) != 3*64 {
		return "", fmt.Errorf("%w: wasm/SHA256SUMS incomplete", codeinterp.ErrUnavailable)
	}
	h := sha256.Sum256([]byte(key))
	rt := filepath.Join(dir, "runtime-"+hex.EncodeToString(h[:8]))
	if _, err := os.Stat(filepath.Join(rt, "complete")); err == nil {
		return rt, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, "extract-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	files := []struct{ name, dst string }{
		{"python.wasm", "python.wasm"},
		{"stdlib.zip", "prefix/lib/python311.zip"},
		{"sitepkgs.zip", "prefix/lib/python3/dist-packages/sitepkgs.zip"},
	}
	for _, f := range files {
		if err := extractOne(f.name, filepath.Join(tmp, f.dst), sums[f.name]); err != nil {
			return "", err
		}
	}
	// Debian's site.py scans <prefix>/lib/python3/dist-packages; the .pth puts
	// the sympy/mpmath zip on sys.path without scanning it at every import.
	pth := filepath.Join(tmp, "prefix/lib/python3/dist-packages/sitepkgs.pth")
	if err := os.WriteFile(pth, []byte(sitePth), 0o644); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(tmp, "prefix/lib/python3.11/lib-dynload"), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, "complete"), nil, 0o644); err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(rt, "complete")); err != nil {
		os.RemoveAll(rt) // a tree left half-made by a crash
	}
	if err := os.Rename(tmp, rt); err != nil {
		// Another process won the race: use its tree.
		if _, serr := os.Stat(filepath.Join(rt, "complete")); serr == nil {
			return rt, nil
		}
		return "", err
	}
	return rt, nil
}

func extractOne(name, dst, want string) error {
	f, err := artifacts.Open("wasm/" + name + ".gz")
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("codeinterp: %s: %w", name, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(out, h), zr); err != nil {
		out.Close()
		return fmt.Errorf("codeinterp: extract %s: %w", name, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("%w: %s checksum %s, want %s", codeinterp.ErrUnavailable, name, got, want)
	}
	return nil
}
