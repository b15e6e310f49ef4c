package main

import (
	"context"
	"strings"
	"testing"
)

// The five flows run on the scripted model, each answer in its place.
func TestResponsesExample(t *testing.T) {
	if testing.Short() {
		t.Skip("starts CPython")
	}
	t.Setenv("HEARTH_MODEL_BACKEND", "scripted")
	var out strings.Builder
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"tutor: Subtract 11 from both sides",
		"haiku: Soft light on the hearth",
		`call get_weather({"location":"Paris, France"})`,
		"weather: It is 14°C and cloudy in Paris.",
		"found in kettle.md (kettle, score",
		"manuals: Two years from the date of purchase【0:0†kettle.md】.",
		"cited kettle.md (file_citation)",
		"assistant: Your name is Ada.",
		"holds 4 items",
		"→ conversation conv_",
		"You asked about the kettle's warranty",
		"logs: feb 12",
		"analysis: February sold most (12)",
		`cited best.txt: "feb"`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
