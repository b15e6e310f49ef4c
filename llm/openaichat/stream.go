package openaichat

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// The stream is read here rather than by openai-go: measured beside a bare
// reader (BENCHMARKS.md), openai-go's ssestream and its per-chunk JSON field
// metadata cost several times the bare read, and its typed
// ChatCompletionChunk cannot hold the quirks this backend must tolerate
// (arguments sent as an object, reasoning_content, a missing index).

// Wire stream types.
type (
	streamChunk struct {
		Choices []streamChoice `json:"choices"`
		Usage   *wireUsage     `json:"usage"`
		Error   *struct {
			Message string `json:"message"`
			Type    string `json:"type"`
		} `json:"error"`
	}
	streamChoice struct {
		Index        int         `json:"index"`
		Delta        streamDelta `json:"delta"`
		FinishReason *string     `json:"finish_reason"`
	}
	streamDelta struct {
		Content          string          `json:"content"`
		ReasoningContent string          `json:"reasoning_content"`
		Reasoning        string          `json:"reasoning"`
		ToolCalls        []wireToolDelta `json:"tool_calls"`
	}
	wireToolDelta struct {
		Index    *int   `json:"index"`
		ID       string `json:"id"`
		Function struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		} `json:"function"`
	}
	wireUsage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	}
)

// maxLine bounds one SSE line.
const maxLine = 8 << 20

// cutError is a stream that broke, stalled or was not SSE.
type cutError struct {
	err       error
	timeout   bool
	malformed bool
}

func (e *cutError) Error() string { return "reading the reply stream: " + e.err.Error() }
func (e *cutError) Unwrap() error { return e.err }

var errIdle = errors.New("no data from the server within the idle timeout")

// postChat sends body and reads the stream into st. It returns nil once the
// last chunk was yielded, a *StatusError for an HTTP error, a *cutError when
// the stream breaks, stalls or is malformed, errStopped when the consumer
// stopped, and transport errors as they are.
func (c *Client) postChat(ctx context.Context, body []byte, st *reply) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := c.newRequest(ctx, http.MethodPost, c.chatURL, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.hc.Do(req)
	if err != nil {
		if isTimeout(err) && ctx.Err() == nil {
			return &explained{msg: fmt.Sprintf("no response headers within %v", c.cfg.HeaderTimeout), chain: []error{ErrTimeout, err}}
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return readStatus(resp)
	}
	// The idle bound: a timer the reader pushes back on every line; when it
	// fires it cancels the request, which unblocks the read.
	var idle atomic.Bool
	timer := time.AfterFunc(c.cfg.IdleTimeout, func() { idle.Store(true); cancel(errIdle) })
	defer timer.Stop()
	err = readSSE(resp.Body, func(data []byte) error {
		timer.Reset(c.cfg.IdleTimeout)
		return st.onData(data)
	})
	if err != nil && idle.Load() {
		return &cutError{err: fmt.Errorf("%w (%v)", errIdle, c.cfg.IdleTimeout), timeout: true}
	}
	return err
}

var done = []byte("[DONE]")

// onData handles one SSE data payload.
func (st *reply) onData(data []byte) error {
	if bytes.Equal(data, done) {
		return st.end()
	}
	var ch streamChunk
	if err := json.Unmarshal(data, &ch); err != nil {
		return &cutError{err: fmt.Errorf("undecodable chunk %.80q: %v", data, err), malformed: true}
	}
	if ch.Error != nil {
		return &StatusError{StatusCode: http.StatusInternalServerError, Message: ch.Error.Message, Type: ch.Error.Type}
	}
	return st.onChunk(&ch)
}

// readSSE calls fn with each event's data. It returns nil after fn handled
// [DONE], a *cutError when the body ends or breaks before it, and fn's error.
func readSSE(r io.Reader, fn func([]byte) error) error {
	br := bufio.NewReaderSize(r, 4<<10)
	var long []byte
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(line) > maxLine {
				return &cutError{err: fmt.Errorf("a stream line is longer than %d bytes", maxLine), malformed: true}
			}
			long = append(long, line...)
			continue
		}
		if long != nil {
			line = append(long, line...)
			long = nil
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return &cutError{err: fmt.Errorf("the stream ended without data: [DONE]: %w", err)}
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0, line[0] == ':':
			continue // event separator, comment / keep-alive
		case bytes.HasPrefix(line, []byte("data:")):
			data := bytes.TrimPrefix(line[5:], []byte(" "))
			if ferr := fn(data); ferr != nil {
				return ferr
			}
			if bytes.Equal(data, done) {
				return nil
			}
		case bytes.HasPrefix(line, []byte("event:")), bytes.HasPrefix(line, []byte("id:")), bytes.HasPrefix(line, []byte("retry:")):
			continue
		default:
			return &cutError{err: fmt.Errorf("not a server-sent event line: %.80q", line), malformed: true}
		}
	}
}
