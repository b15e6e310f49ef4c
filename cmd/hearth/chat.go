package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/hearth-go/hearth/apitype"
)

// chat is `hearth chat`: a terminal chat with an assistant, through the /v1
// API of a running server (--server) or of an engine opened in-process
// (--db). It streams the answer, shows tool calls (code and its output as
// they run), and answers requires_action from a --functions file of canned
// outputs or by asking. Ctrl-C cancels the run in progress; a second Ctrl-C,
// or one at the prompt, leaves; so does EOF or /quit.
func (a *app) chat(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	cf := a.addClientFlags(fs)
	assistantID := fs.String("assistant", "", "chat with this assistant (default: create one from --model, --instructions, --tools)")
	model := fs.String("model", a.env("HEARTH_DEFAULT_MODEL", ""), "model of a new assistant (default: the server's first model; env HEARTH_DEFAULT_MODEL)")
	instructions := fs.String("instructions", "", "instructions of a new assistant")
	tools := fs.String("tools", "", "tools of a new assistant, comma-separated: code_interpreter, file_search")
	threadID := fs.String("thread", "", "resume this thread (default: a new one, whose id is printed)")
	functions := fs.String("functions", "", `JSON file of functions: {"name": "canned output"} or {"name": {"description", "parameters", "output"}}; their calls are answered from it, others are asked for`)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	fns, err := loadFunctions(*functions)
	if err != nil {
		return err
	}
	c, err := a.open(ctx, cf)
	if err != nil {
		return err
	}
	defer c.Close()
	s := &chatSession{c: c, out: &lockedWriter{w: a.stdout}, fns: fns, lines: readLines(a.stdin)}

	var asst apitype.Assistant
	if *assistantID != "" {
		err = c.do(ctx, http.MethodGet, "/assistants/"+url.PathEscape(*assistantID), nil, &asst)
	} else {
		asst, err = s.newAssistant(ctx, *model, *instructions, *tools)
	}
	if err != nil {
		return err
	}
	var thread apitype.Thread
	if *threadID != "" {
		err = c.do(ctx, http.MethodGet, "/threads/"+url.PathEscape(*threadID), nil, &thread)
	} else {
		err = c.do(ctx, http.MethodPost, "/threads", map[string]any{"metadata": map[string]string{"source": "hearth chat"}}, &thread)
	}
	if err != nil {
		return err
	}
	s.asst, s.thread = asst, thread.ID
	s.printf("assistant %s (%s) · thread %s (resume with --thread %s)\nCtrl-C cancels a run; Ctrl-C again, /quit or EOF leaves.\n", asst.ID, asst.Model, thread.ID, thread.ID)

	for {
		s.printf("> ")
		var line string
		select {
		case l, ok := <-s.lines:
			if !ok {
				s.printf("\n")
				return nil
			}
			line = strings.TrimSpace(l)
		case <-a.interrupts:
			s.printf("\n")
			return nil
		case <-ctx.Done():
			return nil
		}
		switch line {
		case "":
			continue
		case "/quit", "/exit":
			return nil
		}
		if leave := s.turn(ctx, line, a.interrupts); leave {
			return nil
		}
	}
}

// chatSession is one chat's state.
type chatSession struct {
	c      *client
	out    *lockedWriter
	fns    map[string]cannedFunction
	lines  <-chan string
	asst   apitype.Assistant
	thread string

	mu  sync.Mutex
	run string // the run streaming now
}

func (s *chatSession) printf(format string, args ...any) { fmt.Fprintf(s.out, format, args...) }

// turn sends one message and streams the run it starts. It reports whether
// the user asked to leave (a second Ctrl-C while the run was going).
func (s *chatSession) turn(ctx context.Context, text string, interrupts <-chan os.Signal) (leave bool) {
	if err := s.c.do(ctx, http.MethodPost, "/threads/"+s.thread+"/messages", map[string]any{"role": "user", "content": text}, nil); err != nil {
		s.printf("error: %v\n", err)
		return false
	}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	abandon := make(chan struct{}) // closed at the first Ctrl-C: no more questions
	done := make(chan error, 1)
	go func() {
		done <- s.follow(runCtx, "/threads/"+s.thread+"/runs", map[string]any{"assistant_id": s.asst.ID, "stream": true}, abandon)
	}()
	interrupted := false
	for {
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				s.printf("\nerror: %v\n", err)
			}
			return leave
		case <-interrupts:
			if interrupted {
				s.printf("\nleaving\n")
				stopRun()
				leave = true
				continue
			}
			interrupted = true
			close(abandon)
			s.mu.Lock()
			run := s.run
			s.mu.Unlock()
			s.printf("\n^C cancelling the run (Ctrl-C again leaves)\n")
			if run == "" {
				stopRun()
				continue
			}
			if err := s.c.do(ctx, http.MethodPost, "/threads/"+s.thread+"/runs/"+run+"/cancel", map[string]any{}, nil); err != nil {
				s.printf("cancel: %v\n", err)
			}
		case <-ctx.Done():
			stopRun()
			<-done
			return true
		}
	}
}

// follow prints a run's events as they come, and answers requires_action
// (from --functions, or by asking) with a streamed submit.
func (s *chatSession) follow(ctx context.Context, path string, body any, abandon <-chan struct{}) error {
	calls := map[string]*toolShown{} // by step id + index
	for ev, err := range s.c.stream(ctx, path, body) {
		if err != nil {
			return err
		}
		switch {
		case ev.event == "thread.message.delta":
			var d apitype.MessageDeltaEvent
			if json.Unmarshal(ev.data, &d) == nil {
				for _, part := range d.Delta.Content {
					if part.Text != nil {
						s.printf("%s", part.Text.Value)
					}
				}
			}
		case ev.event == "thread.message.completed":
			var m apitype.Message
			if json.Unmarshal(ev.data, &m) == nil {
				s.printf("\n")
				s.citations(ctx, m)
			}
		case ev.event == "thread.run.step.delta":
			var d apitype.RunStepDeltaEvent
			if json.Unmarshal(ev.data, &d) == nil {
				for _, tc := range d.Delta.StepDetails.ToolCalls {
					s.showDelta(calls, d.ID, tc)
				}
			}
		case ev.event == "thread.run.step.completed":
			var st apitype.RunStep
			if json.Unmarshal(ev.data, &st) == nil && st.StepDetails.Type == apitype.StepType("tool_calls") {
				s.printf("\n")
			}
		case strings.HasPrefix(ev.event, "thread.run.") && !strings.HasPrefix(ev.event, "thread.run.step."):
			var r apitype.Run
			if err := json.Unmarshal(ev.data, &r); err != nil {
				return err
			}
			s.mu.Lock()
			s.run = r.ID
			s.mu.Unlock()
			switch r.Status {
			case "requires_action":
				return s.submit(ctx, r, abandon)
			case "failed":
				msg := "unknown"
				if r.LastError != nil {
					msg = r.LastError.Code + ": " + r.LastError.Message
				}
				s.printf("\n[run failed: %s]\n", msg)
			case "cancelled":
				s.printf("[run cancelled]\n")
			case "expired":
				s.printf("\n[run expired]\n")
			case "incomplete":
				reason := ""
				if r.IncompleteDetails != nil {
					reason = r.IncompleteDetails.Reason
				}
				s.printf("\n[run incomplete: %s]\n", reason)
			}
		case ev.event == "error":
			s.printf("\n[error: %s]\n", ev.data)
		}
	}
	return nil
}

// toolShown is a tool call being printed.
type toolShown struct {
	typ        apitype.ToolType
	sawOutputs int
}

func (s *chatSession) showDelta(calls map[string]*toolShown, step string, tc apitype.ToolCallDelta) {
	key := fmt.Sprintf("%s/%d", step, tc.Index)
	t := calls[key]
	if t == nil {
		t = &toolShown{typ: tc.Type}
		calls[key] = t
		switch tc.Type {
		case "code_interpreter":
			s.printf("\n[code_interpreter]\n")
		case "file_search":
			s.printf("\n[file_search]")
		case "function":
			name := ""
			if tc.Function != nil {
				name = tc.Function.Name
			}
			s.printf("\n[function %s] ", name)
		}
	}
	if ci := tc.CodeInterpreter; ci != nil {
		s.printf("%s", ci.Input)
		for _, o := range ci.Outputs {
			switch o.Type {
			case "logs":
				s.printf("\n[output]\n%s", strings.TrimRight(o.Logs, "\n"))
			case "image":
				if o.Image != nil {
					s.printf("\n[image %s]", o.Image.FileID)
				}
			}
		}
	}
	if f := tc.Function; f != nil {
		s.printf("%s", f.Arguments)
	}
}

// citations lists the files a message cites, by name.
func (s *chatSession) citations(ctx context.Context, m apitype.Message) {
	n := 0
	for _, part := range m.Content {
		if part.Text == nil {
			continue
		}
		for _, an := range part.Text.Annotations {
			if an.FileCitation == nil {
				continue
			}
			n++
			name := an.FileCitation.FileID
			var f apitype.File
			if s.c.do(ctx, http.MethodGet, "/files/"+url.PathEscape(name), nil, &f) == nil {
				name = f.Filename
			}
			s.printf("  [%d] %s %s\n", n, an.Text, name)
		}
	}
}

// submit answers each pending function call and streams the rest of the run.
func (s *chatSession) submit(ctx context.Context, r apitype.Run, abandon <-chan struct{}) error {
	var outs []map[string]string
	for _, call := range r.RequiredAction.SubmitToolOutputs.ToolCalls {
		s.printf("\n[requires_action] %s(%s)\n", call.Function.Name, call.Function.Arguments)
		var out string
		if fn, ok := s.fns[call.Function.Name]; ok && fn.Output != nil {
			out = *fn.Output
			s.printf("output (from --functions): %s\n", out)
		} else {
			s.printf("output for %s> ", call.Function.Name)
			select {
			case l, ok := <-s.lines:
				if !ok {
					return io.EOF
				}
				out = strings.TrimSpace(l)
			case <-abandon:
				s.printf("[run cancelled]\n") // turn asks the server to cancel it
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		outs = append(outs, map[string]string{"tool_call_id": call.ID, "output": out})
	}
	return s.follow(ctx, "/threads/"+s.thread+"/runs/"+r.ID+"/submit_tool_outputs",
		map[string]any{"tool_outputs": outs, "stream": true}, abandon)
}

// newAssistant creates the chat's assistant.
func (s *chatSession) newAssistant(ctx context.Context, model, instructions, tools string) (apitype.Assistant, error) {
	var asst apitype.Assistant
	if model == "" {
		var ms struct {
			Data []struct{ ID string } `json:"data"`
		}
		if err := s.c.do(ctx, http.MethodGet, "/models", nil, &ms); err != nil {
			return asst, err
		}
		if len(ms.Data) == 0 {
			return asst, errors.New("the server lists no model: give --model")
		}
		model = ms.Data[0].ID
	}
	var ts []map[string]any
	for _, t := range splitList(tools) {
		switch t {
		case "code_interpreter", "file_search":
			ts = append(ts, map[string]any{"type": t})
		default:
			return asst, fmt.Errorf("%w: --tools: %q is not code_interpreter or file_search (functions come from --functions)", errUsage, t)
		}
	}
	for _, name := range sortedKeys(s.fns) {
		fn := s.fns[name]
		def := map[string]any{"name": name}
		if fn.Description != "" {
			def["description"] = fn.Description
		}
		if len(fn.Parameters) > 0 {
			def["parameters"] = fn.Parameters
		}
		ts = append(ts, map[string]any{"type": "function", "function": def})
	}
	body := map[string]any{"model": model, "name": "hearth chat", "tools": ts}
	if instructions != "" {
		body["instructions"] = instructions
	}
	err := s.c.do(ctx, http.MethodPost, "/assistants", body, &asst)
	return asst, err
}

// cannedFunction is one entry of a --functions file.
type cannedFunction struct {
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Output      *string         `json:"output"`
}

func loadFunctions(path string) (map[string]cannedFunction, error) {
	out := map[string]cannedFunction{}
	if path == "" {
		return out, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--functions: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("--functions %s: not a JSON object: %w", path, err)
	}
	for name, v := range raw {
		var fn cannedFunction
		var s string
		if json.Unmarshal(v, &s) == nil {
			fn.Output = &s
		} else if err := json.Unmarshal(v, &fn); err != nil {
			return nil, fmt.Errorf("--functions %s: %s: want a string or {description, parameters, output}: %w", path, name, err)
		}
		out[name] = fn
	}
	return out, nil
}

// readLines delivers r's lines; the channel closes at EOF. Its goroutine
// ends with r (a terminal's stdin ends with the process).
func readLines(r io.Reader) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}

// lockedWriter lets the run's printer and the Ctrl-C handler share stdout.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
