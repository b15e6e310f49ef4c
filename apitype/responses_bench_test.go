package apitype

import (
	"encoding/json"
	"testing"
	"time"
)

var benchItem = []byte(`{"id":"msg_01jc5b2x9m0000000000000000","type":"message","role":"assistant","status":"completed","content":[{"type":"output_text","text":"The capital of France is Paris. It has been the capital since the tenth century and is its largest city.","annotations":[{"type":"file_citation","file_id":"file-1","filename":"a.txt","index":12}]}]}`)

// plainItem is the same message read by encoding/json alone, with no
// strictness: the floor the strict decoder is measured against.
type plainItem struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Role    string `json:"role"`
	Status  string `json:"status"`
	Content []struct {
		Type        string `json:"type"`
		Text        string `json:"text"`
		Annotations []struct {
			Type     string `json:"type"`
			FileID   string `json:"file_id"`
			Filename string `json:"filename"`
			Index    int    `json:"index"`
		} `json:"annotations"`
	} `json:"content"`
}

// BenchmarkItemDecodePaired times the strict decoder beside its floor,
// encoding/json into a plain struct of the same shape, in alternating
// blocks of one loop, so both see the same machine: the cost of refusing
// unknown fields with exact paths, paid per stored item read.
func BenchmarkItemDecodePaired(b *testing.B) {
	const block = 64
	var strict, plain time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		for range block {
			var v Item
			if err := json.Unmarshal(benchItem, &v); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		for range block {
			var v plainItem
			if err := json.Unmarshal(benchItem, &v); err != nil {
				b.Fatal(err)
			}
		}
		strict += t1.Sub(t0)
		plain += time.Since(t1)
	}
	n := float64(b.N * block)
	b.ReportMetric(float64(strict.Nanoseconds())/n, "strict-ns/item")
	b.ReportMetric(float64(plain.Nanoseconds())/n, "plain-ns/item")
	b.ReportMetric(float64(strict)/float64(plain), "ratio")
}
