//go:build integration

package integration

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Replies the tiny model gives (see tinymodel/main.go).
const (
	plainReply   = "Hello from the tiny model."
	weatherReply = "It is sunny in Paris."
	contextLen   = 4096
	embedDim     = 320
)

// env is what run.sh passes to the tests.
type env struct {
	URL        string // running server
	Bin        string // ollama binary, for tests that start their own server
	ModelsDir  string // OLLAMA_MODELS of the running server
	Home       string // HOME of the running server
	Model      string // plain chat model
	ToolsModel string // tool-calling model
	LoopModel  string // endless reply
	EmbedModel string // embedding-only model
}

// needEnv skips the test when run.sh did not set up a server.
func needEnv(t *testing.T) env {
	t.Helper()
	e := env{
		URL:        os.Getenv("HEARTH_OLLAMA_URL"),
		Bin:        os.Getenv("HEARTH_OLLAMA_BIN"),
		ModelsDir:  os.Getenv("HEARTH_OLLAMA_MODELS"),
		Home:       os.Getenv("HEARTH_OLLAMA_HOME"),
		Model:      os.Getenv("HEARTH_TINY_MODEL"),
		ToolsModel: os.Getenv("HEARTH_TINY_TOOLS_MODEL"),
		LoopModel:  os.Getenv("HEARTH_TINY_LOOP_MODEL"),
		EmbedModel: os.Getenv("HEARTH_TINY_EMBED_MODEL"),
	}
	if e.URL == "" || e.Model == "" {
		t.Skip("no Ollama server: run integration/run.sh")
	}
	return e
}

// testCtx bounds one test: no integration test may hang.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// privateServer is an Ollama server a test owns and may kill; it serves the
// same models as the shared one.
type privateServer struct {
	URL string
	cmd *exec.Cmd
}

// startPrivateServer starts `ollama serve` on a free loopback port in its own
// process group, waits until it answers, and stops it at test end.
func startPrivateServer(t *testing.T, e env) *privateServer {
	t.Helper()
	if e.Bin == "" || e.ModelsDir == "" {
		t.Skip("HEARTH_OLLAMA_BIN / HEARTH_OLLAMA_MODELS not set: run integration/run.sh")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	home := e.Home
	if home == "" {
		home = t.TempDir()
	}
	logf, err := os.Create(filepath.Join(t.TempDir(), "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(e.Bin, "serve")
	cmd.Env = append(os.Environ(), "HOME="+home, "OLLAMA_HOST="+addr, "OLLAMA_MODELS="+e.ModelsDir, "OLLAMA_NOPRUNE=1", "OLLAMA_NUM_PARALLEL=1")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &privateServer{URL: "http://" + addr, cmd: cmd}
	t.Cleanup(func() {
		s.Kill()
		logf.Close()
	})

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/api/version")
		if err == nil {
			resp.Body.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("private ollama serve on %s did not answer: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Kill SIGKILLs the server's whole process group (server and model runner)
// and reaps it. Safe to call twice.
func (s *privateServer) Kill() {
	if s.cmd.Process == nil || s.cmd.ProcessState != nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	_ = s.cmd.Wait()
}

func (s *privateServer) String() string {
	return fmt.Sprintf("ollama pid %d at %s", s.cmd.Process.Pid, s.URL)
}
