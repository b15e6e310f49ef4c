package ollama

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/ollama/ollama/api"

	"github.com/hearth-go/hearth/llm"
)

// ErrServer is wrapped by errors the Ollama server reports that have no more
// specific llm sentinel (HTTP 5xx, a 400 the backend did not recognise). The
// api.StatusError is wrapped too, for its StatusCode.
var ErrServer = errors.New("ollama: server error")

// Texts real Ollama (v0.17.4) puts in error bodies.
var (
	overflowTexts = []string{
		"exceeds the context length",         // runner, truncate=false
		"exceeds maximum context length",     // embed / generate truncation
		"input length exceeds",               // older runners
		"context length exceeded",            // defensive
		"prompt is too long",                 // defensive
		"keep exceeds context",               // shift impossible
		"unable to shift context",            // shift impossible
		"cannot be truncated further",        // embed
		"after truncation exceeds maximum c", // embed
	}
	noVisionTexts = []string{
		"missing data required for image input", // model.ErrNoVisionModel
		"does not support vision",
		"does not support images",
	}
)

func containsAny(s string, subs []string) bool {
	s = strings.ToLower(s)
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// mapErr turns a failure of a call about model (may be "") into an error a
// user can act on, wrapping the llm sentinel the engine branches on. tries is
// how many times the call was made; the text says so when it is more than one.
func (c *Client) mapErr(ctx context.Context, err error, model string, tries int) error {
	if err == nil {
		return nil
	}
	after := afterTries(tries)
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return fmt.Errorf("ollama: %s did not answer%s before the deadline%s: %w", c.URL(), forModel(model), after, ctxErr)
		}
		return fmt.Errorf("ollama: call to %s%s canceled%s: %w", c.URL(), forModel(model), after, ctxErr)
	}
	var se api.StatusError
	if errors.As(err, &se) {
		return c.statusErr(se, model, after)
	}
	var ae api.AuthorizationError
	if errors.As(err, &ae) {
		return fmt.Errorf("ollama: %s refused the request (HTTP %d unauthorized)%s: %w", c.URL(), ae.StatusCode, after, ErrServer)
	}
	if isUnreachable(err) {
		return fmt.Errorf("ollama: cannot reach Ollama at %s%s (is `ollama serve` running? set OLLAMA_HOST or Config.URL): %w: %v", c.URL(), after, llm.ErrUnreachable, err)
	}
	// An error line inside a 200 stream arrives as a plain error.
	return c.textErr(err.Error(), model, after, err)
}

func forModel(model string) string {
	if model == "" {
		return ""
	}
	return " for model " + model
}

// afterTries is " after N attempts" when the call was retried, else "".
func afterTries(tries int) string {
	if tries <= 1 {
		return ""
	}
	return fmt.Sprintf(" after %d attempts", tries)
}

// explained is an error whose text is msg and which unwraps to its sentinel
// and its cause without printing the cause: the text already says what the
// cause would repeat (an api.StatusError prints its status and message again).
type explained struct {
	msg   string
	chain []error
}

func (e *explained) Error() string   { return e.msg }
func (e *explained) Unwrap() []error { return e.chain }

// explain formats the explanation, appends sentinel's text, and wraps both
// sentinel and cause.
func explain(sentinel, cause error, format string, args ...any) error {
	return &explained{msg: fmt.Sprintf(format, args...) + ": " + sentinel.Error(), chain: []error{sentinel, cause}}
}

// statusErr explains an HTTP error status; its text gives the status once.
func (c *Client) statusErr(se api.StatusError, model, after string) error {
	msg := se.ErrorMessage
	switch {
	case se.StatusCode == http.StatusNotFound && model != "":
		return explain(llm.ErrModelNotFound, se, "ollama: model %s not found at %s (HTTP 404)%s; pull it with `ollama pull %s`", model, c.URL(), after, model)
	case se.StatusCode == http.StatusNotFound:
		return explain(llm.ErrModelNotFound, se, "ollama: %s answered HTTP 404%s: %s", c.URL(), after, msg)
	case se.StatusCode == http.StatusTooManyRequests || se.StatusCode == http.StatusServiceUnavailable:
		return explain(llm.ErrRateLimited, se, "ollama: %s is busy (HTTP %d: %s)%s; retry later", c.URL(), se.StatusCode, msg, after)
	}
	if e, known := c.knownErr(msg, model, fmt.Sprintf(" with HTTP %d", se.StatusCode), after, se); known {
		return e
	}
	return explain(ErrServer, se, "ollama: %s failed%s with HTTP %d%s: %s", c.URL(), forModel(model), se.StatusCode, after, msg)
}

// textErr classifies an error by the words Ollama uses.
func (c *Client) textErr(msg, model, after string, cause error) error {
	if e, known := c.knownErr(msg, model, "", after, cause); known {
		return e
	}
	return explain(ErrServer, cause, "ollama: %s%s failed%s: %s", c.URL(), forModel(model), after, msg)
}

// knownErr explains the errors whose words Ollama is known to use. status
// (" with HTTP 400", or "" for an error line in a stream) and after go into
// the text once.
func (c *Client) knownErr(msg, model, status, after string, cause error) (error, bool) {
	said := fmt.Sprintf("Ollama said %q%s%s", msg, status, after)
	var err error
	switch {
	case containsAny(msg, overflowTexts):
		err = explain(llm.ErrContextOverflow, cause, "ollama: the prompt does not fit%s's context window (%s); shorten the conversation or raise the context size", forModelPossessive(model), said)
	case containsAny(msg, noVisionTexts):
		err = explain(llm.ErrNoVision, cause, "ollama: model %s cannot read images (%s); use a vision model such as llava or qwen2.5vl", model, said)
	case strings.Contains(msg, "requires more system memory"):
		err = explain(ErrServer, cause, "ollama: model %s does not fit in free memory (%s); use a smaller model, unload others, or lower the context size (Config.MaxContext)", model, said)
	case strings.Contains(msg, "does not support tools"):
		err = explain(ErrServer, cause, "ollama: model %s cannot call tools (%s); use a model with tool support (e.g. llama3.1, qwen2.5) or remove the tools", model, said)
	case strings.Contains(strings.ToLower(msg), "not found, try pulling"):
		err = explain(llm.ErrModelNotFound, cause, "ollama: model %s not found at %s (%s); pull it with `ollama pull %s`", model, c.URL(), said, model)
	}
	return err, err != nil
}

func forModelPossessive(model string) string {
	if model == "" {
		return " the model"
	}
	return " model " + model
}

// isUnreachable reports a transport failure before any HTTP answer:
// connection refused, DNS, reset, a server that closed the connection.
func isUnreachable(err error) bool {
	var ue *url.Error
	if errors.As(err, &ue) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	var de *net.DNSError
	return errors.As(err, &de)
}

// transient reports whether a failed call may succeed if repeated: the
// server was unreachable (it may be starting), busy, or failed with a 5xx.
// Model-not-found, bad requests, overflow and cancellation are final.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var se api.StatusError
	if errors.As(err, &se) {
		if containsAny(se.ErrorMessage, overflowTexts) || containsAny(se.ErrorMessage, noVisionTexts) ||
			strings.Contains(se.ErrorMessage, "requires more system memory") {
			return false
		}
		return se.StatusCode >= 500 || se.StatusCode == http.StatusTooManyRequests
	}
	return isUnreachable(err)
}
