package wasi

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestArtifactChecksums: the embedded .gz files are the ones build.sh
// recorded (the decompressed ones are checked at every extraction).
func TestArtifactChecksums(t *testing.T) {
	sums, err := artifactSums()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"python.wasm.gz", "stdlib.zip.gz", "sitepkgs.zip.gz"} {
		b, err := artifacts.ReadFile("wasm/" + name)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(b)
		if got := hex.EncodeToString(h[:]); got != sums[name] {
			t.Errorf("%s: sha256 %s, SHA256SUMS says %s", name, got, sums[name])
		}
	}
	for _, name := range []string{"python.wasm", "stdlib.zip", "sitepkgs.zip"} {
		if len(sums[name]) != 64 {
			t.Errorf("SHA256SUMS has no entry for %s", name)
		}
	}
}
