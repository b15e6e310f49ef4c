package schema_test

import (
	"encoding/json"
	"testing"

	"github.com/hearth-go/hearth/schema"
)

var benchSchema = json.RawMessage(`{"type":"object","properties":{"city":{"type":"string","pattern":"^[A-Z]"},"days":{"type":"integer","minimum":1,"maximum":7},"unit":{"type":"string","enum":["c","f"]}},"required":["city"],"additionalProperties":false}`)

// Compile, Validate and Fold of a typical tool schema: the cost a caller pays
// per call if it does not keep compiled schemas.
func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		if _, err := schema.Compile(benchSchema); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	s, err := schema.Compile(benchSchema)
	if err != nil {
		b.Fatal(err)
	}
	args := json.RawMessage(`{"city":"Paris","days":3,"unit":"c"}`)
	b.ReportAllocs()
	for range b.N {
		if err := s.Validate(args); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFold(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		if _, err := schema.Fold(benchSchema); err != nil {
			b.Fatal(err)
		}
	}
}
