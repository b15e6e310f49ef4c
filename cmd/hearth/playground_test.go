package main

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

const chromium = "/usr/bin/chromium"

// browser starts a headless Chromium (Debian's package) for one test, with
// a fresh profile, and returns its tab. The flags keep it off the network:
// no background fetches, updates, sync or QUIC.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("browser tests need Chromium at %s (Debian: apt-get install chromium; .ci/run installs it)", chromium)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("hide-scrollbars", true))
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("chromium: %v", err)
	}
	return ctx
}

// gatedModel is the demo backend, except that "stream slowly" is answered
// in two pieces with the second held until release is closed, so a test can
// see the first piece in the page before the rest exists.
type gatedModel struct {
	demoBackend
	release chan struct{}
}

const slowFirst, slowRest = "Streaming ", "arrives token by token."

func (g gatedModel) Chat(ctx context.Context, req *llm.Request) iter.Seq2[llm.Chunk, error] {
	if scripted.HasToolResult(req) || strings.TrimSpace(scripted.LastUser(req)) != "stream slowly" {
		return g.demoBackend.Chat(ctx, req)
	}
	return func(yield func(llm.Chunk, error) bool) {
		if !yield(llm.Chunk{Text: slowFirst}, nil) {
			return
		}
		select {
		case <-g.release:
		case <-ctx.Done():
			yield(llm.Chunk{}, ctx.Err())
			return
		}
		yield(llm.Chunk{Text: slowRest, FinishReason: "stop", Usage: &llm.Usage{PromptTokens: 12, CompletionTokens: 6}}, nil)
	}
}

// shots is where the test writes the README's screenshots when
// HEARTH_SCREENSHOTS is set (go test -run TestPlaygroundBrowser
// ./cmd/hearth with HEARTH_SCREENSHOTS=1).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("HEARTH_SCREENSHOTS") == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("..", "..", "docs", "playground")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func sandboxCache() string { return filepath.Join(os.TempDir(), "hearth-test-codeinterp-cache") }

// TestPlaygroundBrowser drives the Playground in headless Chromium against
// `hearth serve` with API keys and the demo model: the key prompt, a vector
// store upload with its ingestion progress, an assistant with tools and a
// function whose schema the editor validates, a streamed answer seen while
// it grows, code with its output and image, a cited search, a function
// output submitted from the form, the run inspector and the threads list.
func TestPlaygroundBrowser(t *testing.T) {
	ctx := browser(t)
	release := make(chan struct{})
	srv := startServeModel(t, map[string]string{"HEARTH_API_KEYS": "sk-play"}, gatedModel{newDemo(), release},
		"--db", filepath.Join(t.TempDir(), "h.db"), "--code-interpreter", "wasi", "--cache-dir", sandboxCache())
	pg := srv.url + "/playground/"
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, srv.logs)
		}
	}
	text := func(sel string) string {
		t.Helper()
		// Read once the test has waited for its signal: no query that waits.
		q, _ := json.Marshal(sel)
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(`+string(q)+`).textContent`))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	typeIn := func(sel, s string) chromedp.Action[chromedp.Void] {
		return chromedp.SetValue(chromedp.CSS(sel), s) // it fires input and change, as typing does
	}

	// The page asks for the key once; the assistants list then loads.
	do("key", chromedp.Navigate(pg), chromedp.WaitVisible(chromedp.ID("key-input")),
		typeIn("#key-input", "sk-play"), chromedp.Click(chromedp.ID("key-save")),
		chromedp.WaitVisible(chromedp.ID("no-assistants")))

	// A vector store, and a file uploaded into it: file_counts reach 1 of 1.
	doc := filepath.Join(t.TempDir(), "tulips.md")
	if err := os.WriteFile(doc, []byte("# Tulips\n\nTulips bloom in April along the canals of Leiden.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	do("vector store", chromedp.Navigate(pg+"#stores"), chromedp.WaitVisible(chromedp.ID("no-stores")),
		typeIn("#vs-name", "garden notes"), chromedp.Click(chromedp.CSS("#vs-create button")),
		chromedp.WaitVisible(chromedp.CSS(".vs")),
		chromedp.SetUploadFiles(chromedp.CSS(".vs .vs-file"), []string{doc}),
		chromedp.Click(chromedp.CSS(".vs .vs-upload button")),
		chromedp.WaitVisible(chromedp.CSS(`.vs[data-completed="1"] li[data-status="completed"]`)))
	if got := text(".vs .file-counts"); got != "1 of 1 files ready" {
		t.Errorf("file counts: %q", got)
	}
	storeID := attr(t, ctx, ".vs", "data-id")
	shot(t, ctx, "vector-stores")

	// An assistant with both tools, the store and a function; the schema
	// editor refuses bad JSON before it accepts the schema.
	do("assistant form", chromedp.Navigate(pg+"#assistant/new"), chromedp.WaitVisible(chromedp.ID("assistant-form")),
		typeIn("#a-name", "Gardener"), typeIn("#a-instructions", "Answer from the garden notes."),
		typeIn("#a-temperature", "0.4"),
		chromedp.Click(chromedp.ID("a-code")), chromedp.Click(chromedp.ID("a-search")),
		chromedp.SetValue(chromedp.ID("a-store"), storeID),
		chromedp.Click(chromedp.ID("add-function")), chromedp.WaitVisible(chromedp.CSS(".fn")),
		typeIn(".fn .fn-name", "get_weather"), typeIn(".fn .fn-desc", "The weather in a city"),
		typeIn(".fn .fn-params", `{"type": "object", "properties": {"city": `),
		chromedp.WaitVisible(chromedp.CSS(`.fn[data-valid="false"] .schema-state.bad`)))
	if got := text(".fn .schema-state"); !strings.HasPrefix(got, "not JSON") {
		t.Errorf("schema state for broken JSON: %q", got)
	}
	do("schema", typeIn(".fn .fn-params", `{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}`),
		chromedp.WaitVisible(chromedp.CSS(`.fn[data-valid="true"] .schema-state.ok`)))
	shot(t, ctx, "assistant-editor")
	do("save", chromedp.Click(chromedp.ID("a-save")), chromedp.WaitVisible(chromedp.CSS("#a-saved[data-id]")))
	asstID := attr(t, ctx, "#a-saved", "data-id")
	var asst struct {
		Model         string  `json:"model"`
		Temperature   float64 `json:"temperature"`
		Tools         []any   `json:"tools"`
		ToolResources struct {
			FileSearch struct {
				VectorStoreIDs []string `json:"vector_store_ids"`
			} `json:"file_search"`
		} `json:"tool_resources"`
	}
	getJSONKey(t, srv.url+"/v1/assistants/"+asstID, "sk-play", &asst)
	if asst.Model != demoModel || asst.Temperature != 0.4 || len(asst.Tools) != 3 || len(asst.ToolResources.FileSearch.VectorStoreIDs) != 1 {
		t.Errorf("assistant as saved: %+v", asst)
	}
	do("assistants list", chromedp.Navigate(pg+"#assistants"), chromedp.WaitVisible(chromedp.CSS(`#assistants tr[data-id="`+asstID+`"]`)))
	shot(t, ctx, "assistants")

	// Streaming: the first piece shows while the model holds the rest.
	send := func(msg string) {
		t.Helper()
		do("send "+msg, typeIn("#chat-input", msg), chromedp.Click(chromedp.ID("chat-send")))
	}
	do("chat", chromedp.Navigate(pg+"#chat/new/"+asstID), chromedp.WaitVisible(chromedp.ID("chat-form")))
	send("stream slowly")
	do("first piece", chromedp.WaitVisible(`//div[contains(@class,"assistant")]/div[@class="content"][contains(., "Streaming")]`))
	if got := text(".msg.assistant .content"); got != slowFirst {
		t.Fatalf("while the model holds its reply the page shows %q, want %q", got, slowFirst)
	}
	close(release)
	do("whole answer", chromedp.WaitVisible(chromedp.CSS(".msg.assistant.done")),
		chromedp.WaitVisible(chromedp.CSS(`.runline[data-status="completed"]`)))
	if got := text(".msg.assistant.done .content"); got != slowFirst+slowRest {
		t.Errorf("answer: %q", got)
	}

	// Code: its input and output show, and the SVG it wrote is rendered.
	send(`run code open('/mnt/data/dot.svg', 'w').write('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><circle cx="20" cy="20" r="18" fill="orange"/></svg>'); print('drawn')`)
	do("code", chromedp.WaitVisible(chromedp.CSS(".step.done .tool.code_interpreter img.loaded")),
		chromedp.WaitVisible(chromedp.CSS(`.runline[data-status="completed"]:last-of-type`)))
	if got := text(".step.done .code-output"); strings.TrimSpace(got) != "drawn" {
		t.Errorf("code output: %q", got)
	}
	if got := text(".step.done .code-input"); !strings.Contains(got, "dot.svg") {
		t.Errorf("code input: %q", got)
	}

	// A search answer cites the uploaded file by its name.
	send("search tulips")
	do("citation", chromedp.WaitVisible(chromedp.CSS(".citation.resolved")))
	if got := text(".citation.resolved"); got != "[1] tulips.md" {
		t.Errorf("citation: %q", got)
	}
	shot(t, ctx, "chat")

	// A function call stops the run; the form submits its output and the
	// run finishes with it.
	send("call get_weather")
	do("requires_action", chromedp.WaitVisible(chromedp.CSS(".outputs-form textarea.tool-output")),
		chromedp.SendKeys(chromedp.CSS(".outputs-form textarea.tool-output"), "sunny, 21 C"))
	shot(t, ctx, "function-output")
	do("submit outputs", chromedp.Click(chromedp.CSS(".outputs-form .submit-outputs")),
		chromedp.WaitVisible(`//div[contains(@class,"assistant")][contains(@class,"done")][contains(., "get_weather returned: sunny, 21 C")]`))

	// The inspector shows the last run: its steps (the call and the
	// message), usage, truncation and last_error.
	do("inspector", chromedp.Click(`(//a[contains(@class,"inspect")])[last()]`), chromedp.WaitVisible(chromedp.ID("run-summary")))
	if got := text("#run-status"); got != "completed" {
		t.Errorf("inspector status: %q", got)
	}
	if got := text("#run-usage"); !strings.HasSuffix(got, "tokens") {
		t.Errorf("inspector usage: %q", got)
	}
	if got := text("#run-truncation"); got != "auto" {
		t.Errorf("inspector truncation: %q", got)
	}
	if got := text("#run-error"); got != "—" {
		t.Errorf("inspector last_error: %q", got)
	}
	steps, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#run-steps .step").length`))
	if err != nil || steps != 2 {
		t.Errorf("inspector steps: %d, %v", steps, err)
	}
	if got := text("#run-steps .tool.function .fn-output"); got != "sunny, 21 C" {
		t.Errorf("inspector function output: %q", got)
	}
	shot(t, ctx, "run-inspector")

	do("threads", chromedp.Navigate(pg+"#threads"), chromedp.WaitVisible(chromedp.CSS("#threads tr[data-id]")))
	shot(t, ctx, "threads")

	// A listed thread opens with its messages.
	do("open thread", chromedp.Click(chromedp.CSS("#threads tr[data-id] a")),
		chromedp.WaitVisible(`//div[contains(@class,"assistant")][contains(., "get_weather returned: sunny, 21 C")]`))
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#chat-log .msg").length`)); err != nil || n != 8 {
		t.Errorf("reopened thread shows %d messages (%v), want 8", n, err)
	}

	// Editing keeps the assistant and changes what was edited.
	do("edit", chromedp.Navigate(pg+"#assistant/"+asstID), chromedp.WaitVisible(chromedp.ID("assistant-form")),
		chromedp.WaitVisible(chromedp.CSS(".fn")))
	if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("a-name").value + "|" + document.querySelector(".fn .fn-name").value`)); err != nil || got != "Gardener|get_weather" {
		t.Errorf("the editor opened with %q (%v)", got, err)
	}
	do("save edit", typeIn("#a-name", "Head gardener"), chromedp.Click(chromedp.ID("a-code")),
		chromedp.Click(chromedp.ID("a-save")), chromedp.WaitVisible(chromedp.CSS("#a-saved[data-id]")))
	var edited struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Tools []any  `json:"tools"`
	}
	getJSONKey(t, srv.url+"/v1/assistants/"+asstID, "sk-play", &edited)
	if edited.Name != "Head gardener" || len(edited.Tools) != 2 {
		t.Errorf("edited assistant: %+v", edited)
	}
}

func attr(t *testing.T, ctx context.Context, sel, name string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil || !v.Exists {
		t.Fatalf("%s[%s]: %v", sel, name, err)
	}
	return v.Value
}

func getJSONKey(t *testing.T, url, key string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
