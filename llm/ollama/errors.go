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
// user can act on, wrapping the llm sentinel the engine branches on.
func (c *Client) mapErr(ctx context.Context, err error, model string) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return fmt.Errorf("ollama: %s did not answer%s before the deadline: %w", c.URL(), forModel(model), ctxErr)
		}
		return fmt.Errorf("ollama: call to %s%s canceled: %w", c.URL(), forModel(model), ctxErr)
	}
	var se api.StatusError
	if errors.As(err, &se) {
		return c.statusErr(se, model)
	}
	var ae api.AuthorizationError
	if errors.As(err, &ae) {
		return fmt.Errorf("ollama: %s refused the request (HTTP %d unauthorized): %w", c.URL(), ae.StatusCode, ErrServer)
	}
	if isUnreachable(err) {
		return fmt.Errorf("ollama: cannot reach Ollama at %s (is `ollama serve` running? set OLLAMA_HOST or Config.URL): %w: %v", c.URL(), llm.ErrUnreachable, err)
	}
	// An error line inside a 200 stream arrives as a plain error.
	return c.textErr(err.Error(), model, err)
}

func forModel(model string) string {
	if model == "" {
		return ""
	}
	return " for model " + model
}

func (c *Client) statusErr(se api.StatusError, model string) error {
	msg := se.ErrorMessage
	switch {
	case se.StatusCode == http.StatusNotFound && model != "":
		return fmt.Errorf("ollama: model %s not found at %s; pull it with `ollama pull %s`: %w (%w)", model, c.URL(), model, llm.ErrModelNotFound, se)
	case se.StatusCode == http.StatusNotFound:
		return fmt.Errorf("ollama: %s: %s: %w (%w)", c.URL(), msg, llm.ErrModelNotFound, se)
	case se.StatusCode == http.StatusTooManyRequests || se.StatusCode == http.StatusServiceUnavailable:
		return fmt.Errorf("ollama: %s is busy (HTTP %d: %s); retry later: %w (%w)", c.URL(), se.StatusCode, msg, llm.ErrRateLimited, se)
	}
	if e, known := c.knownErr(msg, model, se); known {
		return e
	}
	return fmt.Errorf("ollama: %s failed%s with HTTP %d: %s: %w (%w)", c.URL(), forModel(model), se.StatusCode, msg, ErrServer, se)
}

// textErr classifies an error by the words Ollama uses.
func (c *Client) textErr(msg, model string, cause error) error {
	if e, known := c.knownErr(msg, model, cause); known {
		return e
	}
	return fmt.Errorf("ollama: %s%s: %s: %w (%w)", c.URL(), forModel(model), msg, ErrServer, cause)
}

// knownErr explains the errors whose words Ollama is known to use.
func (c *Client) knownErr(msg, model string, cause error) (error, bool) {
	var err error
	switch {
	case containsAny(msg, overflowTexts):
		err = fmt.Errorf("ollama: the prompt does not fit%s's context window (Ollama said %q); shorten the conversation or raise the context size: %w (%w)", forModelPossessive(model), msg, llm.ErrContextOverflow, cause)
	case containsAny(msg, noVisionTexts):
		err = fmt.Errorf("ollama: model %s cannot read images (Ollama said %q); use a vision model such as llava or qwen2.5vl: %w (%w)", model, msg, llm.ErrNoVision, cause)
	case strings.Contains(msg, "requires more system memory"):
		err = fmt.Errorf("ollama: model %s does not fit in free memory (Ollama said %q); use a smaller model, unload others, or lower the context size (Config.MaxContext): %w (%w)", model, msg, ErrServer, cause)
	case strings.Contains(msg, "does not support tools"):
		err = fmt.Errorf("ollama: model %s cannot call tools; use a model with tool support (e.g. llama3.1, qwen2.5) or remove the tools: %w (%w)", model, ErrServer, cause)
	case strings.Contains(strings.ToLower(msg), "not found, try pulling"):
		err = fmt.Errorf("ollama: model %s not found at %s; pull it with `ollama pull %s`: %w (%w)", model, c.URL(), model, llm.ErrModelNotFound, cause)
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
