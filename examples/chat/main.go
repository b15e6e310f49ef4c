// Chat is a console chat with an assistant on one thread. It streams: text
// and tool-call deltas print as they come (the SDK event handler's
// on_text_delta and on_tool_call_delta); -stream=false prints each answer
// whole once its run ends.
//
//	go run ./examples/chat
//	go run ./examples/chat -stream=false
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/examples/internal/backend"
	"github.com/hearth-go/hearth/examples/internal/sandbox"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
)

func main() {
	stream := flag.Bool("stream", true, "print deltas as they arrive (-stream=false: each answer whole)")
	db := flag.String("db", "", "database file (default: a new temporary file); reuse it to keep the conversation")
	flag.Parse()
	if err := run(context.Background(), os.Stdin, os.Stdout, *db, *stream); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, in io.Reader, out io.Writer, db string, stream bool) error {
	b := backend.Pick(out)
	if m, ok := b.Model.(*scripted.Model); ok {
		// The scripted tutor runs code for questions with numbers in them.
		m.Fallback = func(r *llm.Request) scripted.Turn {
			q := scripted.LastUser(r)
			if res, ok := scripted.LastToolResult(r); ok {
				return scripted.Turn{Text: "The code printed: " + strings.TrimSpace(res)}
			}
			if expr := arithmetic(q); expr != "" {
				return scripted.Turn{StreamArguments: true, Calls: []scripted.Call{{Name: "code_interpreter",
					Arguments: fmt.Sprintf(`{"code":%q}`, "print("+expr+")")}}}
			}
			return scripted.Turn{Text: "You said: " + q}
		}
	}
	if db == "" {
		dir, err := os.MkdirTemp("", "hearth-chat")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		db = filepath.Join(dir, "hearth.db")
	}
	sb, err := sandbox.Start(out)
	if err != nil {
		return err
	}
	defer sb.Close()
	e, err := engine.Open(ctx, engine.Config{Path: db, Model: b.Model, CodeInterpreter: sb, Logger: backend.Logger()})
	if err != nil {
		return err
	}
	defer e.Close()
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: b.Name, Name: apitype.Ptr("Chat"),
		Tools: []apitype.Tool{{Type: apitype.ToolTypeCodeInterpreter}}})
	if err != nil {
		return err
	}
	th, err := e.Threads.Create(ctx, apitype.ThreadCreateParams{})
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	for fmt.Fprint(out, "you > "); sc.Scan(); fmt.Fprint(out, "you > ") {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if _, err := e.Messages.Create(ctx, th.ID, apitype.MessageCreateParams{Role: apitype.RoleUser, Content: apitype.TextInput(line)}); err != nil {
			return err
		}
		p := apitype.RunCreateParams{AssistantID: a.ID}
		if !stream {
			r, err := e.Runs.CreateAndWait(ctx, th.ID, p)
			if err != nil {
				return err
			}
			page, err := e.Messages.List(ctx, th.ID, apitype.MessageListParams{RunID: r.ID, ListParams: apitype.ListParams{Order: apitype.OrderAsc}})
			if err != nil {
				return err
			}
			for _, m := range page.Data {
				fmt.Fprintf(out, "assistant > %s\n", m.Text())
			}
			continue
		}
		for ev, err := range e.Runs.CreateStream(ctx, th.ID, p) {
			if err != nil {
				return err
			}
			printEvent(out, ev)
		}
		fmt.Fprintln(out)
	}
	return sc.Err()
}

// printEvent mirrors the SDK event handler of the seeds.
func printEvent(out io.Writer, ev apitype.Event) {
	switch ev.Event {
	case apitype.EventMessageCreated:
		fmt.Fprint(out, "\nassistant > ") // on_text_created
	case apitype.EventMessageDelta:
		for _, c := range ev.MessageDelta.Delta.Content {
			if c.Text != nil {
				fmt.Fprint(out, c.Text.Value) // on_text_delta
			}
		}
	case apitype.EventRunStepDelta:
		for _, c := range ev.StepDelta.Delta.StepDetails.ToolCalls { // on_tool_call_delta
			if c.Type != "" {
				fmt.Fprintf(out, "\nassistant > %s\n", c.Type) // on_tool_call_created
			}
			if ci := c.CodeInterpreter; ci != nil {
				fmt.Fprint(out, ci.Input)
				if len(ci.Outputs) > 0 {
					fmt.Fprint(out, "\n\noutput >")
				}
				for _, o := range ci.Outputs {
					if o.Type == "logs" {
						fmt.Fprintf(out, "\n%s", o.Logs)
					}
				}
			}
			if f := c.Function; f != nil {
				fmt.Fprint(out, f.Name, f.Arguments)
			}
		}
	case apitype.EventRunFailed:
		fmt.Fprintf(out, "\nrun failed: %s", ev.Run.LastError.Message)
	}
}

// arithmetic keeps the arithmetic of a question ("what is 2+3?" → "2+3").
func arithmetic(q string) string {
	expr := strings.TrimSpace(strings.Map(func(r rune) rune {
		if strings.ContainsRune("0123456789+-*/(). ", r) {
			return r
		}
		return -1
	}, q))
	if !strings.ContainsAny(expr, "0123456789") {
		return ""
	}
	return strings.Trim(expr, ". ")
}
