package openaihttp_test

import (
	"bufio"
	"context"
	"fmt"
	"iter"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

// gated holds every model call until the gate opens, so that all streams of
// a load test are open at once.
type gated struct {
	mu   sync.Mutex
	gate chan struct{}
	m    llm.Model
}

func (g *gated) close()                 { g.mu.Lock(); close(g.gate); g.mu.Unlock() }
func (g *gated) rearm()                 { g.mu.Lock(); g.gate = make(chan struct{}); g.mu.Unlock() }
func (g *gated) current() chan struct{} { g.mu.Lock(); defer g.mu.Unlock(); return g.gate }

func (g *gated) Chat(ctx context.Context, req *llm.Request) iter.Seq2[llm.Chunk, error] {
	return func(yield func(llm.Chunk, error) bool) {
		select {
		case <-g.current():
		case <-ctx.Done():
			yield(llm.Chunk{}, ctx.Err())
			return
		}
		for c, err := range g.m.Chat(ctx, req) {
			if !yield(c, err) {
				return
			}
		}
	}
}

func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// 200 concurrent streaming create-thread-and-runs on loopback: all complete
// without error, and goroutines and heap return to their baseline after.
// It logs the heap held per open stream at the peak (go test -v -run Load).
func TestLoad200Streams(t *testing.T) {
	const n = 200
	g := &gated{gate: make(chan struct{}), m: scripted.Echo()}
	e := newEnv(t, g)
	a := e.assistant(t)
	client := e.srv.Client()
	// Warm up one run so lazily built state is in the baseline.
	g.close()
	warm := postStream(t, context.Background(), e, "/v1/threads/runs", `{"assistant_id":"`+a.ID+`","stream":true,"thread":{"messages":[{"role":"user","content":"warm"}]}}`)
	wr := bufio.NewReader(warm.Body)
	for {
		name, _ := sseEvent(t, wr)
		if name == "done" {
			break
		}
	}
	warm.Body.Close()
	client.CloseIdleConnections()
	g.rearm()

	// round runs n concurrent streams, each held open (its run gated) until
	// all are, and returns the heap and goroutines at that peak.
	round := func() (uint64, int) {
		var opened, wg sync.WaitGroup
		opened.Add(n)
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := `{"assistant_id":"` + a.ID + `","stream":true,"thread":{"messages":[{"role":"user","content":"load ` + strconv.Itoa(i) + `"}]}}`
				resp := postStream(t, context.Background(), e, "/v1/threads/runs", body)
				defer resp.Body.Close()
				br := bufio.NewReader(resp.Body)
				var names []string
				signalled := false
				defer func() {
					if !signalled {
						opened.Done()
					}
				}()
				for {
					name, data, err := readFrame(br)
					if err != nil {
						errs <- fmt.Errorf("stream %d after %v: %w", i, names, err)
						return
					}
					names = append(names, name)
					if name == "thread.run.queued" && !signalled {
						signalled = true
						opened.Done()
					}
					if name == "done" {
						if data != "[DONE]" {
							errs <- fmt.Errorf("done data %q", data)
						}
						break
					}
				}
				if len(names) < 2 || names[len(names)-2] != "thread.run.completed" {
					errs <- fmt.Errorf("stream %d ended with %v", i, names[max(0, len(names)-3):])
				}
			}()
		}
		opened.Wait() // every stream is open and its run queued or gated
		peakHeap, peakG := heapInuse(), runtime.NumGoroutine()
		g.close()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		return peakHeap, peakG
	}
	// A first round of n puts what the runtime and net/http keep after
	// such a peak (goroutine descriptors, pooled buffers) in the baseline,
	// so what the check below sees is what the streams themselves leave.
	round()
	client.CloseIdleConnections()
	g.rearm()
	baseG, baseHeap := runtime.NumGoroutine(), heapInuse()
	peakHeap, peakG := round()
	perStream := float64(int64(peakHeap)-int64(baseHeap)) / n
	t.Logf("200 open streams: heap in use %d → %d bytes (%.1f KiB per open stream, server and client sides together), goroutines %d → %d",
		baseHeap, peakHeap, perStream/1024, baseG, peakG)

	client.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseG+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := runtime.NumGoroutine(); got > baseG+2 {
		buf := make([]byte, 1<<16)
		t.Fatalf("goroutines: %d before, %d after\n%s", baseG, got, buf[:runtime.Stack(buf, true)])
	}
	after := heapInuse()
	t.Logf("after: heap in use %d bytes, goroutines %d", after, runtime.NumGoroutine())
	if after > baseHeap+4<<20 {
		t.Fatalf("heap did not return to baseline: %d → %d bytes", baseHeap, after)
	}
}
