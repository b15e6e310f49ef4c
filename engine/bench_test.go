package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
	bolt "go.etcd.io/bbolt"
)

// lastTxID is the id of the newest committed write transaction: each commit
// increments it, so its growth counts write transactions.
func lastTxID(b *testing.B, db *bolt.DB) int {
	tx, err := db.Begin(false)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	return tx.ID()
}

// BenchmarkOneStepRun compares a one-step run (create → completed, with the
// scripted model) to the floor: the same number of raw bbolt write
// transactions storing equivalent JSON records. It reports the write
// transactions each run commits (writetx/run).
func BenchmarkOneStepRun(b *testing.B) {
	for _, sync := range []bool{true, false} {
		name := "sync=on"
		if !sync {
			name = "sync=off"
		}
		b.Run(name+"/engine", func(b *testing.B) { benchEngineRun(b, !sync) })
		b.Run(name+"/floor", func(b *testing.B) { benchFloor(b, !sync) })
	}
}

func benchEngineRun(b *testing.B, noSync bool) {
	ctx := context.Background()
	e, err := engine.Open(ctx, engine.Config{Path: filepath.Join(b.TempDir(), "hearth.db"), NoSync: noSync,
		Model: &scripted.Model{Fallback: func(*llm.Request) scripted.Turn { return scripted.Turn{Text: "x = 1", Pieces: 1} }}})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	a := mustAssistant(b, e)
	// A thread per run, made beforehand, so history does not grow and only
	// the run's own transactions are counted.
	ths := make([]string, b.N)
	for i := range ths {
		ths[i] = mustThread(b, e, "Solve 3x + 11 = 14").ID
	}
	db := e.Store().DB()
	tx0 := lastTxID(b, db)
	b.ResetTimer()
	for i := range b.N {
		r, err := e.Runs.CreateAndWait(ctx, ths[i], apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil || r.Status != apitype.RunCompleted {
			b.Fatalf("%v %+v", err, r)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(lastTxID(b, db)-tx0)/float64(b.N), "writetx/run")
}

// benchFloor writes what a one-step run stores, raw: the queued run with its
// two index entries; the run in progress; the step and the empty message;
// the completed message, step and run. Four transactions, as the engine's
// target.
func benchFloor(b *testing.B, noSync bool) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "floor.db"), 0o600, &bolt.Options{NoSync: noSync, FreelistType: bolt.FreelistMapType})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	names := []string{"threads", "runs", "steps", "messages", "active", "live"}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, n := range names {
			if _, err := tx.CreateBucketIfNotExists([]byte(n)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().Unix()
	put := func(tx *bolt.Tx, bucket, key string, v any) error {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return tx.Bucket([]byte(bucket)).Put([]byte(key), data)
	}
	// The threads and their messages exist beforehand, as in benchEngineRun.
	for i := range b.N {
		th := fmt.Sprintf("thread_%08d", i)
		err := db.Update(func(tx *bolt.Tx) error {
			if err := put(tx, "threads", th, &apitype.Thread{ID: th, Object: apitype.ObjectThread, CreatedAt: now, Metadata: apitype.Metadata{}}); err != nil {
				return err
			}
			return put(tx, "messages", "msg_q_"+th, &apitype.Message{ID: "msg_q_" + th, Object: apitype.ObjectMessage, ThreadID: th,
				Status: apitype.MessageCompleted, Role: apitype.RoleUser, Content: []apitype.MessageContent{{Type: apitype.ContentText,
					Text: &apitype.TextContent{Value: "Solve 3x + 11 = 14", Annotations: []apitype.Annotation{}}}}})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	tx0 := lastTxID(b, db)
	b.ResetTimer()
	for i := range b.N {
		th, id := fmt.Sprintf("thread_%08d", i), fmt.Sprintf("run_%08d", i)
		run := &apitype.Run{ID: id, Object: apitype.ObjectRun, CreatedAt: now, ThreadID: th, AssistantID: "asst_1",
			Status: apitype.RunQueued, Model: "test-model", Instructions: "Be brief.", Tools: []apitype.Tool{}, Metadata: apitype.Metadata{},
			TruncationStrategy: &apitype.TruncationStrategy{Type: apitype.TruncationAuto}, ToolChoice: &apitype.ToolChoice{Mode: "auto"},
			ResponseFormat: &apitype.ResponseFormat{Type: "auto"}}
		step := &apitype.RunStep{ID: "step_" + id, Object: apitype.ObjectRunStep, ThreadID: th, RunID: id, Type: apitype.StepMessageCreation,
			Status: apitype.StepInProgress, StepDetails: apitype.StepDetails{Type: apitype.StepMessageCreation,
				MessageCreation: &apitype.MessageCreation{MessageID: "msg_" + id}}}
		msg := &apitype.Message{ID: "msg_" + id, Object: apitype.ObjectMessage, ThreadID: th, Status: apitype.MessageInProgress,
			Role: apitype.RoleAssistant, Content: []apitype.MessageContent{}, RunID: &id}
		writes := []func(tx *bolt.Tx) error{
			func(tx *bolt.Tx) error {
				if err := tx.Bucket([]byte("active")).Put([]byte(th), []byte(id)); err != nil {
					return err
				}
				if err := tx.Bucket([]byte("live")).Put([]byte(id), []byte(th)); err != nil {
					return err
				}
				return put(tx, "runs", id, run)
			},
			func(tx *bolt.Tx) error {
				run.Status, run.StartedAt = apitype.RunInProgress, &now
				return put(tx, "runs", id, run)
			},
			func(tx *bolt.Tx) error {
				if err := put(tx, "steps", step.ID, step); err != nil {
					return err
				}
				return put(tx, "messages", msg.ID, msg)
			},
			func(tx *bolt.Tx) error {
				msg.Status, msg.Content = apitype.MessageCompleted, []apitype.MessageContent{{Type: apitype.ContentText,
					Text: &apitype.TextContent{Value: "x = 1", Annotations: []apitype.Annotation{}}}}
				step.Status, step.Usage = apitype.StepCompleted, &apitype.Usage{PromptTokens: 20, CompletionTokens: 1, TotalTokens: 21}
				run.Status, run.CompletedAt, run.Usage = apitype.RunCompleted, &now, step.Usage
				for _, err := range []error{put(tx, "messages", msg.ID, msg), put(tx, "steps", step.ID, step), put(tx, "runs", id, run),
					tx.Bucket([]byte("active")).Delete([]byte(th)), tx.Bucket([]byte("live")).Delete([]byte(id))} {
					if err != nil {
						return err
					}
				}
				return nil
			},
		}
		for _, w := range writes {
			if err := db.Update(w); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(lastTxID(b, db)-tx0)/float64(b.N), "writetx/run")
}

// BenchmarkCancelInFlight times Cancel → cancelled for a run whose model
// call is in flight (held): the latency TestCancelInFlightModelCall used to
// bound at 100 ms, measured here instead of asserted.
func BenchmarkCancelInFlight(b *testing.B) {
	ctx := context.Background()
	holds := make(chan *scripted.Hold, 1)
	m := &scripted.Model{Fallback: func(*llm.Request) scripted.Turn {
		h := scripted.NewHold()
		holds <- h
		return scripted.Turn{Text: "partial", Hold: h}
	}}
	e, err := engine.Open(ctx, engine.Config{Path: filepath.Join(b.TempDir(), "hearth.db"), Model: m, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	a := mustAssistant(b, e)
	ths := make([]string, b.N)
	for i := range ths {
		ths[i] = mustThread(b, e, "hi").ID
	}
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		r, err := e.Runs.Create(ctx, ths[i], apitype.RunCreateParams{AssistantID: a.ID})
		if err != nil {
			b.Fatal(err)
		}
		if err := (<-holds).Wait(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := e.Runs.Cancel(ctx, ths[i], r.ID); err != nil {
			b.Fatal(err)
		}
		if r, err := e.Runs.Wait(ctx, ths[i], r.ID); err != nil || r.Status != apitype.RunCancelled {
			b.Fatalf("%v %+v", err, r)
		}
	}
}
