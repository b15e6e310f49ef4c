package postgres_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/internal/pgtest"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/openaihttp"
	"github.com/hearth-go/hearth/postgres"
)

// The chaos test (issue 23): three `hearth serve`-like replicas — each a
// child process running an engine on one Postgres database behind the
// OpenAI HTTP API — while clients append messages and stream runs through
// any of them, and one replica at a time is killed with SIGKILL and
// started again, at least 20 times. Afterwards every acknowledged message
// is there, every run has ended (completed, or failed with a last_error
// saying why) having been resumed by another replica, no thread is left
// locked by a run, and every stream ended.

const (
	envChaosDSN  = "HEARTH_CHAOS_DSN"
	chaosRescue  = 2 * time.Second
	chaosKills   = 20
	chaosClients = 6
)

// chaosModel streams its answer in small pieces with a pause between them,
// so that a kill often lands in the middle of a run.
func chaosModel() *scripted.Model {
	return &scripted.Model{KeepRequests: -1, Fallback: func(*llm.Request) scripted.Turn {
		return scripted.Turn{Text: strings.Repeat("steady words in a stream ", 8), Pieces: 40, ChunkDelay: 3 * time.Millisecond}
	}}
}

func chaosReplica(ctx context.Context, dsn string, log *slog.Logger, workers int) (*engine.Engine, *postgres.Replica, error) {
	r, err := postgres.Open(ctx, dsn, postgres.Options{Logger: log, RescueAfter: chaosRescue})
	if err != nil {
		return nil, nil, err
	}
	cfg := engine.Config{Model: chaosModel(), Logger: log, MaxConcurrentRuns: workers}
	r.Configure(&cfg)
	e, err := engine.Open(ctx, cfg)
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	return e, r, nil
}

// TestChaosReplica is one replica of TestChaosThreeReplicas, run in a child
// process: it serves until it is killed.
func TestChaosReplica(t *testing.T) {
	dsn := os.Getenv(envChaosDSN)
	if dsn == "" {
		t.Skip("a child of TestChaosThreeReplicas")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	e, _, err := chaosReplica(context.Background(), dsn, log, 4)
	if err != nil {
		fmt.Printf("HEARTH ERR open: %v\n", err)
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Printf("HEARTH ERR listen: %v\n", err)
		return
	}
	fmt.Printf("HEARTH READY %s\n", ln.Addr())
	srv := &http.Server{Handler: openaihttp.NewHandler(e, openaihttp.Options{Logger: log})}
	srv.Serve(ln) // until SIGKILL
}

type chaosChild struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
}

func startChaosChild(t *testing.T, dsn string) *chaosChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChaosReplica$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChaosDSN+"="+dsn)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &chaosChild{cmd: cmd, done: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "HEARTH READY "); ok {
				ready <- addr
			} else if strings.HasPrefix(sc.Text(), "HEARTH ERR") {
				t.Errorf("replica: %s", sc.Text())
			}
		}
		cmd.Wait()
	}()
	select {
	case c.addr = <-ready:
	case <-c.done:
		t.Fatal("a replica ended before it served")
	}
	return c
}

func (c *chaosChild) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL) // an error: it had ended already
	<-c.done
}

// chaosCluster is the replicas' addresses as clients see them.
type chaosCluster struct {
	mu    sync.Mutex
	addrs []string // "" while a replica is down
}

func (c *chaosCluster) pick(rng func(int) int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if a := c.addrs[rng(len(c.addrs))]; a != "" {
			return a
		}
	}
}

func (c *chaosCluster) set(i int, addr string) {
	c.mu.Lock()
	c.addrs[i] = addr
	c.mu.Unlock()
}

// chaosLog is what the clients saw: the messages acknowledged per thread,
// and the streams that ended, by how.
type chaosLog struct {
	mu      sync.Mutex
	acked   map[string][]string
	threads []string
	streams map[string]int
}

func (l *chaosLog) ack(thread, msg string) {
	l.mu.Lock()
	l.acked[thread] = append(l.acked[thread], msg)
	l.mu.Unlock()
}

func (l *chaosLog) stream(how string) {
	l.mu.Lock()
	l.streams[how]++
	l.mu.Unlock()
}

func post(ctx context.Context, hc *http.Client, addr, path string, body any) (*http.Response, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("OpenAI-Beta", "assistants=v2")
	return hc.Do(req)
}

func postJSON(ctx context.Context, hc *http.Client, addr, path string, body, out any) (int, error) {
	resp, err := post(ctx, hc, addr, path, body)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err // cut off: not acknowledged
	}
	if resp.StatusCode == http.StatusOK && out != nil {
		return resp.StatusCode, json.Unmarshal(b, out)
	}
	return resp.StatusCode, nil
}

// chaosClient appends a message to its thread and streams a run on it, over
// and over, through any replica, until stop. A thread whose run was cut
// off by a kill may stay busy until the run is rescued: the client then
// goes on in a new thread.
func chaosClient(ctx context.Context, t *testing.T, cl *chaosCluster, log *chaosLog, assistant string, rng *rand.Rand, stop <-chan struct{}) {
	hc := &http.Client{}
	thread := ""
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		addr := cl.pick(rng.IntN)
		if thread == "" {
			var th apitype.Thread
			if code, err := postJSON(ctx, hc, addr, "/v1/threads", map[string]any{}, &th); err != nil || code != http.StatusOK {
				continue
			}
			thread = th.ID
			log.mu.Lock()
			log.threads = append(log.threads, thread)
			log.mu.Unlock()
		}
		var m apitype.Message
		code, err := postJSON(ctx, hc, addr, "/v1/threads/"+thread+"/messages",
			map[string]any{"role": "user", "content": "message " + strconv.Itoa(n)}, &m)
		switch {
		case err != nil:
			continue // the replica died: maybe written, never acknowledged
		case code == http.StatusBadRequest:
			thread = "" // a run still holds it (one cut off, awaiting rescue)
			continue
		case code != http.StatusOK:
			t.Errorf("message: HTTP %d", code)
			return
		}
		log.ack(thread, m.ID)
		resp, err := post(ctx, hc, cl.pick(rng.IntN), "/v1/threads/"+thread+"/runs", map[string]any{"assistant_id": assistant, "stream": true})
		if err != nil {
			continue
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			thread = ""
			continue
		}
		log.stream(readStream(resp.Body))
		resp.Body.Close()
	}
}

// readStream reads an SSE stream to its end and says how it ended.
func readStream(r io.Reader) string {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	last := ""
	for sc.Scan() {
		line := sc.Text()
		if ev, ok := strings.CutPrefix(line, "event: "); ok {
			last = ev
		}
		if line == "data: [DONE]" {
			return "done after " + last
		}
	}
	return "cut off (its replica was killed)"
}

func TestChaosThreeReplicas(t *testing.T) {
	if os.Getenv(envChaosDSN) != "" {
		t.Skip("this is a replica")
	}
	if testing.Short() {
		t.Skip("kills replicas 20 times")
	}
	dsn := pgtest.DSN(t)
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("HEARTH_CRASH_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seed %d (HEARTH_CRASH_SEED=%d replays the kills' choices)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 23))
	ctx := t.Context()

	children := make([]*chaosChild, 3)
	cl := &chaosCluster{addrs: make([]string, 3)}
	for i := range children {
		children[i] = startChaosChild(t, dsn)
		cl.set(i, children[i].addr)
	}
	t.Cleanup(func() {
		for _, c := range children {
			c.kill()
		}
	})
	var a apitype.Assistant
	if code, err := postJSON(ctx, http.DefaultClient, cl.pick(rng.IntN), "/v1/assistants", map[string]any{"model": "scripted"}, &a); err != nil || code != http.StatusOK {
		t.Fatalf("assistant: %d %v", code, err)
	}

	log := &chaosLog{acked: map[string][]string{}, streams: map[string]int{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range chaosClients {
		crng := rand.New(rand.NewPCG(seed, uint64(i)))
		wg.Go(func() { chaosClient(ctx, t, cl, log, a.ID, crng, stop) })
	}
	for range chaosKills {
		// The random kill moment, not a synchronisation.
		<-time.After(time.Duration(50+rng.IntN(400)) * time.Millisecond)
		i := rng.IntN(len(children))
		cl.set(i, "")
		children[i].kill()
		children[i] = startChaosChild(t, dsn)
		cl.set(i, children[i].addr)
	}
	close(stop)
	wg.Wait() // every client's last stream ended: none stalls forever

	// A fourth replica, in this process, checks what the clients saw.
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, r, err := chaosReplica(ctx, dsn, quiet, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer e.Close()
	statuses := map[apitype.RunStatus]int{}
	runs, resumed := 0, 0
	for _, th := range log.threads {
		for run, err := range e.Runs.All(ctx, th, apitype.ListParams{Order: "asc"}) {
			if err != nil {
				t.Fatal(err)
			}
			runs++
			end, err := e.Runs.Wait(ctx, th, run.ID) // no polling: woken by its events, from any replica
			if err != nil {
				t.Fatalf("wait for %s: %v", run.ID, err)
			}
			statuses[end.Status]++
			switch end.Status {
			case apitype.RunCompleted:
			case apitype.RunFailed:
				if end.LastError == nil || end.LastError.Message == "" {
					t.Errorf("run %s failed without a last_error", run.ID)
				}
			default:
				t.Errorf("run %s ended %s", run.ID, end.Status)
			}
			if end.StartedAt != nil && end.CompletedAt != nil && *end.CompletedAt-*end.StartedAt >= int64(chaosRescue/time.Second) {
				resumed++
			}
		}
		have := map[string]bool{}
		for m, err := range e.Messages.All(ctx, th, apitype.MessageListParams{}) {
			if err != nil {
				t.Fatal(err)
			}
			have[m.ID] = true
		}
		for _, id := range log.acked[th] {
			if !have[id] {
				t.Errorf("thread %s lost acknowledged message %s", th, id)
			}
		}
		// Not locked: a new run on it runs to its end.
		run, err := e.Runs.Create(ctx, th, apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil {
			t.Errorf("thread %s is locked: %v", th, err)
			continue
		}
		if end, err := e.Runs.Wait(ctx, th, run.ID); err != nil || end.Status != apitype.RunCompleted {
			t.Errorf("a new run on %s: %v %v", th, end, err)
		}
	}
	acked := 0
	for _, ids := range log.acked {
		acked += len(ids)
	}
	t.Logf("%d kills; %d threads, %d acknowledged messages, %d runs (%v, %d lasting past the rescue interval), streams %v",
		chaosKills, len(log.threads), acked, runs, statuses, resumed, log.streams)
	if runs == 0 || acked == 0 {
		t.Fatal("the clients did nothing")
	}
}
