package engine_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/filesearch"
	"github.com/hearth-go/hearth/hearthtest"
	"github.com/hearth-go/hearth/llm/scripted"
)

// A failed run logs its start and its end with the ids (the request's
// too), status, duration, tokens and last_error, and the model call's
// failure.
func TestLogFailedRun(t *testing.T) {
	logs := &hearthtest.Logs{}
	m := scripted.New(scripted.Turn{Text: "partial", Err: errors.New("backend exploded")})
	e := openEngine(t, m, func(c *engine.Config) { c.Logger = slog.New(logs) })
	a := mustAssistant(t, e)
	th := mustThread(t, e, "hi")
	ctx := engine.WithRequestID(context.Background(), "req_failing")
	r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil || r.Status != apitype.RunFailed {
		t.Fatalf("run %v %+v", err, r)
	}
	ids := func(rec map[string]string) bool {
		return rec["run"] == r.ID && rec["thread"] == th.ID && rec["assistant"] == a.ID && rec["request_id"] == "req_failing"
	}
	if s := logs.Find("run started"); len(s) != 1 || !ids(s[0]) {
		t.Fatalf("run started: %v", s)
	}
	if s := logs.Find("model call failed"); len(s) != 1 || !ids(s[0]) || !strings.Contains(s[0]["err"], "backend exploded") {
		t.Fatalf("model call failed: %v", s)
	}
	end := awaitLog(t, logs, "run finished")
	if len(end) != 1 || !ids(end[0]) || end[0]["status"] != "failed" || end[0]["level"] != "WARN" ||
		!strings.Contains(end[0]["last_error"], "backend exploded") || end[0]["duration"] == "" || end[0]["prompt_tokens"] == "" {
		t.Fatalf("run finished: %v", end)
	}
}

// An ingestion logs the file's start, its progress (chunks embedded of the
// total, every filesearch.ProgressBatch chunks) and its outcome with the
// sizes; a file that cannot be read logs its failure.
func TestLogIngestion(t *testing.T) {
	logs := &hearthtest.Logs{}
	done := make(chan apitype.VectorStoreFile, 3)
	e := openEngine(t, nil, func(c *engine.Config) {
		c.Logger = slog.New(logs)
		c.OnFileIngested = func(f apitype.VectorStoreFile) { done <- f }
	})
	ctx := context.Background()
	good, err := e.Files.Create(ctx, strings.NewReader("The kettle's warranty lasts two years."), apitype.FileCreateParams{Filename: "k.txt", Purpose: "assistants"})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := e.Files.Create(ctx, strings.NewReader("\x00\x01\x02binary"), apitype.FileCreateParams{Filename: "k.bin", Purpose: "assistants"})
	if err != nil {
		t.Fatal(err)
	}
	// 100-token chunks without overlap: 150 sentences of ~10 tokens are
	// about 15 chunks a page, so this manual is well past two batches.
	var manual strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&manual, "Step %d: descale the kettle with citric acid and rinse twice. ", i)
	}
	big, err := e.Files.Create(ctx, strings.NewReader(manual.String()), apitype.FileCreateParams{Filename: "manual.txt", Purpose: "assistants"})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{FileIDs: []string{good.ID, bad.ID, big.ID},
		ChunkingStrategy: &apitype.ChunkingStrategy{Type: "static", Static: &apitype.StaticChunking{MaxChunkSizeTokens: 100}}})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		<-done
	}
	starts := logs.Find("ingesting file")
	ends := logs.Find("file ingested")
	if len(starts) != 3 || len(ends) != 3 {
		t.Fatalf("starts %v ends %v", starts, ends)
	}
	by := map[string]map[string]string{}
	for _, r := range ends {
		if r["vector_store"] != vs.ID {
			t.Fatalf("record %v", r)
		}
		by[r["file"]] = r
	}
	if g := by[good.ID]; g["status"] != "completed" || g["bytes"] != "38" || g["level"] != "INFO" {
		t.Fatalf("good file: %v", g)
	}
	if b := by[bad.ID]; b["status"] != "failed" || b["level"] != "WARN" || b["last_error"] == "" {
		t.Fatalf("bad file: %v", b)
	}
	var steps []string
	var total string
	for _, r := range logs.Find("embedding file") {
		if r["file"] == big.ID && r["vector_store"] == vs.ID {
			steps = append(steps, r["chunks_embedded"])
			total = r["chunks_total"]
		}
	}
	n, _ := strconv.Atoi(total)
	if n <= 2*filesearch.ProgressBatch || len(steps) != (n+filesearch.ProgressBatch-1)/filesearch.ProgressBatch ||
		steps[0] != strconv.Itoa(filesearch.ProgressBatch) || steps[len(steps)-1] != total {
		t.Fatalf("progress of %s: %v of %s", big.ID, steps, total)
	}
	if g := by[big.ID]; g["status"] != "completed" || g["chunks"] != total {
		t.Fatalf("big file: %v", g)
	}
}

// A prompt cut to fit the context window logs the decision with the ids
// and what was dropped.
func TestLogTruncation(t *testing.T) {
	logs := &hearthtest.Logs{}
	e := openEngine(t, scripted.Echo(), func(c *engine.Config) { c.Logger = slog.New(logs); c.ContextWindow = 2000 })
	ctx := context.Background()
	var msgs []apitype.MessageCreateParams
	for i := range 30 {
		msgs = append(msgs, apitype.MessageCreateParams{Role: apitype.RoleUser,
			Content: apitype.TextInput(fmt.Sprintf("Message %d: %s", i, strings.Repeat("the kettle boils water quickly ", 30)))})
	}
	th, err := e.Threads.Create(ctx, apitype.ThreadCreateParams{Messages: msgs})
	if err != nil {
		t.Fatal(err)
	}
	a := mustAssistant(t, e)
	r, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("run %v %+v", err, r)
	}
	cut := logs.Find("prompt truncated to fit the context")
	if len(cut) != 1 || cut[0]["run"] != r.ID || cut[0]["thread"] != th.ID || cut[0]["assistant"] != a.ID ||
		cut[0]["window"] != "2000" || cut[0]["dropped"] == "0" || cut[0]["dropped"] == "" {
		t.Fatalf("truncation records: %v", cut)
	}
}

// A run's first code interpreter call logs the session's start with the ids.
func TestLogSandboxSession(t *testing.T) {
	sb := realSandbox(t)
	defer sb.Close()
	logs := &hearthtest.Logs{}
	m := scripted.New(
		scripted.Turn{Calls: []scripted.Call{{Name: "code_interpreter", Arguments: `{"code":"print(6*7)"}`}}},
		scripted.Turn{Match: scripted.HasToolResult, Text: "42"},
	)
	e := openEngine(t, m, func(c *engine.Config) { c.Logger = slog.New(logs); c.CodeInterpreter = sb })
	a := mustAssistant(t, e, apitype.Tool{Type: apitype.ToolTypeCodeInterpreter})
	th := mustThread(t, e, "run code")
	r, err := e.Runs.CreateAndWait(context.Background(), th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("run %v %+v", err, r)
	}
	s := logs.Find("code interpreter session start")
	if len(s) != 1 || s[0]["run"] != r.ID || s[0]["thread"] != th.ID || s[0]["assistant"] != a.ID || s[0]["session"] == "" {
		t.Fatalf("session records: %v", s)
	}
}

// awaitLog waits for a line that is logged just after the event the test
// waited on (a run's end is logged after the run is published as ended).
func awaitLog(t testing.TB, logs *hearthtest.Logs, msg string) []hearthtest.Record {
	t.Helper()
	recs, err := logs.Wait(t.Context(), msg)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
