package openaihttp_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm/scripted"
)

// BenchmarkResponseHTTP times a one-step response answered by the scripted
// echo model over HTTP on loopback beside the same response in-process, in
// alternating blocks of one loop (the ratio is the figure): "create" waits
// for the whole JSON answer; "first-event" times the call to the first SSE
// frame (response.created) beside the in-process stream's first event, and
// reads the rest of each stream untimed (to EOF, so connections are reused).
//
//	go test ./openaihttp -run '^$' -bench ResponseHTTP -benchtime 200x -count 5
func BenchmarkResponseHTTP(b *testing.B) {
	e := newEnv(b, scripted.Echo())
	ctx := context.Background()
	hc := e.srv.Client()
	params := func() *apitype.ResponseCreateParams {
		return &apitype.ResponseCreateParams{Model: "llama3.2", Input: apitype.TextResponseInput("Solve 3x + 11 = 14")}
	}
	post := func(body string) *http.Response {
		req, err := http.NewRequest("POST", e.srv.URL+"/v1/responses", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return resp
	}
	ops := []struct {
		name        string
		floor, work func() time.Duration // each returns its timed part
	}{
		{"create", func() time.Duration {
			start := time.Now()
			r, err := e.eng.Responses.Create(ctx, params())
			if err != nil || r.Status != apitype.ResponseCompleted {
				b.Fatal(r, err)
			}
			return time.Since(start)
		}, func() time.Duration {
			start := time.Now()
			resp := post(`{"model":"llama3.2","input":"Solve 3x + 11 = 14"}`)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || !strings.Contains(string(body), `"status":"completed"`) {
				b.Fatalf("%v %s", err, body)
			}
			return time.Since(start)
		}},
		{"first-event", func() (d time.Duration) {
			start := time.Now()
			for ev, err := range e.eng.Responses.CreateStream(ctx, params()) {
				if err != nil {
					b.Fatal(err)
				}
				if d == 0 {
					d = time.Since(start)
					if ev.Type != apitype.EventResponseCreated {
						b.Fatal(ev.Type)
					}
				}
			}
			return d
		}, func() time.Duration {
			start := time.Now()
			resp := post(`{"model":"llama3.2","input":"Solve 3x + 11 = 14","stream":true}`)
			name, _, err := readFrame(bufio.NewReader(resp.Body))
			d := time.Since(start)
			if err != nil || name != string(apitype.EventResponseCreated) {
				b.Fatal(name, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return d
		}},
	}
	for _, op := range ops {
		b.Run(op.name, func(b *testing.B) {
			const block = 8
			var floor, spent time.Duration
			for b.Loop() {
				for _, t := range []struct {
					fn func() time.Duration
					d  *time.Duration
				}{{op.floor, &floor}, {op.work, &spent}} {
					for range block {
						*t.d += t.fn()
					}
				}
			}
			n := float64(b.N * block)
			b.ReportMetric(float64(floor)/n, "inprocess-ns/op")
			b.ReportMetric(float64(spent)/n, "http-ns/op")
			b.ReportMetric(float64(spent)/float64(floor), "x-inprocess")
		})
	}
}
