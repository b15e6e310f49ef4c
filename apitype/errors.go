package apitype

import (
	"encoding/json"
	"fmt"
)

// ErrorType is the "type" field of an API error.
type ErrorType string

// Error types used by the hosted API.
const (
	ErrorTypeInvalidRequest ErrorType = "invalid_request_error"
	ErrorTypeAuthentication ErrorType = "authentication_error"
	ErrorTypeNotFound       ErrorType = "not_found_error"
	ErrorTypeConflict       ErrorType = "conflict_error"
	ErrorTypeRateLimit      ErrorType = "rate_limit_error"
	ErrorTypeServer         ErrorType = "server_error"
)

// Error is an API error. Over HTTP it is the body
// {"error":{"message","type","param","code"}} with Status as the status code.
//
// Compare with errors.Is against the sentinels below: an Error matches a
// sentinel when its Type equals the sentinel's and, if the sentinel has a Code,
// its Code equals it too.
type Error struct {
	Type    ErrorType `json:"type"`
	Code    string    `json:"code,omitempty"`
	Param   string    `json:"param,omitempty"`
	Message string    `json:"message"`
	// Status is the HTTP status code the error maps to; not on the wire body.
	Status int `json:"-"`
}

// Sentinels for errors.Is. They carry no message; errors returned by Hearth do.
var (
	// ErrInvalidRequest matches every 400 invalid_request_error, including ErrActiveRun.
	ErrInvalidRequest = &Error{Type: ErrorTypeInvalidRequest, Status: 400}
	// ErrNotFound matches a 404 for an unknown id.
	ErrNotFound = &Error{Type: ErrorTypeNotFound, Status: 404}
	// ErrActiveRun matches the 400 returned when a thread already has an active run.
	ErrActiveRun = &Error{Type: ErrorTypeInvalidRequest, Code: "thread_has_active_run", Status: 400}
	// ErrInvalidState matches a 400 for an operation the object's status does not allow
	// (cancelling a completed run, submitting outputs to a run that is not waiting).
	ErrInvalidState = &Error{Type: ErrorTypeInvalidRequest, Code: "invalid_state", Status: 400}
	// ErrConflict matches a 409: a concurrent change won a race.
	ErrConflict = &Error{Type: ErrorTypeConflict, Status: 409}
	// ErrUnauthorized matches a 401 for a missing or wrong API key.
	ErrUnauthorized = &Error{Type: ErrorTypeAuthentication, Status: 401}
	// ErrRateLimited matches a 429.
	ErrRateLimited = &Error{Type: ErrorTypeRateLimit, Status: 429}
	// ErrServer matches a 500 server_error.
	ErrServer = &Error{Type: ErrorTypeServer, Status: 500}
)

func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("%s: %s (param %s)", e.Type, e.Message, e.Param)
	}
	return fmt.Sprintf("%s: %s", e.Type, e.Message)
}

// Is reports whether target is a sentinel this error matches.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Type == e.Type && (t.Code == "" || t.Code == e.Code)
}

// MarshalJSON writes param and code as null when empty, as the hosted API did.
func (e *Error) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Message string    `json:"message"`
		Type    ErrorType `json:"type"`
		Param   *string   `json:"param"`
		Code    *string   `json:"code"`
	}{e.Message, e.Type, nullable(e.Param), nullable(e.Code)})
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ErrorBody is the HTTP error envelope.
type ErrorBody struct {
	Error *Error `json:"error"`
}

// Invalid returns a 400 invalid_request_error naming param.
func Invalid(param, format string, args ...any) *Error {
	return &Error{Type: ErrorTypeInvalidRequest, Param: param, Message: fmt.Sprintf(format, args...), Status: 400}
}

// NotFound returns a 404 for an object of kind ("assistant", "thread", …) with id.
func NotFound(kind, id string) *Error {
	return &Error{Type: ErrorTypeNotFound, Message: fmt.Sprintf("No %s found with id '%s'.", kind, id), Status: 404}
}

// ActiveRunError returns the 400 for a second run on a thread.
func ActiveRunError(threadID, runID string) *Error {
	return &Error{Type: ErrorTypeInvalidRequest, Code: ErrActiveRun.Code, Status: 400,
		Message: fmt.Sprintf("Thread %s already has an active run %s.", threadID, runID)}
}

// ActiveRunMessageError returns the 400 for adding a message during an active run.
func ActiveRunMessageError(threadID, runID string) *Error {
	return &Error{Type: ErrorTypeInvalidRequest, Code: ErrActiveRun.Code, Status: 400,
		Message: fmt.Sprintf("Can't add messages to %s while a run %s is active.", threadID, runID)}
}

// InvalidState returns a 400 for an operation the current status forbids.
func InvalidState(format string, args ...any) *Error {
	return &Error{Type: ErrorTypeInvalidRequest, Code: ErrInvalidState.Code, Status: 400, Message: fmt.Sprintf(format, args...)}
}

// ServerError returns a 500 server_error.
func ServerError(format string, args ...any) *Error {
	return &Error{Type: ErrorTypeServer, Status: 500, Message: fmt.Sprintf(format, args...)}
}
