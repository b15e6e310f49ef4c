package openaichat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-go/hearth/llm"
)

// ErrServer is wrapped by failures the server reports that have no more
// specific llm sentinel (HTTP 5xx, an unrecognised 4xx, a malformed stream).
var ErrServer = errors.New("openaichat: server error")

// ErrUnauthorized is wrapped when the server refuses the API key (401/403).
var ErrUnauthorized = errors.New("openaichat: unauthorized")

// ErrTimeout is wrapped when the server stops answering within the client's
// own bounds (connect, response headers, idle stream).
var ErrTimeout = errors.New("openaichat: server timed out")

// StatusError is an HTTP error answer, with the message the server gave.
type StatusError struct {
	StatusCode int
	Message    string
	Type       string // error.type, e.g. "exceed_context_size_error"
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.StatusCode, e.Message)
}

// overflowTexts are the words vLLM, SGLang, llama.cpp, LM Studio and Ollama
// use when the prompt does not fit.
var overflowTexts = []string{
	"maximum context length",        // vLLM, OpenAI
	"exceed_context_size",           // llama.cpp type
	"exceeds the available context", // llama.cpp message
	"context length",                // SGLang, Ollama
	"context window",
	"prompt is too long",
	"too many tokens",
}

func isOverflow(se *StatusError) bool {
	if se.StatusCode != http.StatusBadRequest && se.StatusCode != http.StatusRequestEntityTooLarge {
		return false
	}
	m := strings.ToLower(se.Message + " " + se.Type)
	for _, t := range overflowTexts {
		if strings.Contains(m, t) {
			return true
		}
	}
	return false
}

// readStatus reads an error answer in any of the servers' shapes:
// {"error":{"message":…,"type":…}} (OpenAI, vLLM, llama.cpp),
// {"object":"error","message":…} (older vLLM), {"error":"…"} (Ollama), or text.
func readStatus(resp *http.Response) *StatusError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	se := &StatusError{StatusCode: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	var e struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Type    string          `json:"type"`
	}
	if json.Unmarshal(b, &e) == nil {
		var inner struct {
			Message string `json:"message"`
			Type    string `json:"type"`
		}
		var s string
		switch {
		case json.Unmarshal(e.Error, &inner) == nil && inner.Message != "":
			se.Message, se.Type = inner.Message, inner.Type
		case json.Unmarshal(e.Error, &s) == nil && s != "":
			se.Message = s
		case e.Message != "":
			se.Message, se.Type = e.Message, e.Type
		}
	}
	if se.Message == "" {
		se.Message = strings.TrimSpace(string(b))
	}
	if se.Message == "" {
		se.Message = http.StatusText(resp.StatusCode)
	}
	return se
}

// retryAfter parses Retry-After in seconds or as an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 {
		return time.Duration(n * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// isUnreachable reports a transport failure before any HTTP answer.
func isUnreachable(err error) bool {
	var ue *url.Error
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &ue) || errors.As(err, &oe) || errors.As(err, &de)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// transient reports whether a failed call may succeed when repeated.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.StatusCode >= 500 || se.StatusCode == http.StatusTooManyRequests
	}
	if errors.Is(err, ErrTimeout) {
		return false // a hung server would make every retry wait as long again
	}
	return isUnreachable(err)
}

func afterTries(tries int) string {
	if tries <= 1 {
		return ""
	}
	return fmt.Sprintf(" after %d attempts", tries)
}

// explained prints msg and unwraps to its sentinel and cause.
type explained struct {
	msg   string
	chain []error
}

func (e *explained) Error() string   { return e.msg }
func (e *explained) Unwrap() []error { return e.chain }

func explain(sentinel, cause error, format string, args ...any) error {
	return &explained{msg: fmt.Sprintf(format, args...) + ": " + sentinel.Error(), chain: []error{sentinel, cause}}
}

// mapErr turns a failed call about model into an error a user can act on.
func (c *Client) mapErr(ctx context.Context, err error, model string, tries int) error {
	after := afterTries(tries)
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return fmt.Errorf("openaichat: %s did not answer%s before the deadline%s: %w", c.base, forModel(model), after, ctxErr)
		}
		return fmt.Errorf("openaichat: call to %s%s canceled%s: %w", c.base, forModel(model), after, ctxErr)
	}
	var se *StatusError
	if errors.As(err, &se) {
		return c.statusErr(ctx, se, model, after)
	}
	if errors.Is(err, ErrTimeout) || isTimeout(err) {
		return fmt.Errorf("openaichat: %s%s did not answer in time%s (%v); is the server running and not overloaded? A model that is slow to start needs a longer --model-first-byte-timeout (Config.HeaderTimeout): %w: %w",
			c.base, forModel(model), after, err, ErrTimeout, llm.ErrUnreachable)
	}
	if isUnreachable(err) {
		return fmt.Errorf("openaichat: cannot reach the model server at %s%s (is it running? set --openai-url or HEARTH_OPENAI_URL): %w: %v",
			c.base, after, llm.ErrUnreachable, err)
	}
	return explain(ErrServer, err, "openaichat: %s%s failed%s: %v", c.base, forModel(model), after, err)
}

func forModel(model string) string {
	if model == "" {
		return ""
	}
	return " for model " + model
}

func (c *Client) statusErr(ctx context.Context, se *StatusError, model, after string) error {
	said := fmt.Sprintf("the server said %q with HTTP %d%s", se.Message, se.StatusCode, after)
	switch {
	case se.StatusCode == http.StatusUnauthorized || se.StatusCode == http.StatusForbidden:
		return explain(ErrUnauthorized, se, "openaichat: %s refused the API key (%s); set HEARTH_OPENAI_API_KEY (or OPENAI_API_KEY, or --openai-key-file) to a key the server accepts", c.base, said)
	case se.StatusCode == http.StatusNotFound && model != "":
		have := c.listModels(ctx)
		return explain(llm.ErrModelNotFound, se, "openaichat: model %s not found at %s (%s); the server has: %s", model, c.base, said, have)
	case se.StatusCode == http.StatusTooManyRequests || se.StatusCode == http.StatusServiceUnavailable:
		return explain(llm.ErrRateLimited, se, "openaichat: %s is busy (%s); retry later or add capacity", c.base, said)
	case isOverflow(se):
		return explain(llm.ErrContextOverflow, se, "openaichat: the prompt does not fit%s's context window (%s); shorten the conversation or set the context size the server runs with (--openai-context-window or Config.ContextWindow)", possessive(model), said)
	}
	return explain(ErrServer, se, "openaichat: %s failed%s (%s)", c.base, forModel(model), said)
}

func possessive(model string) string {
	if model == "" {
		return " the model"
	}
	return " model " + model
}

// listModels names the server's models for a 404's message, best effort
// and bounded: the error must not wait on a second failing call.
func (c *Client) listModels(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ms, err := c.Models(ctx)
	if err != nil || len(ms) == 0 {
		return "(could not list them: GET /v1/models failed)"
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return strings.Join(ids, ", ")
}
