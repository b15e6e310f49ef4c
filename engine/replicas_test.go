package engine_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/codeinterp"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/hearthtest"
	"github.com/hearth-go/hearth/internal/pgtest"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/store/pgfiles"
	"github.com/hearth-go/hearth/store/pgstore"
)

// replica opens an engine on the Postgres database dsn with its bytes and
// file index there too, as one `hearth serve` replica of several: its own
// process state (sandbox sessions, in-memory index), the shared rest.
func replica(t *testing.T, dsn string, m llm.Model, sb codeinterp.Sandbox) *engine.Engine {
	t.Helper()
	st, err := pgstore.Open(context.Background(), dsn, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() }) // after the engine's Close
	ix, err := engine.NewFileIndexOn(pgfiles.NewIndexStorage(st.Pool()), nil)
	if err != nil {
		t.Fatal(err)
	}
	return hearthtest.Open(t, m, hearthtest.NoLeakCheck(), hearthtest.Config(func(c *engine.Config) {
		c.Store, c.FileBytes, c.FileIndex, c.CodeInterpreter = st, pgfiles.NewBytes(st.Pool(), pgfiles.BytesOptions{}), ix, sb
	}))
}

// codeFromUser runs the last user text as code, then answers "ok".
func codeFromUser() *scripted.Model {
	return &scripted.Model{Fallback: func(r *llm.Request) scripted.Turn {
		if scripted.HasToolResult(r) {
			return scripted.Turn{Text: "ok"}
		}
		return scripted.Turn{Calls: []scripted.Call{{Name: "code_interpreter", Arguments: mustJSON(map[string]string{"code": scripted.LastUser(r)})}}}
	}}
}

func lastTool(t *testing.T, m *scripted.Model) string {
	t.Helper()
	reqs := m.Requests()
	tool, _ := scripted.LastToolResult(&reqs[len(reqs)-1])
	return tool
}

// TestContainerAcrossReplicas: a container's calls land on replica A, then
// B, then A again. B has no session: it starts one with every file of the
// container — the upload and the file A's code wrote — from the shared
// bytes (Python variables do not follow). A, whose session is older, first
// brings /mnt/data in line with what B wrote and deleted, and keeps its
// own variables. Every call completes wherever it lands.
func TestContainerAcrossReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	sbA, sbB := realSandbox(t), realSandbox(t)
	t.Cleanup(func() { sbA.Close(); sbB.Close() }) // after the engines close
	mA, mB := codeFromUser(), codeFromUser()
	a, b := replica(t, dsn, mA, sbA), replica(t, dsn, mB, sbB)
	ctx := context.Background()

	data := mustUpload(t, a, "data.txt", "hello")
	c, err := a.Containers.Create(ctx, apitype.ContainerCreateParams{Name: "shared", FileIDs: []string{data.ID}})
	if err != nil {
		t.Fatal(err)
	}
	call := func(e *engine.Engine, m *scripted.Model, code string) string {
		t.Helper()
		p := respParams(code)
		p.Tools = []apitype.ResponseTool{codeTool(&apitype.ToolContainer{ID: c.ID})}
		r, err := e.Responses.Create(ctx, p)
		if err != nil || r.Status != apitype.ResponseCompleted || r.Output[0].CodeInterpreterCall.Status != apitype.ItemCompleted {
			t.Fatalf("%v %+v", err, r)
		}
		return lastTool(t, m)
	}
	if got := call(a, mA, "v = 1\nopen('/mnt/data/out.txt', 'w').write('from A')\nprint(open('/mnt/data/data.txt').read())"); !strings.HasPrefix(got, "hello\n") {
		t.Fatalf("on A: %q", got)
	}
	got := call(b, mB, "open('/mnt/data/b.txt', 'w').write('from B')\n"+
		"print(globals().get('v'), open('/mnt/data/out.txt').read(), open('/mnt/data/data.txt').read())")
	if !strings.HasPrefix(got, "None from A hello\n") {
		t.Fatalf("on B, a fresh session with the container's files: %q", got)
	}
	// Deleted through B's API: A's session cannot hear of it until it runs.
	files, err := b.Containers.Files.List(ctx, c.ID, apitype.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	var bFile string
	for _, f := range files.Data {
		switch f.Path {
		case "/mnt/data/out.txt":
			if _, err := b.Containers.Files.Delete(ctx, c.ID, f.ID); err != nil {
				t.Fatal(err)
			}
		case "/mnt/data/b.txt":
			bFile = f.ID
		}
	}
	if got := call(a, mA, "import os\nprint(v, sorted(os.listdir('/mnt/data')), open('/mnt/data/b.txt').read())"); !strings.HasPrefix(got, "1 ['b.txt', 'data.txt'] from B\n") {
		t.Fatalf("back on A, its session brought in line: %q", got)
	}
	// B's file is served by A.
	_, rc, err := a.Containers.Files.Content(ctx, c.ID, bFile)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	if string(body) != "from B" {
		t.Fatalf("A serves B's file as %q", body)
	}
}

// TestThreadAcrossReplicas: a thread's first run executes on A, its next
// on B. B starts a session with the run's files from the shared bytes —
// though one of them was deleted meanwhile (left out, not an error: A's
// session, which had it, would have run) — and serves the file A's code
// wrote.
func TestThreadAcrossReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	sbA, sbB := realSandbox(t), realSandbox(t)
	t.Cleanup(func() { sbA.Close(); sbB.Close() }) // after the engines close
	mA, mB := codeFromUser(), codeFromUser()
	a, b := replica(t, dsn, mA, sbA), replica(t, dsn, mB, sbB)
	ctx := context.Background()

	data := mustUpload(t, a, "data.csv", "a,b\n1,2\n")
	gone := mustUpload(t, a, "gone.csv", "x")
	asst, err := a.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "m", Tools: []apitype.Tool{{Type: apitype.ToolTypeCodeInterpreter}},
		ToolResources: &apitype.ToolResources{CodeInterpreter: &apitype.CodeInterpreterResources{FileIDs: []string{data.ID, gone.ID}}}})
	if err != nil {
		t.Fatal(err)
	}
	th := mustThread(t, a, "x = 41\nopen('/mnt/data/out.txt', 'w').write('from A')\nprint(open('/mnt/data/data.csv').read().strip())")
	r, err := a.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: asst.ID})
	if err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("run on A: %v %+v", err, r)
	}
	if got := lastTool(t, mA); !strings.HasPrefix(got, "a,b\n1,2\n") {
		t.Fatalf("on A: %q", got)
	}
	if _, err := a.Files.Delete(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Messages.Create(ctx, th.ID, apitype.MessageCreateParams{Role: apitype.RoleUser,
		Content: apitype.TextInput("import os\nprint(globals().get('x'), sorted(os.listdir('/mnt/data')), open('/mnt/data/data.csv').read().strip())")}); err != nil {
		t.Fatal(err)
	}
	r, err = b.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: asst.ID})
	if err != nil || r.Status != apitype.RunCompleted {
		t.Fatalf("run on B: %v %+v", err, r)
	}
	if got := lastTool(t, mB); !strings.HasPrefix(got, "None ['data.csv'] a,b\n1,2\n") {
		t.Fatalf("on B, a fresh session with the run's files: %q", got)
	}
	// The file A's code wrote, served by B.
	out, err := b.Files.List(ctx, apitype.ListParams{}, apitype.PurposeAssistantsOutput)
	if err != nil || len(out.Data) != 1 {
		t.Fatalf("output files on B: %v %+v", err, out)
	}
	_, rc, err := b.Files.Content(ctx, out.Data[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	if string(body) != "from A" {
		t.Fatalf("B serves A's output file as %q", body)
	}
}

// TestFileSearchAcrossReplicas: a file uploaded and ingested on A is found
// by a file search on B, and no longer once A deleted it.
func TestFileSearchAcrossReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, b := replica(t, dsn, nil, nil), replica(t, dsn, nil, nil)
	ctx := context.Background()
	vs, err := b.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{Name: apitype.Ptr("shared")})
	if err != nil {
		t.Fatal(err)
	}
	search := func(q string) int {
		t.Helper()
		page, err := b.VectorStores.Search(ctx, vs.ID, apitype.VectorStoreSearchParams{Query: apitype.StringList{q}})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Data)
	}
	if n := search("aardvark termites"); n != 0 {
		t.Fatalf("an empty store found %d", n)
	}
	f := mustUpload(t, a, "animals.txt", "The aardvark digs burrows at night and eats termites.")
	if _, err := a.VectorStores.CreateFile(ctx, vs.ID, apitype.VectorStoreFileCreateParams{FileID: f.ID}); err != nil {
		t.Fatal(err)
	}
	if v, err := a.VectorStores.Wait(ctx, vs.ID); err != nil || v.FileCounts.Completed != 1 {
		t.Fatalf("ingest on A: %v %+v", err, v)
	}
	if n := search("aardvark termites"); n == 0 {
		t.Fatal("B does not find what A ingested")
	}
	if _, err := a.Files.Delete(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if n := search("aardvark termites"); n != 0 {
		t.Fatalf("B finds %d results of a file A deleted", n)
	}
}
