package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/metrics"
)

// scrape returns the exposition's samples by their name and labels.
func scrape(t *testing.T, o *metrics.Observer) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	o.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	out := map[string]float64{}
	line := regexp.MustCompile(`^(\S+) (\S+)$`)
	for _, l := range strings.Split(string(body), "\n") {
		if m := line.FindStringSubmatch(l); m != nil && strings.HasPrefix(m[1], "hearth_") {
			v, _ := strconv.ParseFloat(m[2], 64)
			out[m[1]] = v
		}
	}
	return out
}

// signalled is the Observer telling ended of each RunEnded once recorded:
// an execution reports its end just after the run is published as ended,
// so after CreateAndWait returns.
type signalled struct {
	*metrics.Observer
	ended chan struct{}
}

func (s signalled) RunEnded(ctx context.Context, r engine.RunEvent) {
	s.Observer.RunEnded(ctx, r)
	s.ended <- struct{}{}
}

func open(t *testing.T, m llm.Model, mod ...func(*engine.Config)) (*engine.Engine, *metrics.Observer) {
	t.Helper()
	e, o, _ := openSignalled(t, m, mod...)
	return e, o
}

// openSignalled is open also returning the channel of run ends.
func openSignalled(t *testing.T, m llm.Model, mod ...func(*engine.Config)) (*engine.Engine, *metrics.Observer, <-chan struct{}) {
	t.Helper()
	o := metrics.New()
	sig := signalled{Observer: o, ended: make(chan struct{}, 100)}
	cfg := engine.Config{Path: filepath.Join(t.TempDir(), "h.db"), Model: m, NoSync: true, Observer: sig}
	for _, f := range mod {
		f(&cfg)
	}
	e, err := engine.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	o.WatchEngine(e)
	return e, o, sig.ended
}

func thread(t *testing.T, e *engine.Engine, text string) string {
	t.Helper()
	th, err := e.Threads.Create(context.Background(), apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: apitype.RoleUser, Content: apitype.TextInput(text)}}})
	if err != nil {
		t.Fatal(err)
	}
	return th.ID
}

// Each metric moves when its event happens.
func TestMetricsMove(t *testing.T) {
	ctx := context.Background()
	m := scripted.New(
		scripted.Turn{Text: "hello there", Usage: &llm.Usage{PromptTokens: 7, CompletionTokens: 3}},
		scripted.Turn{Err: errors.New("backend exploded")},
		scripted.Turn{Calls: []scripted.Call{{Name: "f"}}},
	)
	ingested := make(chan struct{}, 1)
	e, o, ended := openSignalled(t, m, func(c *engine.Config) { c.OnFileIngested = func(apitype.VectorStoreFile) { ingested <- struct{}{} } })
	before := scrape(t, o)
	if before["hearth_database_bytes"] <= 0 || before["hearth_workers"] != 4 || before[`hearth_runs_total{status="completed"}`] != 0 {
		t.Fatalf("at start: %v", before)
	}
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "m", Tools: []apitype.Tool{{Type: apitype.ToolTypeFunction,
		Function: &apitype.FunctionDef{Name: "f", Parameters: []byte(`{"type":"object"}`)}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []apitype.RunStatus{apitype.RunCompleted, apitype.RunFailed, apitype.RunRequiresAction} {
		r, err := e.Runs.CreateAndWait(ctx, thread(t, e, "hi"), apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil || r.Status != want {
			t.Fatalf("run: %v %+v, want %s", err, r, want)
		}
	}
	f, err := e.Files.Create(ctx, strings.NewReader("The kettle's warranty lasts two years."), apitype.FileCreateParams{Filename: "k.txt", Purpose: "assistants"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{FileIDs: []string{f.ID}}); err != nil {
		t.Fatal(err)
	}
	<-ingested
	for range 3 {
		<-ended
	}
	s := scrape(t, o)
	for name, want := range map[string]float64{
		"hearth_runs_started_total":                          3,
		`hearth_runs_total{status="completed"}`:              1,
		`hearth_runs_total{status="failed"}`:                 1,
		`hearth_runs_total{status="requires_action"}`:        1,
		`hearth_run_duration_seconds_count{status="failed"}`: 1,
		`hearth_model_calls_total{outcome="ok"}`:             2,
		`hearth_model_calls_total{outcome="error"}`:          1,
		"hearth_model_call_duration_seconds_count":           3,
		"hearth_model_time_to_first_token_seconds_count":     2,
		`hearth_ingest_files_total{status="completed"}`:      1,
		"hearth_ingest_bytes_total":                          float64(f.Bytes),
		"hearth_ingest_duration_seconds_count":               1,
	} {
		if s[name] != want {
			t.Errorf("%s = %v, want %v", name, s[name], want)
		}
	}
	if s[`hearth_model_tokens_total{direction="in"}`] < 7 || s[`hearth_model_tokens_total{direction="out"}`] < 3 {
		t.Errorf("tokens: %v", s)
	}
	if s["hearth_store_writes_total"] <= before["hearth_store_writes_total"] || s["hearth_store_commit_duration_seconds_count"] <= before["hearth_store_commit_duration_seconds_count"] {
		t.Errorf("commits did not move: %v → %v", before["hearth_store_writes_total"], s["hearth_store_writes_total"])
	}
}

// Queue depth and busy workers follow runs waiting and executing.
func TestMetricsLoadGauges(t *testing.T) {
	ctx := context.Background()
	calling := make(chan struct{})
	m := scripted.New(scripted.Turn{Match: func(*llm.Request) bool { close(calling); return true }, Block: true})
	e, o := open(t, m, func(c *engine.Config) { c.MaxConcurrentRuns = 1 })
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	first, err := e.Runs.Create(ctx, thread(t, e, "one"), apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	<-calling
	second, err := e.Runs.Create(ctx, thread(t, e, "two"), apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	s := scrape(t, o)
	if s["hearth_workers_busy"] != 1 || s["hearth_runs_queued"] != 1 {
		t.Fatalf("busy %v queued %v", s["hearth_workers_busy"], s["hearth_runs_queued"])
	}
	for _, r := range []*apitype.Run{first, second} {
		if _, err := e.Runs.Cancel(ctx, r.ThreadID, r.ID); err != nil {
			t.Fatal(err)
		}
	}
}
