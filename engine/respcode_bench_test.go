package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

// BenchmarkCodeInterpreterResponse times a code interpreter response (the
// model calls code_interpreter, the sandbox runs print(6 * 7), the model
// answers) beside the same Assistants run, in alternating blocks of one
// loop (the ratio is the figure), on one engine and one WASI sandbox:
//
//   - warm: the session is live. The response names one container (its
//     state is the container's; no previous_response_id); the run is one
//     more message and run on one thread, truncated to its last message, so
//     neither reads a growing history (a previous_response_id chain costs
//     what the Responses core's history costs, benchmarked with it).
//
//   - chain: the session is live and both read a growing history: the
//     response continues the previous one (previous_response_id, an auto
//     container reused from it), the run is one more message and run on
//     one thread; both truncate to the window (auto), as a run does by
//     default.
//
//   - fresh: each starts a session: an auto container per response, a new
//     thread per run (each deleted, untimed, so sessions do not pile up).
//
//     go test ./engine -run '^$' -bench CodeInterpreterResponse -benchtime 40x -count 5
func BenchmarkCodeInterpreterResponse(b *testing.B) {
	sb := realSandbox(b)
	defer sb.Close()
	ctx := context.Background()
	m := &scripted.Model{KeepRequests: -1, Fallback: func(r *llm.Request) scripted.Turn {
		if scripted.HasToolResult(r) {
			return scripted.Turn{Text: "It printed 42."}
		}
		return scripted.Turn{Calls: []scripted.Call{{Name: "code_interpreter", Arguments: `{"code":"print(6 * 7)"}`}}}
	}}
	e := openEngine(b, m, func(c *engine.Config) { c.CodeInterpreter = sb })
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "m", Tools: []apitype.Tool{{Type: apitype.ToolTypeCodeInterpreter}}})
	if err != nil {
		b.Fatal(err)
	}
	run := func(threadID string, last *int) {
		if _, err := e.Messages.Create(ctx, threadID, apitype.MessageCreateParams{Role: apitype.RoleUser, Content: apitype.TextInput("What is 6 * 7?")}); err != nil {
			b.Fatal(err)
		}
		p := apitype.RunCreateParams{AssistantID: a.ID}
		if last != nil {
			p.TruncationStrategy = &apitype.TruncationStrategy{Type: apitype.TruncationLastMessages, LastMessages: last}
		}
		r, err := e.Runs.CreateAndWait(ctx, threadID, p)
		if err != nil || r.Status != apitype.RunCompleted {
			b.Fatal(r, err)
		}
	}
	respond := func(tool *apitype.ToolContainer, prev *string) *apitype.Response {
		p := respParams("What is 6 * 7?")
		p.Model, p.PreviousResponseID = "m", prev
		if prev != nil {
			p.Truncation = apitype.Ptr(apitype.TruncationAuto) // as the run's default: fit the window
		}
		p.Tools = []apitype.ResponseTool{codeTool(tool)}
		r, err := e.Responses.Create(ctx, p)
		if err != nil || r.Status != apitype.ResponseCompleted || r.Output[0].CodeInterpreterCall == nil ||
			r.Output[0].CodeInterpreterCall.Status != apitype.ItemCompleted {
			b.Fatal(r, err)
		}
		return r
	}
	warmThread := mustThread(b, e, "start")
	c, err := e.Containers.Create(ctx, apitype.ContainerCreateParams{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	warmTool := &apitype.ToolContainer{ID: c.ID}
	one := apitype.Ptr(1)
	run(warmThread.ID, one) // both sessions live before timing
	respond(warmTool, nil)
	chainThread := mustThread(b, e, "start")
	run(chainThread.ID, nil)
	prev := respond(autoContainer(), nil).ID
	ops := []struct {
		name        string
		floor, work func() time.Duration
	}{
		{"warm", func() time.Duration {
			start := time.Now()
			run(warmThread.ID, one)
			return time.Since(start)
		}, func() time.Duration {
			start := time.Now()
			respond(warmTool, nil)
			return time.Since(start)
		}},
		{"chain", func() time.Duration {
			start := time.Now()
			run(chainThread.ID, nil)
			return time.Since(start)
		}, func() time.Duration {
			start := time.Now()
			r := respond(autoContainer(), &prev)
			d := time.Since(start)
			prev = r.ID
			return d
		}},
		{"fresh", func() time.Duration {
			th := mustThread(b, e, "start")
			start := time.Now()
			run(th.ID, nil)
			d := time.Since(start)
			if _, err := e.Threads.Delete(ctx, th.ID); err != nil {
				b.Fatal(err)
			}
			return d
		}, func() time.Duration {
			start := time.Now()
			r := respond(autoContainer(), nil)
			d := time.Since(start)
			if _, err := e.Containers.Delete(ctx, r.Output[0].CodeInterpreterCall.ContainerID); err != nil {
				b.Fatal(err)
			}
			return d
		}},
	}
	for _, op := range ops {
		b.Run(op.name, func(b *testing.B) {
			const block = 4
			var floor, spent time.Duration
			for b.Loop() {
				for range block {
					floor += op.floor()
				}
				for range block {
					spent += op.work()
				}
			}
			n := float64(b.N * block)
			b.ReportMetric(float64(floor)/n, "run-ns/op")
			b.ReportMetric(float64(spent)/n, "response-ns/op")
			b.ReportMetric(float64(spent)/float64(floor), "x-run")
		})
	}
}
