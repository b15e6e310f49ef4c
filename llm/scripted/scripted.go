package scripted

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hearth-go/hearth/llm"
)

// ErrScriptExhausted is returned when a request arrives and no turn is left
// (and the Model has no Fallback).
var ErrScriptExhausted = errors.New("scripted: no turn left in the script")

// Call is a tool call a turn makes.
type Call struct {
	ID        string // optional; the engine assigns one when empty
	Name      string
	Arguments string // a JSON object
}

// Turn is one reply.
type Turn struct {
	// Match, when set, must accept the request for the turn to be used;
	// turns that do not match are skipped over and stay in the script.
	Match func(*llm.Request) bool
	// Text is the answer, streamed in Pieces chunks (default: about four
	// characters a chunk, word aligned).
	Text   string
	Pieces int
	// Thinking is reasoning text streamed before the answer.
	Thinking string
	// Calls are tool calls, sent after the text; with StreamArguments their
	// arguments also stream as ToolCallDeltas first.
	Calls           []Call
	StreamArguments bool
	// Err ends the reply with this error after the text was streamed.
	Err error
	// Delay waits before the first chunk; ChunkDelay between chunks. Both
	// end early when the request's context is cancelled.
	Delay, ChunkDelay time.Duration
	// Block waits until the request's context is cancelled, after the text.
	Block bool
	// Hold, when set, pauses the turn after its text until the test calls
	// Hold.Release (or the request's context ends): the test knows the call
	// is in flight, with its text consumed, when Hold.Wait returns.
	Hold *Hold
	// Usage is reported on the last chunk; when nil the model estimates
	// prompt tokens as characters/4 and completion tokens as pieces sent.
	Usage *llm.Usage
	// FinishReason overrides the reason on the last chunk.
	FinishReason string
}

// Model replays turns in order. Its zero value answers every request with
// ErrScriptExhausted; it is safe for concurrent use.
type Model struct {
	mu       sync.Mutex
	turns    []Turn
	requests []llm.Request // the newest KeepRequests (or every one with RecordAll)
	received int           // requests ever received
	arrived  chan struct{} // closed and replaced at every request (WaitRequests)
	// Fallback answers requests when no turn matches (e.g. an echo); nil means
	// ErrScriptExhausted.
	Fallback func(*llm.Request) Turn
	// KeepRequests bounds the record Requests returns to the newest this many
	// (DefaultKeepRequests when 0), so a long-running model does not grow by
	// a request per turn; negative keeps none, for a model nobody inspects
	// (`hearth serve --model-backend scripted`), whose requests grow with
	// its threads up to the context window.
	KeepRequests int
	// RecordAll keeps every request instead, for tests that inspect a long
	// history.
	RecordAll bool
}

// DefaultKeepRequests is how many recent requests a Model keeps when
// KeepRequests is 0: enough for any test's conversation, bounded for a server.
const DefaultKeepRequests = 256

// New returns a model that replays turns.
func New(turns ...Turn) *Model { return &Model{turns: turns} }

// Echo returns a model that answers every request with "You said: <last user message>".
func Echo() *Model {
	return &Model{Fallback: func(r *llm.Request) Turn {
		return Turn{Text: "You said: " + LastUser(r)}
	}}
}

// Add appends turns to the script.
func (m *Model) Add(turns ...Turn) {
	m.mu.Lock()
	m.turns = append(m.turns, turns...)
	m.mu.Unlock()
}

// Requests returns a copy of the requests received, oldest first: every one
// with RecordAll, otherwise the newest KeepRequests.
func (m *Model) Requests() []llm.Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]llm.Request(nil), m.requests...)
}

// Received is how many requests the model has answered or refused, whether
// or not Requests still holds them.
func (m *Model) Received() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.received
}

// WaitRequests waits until the model has received at least n requests, or
// ctx ends: a test synchronises on the model call being in flight this way
// rather than sleeping.
func (m *Model) WaitRequests(ctx context.Context, n int) error {
	for {
		m.mu.Lock()
		if m.received >= n {
			m.mu.Unlock()
			return nil
		}
		if m.arrived == nil {
			m.arrived = make(chan struct{})
		}
		arrived, got := m.arrived, m.received
		m.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return fmt.Errorf("scripted: %d requests received, waiting for %d: %w", got, n, context.Cause(ctx))
		}
	}
}

func (m *Model) keep() int {
	switch {
	case m.RecordAll:
		return 0
	case m.KeepRequests != 0:
		return m.KeepRequests
	}
	return DefaultKeepRequests
}

// Remaining is how many turns are left.
func (m *Model) Remaining() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.turns)
}

func (m *Model) next(req *llm.Request) (Turn, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.received++
	if m.arrived != nil {
		close(m.arrived)
		m.arrived = nil
	}
	if keep := m.keep(); keep >= 0 {
		m.requests = append(m.requests, cloneRequest(req))
	}
	if keep := m.keep(); keep > 0 && len(m.requests) > keep {
		// Copy down rather than reslice so the dropped requests are freed.
		n := copy(m.requests, m.requests[len(m.requests)-keep:])
		clear(m.requests[n:])
		m.requests = m.requests[:n]
	}
	for i, t := range m.turns {
		if t.Match == nil || t.Match(req) {
			m.turns = append(m.turns[:i:i], m.turns[i+1:]...)
			return t, nil
		}
	}
	if m.Fallback != nil {
		return m.Fallback(req), nil
	}
	return Turn{}, fmt.Errorf("%w (request %d)", ErrScriptExhausted, m.received)
}

// Chat implements llm.Model.
func (m *Model) Chat(ctx context.Context, req *llm.Request) iter.Seq2[llm.Chunk, error] {
	return func(yield func(llm.Chunk, error) bool) {
		t, err := m.next(req)
		if err != nil {
			yield(llm.Chunk{}, err)
			return
		}
		if err := sleep(ctx, t.Delay); err != nil {
			yield(llm.Chunk{}, err)
			return
		}
		sent := 0
		emit := func(c llm.Chunk) bool {
			if sent > 0 {
				if err := sleep(ctx, t.ChunkDelay); err != nil {
					yield(llm.Chunk{}, err)
					return false
				}
			}
			if err := ctx.Err(); err != nil {
				yield(llm.Chunk{}, err)
				return false
			}
			sent++
			return yield(c, nil)
		}
		for _, p := range Split(t.Thinking, 0) {
			if !emit(llm.Chunk{Thinking: p}) {
				return
			}
		}
		for _, p := range Split(t.Text, t.Pieces) {
			if !emit(llm.Chunk{Text: p}) {
				return
			}
		}
		if t.Hold != nil {
			t.Hold.reach()
			select {
			case <-t.Hold.released:
			case <-ctx.Done():
				yield(llm.Chunk{}, ctx.Err())
				return
			}
		}
		if t.Block {
			<-ctx.Done()
			yield(llm.Chunk{}, ctx.Err())
			return
		}
		if t.Err != nil {
			yield(llm.Chunk{}, t.Err)
			return
		}
		var calls []llm.ToolCall
		for i, c := range t.Calls {
			args := c.Arguments
			if args == "" {
				args = "{}"
			}
			if t.StreamArguments {
				if !emit(llm.Chunk{ToolCallDeltas: []llm.ToolCallDelta{{Index: i, ID: c.ID, Name: c.Name}}}) {
					return
				}
				for _, p := range Split(args, 0) {
					if !emit(llm.Chunk{ToolCallDeltas: []llm.ToolCallDelta{{Index: i, ArgumentsDelta: p}}}) {
						return
					}
				}
			}
			calls = append(calls, llm.ToolCall{ID: c.ID, Name: c.Name, Arguments: json.RawMessage(args)})
		}
		last := llm.Chunk{ToolCalls: calls, FinishReason: llm.FinishStop}
		if len(calls) > 0 {
			last.FinishReason = llm.FinishToolCalls
		}
		if t.FinishReason != "" {
			last.FinishReason = t.FinishReason
		}
		if t.Usage != nil {
			u := *t.Usage
			last.Usage = &u
		} else {
			last.Usage = &llm.Usage{PromptTokens: estimate(req), CompletionTokens: max(sent, 1)}
		}
		emit(last)
	}
}

// Hold pauses a turn (Turn.Hold) until it is released, so a test can act
// while a model call is in flight — cancel it, crash, read the run — and
// then let it finish. Make one with NewHold; a Hold serves one turn.
type Hold struct {
	reached, released  chan struct{}
	reachOnce, relOnce sync.Once
}

// NewHold returns a Hold not yet reached nor released.
func NewHold() *Hold {
	return &Hold{reached: make(chan struct{}), released: make(chan struct{})}
}

// Reached is closed when the turn has streamed its text and pauses.
func (h *Hold) Reached() <-chan struct{} { return h.reached }

// Wait waits until the turn reaches the hold, or ctx ends.
func (h *Hold) Wait(ctx context.Context) error {
	select {
	case <-h.reached:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("scripted: the held turn was not reached: %w", context.Cause(ctx))
	}
}

// Release lets the held turn go on; it may be called before the turn is
// reached, and more than once.
func (h *Hold) Release() { h.relOnce.Do(func() { close(h.released) }) }

func (h *Hold) reach() { h.reachOnce.Do(func() { close(h.reached) }) }

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Split cuts s into n pieces on word boundaries where it can (n ≤ 0: about
// four characters a piece). Pieces concatenate back to s.
func Split(s string, n int) []string {
	if s == "" {
		return nil
	}
	if n <= 0 {
		n = max(1, (utf8.RuneCountInString(s)+3)/4)
	}
	size := max(1, (len(s)+n-1)/n)
	var out []string
	for len(s) > 0 {
		if len(out) == n-1 || len(s) <= size {
			out = append(out, s)
			break
		}
		cut := size
		if sp := strings.LastIndexByte(s[:cut], ' '); sp > 0 {
			cut = sp
		}
		for cut < len(s) && !utf8.RuneStart(s[cut]) {
			cut++
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return out
}

func estimate(req *llm.Request) int {
	n := 0
	for _, m := range req.Messages {
		n += len(m.Content)/4 + 4
	}
	return n
}

// LastUser returns the content of the last user message of a request.
func LastUser(req *llm.Request) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == llm.RoleUser {
			return req.Messages[i].Content
		}
	}
	return ""
}

// LastToolResult returns the content of the last tool message of a request.
func LastToolResult(req *llm.Request) (string, bool) {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		switch req.Messages[i].Role {
		case llm.RoleTool:
			return req.Messages[i].Content, true
		case llm.RoleUser:
			return "", false
		}
	}
	return "", false
}

// HasToolResult matches requests whose last message is a tool result.
func HasToolResult(req *llm.Request) bool {
	_, ok := LastToolResult(req)
	return ok
}

func cloneRequest(r *llm.Request) llm.Request {
	c := *r
	c.Messages = append([]llm.Message(nil), r.Messages...)
	c.Tools = append([]llm.Tool(nil), r.Tools...)
	return c
}
