package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/creack/pty"

	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

// TestMain lets the tests run this test binary as the hearth command (in a
// pseudo-terminal, where Ctrl-C is a real SIGINT from the line discipline).
func TestMain(m *testing.M) {
	if os.Getenv("HEARTH_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// screen is what the program in the pseudo-terminal has written; wait
// blocks until a string appears after the mark, or the program's output ends.
type screen struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	mark    int
	changed chan struct{} // closed and replaced at each read
	ended   bool
}

func newScreen(r io.Reader) *screen {
	s := &screen{changed: make(chan struct{})}
	go func() { // ends when the terminal closes (EIO at the program's exit)
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			s.mu.Lock()
			s.buf.Write(b[:n])
			if err != nil {
				s.ended = true
			}
			close(s.changed)
			s.changed = make(chan struct{})
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return s
}

// wait returns the screen from the mark up to and including want, and
// moves the mark past it.
func (s *screen) wait(t *testing.T, want string) string {
	t.Helper()
	for {
		s.mu.Lock()
		text := s.buf.String()[s.mark:]
		if i := strings.Index(text, want); i >= 0 {
			s.mark += i + len(want)
			s.mu.Unlock()
			return text[:i+len(want)]
		}
		ended, ch := s.ended, s.changed
		s.mu.Unlock()
		if ended {
			t.Fatalf("the program ended without writing %q; its screen:\n%s", want, s.String())
		}
		<-ch
	}
}

// rest is the screen after the mark.
func (s *screen) rest() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()[s.mark:]
}

func (s *screen) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.buf.String() }

// holdModel is the gated demo, and "hold on" starts an answer that never
// ends until the run is cancelled; with stall set, the call then waits for
// stall to close too, as a slow backend would, so the run stays cancelling.
type holdModel struct {
	gatedModel
	stall chan struct{}
}

func (h holdModel) Chat(ctx context.Context, req *llm.Request) iter.Seq2[llm.Chunk, error] {
	if scripted.HasToolResult(req) || strings.TrimSpace(scripted.LastUser(req)) != "hold on" {
		return h.gatedModel.Chat(ctx, req)
	}
	return func(yield func(llm.Chunk, error) bool) {
		if yield(llm.Chunk{Text: "Thinking "}, nil) {
			<-ctx.Done()
			if h.stall != nil {
				<-h.stall
			}
			yield(llm.Chunk{}, ctx.Err())
		}
	}
}

// TestChatPTY runs `hearth chat --server` in a pseudo-terminal against
// `hearth serve` with keys: a streamed answer seen before its end exists, a
// function call answered at the prompt and one from --functions, Ctrl-C
// cancelling a run (the server says cancelled), and Ctrl-C at the prompt
// leaving with status 0.
func TestChatPTY(t *testing.T) {
	release := make(chan struct{})
	srv := startServeModel(t, map[string]string{"HEARTH_API_KEYS": "sk-chat"}, holdModel{gatedModel: gatedModel{newDemo(), release}},
		"--db", filepath.Join(t.TempDir(), "h.db"))
	fns := filepath.Join(t.TempDir(), "functions.json")
	if err := os.WriteFile(fns, []byte(`{
  "get_weather": {"description": "The weather in a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
  "get_time": "noon"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ch := startChat(t, srv.url, "--functions", fns, "--instructions", "Be brief.")
	sc, send, thread := ch.sc, ch.send, ch.thread

	// Streaming: the first piece is on the screen while the model holds the rest.
	send("stream slowly\r")
	sc.wait(t, slowFirst)
	if strings.Contains(sc.rest(), slowRest) {
		t.Fatal("the rest of the answer is on the screen before the model sent it")
	}
	close(release)
	sc.wait(t, slowRest)
	sc.wait(t, "> ")

	// A function call: chat asks for its output; the canned one needs no
	// question.
	send("call get_weather\r")
	sc.wait(t, "output for get_weather> ")
	send("rainy, 12 C\r")
	sc.wait(t, "get_weather returned: rainy, 12 C")
	sc.wait(t, "> ")
	send("call get_time\r")
	sc.wait(t, "output (from --functions): noon")
	sc.wait(t, "get_time returned: noon")
	sc.wait(t, "> ")

	// Ctrl-C cancels the run in progress; the server has it cancelled.
	send("hold on\r")
	sc.wait(t, "Thinking ")
	send("\x03")
	sc.wait(t, "[run cancelled]")
	sc.wait(t, "> ")
	var runs struct {
		Data []struct{ Status string } `json:"data"`
	}
	getJSONKey(t, srv.url+"/v1/threads/"+thread+"/runs?limit=1", "sk-chat", &runs)
	if len(runs.Data) != 1 || runs.Data[0].Status != "cancelled" {
		t.Errorf("the last run after Ctrl-C: %+v", runs.Data)
	}

	// Ctrl-C at the prompt leaves.
	send("\x03")
	if err := ch.wait(); err != nil {
		t.Errorf("hearth chat exited with %v; screen:\n%s", err, sc)
	}
}

// chatTerm is `hearth chat` running in a pseudo-terminal.
type chatTerm struct {
	sc      *screen
	send    func(string)
	thread  string
	exited  chan struct{} // closed when the program has exited, with waitErr set
	waitErr error
}

// wait waits for the program to exit and returns how it did.
func (c *chatTerm) wait() error { <-c.exited; return c.waitErr }

// startChat runs `hearth chat --server url args...` (this test binary as
// hearth) in a pseudo-terminal and waits for its first prompt.
func startChat(t *testing.T, url string, args ...string) *chatTerm {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"chat", "--server", url}, args...)...)
	cmd.Env = append(os.Environ(), "HEARTH_TEST_RUN_MAIN=1", "HEARTH_API_KEYS=sk-chat")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	sc := newScreen(tty)
	ct := &chatTerm{sc: sc, exited: make(chan struct{})}
	go func() { ct.waitErr = cmd.Wait(); close(ct.exited) }()
	t.Cleanup(func() {
		select {
		case <-ct.exited:
		default:
			_ = cmd.Process.Kill()
			<-ct.exited
		}
	})
	send := func(s string) {
		t.Helper()
		if _, err := tty.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	banner := sc.wait(t, "> ")
	m := regexp.MustCompile(`thread (thread_\w+)`).FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("no thread in the banner:\n%s", banner)
	}
	ct.send, ct.thread = send, m[1]
	return ct
}

// TestChatPTYSecondCtrlC: a second Ctrl-C while the run is still being
// cancelled (the backend is slow to stop) leaves at once; the run is left
// cancelling on the server, and ends cancelled.
func TestChatPTYSecondCtrlC(t *testing.T) {
	stall := make(chan struct{})
	srv := startServeModel(t, map[string]string{"HEARTH_API_KEYS": "sk-chat"}, holdModel{gatedModel{newDemo(), make(chan struct{})}, stall},
		"--db", filepath.Join(t.TempDir(), "h.db"))
	defer close(stall)
	ch := startChat(t, srv.url)
	ch.send("hold on\r")
	ch.sc.wait(t, "Thinking ")
	ch.send("\x03")
	ch.sc.wait(t, "cancelling the run")
	// Two SIGINTs sent together may arrive as one: send the second once
	// the first was handled.
	ch.send("\x03")
	ch.sc.wait(t, "leaving")
	if err := ch.wait(); err != nil {
		t.Fatalf("hearth chat exited with %v; screen:\n%s", err, ch.sc)
	}
	var runs struct {
		Data []struct{ Status string } `json:"data"`
	}
	getJSONKey(t, srv.url+"/v1/threads/"+ch.thread+"/runs?limit=1", "sk-chat", &runs)
	if len(runs.Data) != 1 || runs.Data[0].Status != "cancelling" {
		t.Errorf("the run after leaving: %+v", runs.Data)
	}
}

// TestChatInProcess chats over an engine opened on --db (no server), with
// lines from a pipe, then lists the thread and the assistant it made.
func TestChatInProcess(t *testing.T) {
	db := filepath.Join(t.TempDir(), "h.db")
	var out bytes.Buffer
	a := &app{stdin: strings.NewReader("hello there\ncall get_time\n"), stdout: &out, stderr: &out, getenv: func(string) string { return "" }, model: newDemo()}
	fns := filepath.Join(t.TempDir(), "f.json")
	if err := os.WriteFile(fns, []byte(`{"get_time": "noon"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.run(context.Background(), []string{"chat", "--db", db, "--code-interpreter", "off", "--functions", fns}); err != nil {
		t.Fatalf("chat: %v\n%s", err, &out)
	}
	for _, want := range []string{"You said: hello there", "get_time returned: noon"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("chat output lacks %q:\n%s", want, &out)
		}
	}
	ls := func(args ...string) string {
		t.Helper()
		var b bytes.Buffer
		a := &app{stdout: &b, stderr: &b, getenv: func(string) string { return "" }, model: newDemo()}
		full := append(append(args[:2:2], "--db", db, "--code-interpreter", "off"), args[2:]...) // flags before FILE...
		if err := a.run(context.Background(), full); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, &b)
		}
		return b.String()
	}
	if got := ls("threads", "ls"); !strings.Contains(got, "source=hearth chat") || !strings.HasPrefix(got, "ID ") {
		t.Errorf("threads ls:\n%s", got)
	}
	var threads []struct{ ID string }
	if err := json.Unmarshal([]byte(ls("threads", "ls", "--json")), &threads); err != nil || len(threads) == 0 {
		t.Fatalf("threads ls --json: %v", err)
	}
	var convs []struct {
		ID       string
		Metadata map[string]string
	}
	if err := json.Unmarshal([]byte(ls("threads", "to-conversation", "--json", threads[0].ID)), &convs); err != nil ||
		len(convs) != 1 || !strings.HasPrefix(convs[0].ID, "conv_") || convs[0].Metadata["hearth_thread_id"] != threads[0].ID {
		t.Errorf("threads to-conversation: %+v %v", convs, err)
	}
	var asst []struct {
		Model string `json:"model"`
		Tools []struct {
			Function struct{ Name string } `json:"function"`
		} `json:"tools"`
	}
	if err := json.Unmarshal([]byte(ls("assistants", "ls", "--json")), &asst); err != nil || len(asst) != 1 || asst[0].Model != demoModel || len(asst[0].Tools) != 1 || asst[0].Tools[0].Function.Name != "get_time" {
		t.Errorf("assistants ls --json: %+v %v", asst, err)
	}
	doc := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(doc, []byte("tulips in April"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := ls("files", "upload", doc); !strings.Contains(got, "notes.txt") || !strings.Contains(got, "15") {
		t.Errorf("files upload:\n%s", got)
	}
	var b bytes.Buffer
	err := (&app{stdout: &b, stderr: &b, getenv: func(string) string { return "" }}).run(context.Background(), []string{"threads", "ls", "--db", db, "--server", "http://x"})
	if !errors.Is(err, errUsage) {
		t.Errorf("--db with --server: %v", err)
	}
}
