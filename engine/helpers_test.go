package engine_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
)

func openEngine(t testing.TB, model llm.Model, mod ...func(*engine.Config)) *engine.Engine {
	t.Helper()
	cfg := engine.Config{Path: filepath.Join(t.TempDir(), "hearth.db"), Model: model, NoSync: true}
	for _, m := range mod {
		m(&cfg)
	}
	e, err := engine.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func mustAssistant(t testing.TB, e *engine.Engine, tools ...apitype.Tool) *apitype.Assistant {
	t.Helper()
	a, err := e.Assistants.Create(context.Background(), apitype.AssistantCreateParams{
		Model: "test-model", Name: apitype.Ptr("Tester"), Instructions: apitype.Ptr("Be brief."), Tools: tools})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustThread(t testing.TB, e *engine.Engine, text string) *apitype.Thread {
	t.Helper()
	th, err := e.Threads.Create(context.Background(), apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{
		{Role: apitype.RoleUser, Content: apitype.TextInput(text)}}})
	if err != nil {
		t.Fatal(err)
	}
	return th
}

func eventNames(t testing.TB, seq func(func(apitype.Event, error) bool)) []string {
	t.Helper()
	var names []string
	for ev, err := range seq {
		if err != nil {
			t.Fatalf("stream error after %v: %v", names, err)
		}
		names = append(names, string(ev.Event))
	}
	return names
}
