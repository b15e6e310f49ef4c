package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/codeinterp/wasi"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

func codeTool(c *apitype.ToolContainer) apitype.ResponseTool {
	return apitype.ResponseTool{Type: apitype.ToolTypeCodeInterpreter, Container: c}
}

func autoContainer(fileIDs ...string) *apitype.ToolContainer {
	return &apitype.ToolContainer{Auto: &apitype.ContainerAuto{Type: "auto", FileIDs: fileIDs}}
}

func codeCall(code string) scripted.Turn {
	return scripted.Turn{StreamArguments: true, Calls: []scripted.Call{{Name: "code_interpreter", Arguments: mustJSON(map[string]string{"code": code})}}}
}

// A CSV analysed in an auto container: the code reads the file the tool
// gave the container, keeps a variable, writes a file; the call is a
// code_interpreter_call item streamed with its events in order, the model
// reads the logs back, and its link to the written file is a
// container_file_citation. A second response naming the container sees
// the variable and the file. Outputs show only when include asks.
func TestResponseCodeInterpreter(t *testing.T) {
	sb := realSandbox(t)
	defer sb.Close()
	ctx := context.Background()
	m := scripted.New(
		codeCall("import csv\nrows = list(csv.DictReader(open('/mnt/data/sales.csv')))\ntotal = sum(int(r['n']) for r in rows)\nprint('total', total)\nopen('/mnt/data/total.txt', 'w').write(str(total))"),
		scripted.Turn{Match: scripted.HasToolResult, Text: "The total is 7: [total.txt](sandbox:/mnt/data/total.txt)."},
		codeCall("print(total * 2, open('/mnt/data/total.txt').read())"),
		scripted.Turn{Match: scripted.HasToolResult, Text: "14."},
	)
	e := openEngine(t, m, func(c *engine.Config) { c.CodeInterpreter = sb })
	csvFile := mustUpload(t, e, "sales.csv", "day,n\nmon,3\ntue,4\n")
	p := respParams("Total the sales.")
	p.Tools = []apitype.ResponseTool{codeTool(autoContainer(csvFile.ID))}
	var evs []apitype.ResponseStreamEvent
	var final *apitype.Response
	for ev, err := range e.Responses.CreateStream(ctx, p) {
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
		if ev.Response != nil {
			final = ev.Response
		}
	}
	for i, ev := range evs {
		if ev.SequenceNumber != i {
			t.Fatalf("event %d (%s) has sequence_number %d", i, ev.Type, ev.SequenceNumber)
		}
	}
	var names []string
	var code strings.Builder
	for _, ev := range evs {
		if strings.Contains(string(ev.Type), "code_interpreter") {
			names = append(names, string(ev.Type))
		}
		if ev.Type == apitype.EventCodeInterpreterCodeDelta {
			code.WriteString(ev.Delta)
		}
	}
	names = slices.Compact(names)
	want := []string{"response.code_interpreter_call.in_progress", "response.code_interpreter_call_code.delta",
		"response.code_interpreter_call_code.done", "response.code_interpreter_call.interpreting", "response.code_interpreter_call.completed"}
	if !slices.Equal(names, want) {
		t.Fatalf("code interpreter events %q, want %q", names, want)
	}
	if final.Status != apitype.ResponseCompleted || len(final.Output) != 2 || final.Output[0].CodeInterpreterCall == nil {
		t.Fatalf("response %+v", final)
	}
	call := final.Output[0].CodeInterpreterCall
	if !strings.HasPrefix(call.ID, "ci_") || !strings.HasPrefix(call.ContainerID, "cntr_") || call.Status != "completed" ||
		*call.Code != code.String() || !strings.Contains(*call.Code, "csv.DictReader") || call.Outputs != nil {
		t.Fatalf("call %+v (streamed code %q)", call, code.String())
	}
	if tools := m.Requests()[0].Tools; len(tools) != 1 || !strings.Contains(tools[0].Description, "Files available: /mnt/data/sales.csv.") {
		t.Fatalf("the model was not told of the container's files: %+v", tools)
	}
	tool, _ := scripted.LastToolResult(&m.Requests()[1])
	if !strings.Contains(tool, "total 7") || !strings.Contains(tool, "/mnt/data/total.txt") {
		t.Fatalf("the model read back %q", tool)
	}
	anns := final.Output[1].Message.Content[0].Annotations
	if len(anns) != 1 || anns[0].Type != "container_file_citation" || anns[0].ContainerID != call.ContainerID || anns[0].Filename != "total.txt" {
		t.Fatalf("annotations %+v", anns)
	}
	text := final.Output[1].Message.Content[0].Text
	if got := string([]rune(text)[anns[0].StartIndex:anns[0].EndIndex]); got != "sandbox:/mnt/data/total.txt" {
		t.Fatalf("citation covers %q", got)
	}
	if got := containerFileText(t, e, call.ContainerID, anns[0].FileID); got != "7" {
		t.Fatalf("cited file %q", got)
	}
	f, err := e.Containers.Files.Retrieve(ctx, call.ContainerID, anns[0].FileID)
	if err != nil || f.Source != "assistant" || f.Path != "/mnt/data/total.txt" || f.Bytes != 1 {
		t.Fatalf("file %v %+v", err, f)
	}
	// A replay of the stored response rebuilds the same call events.
	var replayed []string
	for ev, err := range e.Responses.Stream(ctx, final.ID, -1) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(ev.Type), "code_interpreter") {
			replayed = append(replayed, string(ev.Type))
		}
		if ev.Item != nil && ev.Item.CodeInterpreterCall != nil && ev.Item.CodeInterpreterCall.Outputs != nil {
			t.Fatalf("replayed outputs without include: %+v", ev.Item.CodeInterpreterCall)
		}
	}
	if !slices.Equal(slices.Compact(replayed), want) {
		t.Fatalf("replayed %q, want %q", replayed, want)
	}
	// With include, the outputs.
	got, err := e.Responses.Retrieve(ctx, final.ID, apitype.ResponseRetrieveParams{Include: []string{apitype.IncludeCodeInterpreterOutputs}})
	if err != nil {
		t.Fatal(err)
	}
	if outs := got.Output[0].CodeInterpreterCall.Outputs; len(outs) != 1 || outs[0].Type != "logs" || !strings.HasPrefix(outs[0].Logs, "total 7\n") {
		t.Fatalf("outputs %+v", outs)
	}
	// The container named by id keeps Python state and files.
	p2 := respParams("Double it.")
	p2.PreviousResponseID = &final.ID
	p2.Include = []string{apitype.IncludeCodeInterpreterOutputs}
	p2.Tools = []apitype.ResponseTool{codeTool(&apitype.ToolContainer{ID: call.ContainerID})}
	r2, err := e.Responses.Create(ctx, p2)
	if err != nil || r2.Status != apitype.ResponseCompleted {
		t.Fatalf("second %v %+v", err, r2)
	}
	c2 := r2.Output[0].CodeInterpreterCall
	if c2.ContainerID != call.ContainerID || len(c2.Outputs) == 0 || c2.Outputs[0].Logs != "14 7\n" {
		t.Fatalf("second call %+v", c2)
	}
	// The model read the first call back from the chain.
	req := m.Requests()[2]
	if !slices.ContainsFunc(req.Messages, func(msg llm.Message) bool { return strings.Contains(msg.Content, "total 7") }) {
		t.Fatalf("the earlier call's output is not in the next prompt")
	}
}

// One container's variables and files are invisible to another's code.
func TestContainersIsolated(t *testing.T) {
	sb := realSandbox(t)
	defer sb.Close()
	ctx := context.Background()
	m := scripted.New(
		codeCall("secret = 42\nopen('/mnt/data/secret.txt', 'w').write('42')\nprint('set')"),
		scripted.Turn{Match: scripted.HasToolResult, Text: "set"},
		codeCall("import os\nprint(globals().get('secret'), sorted(os.listdir('/mnt/data')))\nprint(os.path.exists('/mnt/data/../"+"secret.txt'))"),
		scripted.Turn{Match: scripted.HasToolResult, Text: "nothing"},
	)
	e := openEngine(t, m, func(c *engine.Config) { c.CodeInterpreter = sb })
	var ids []string
	for _, name := range []string{"a", "b"} {
		c, err := e.Containers.Create(ctx, apitype.ContainerCreateParams{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	for _, id := range ids {
		p := respParams("go")
		p.Tools = []apitype.ResponseTool{codeTool(&apitype.ToolContainer{ID: id})}
		if r, err := e.Responses.Create(ctx, p); err != nil || r.Status != apitype.ResponseCompleted {
			t.Fatalf("%v %+v", err, r)
		}
	}
	tool, _ := scripted.LastToolResult(&m.Requests()[3])
	if !strings.HasPrefix(tool, "None []\nFalse\n") {
		t.Fatalf("container b saw container a's state: %q", tool)
	}
	if page, _ := e.Containers.Files.List(ctx, ids[1], apitype.ListParams{}); len(page.Data) != 0 {
		t.Fatalf("container b has files: %+v", page.Data)
	}
}

// The sandbox suite of the Assistants code interpreter, through a
// container: host files, network, subprocess, memory, an endless loop, an
// output flood and a full disk are each contained with an error the model
// reads, and the container goes on working after each. (The exec timeout
// is the wasi suite's 5 s doubled: the flood must finish under it on a
// loaded machine.)
func TestContainerSandboxSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts CPython")
	}
	sb, err := wasi.New(wasi.Config{CacheDir: filepath.Join(os.TempDir(), "hearth-test-codeinterp-cache"), ExecTimeout: 10 * time.Second,
		MemoryLimitBytes: 128 << 20, MaxOutputBytes: 4 << 10, MaxDataBytes: 8 << 20, MaxFileBytes: 2 << 20, MaxFiles: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	cases := []struct {
		name, code string
		want       []string
	}{
		{"host files", "print(open('/etc/passwd').read())", []string{"PermissionError"}},
		{"escape", "print(open('/mnt/data/../../etc/passwd').read())", []string{"Error"}},
		{"network", "import socket; socket.socket().connect(('10.0.0.1', 80))", []string{"Error"}},
		{"subprocess", "import subprocess; subprocess.run(['ls', '/'])", []string{"Error"}},
		{"memory", "x = bytearray(1 << 30)", []string{"MemoryError"}},
		{"loop", "while True:\n    pass", []string{"TimeoutError"}},
		{"output flood", "s = 'x' * 1000\nfor i in range(100_000):\n    print(s)", []string{"[output truncated"}},
		{"disk fill", "chunk = b'z' * (1 << 20)\nwith open('/mnt/data/big.bin', 'wb') as f:\n    for i in range(100):\n        f.write(chunk)", []string{"per-file limit"}},
	}
	var turns []scripted.Turn
	for _, c := range cases {
		turns = append(turns, codeCall(c.code), scripted.Turn{Match: scripted.HasToolResult, Text: "contained"},
			codeCall("print('ok', 6 * 7)"), scripted.Turn{Match: scripted.HasToolResult, Text: "alive"})
	}
	m := scripted.New(turns...)
	e := openEngine(t, m, func(c *engine.Config) { c.CodeInterpreter = sb })
	ct, err := e.Containers.Create(ctx(t), apitype.ContainerCreateParams{Name: "suite"})
	if err != nil {
		t.Fatal(err)
	}
	req := 0
	for _, c := range cases {
		for _, check := range []struct {
			want []string
		}{{c.want}, {[]string{"ok 42"}}} {
			p := respParams(c.name)
			p.Tools = []apitype.ResponseTool{codeTool(&apitype.ToolContainer{ID: ct.ID})}
			r, err := e.Responses.Create(ctx(t), p)
			if err != nil || r.Status != apitype.ResponseCompleted {
				t.Fatalf("%s: %v %+v", c.name, err, r)
			}
			tool, _ := scripted.LastToolResult(&m.Requests()[req+1])
			req += 2
			for _, w := range check.want {
				if !strings.Contains(tool, w) {
					t.Errorf("%s: the model read %q, want %q in it", c.name, clipText(tool), w)
				}
			}
			if strings.Contains(tool, "root:") {
				t.Errorf("%s: host data leaked: %q", c.name, clipText(tool))
			}
		}
	}
	// The half-written big file was refused by the sandbox: no container
	// file holds more than the sandbox's per-file limit.
	page, _ := e.Containers.Files.List(ctx(t), ct.ID, apitype.ListParams{})
	for _, f := range page.Data {
		if f.Bytes > 2<<20 {
			t.Errorf("container file %s of %d bytes", f.Path, f.Bytes)
		}
	}
}

func ctx(t testing.TB) context.Context { return t.Context() }

func clipText(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// Bad code_interpreter tools are refused before anything is written: an
// unknown container (404 naming it), an expired one (400
// container_expired), unknown auto files, no sandbox configured.
func TestResponseCodeInterpreterBadInput(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	e := openEngine(t, scripted.Echo(), func(c *engine.Config) {
		c.CodeInterpreter, c.Clock, c.ExpiryInterval = &closingSandbox{}, clock.Now, time.Hour
	})
	conv, err := e.Conversations.Create(ctx, apitype.ConversationCreateParams{})
	if err != nil {
		t.Fatal(err)
	}
	old, err := e.Containers.Create(ctx, apitype.ContainerCreateParams{Name: "old", ExpiresAfter: &apitype.ContainerExpiresAfter{Anchor: "last_active_at", Minutes: 1}})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	for _, c := range []struct {
		name   string
		tool   apitype.ResponseTool
		status int
		param  string
		code   string
	}{
		{"unknown container", codeTool(&apitype.ToolContainer{ID: "cntr_nope"}), 404, "tools[0].container", ""},
		{"expired container", codeTool(&apitype.ToolContainer{ID: old.ID}), 400, "tools[0].container", "container_expired"},
		{"unknown auto file", codeTool(autoContainer("file-nope")), 400, "tools[0].container.file_ids[0]", ""},
	} {
		p := respParams("go")
		p.Conversation = &apitype.ConversationRef{ID: conv.ID}
		p.Tools = []apitype.ResponseTool{c.tool}
		_, err := e.Responses.Create(ctx, p)
		var ae *apitype.Error
		if !errors.As(err, &ae) || ae.Status != c.status || ae.Param != c.param || ae.Code != c.code {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	items, err := e.Conversations.Items.List(ctx, conv.ID, apitype.ListParams{})
	if err != nil || len(items.Data) != 0 {
		t.Fatalf("a refused response wrote %v %+v", err, items.Data)
	}
	page, _ := e.Containers.List(ctx, apitype.ContainerListParams{})
	if len(page.Data) != 1 {
		t.Fatalf("containers %+v", page.Data)
	}
	bare := openEngine(t, scripted.Echo())
	p := respParams("go")
	p.Tools = []apitype.ResponseTool{codeTool(autoContainer())}
	if _, err := bare.Responses.Create(ctx, p); err == nil || !strings.Contains(err.Error(), "sandbox") {
		t.Fatalf("no sandbox: %v", err)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Container files follow the code and the API: a file the code rewrites
// gets a new record (the old one and its bytes go), a file deleted through
// the API leaves the live session's /mnt/data, and a file uploaded meanwhile
// appears in it.
func TestContainerFilesFollowTheCode(t *testing.T) {
	sb := realSandbox(t)
	defer sb.Close()
	ctx := context.Background()
	m := scripted.New(
		codeCall("open('/mnt/data/a.txt', 'a').write(' more')\nopen('/mnt/data/b.txt', 'w').write('b')\nprint('ok')"),
		scripted.Turn{Match: scripted.HasToolResult, Text: "done"},
		codeCall("import os\nprint(sorted(os.listdir('/mnt/data')), open('/mnt/data/c.txt').read())"),
		scripted.Turn{Match: scripted.HasToolResult, Text: "done"},
	)
	e := openEngine(t, m, func(c *engine.Config) { c.CodeInterpreter = sb })
	c, err := e.Containers.Create(ctx, apitype.ContainerCreateParams{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.Containers.Files.Upload(ctx, c.ID, strings.NewReader("a"), "a.txt")
	if err != nil {
		t.Fatal(err)
	}
	p := respParams("go")
	p.Tools = []apitype.ResponseTool{codeTool(&apitype.ToolContainer{ID: c.ID})}
	if r, err := e.Responses.Create(ctx, p); err != nil || r.Status != apitype.ResponseCompleted {
		t.Fatalf("%v %+v", err, r)
	}
	page, err := e.Containers.Files.List(ctx, c.ID, apitype.ListParams{Order: "asc"})
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]apitype.ContainerFile{}
	for _, f := range page.Data {
		byPath[f.Path] = f
	}
	na, b := byPath["/mnt/data/a.txt"], byPath["/mnt/data/b.txt"]
	if len(page.Data) != 2 || na.ID == a.ID || na.Source != "assistant" || containerFileText(t, e, c.ID, na.ID) != "a more" || b.ID == "" {
		t.Fatalf("files after the code %+v", page.Data)
	}
	if _, err := e.Containers.Files.Retrieve(ctx, c.ID, a.ID); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("the rewritten file's old record: %v", err)
	}
	if left := containerDirFiles(t, e); len(left) != 2 {
		t.Fatalf("bytes on disk %q, want the two current files'", left)
	}
	if _, err := e.Containers.Files.Delete(ctx, c.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Containers.Files.Upload(ctx, c.ID, strings.NewReader("c"), "c.txt"); err != nil {
		t.Fatal(err)
	}
	if r, err := e.Responses.Create(ctx, p); err != nil || r.Status != apitype.ResponseCompleted {
		t.Fatalf("%v %+v", err, r)
	}
	tool, _ := scripted.LastToolResult(&m.Requests()[3])
	if !strings.HasPrefix(tool, "['a.txt', 'c.txt'] c\n") {
		t.Fatalf("the session's /mnt/data: %q", tool)
	}
}

// Cancelling a background response while its code runs stops the code:
// the response ends cancelled with the call incomplete, and the container
// goes on working.
func TestCodeInterpreterCancelWhileInterpreting(t *testing.T) {
	sb := realSandbox(t)
	defer sb.Close()
	ctx := context.Background()
	m := scripted.New(
		codeCall("import time\nx = 1\ntime.sleep(600)"),
		scripted.Turn{Match: scripted.HasToolResult, Text: "never"},
		codeCall("print('alive')"),
		scripted.Turn{Match: scripted.HasToolResult, Text: "alive"},
	)
	e := openEngine(t, m, func(c *engine.Config) { c.CodeInterpreter = sb })
	c, err := e.Containers.Create(ctx, apitype.ContainerCreateParams{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	p := respParams("sleep")
	p.Background = apitype.Ptr(true)
	p.Tools = []apitype.ResponseTool{codeTool(&apitype.ToolContainer{ID: c.ID})}
	r, err := e.Responses.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	for ev, err := range e.Responses.Stream(ctx, r.ID, -1) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == apitype.EventCodeInterpreterInterpreting {
			break
		}
	}
	got, err := e.Responses.Cancel(ctx, r.ID)
	if err != nil || got.Status != apitype.ResponseCancelled {
		t.Fatalf("cancel %v %+v", err, got)
	}
	got, err = e.Responses.Retrieve(ctx, r.ID, apitype.ResponseRetrieveParams{})
	if err != nil || got.Status != apitype.ResponseCancelled || got.Output[0].CodeInterpreterCall.Status != apitype.ItemIncomplete {
		t.Fatalf("after cancel %v %+v", err, got)
	}
	p = respParams("again")
	p.Tools = []apitype.ResponseTool{codeTool(&apitype.ToolContainer{ID: c.ID})}
	r2, err := e.Responses.Create(ctx, p)
	if err != nil || r2.Status != apitype.ResponseCompleted {
		t.Fatalf("%v %+v", err, r2)
	}
	if tool, _ := scripted.LastToolResult(&m.Requests()[len(m.Requests())-1]); !strings.Contains(tool, "alive") {
		t.Fatalf("after the cancel the container answered %q", tool)
	}
}

// max_tool_calls bounds code calls as it does searches: past it the tool
// is withdrawn and a further call (streamed, so its item was open) is not
// run and leaves no item.
func TestCodeInterpreterMaxToolCalls(t *testing.T) {
	sb := realSandbox(t)
	defer sb.Close()
	ctx := context.Background()
	m := scripted.New(codeCall("print(1)"), codeCall("print(2)"), scripted.Turn{Text: "done"})
	e := openEngine(t, m, func(c *engine.Config) { c.CodeInterpreter = sb })
	p := respParams("twice")
	p.Tools = []apitype.ResponseTool{codeTool(autoContainer())}
	p.MaxToolCalls = apitype.Ptr(1)
	var final *apitype.Response
	added := 0
	for ev, err := range e.Responses.CreateStream(ctx, p) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Response != nil {
			final = ev.Response
		}
		if ev.Type == apitype.EventOutputItemAdded && ev.Item.CodeInterpreterCall != nil {
			added++
		}
	}
	n := 0
	for _, it := range final.Output {
		if c := it.CodeInterpreterCall; c != nil {
			n++
			if c.Status != apitype.ItemCompleted {
				t.Fatalf("call %+v", c)
			}
		}
	}
	if n != 1 || added != 2 || final.Status != apitype.ResponseCompleted {
		t.Fatalf("%d code calls kept (%d streamed) with max_tool_calls 1: %s %+v", n, added, final.Status, final.Output)
	}
	if tools := m.Requests()[1].Tools; len(tools) != 0 {
		t.Fatalf("second request still offers %+v", tools)
	}
}

// A container whose session the sandbox evicted (here: one session at a
// time) gets its files back in a fresh session from the store: the files
// the code wrote are container files, so only Python variables are lost.
func TestContainerSessionEvicted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts CPython")
	}
	sb, err := wasi.New(wasi.Config{CacheDir: filepath.Join(os.TempDir(), "hearth-test-codeinterp-cache"), MaxSessions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	ctx := context.Background()
	m := scripted.New(
		codeCall("v = 1\nopen('/mnt/data/kept.txt', 'w').write('kept')"), scripted.Turn{Match: scripted.HasToolResult, Text: "a"},
		codeCall("print('b')"), scripted.Turn{Match: scripted.HasToolResult, Text: "b"},
		codeCall("print(globals().get('v'), open('/mnt/data/kept.txt').read())"), scripted.Turn{Match: scripted.HasToolResult, Text: "a again"},
	)
	e := openEngine(t, m, func(c *engine.Config) { c.CodeInterpreter = sb })
	var ids []string
	for _, name := range []string{"a", "b"} {
		c, err := e.Containers.Create(ctx, apitype.ContainerCreateParams{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	for _, id := range []string{ids[0], ids[1], ids[0]} {
		p := respParams("go")
		p.Tools = []apitype.ResponseTool{codeTool(&apitype.ToolContainer{ID: id})}
		if r, err := e.Responses.Create(ctx, p); err != nil || r.Status != apitype.ResponseCompleted {
			t.Fatalf("%v %+v", err, r)
		}
	}
	tool, _ := scripted.LastToolResult(&m.Requests()[5])
	if !strings.Contains(tool, "None kept") {
		t.Fatalf("after the eviction container a's code read %q", tool)
	}
}

// An image the code writes is an image output whose url serves the
// container file's bytes.
func TestCodeInterpreterImageOutput(t *testing.T) {
	sb := realSandbox(t)
	defer sb.Close()
	ctx := context.Background()
	m := scripted.New(codeCall("open('/mnt/data/plot.png', 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n' + b'\\x00' * 32)\nNone"),
		scripted.Turn{Match: scripted.HasToolResult, Text: "plotted"})
	e := openEngine(t, m, func(c *engine.Config) { c.CodeInterpreter = sb })
	p := respParams("plot")
	p.Tools = []apitype.ResponseTool{codeTool(autoContainer())}
	p.Include = []string{apitype.IncludeCodeInterpreterOutputs}
	r, err := e.Responses.Create(ctx, p)
	if err != nil || r.Status != apitype.ResponseCompleted {
		t.Fatalf("%v %+v", err, r)
	}
	c := r.Output[0].CodeInterpreterCall
	var img *apitype.CodeInterpreterCallOutput
	for i := range c.Outputs {
		if c.Outputs[i].Type == "image" {
			img = &c.Outputs[i]
		}
	}
	page, _ := e.Containers.Files.List(ctx, c.ContainerID, apitype.ListParams{})
	if img == nil || len(page.Data) != 1 || img.URL != "/v1/containers/"+c.ContainerID+"/files/"+page.Data[0].ID+"/content" {
		t.Fatalf("outputs %+v files %+v", c.Outputs, page.Data)
	}
	if got := containerFileText(t, e, c.ContainerID, page.Data[0].ID); !strings.HasPrefix(got, "\x89PNG") {
		t.Fatalf("image bytes %q", got)
	}
}

// An auto tool reuses the active container of the newest
// code_interpreter_call in the response's context, as the hosted API
// does: over previous_response_id and in a conversation; with no such call,
// or once that container is gone, it makes a new one.
func TestAutoContainerReused(t *testing.T) {
	sb := realSandbox(t)
	defer sb.Close()
	ctx := context.Background()
	m := &scripted.Model{Fallback: func(r *llm.Request) scripted.Turn {
		if scripted.HasToolResult(r) {
			return scripted.Turn{Text: "ok"}
		}
		return scripted.Turn{Calls: []scripted.Call{{Name: "code_interpreter", Arguments: mustJSON(map[string]string{"code": scripted.LastUser(r)})}}}
	}}
	e := openEngine(t, m, func(c *engine.Config) { c.CodeInterpreter = sb })
	extra := mustUpload(t, e, "extra.txt", "x")
	respond := func(code string, set func(*apitype.ResponseCreateParams)) *apitype.Response {
		t.Helper()
		p := respParams(code)
		p.Tools = []apitype.ResponseTool{codeTool(autoContainer())}
		set(p)
		r, err := e.Responses.Create(ctx, p)
		if err != nil || r.Status != apitype.ResponseCompleted {
			t.Fatalf("%v %+v", err, r)
		}
		return r
	}
	container := func(r *apitype.Response) string { return r.Output[0].CodeInterpreterCall.ContainerID }
	r1 := respond("v = 1", func(*apitype.ResponseCreateParams) {})
	r2 := respond("print(v, open('/mnt/data/extra.txt').read())", func(p *apitype.ResponseCreateParams) {
		p.PreviousResponseID = &r1.ID
		p.Tools[0].Container.Auto.FileIDs = []string{extra.ID}
	})
	if container(r2) != container(r1) {
		t.Fatalf("over previous_response_id: %s, then %s", container(r1), container(r2))
	}
	if tool, _ := scripted.LastToolResult(&m.Requests()[len(m.Requests())-1]); !strings.HasPrefix(tool, "1 x\n") {
		t.Fatalf("the reused container's code read %q", tool)
	}
	if r3 := respond("print(1)", func(*apitype.ResponseCreateParams) {}); container(r3) == container(r1) {
		t.Fatal("a response with no earlier call reused a container")
	}
	conv, err := e.Conversations.Create(ctx, apitype.ConversationCreateParams{})
	if err != nil {
		t.Fatal(err)
	}
	inConv := func(p *apitype.ResponseCreateParams) { p.Conversation = &apitype.ConversationRef{ID: conv.ID} }
	c1, c2 := respond("w = 2", inConv), respond("print(w)", inConv)
	if container(c1) != container(c2) {
		t.Fatalf("in a conversation: %s, then %s", container(c1), container(c2))
	}
	if _, err := e.Containers.Delete(ctx, container(c2)); err != nil {
		t.Fatal(err)
	}
	if c3 := respond("print(3)", inConv); container(c3) == container(c2) || c3.Output[0].CodeInterpreterCall.Status != apitype.ItemCompleted {
		t.Fatalf("after its container was deleted: %+v", c3.Output[0].CodeInterpreterCall)
	}
}

// Code that prints nothing: its call (empty logs) is stored and read back.
func TestCodeInterpreterSilentCode(t *testing.T) {
	sb := realSandbox(t)
	defer sb.Close()
	ctx := context.Background()
	m := scripted.New(codeCall("v = 1"), scripted.Turn{Match: scripted.HasToolResult, Text: "ok"})
	e := openEngine(t, m, func(c *engine.Config) { c.CodeInterpreter = sb })
	p := respParams("quiet")
	p.Tools = []apitype.ResponseTool{codeTool(autoContainer())}
	r, err := e.Responses.Create(ctx, p)
	if err != nil || r.Status != apitype.ResponseCompleted {
		t.Fatalf("%v %+v", err, r)
	}
	g, err := e.Responses.Retrieve(ctx, r.ID, apitype.ResponseRetrieveParams{Include: []string{apitype.IncludeCodeInterpreterOutputs}})
	if err != nil || len(g.Output) != 2 || len(g.Output[0].CodeInterpreterCall.Outputs) != 1 || g.Output[0].CodeInterpreterCall.Outputs[0].Logs != "" {
		t.Fatalf("read back %v %+v", err, g)
	}
	if tool, _ := scripted.LastToolResult(&m.Requests()[1]); tool != "(the code ran and printed nothing)" {
		t.Fatalf("the model read %q", tool)
	}
}

// tool_choice {type: code_interpreter} makes the call: the request names
// the tool, and a reply without it is asked again.
func TestCodeInterpreterToolChoice(t *testing.T) {
	sb := realSandbox(t)
	defer sb.Close()
	ctx := context.Background()
	m := scripted.New(scripted.Turn{Text: "I will just answer."}, codeCall("print(2 + 2)"),
		scripted.Turn{Match: scripted.HasToolResult, Text: "4"})
	e := openEngine(t, m, func(c *engine.Config) { c.CodeInterpreter = sb })
	p := respParams("add")
	p.Tools = []apitype.ResponseTool{codeTool(autoContainer())}
	p.ToolChoice = &apitype.ResponseToolChoice{Type: string(apitype.ToolTypeCodeInterpreter)}
	r, err := e.Responses.Create(ctx, p)
	if err != nil || r.Status != apitype.ResponseCompleted {
		t.Fatalf("%v %+v", err, r)
	}
	req := m.Requests()[0]
	if req.ToolChoice.Mode != llm.ToolChoiceFunction || req.ToolChoice.Name != "code_interpreter" {
		t.Fatalf("tool choice %+v", req.ToolChoice)
	}
	// The reply that missed the choice stays (as a run keeps it); then the
	// call, then the answer: asked once more only, and free to answer.
	if n := len(r.Output); n != 3 || r.Output[1].CodeInterpreterCall == nil || r.Output[2].Message.Text() != "4" || len(m.Requests()) != 3 {
		t.Fatalf("output %+v after %d requests", r.Output, len(m.Requests()))
	}
	if last := m.Requests()[2]; last.ToolChoice.Mode == llm.ToolChoiceFunction {
		t.Fatalf("the answer was forced to call again: %+v", last.ToolChoice)
	}
}
