package engine_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

// BenchmarkOneStepResponsePaired times a one-step response (Responses.Create,
// store true, the scripted model's one-piece reply) beside its floor, the
// same one-step Assistants run (Runs.CreateAndWait to completed on a thread
// holding the same user message, made beforehand), each on an engine of its
// own, one of each per iteration in alternating order; it reports
// response/run as ratio and the write transactions each commits.
func BenchmarkOneStepResponsePaired(b *testing.B) {
	for _, sync := range []bool{true, false} {
		name := "sync=on"
		if !sync {
			name = "sync=off"
		}
		b.Run(name, func(b *testing.B) { benchOneStepResponse(b, !sync) })
	}
}

func benchOneStepResponse(b *testing.B, noSync bool) {
	ctx := context.Background()
	open := func(name string) *engine.Engine {
		e, err := engine.Open(ctx, engine.Config{Path: filepath.Join(b.TempDir(), name), NoSync: noSync, Logger: slog.New(slog.DiscardHandler),
			Model: &scripted.Model{KeepRequests: -1, Fallback: func(*llm.Request) scripted.Turn { return scripted.Turn{Text: "x = 1", Pieces: 1} }}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { e.Close() })
		return e
	}
	re, ae := open("responses.db"), open("assistants.db")
	a := mustAssistant(b, ae)
	const question = "Solve 3x + 11 = 14"
	ths := make([]string, b.N)
	for i := range ths {
		ths[i] = mustThread(b, ae, question).ID
	}
	p := respParams(question)
	p.Instructions = a.Instructions
	response := func() {
		r, err := re.Responses.Create(ctx, p)
		if err != nil || r.Status != apitype.ResponseCompleted || r.OutputText() != "x = 1" {
			b.Fatalf("%v %+v", err, r)
		}
	}
	var i int
	run := func() {
		r, err := ae.Runs.CreateAndWait(ctx, ths[i], apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil || r.Status != apitype.RunCompleted {
			b.Fatalf("%v %+v", err, r)
		}
	}
	rdb, adb := re.Store().DB(), ae.Store().DB()
	rtx0, atx0 := lastTxID(b, rdb), lastTxID(b, adb)
	var respT, runT time.Duration
	b.ResetTimer()
	for i = range b.N {
		t0 := time.Now()
		if i%2 == 0 {
			response()
			t1 := time.Now()
			run()
			respT, runT = respT+t1.Sub(t0), runT+time.Since(t1)
		} else {
			run()
			t1 := time.Now()
			response()
			runT, respT = runT+t1.Sub(t0), respT+time.Since(t1)
		}
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(lastTxID(b, rdb)-rtx0)/n, "resp-writetx/op")
	b.ReportMetric(float64(lastTxID(b, adb)-atx0)/n, "run-writetx/op")
	b.ReportMetric(float64(respT.Nanoseconds())/n, "response-ns/op")
	b.ReportMetric(float64(runT.Nanoseconds())/n, "run-ns/op")
	b.ReportMetric(float64(respT)/float64(runT), "ratio")
}

// TestOneStepResponseCommits: a one-step foreground response commits once
// (stored, input and output, as it ends: nobody knew its id before); a
// streamed one twice (created with its input before response.created names
// it, then finished); a background one a third time, when it leaves the
// queue.
func TestOneStepResponseCommits(t *testing.T) {
	bboltOnly(t)
	ctx := context.Background()
	e := openEngine(t, &scripted.Model{Fallback: func(*llm.Request) scripted.Turn { return scripted.Turn{Text: "x = 1"} }})
	db := e.Store().DB()
	txID := func() int {
		tx, err := db.Begin(false)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		return tx.ID()
	}
	for _, c := range []struct {
		name   string
		create func(p *apitype.ResponseCreateParams) (*apitype.Response, error)
		want   int
	}{
		{"foreground", func(p *apitype.ResponseCreateParams) (*apitype.Response, error) { return e.Responses.Create(ctx, p) }, 1},
		{"streamed", func(p *apitype.ResponseCreateParams) (*apitype.Response, error) {
			var last *apitype.Response
			for ev, err := range e.Responses.CreateStream(ctx, p) {
				if err != nil {
					return nil, err
				}
				last = ev.Response
			}
			return last, nil
		}, 2},
		{"background", func(p *apitype.ResponseCreateParams) (*apitype.Response, error) {
			p.Background = apitype.Ptr(true)
			r, err := e.Responses.Create(ctx, p)
			if err != nil {
				return nil, err
			}
			return awaitResponse(ctx, e, r.ID)
		}, 3},
	} {
		before := txID()
		r, err := c.create(respParams("Solve 3x + 11 = 14"))
		if err != nil || r.Status != apitype.ResponseCompleted {
			t.Fatalf("%s: %v %+v", c.name, err, r)
		}
		if n := txID() - before; n != c.want {
			t.Fatalf("%s: %d write transactions, want %d", c.name, n, c.want)
		}
		// Stored whole, however many commits it took.
		got, err := e.Responses.Retrieve(ctx, r.ID, apitype.ResponseRetrieveParams{})
		if err != nil || got.Status != apitype.ResponseCompleted || got.OutputText() != "x = 1" {
			t.Fatalf("%s: retrieve %+v %v", c.name, got, err)
		}
		items, err := e.Responses.InputItems(ctx, r.ID, apitype.InputItemListParams{})
		if err != nil || len(items.Data) != 1 || items.Data[0].Message.Text() != "Solve 3x + 11 = 14" {
			t.Fatalf("%s: input items %+v %v", c.name, items, err)
		}
	}
}
