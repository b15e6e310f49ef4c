package apitype

import (
	"encoding/json"
	"testing"
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

// BenchmarkItemDecode/strict beside BenchmarkItemDecode/plain: the cost of
// refusing unknown fields with exact paths, paid per stored item read.
func BenchmarkItemDecode(b *testing.B) {
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v plainItem
			if err := json.Unmarshal(benchItem, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("strict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v Item
			if err := json.Unmarshal(benchItem, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
