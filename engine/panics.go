package engine

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/hearth-go/hearth/apitype"
)

// protect runs fn and turns a panic in it into an error, so a model backend,
// tool runner, sandbox or file index that panics fails the one piece of work
// it was doing (the run, the ingestion) instead of the process an app embeds
// Hearth in. The stack goes to the log, where an operator can report it; the
// error the user sees says only what panicked.
func (e *Engine) protect(ctx context.Context, what string, attrs []slog.Attr, fn func() error) (err error) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		attrs = append(attrs, slog.String("panic", fmt.Sprint(p)), slog.String("stack", string(debug.Stack())))
		e.log.LogAttrs(ctx, slog.LevelError, what+" panicked", attrs...)
		err = &runFailure{apitype.ErrorCodeServer, fmt.Sprintf("internal error: %s panicked: %v (the stack trace is in the server log)", what, p)}
	}()
	return fn()
}
