package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestServeMemoryFlat streams HEARTH_SERVE_MEMORY runs (30000 for the
// BENCHMARKS.md figure) through `hearth serve --model-backend scripted`,
// four clients at a time, half on new threads and half on four threads
// that grow by every run, and checks that the live heap and the private
// RSS after all of them are at most 1.2× the figures after the first 1,000.
// Opt-in: it takes minutes.
//
//	HEARTH_SERVE_MEMORY=30000 go test ./cmd/hearth -run ServeMemoryFlat -v -timeout 30m
//
// HEARTH_SERVE_MEMORY_PROFILE=dir writes heap profiles at both points;
// HEARTH_SERVE_MEMORY_CODE=wasi serves with the code interpreter (its
// compiled module cached in HEARTH_CACHE_DIR), off by default;
// HEARTH_RELEASE_MAPPED_EVERY is passed on (serve's default is 10s).
func TestServeMemoryFlat(t *testing.T) {
	total, _ := strconv.Atoi(os.Getenv("HEARTH_SERVE_MEMORY"))
	if total == 0 {
		t.Skip("set HEARTH_SERVE_MEMORY=30000 to stream that many runs through hearth serve")
	}
	if os.Getenv("HEARTH_SERVE_MEMORY_PROFILE") != "" {
		runtime.MemProfileRate = 4 << 10 // fine enough to see per-run leftovers
	}
	code := os.Getenv("HEARTH_SERVE_MEMORY_CODE")
	if code == "" {
		code = "off"
	}
	const warm = 1000
	if total < 2*warm {
		t.Fatalf("HEARTH_SERVE_MEMORY=%d: at least %d runs", total, 2*warm)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	env := map[string]string{"HEARTH_DB": filepath.Join(dir, "h.db"), "HEARTH_MODEL_BACKEND": "scripted",
		"HEARTH_CACHE_DIR": os.Getenv("HEARTH_CACHE_DIR"), "HEARTH_RELEASE_MAPPED_EVERY": os.Getenv("HEARTH_RELEASE_MAPPED_EVERY")}
	a := &app{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return env[k] }, listening: func(s string) { addr <- s }}
	done := make(chan error, 1)
	go func() { done <- a.run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--code-interpreter", code}) }()
	var url string
	select {
	case s := <-addr:
		url = "http://" + s
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	}
	defer func() { cancel(); <-done }()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	post := func(path, body string) (*http.Response, error) {
		req, _ := http.NewRequest("POST", url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return client.Do(req)
	}
	resp, err := post("/v1/assistants", `{"model":"m","instructions":"Be brief."}`)
	if err != nil {
		t.Fatal(err)
	}
	var asst struct{ ID string }
	decodeJSON(t, resp, &asst)

	// run streams one run and reads it to [DONE]: even runs on a new thread,
	// odd ones on the worker's own thread, which grows by every such run.
	run := func(i int, thread string) error {
		path, body := "/v1/threads/runs", fmt.Sprintf(`{"assistant_id":%q,"stream":true,"thread":{"messages":[{"role":"user","content":"hello number %d"}]}}`, asst.ID, i)
		if i%2 == 1 {
			path, body = "/v1/threads/"+thread+"/runs", fmt.Sprintf(`{"assistant_id":%q,"stream":true,"additional_messages":[{"role":"user","content":"hello again, number %d"}]}`, asst.ID, i)
		}
		resp, err := post(path, body)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("run %d: %d %s", i, resp.StatusCode, b)
		}
		sc := bufio.NewScanner(resp.Body)
		completed := false
		for sc.Scan() {
			line := sc.Text()
			completed = completed || line == "event: thread.run.completed"
			if line == "data: [DONE]" {
				if !completed {
					return fmt.Errorf("run %d: stream ended without thread.run.completed", i)
				}
				return nil
			}
		}
		return fmt.Errorf("run %d: stream ended without [DONE]: %v", i, sc.Err())
	}
	var threads []string
	for range 4 {
		resp, err := post("/v1/threads", `{}`)
		if err != nil {
			t.Fatal(err)
		}
		var th struct{ ID string }
		decodeJSON(t, resp, &th)
		threads = append(threads, th.ID)
	}
	runs := func(from, to int) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		next := make(chan int)
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					if err := run(i, threads[w]); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	feed:
		for i := from; i < to; i++ {
			select {
			case next <- i:
			case err := <-errs:
				close(next)
				wg.Wait()
				t.Fatal(err)
				break feed
			}
		}
		close(next)
		wg.Wait()
		select {
		case err := <-errs:
			t.Fatal(err)
		default:
		}
	}
	// measure returns the live heap and the private (anonymous) RSS; the
	// file-backed rest of RSS is the database's pages under bbolt's mmap:
	// the kernel's clean page cache of the file, which grows with the data
	// touched and is logged beside the file's size.
	measure := func(label string) (heap, anon uint64) {
		// Collect, and give freed pages back to the OS as the scavenger
		// would in time, so RSS says what is held, not when the GC last ran.
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		anon = procStatus(t, "RssAnon")
		var size int64
		if fi, err := os.Stat(env["HEARTH_DB"]); err == nil {
			size = fi.Size()
		}
		t.Logf("after %s runs: heap %.1f MiB (in-use spans %.1f MiB), RSS %.1f MiB = anon %.1f MiB + file %.1f MiB (database file %.1f MiB), goroutines %d",
			label, mib(ms.HeapAlloc), mib(ms.HeapInuse), mib(procStatus(t, "VmRSS")), mib(anon), mib(procStatus(t, "RssFile")), mib(uint64(size)), runtime.NumGoroutine())
		if d := os.Getenv("HEARTH_SERVE_MEMORY_PROFILE"); d != "" {
			f, err := os.Create(filepath.Join(d, "heap-"+label+".pprof"))
			if err != nil {
				t.Fatal(err)
			}
			pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
		return ms.HeapAlloc, anon
	}
	runs(0, warm)
	heap1, anon1 := measure(strconv.Itoa(warm))
	runs(warm, total)
	heapN, anonN := measure(strconv.Itoa(total))
	t.Logf("final/1k: heap %.2f×, anonymous RSS %.2f×", float64(heapN)/float64(heap1), float64(anonN)/float64(anon1))
	if float64(heapN) > 1.2*float64(heap1) || float64(anonN) > 1.2*float64(anon1) {
		t.Fatalf("memory grew: heap %.1f → %.1f MiB, anonymous RSS %.1f → %.1f MiB (limit 1.2×)", mib(heap1), mib(heapN), mib(anon1), mib(anonN))
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// procStatus reads a "kB" field of /proc/self/status, in bytes.
func procStatus(t *testing.T, field string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n << 10
		}
	}
	return 0
}

func decodeJSON(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
