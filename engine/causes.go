package engine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm"
)

// Causes that stop an executor; context.Cause tells which.
var (
	errCancelled     = errors.New("run cancelled")
	errExpired       = errors.New("run expired")
	errThreadDeleted = errors.New("thread deleted")
	// errRunMoved: the run left in_progress under the executor (cancelled,
	// expired); the executor stops without writing.
	errRunMoved = errors.New("run is no longer in progress")
	errNoChange = errors.New("no change")
)

// runFailure ends a run failed with last_error.
type runFailure struct{ code, msg string }

func (f *runFailure) Error() string { return f.code + ": " + f.msg }

// runIncomplete ends a run incomplete with incomplete_details.reason.
type runIncomplete struct{ reason string }

func (r *runIncomplete) Error() string { return "incomplete: " + r.reason }

func failure(code, format string, args ...any) error {
	return &runFailure{code, fmt.Sprintf(format, args...)}
}

// llmSentinels are the llm errors a backend wraps for the engine to branch
// on; their texts ("llm: backend unreachable") mean nothing to a user.
var llmSentinels = []error{llm.ErrUnreachable, llm.ErrModelNotFound, llm.ErrContextOverflow,
	llm.ErrRateLimited, llm.ErrStreamCut, llm.ErrNoVision}

// lastErrorFor maps a model backend error to a run's last_error: the
// backend's explanation without the llm sentinels' texts, coded
// rate_limit_exceeded when the backend is busy and invalid_prompt when the
// prompt itself cannot be served (too long, images for a model without
// vision), which the user fixes by changing the prompt or the model.
func lastErrorFor(err error) error {
	var f *runFailure
	if errors.As(err, &f) {
		return f
	}
	code := apitype.ErrorCodeServer
	switch {
	case errors.Is(err, llm.ErrRateLimited):
		code = apitype.ErrorCodeRateLimit
	case errors.Is(err, llm.ErrContextOverflow), errors.Is(err, llm.ErrNoVision):
		code = apitype.ErrorCodeInvalidPrompt
	}
	msg := err.Error()
	for _, s := range llmSentinels {
		if errors.Is(err, s) {
			msg = strings.ReplaceAll(msg, ": "+s.Error(), "")
		}
	}
	return &runFailure{code, msg}
}

// serverError is a server_error for the API whose cause stays reachable:
// errors.As finds the *apitype.Error (the envelope a server writes),
// errors.Is the cause (a disk error, store.ErrClosed …).
func serverError(cause error, format string, args ...any) error {
	return &causedError{api: apitype.ServerError(format+": %v", append(args, cause)...), cause: cause}
}

type causedError struct {
	api   *apitype.Error
	cause error
}

func (c *causedError) Error() string   { return c.api.Error() }
func (c *causedError) Unwrap() []error { return []error{c.api, c.cause} }
