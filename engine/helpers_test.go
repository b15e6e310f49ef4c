package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/codeinterp/wasi"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/hearthtest"
	"github.com/hearth-go/hearth/llm"
)

// openEngine is hearthtest.Open with Config changes: the engine closes at
// the test's end, and goroutines it leaves fail the test.
func openEngine(t testing.TB, model llm.Model, mod ...func(*engine.Config)) *engine.Engine {
	t.Helper()
	opts := make([]hearthtest.Option, len(mod), len(mod)+1)
	for i, m := range mod {
		opts[i] = hearthtest.Config(m)
	}
	if onPostgres {
		opts = append(opts, hearthtest.Config(onPostgresConfig(t)))
	}
	return hearthtest.Open(t, model, opts...)
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
	return hearthtest.CollectEvents(t, seq).Names()
}

// realSandbox is the WASI sandbox; tests that start CPython skip under
// -short. The caller defers Close, so the sandbox's goroutines end before
// the engine's cleanup checks for leaks. The compiled interpreter is
// cached across runs in the temp dir: compiling is the slow part.
func realSandbox(t testing.TB) *wasi.Sandbox {
	t.Helper()
	if testing.Short() {
		t.Skip("starts CPython")
	}
	sb, err := wasi.New(wasi.Config{CacheDir: filepath.Join(os.TempDir(), "hearth-test-codeinterp-cache")})
	if err != nil {
		t.Fatal(err)
	}
	return sb
}
