package engine

import (
	"context"
	"sync"
	"time"

	"github.com/hearth-go/hearth/apitype"
)

// Model-call watchdog defaults: a slow CPU model may take minutes to load
// and read a long prompt before its first token, but once it streams, a
// minute without a chunk means it is stuck.
const (
	defaultModelFirstByteTimeout = 5 * time.Minute
	defaultModelIdleTimeout      = time.Minute
)

// callWatch bounds one model call: the first chunk must come within
// firstByte, each later one within idle of the one before. When a bound
// passes, the call's context is cancelled with a *runFailure naming the
// bound, so a hung backend fails its run (and frees its worker for other
// threads) instead of holding both until the run expires.
type callWatch struct {
	cancel    context.CancelCauseFunc
	firstByte time.Duration
	idle      time.Duration
	who       string // the backend, its server and the model, for the messages

	mu    sync.Mutex
	timer *time.Timer
	fired *runFailure
}

// backendURL is implemented by backends that talk to a server (llm/ollama,
// llm/openaichat): a timeout's last_error then says which server hung.
type backendURL interface{ URL() string }

// watchCall bounds a call to model.
func (e *Engine) watchCall(ctx context.Context, model string) (context.Context, *callWatch) {
	ctx, cancel := context.WithCancelCause(ctx)
	w := &callWatch{cancel: cancel, firstByte: e.cfg.ModelFirstByteTimeout, idle: e.cfg.ModelIdleTimeout, who: "the model backend"}
	if b, ok := e.cfg.Model.(backendURL); ok {
		w.who += " at " + b.URL()
	}
	if model != "" {
		w.who += " (model " + model + ")"
	}
	if w.firstByte > 0 {
		w.timer = time.AfterFunc(w.firstByte, func() {
			w.fire(failure(apitype.ErrorCodeServer, "%s sent nothing for %s after the request (first-byte timeout; engine.Config.ModelFirstByteTimeout, hearth serve --model-first-byte-timeout): is it overloaded or hung?", w.who, w.firstByte))
		})
	}
	return ctx, w
}

func (w *callWatch) fire(err error) {
	w.mu.Lock()
	if w.fired == nil {
		w.fired = err.(*runFailure)
	}
	w.mu.Unlock()
	w.cancel(err)
}

// chunk notes that the backend sent something: the idle bound starts again.
func (w *callWatch) chunk() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fired != nil {
		return
	}
	if w.timer != nil {
		w.timer.Stop()
	}
	if w.idle > 0 {
		w.timer = time.AfterFunc(w.idle, func() {
			w.fire(failure(apitype.ErrorCodeServer, "%s stopped sending for %s in the middle of its reply (idle timeout; engine.Config.ModelIdleTimeout, hearth serve --model-idle-timeout): is it overloaded or hung?", w.who, w.idle))
		})
	} else {
		w.timer = nil
	}
}

// timedOut reports the bound that fired, if one did.
func (w *callWatch) timedOut() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fired == nil {
		return nil
	}
	return w.fired
}

func (w *callWatch) stop() {
	w.mu.Lock()
	if w.timer != nil {
		w.timer.Stop()
	}
	w.mu.Unlock()
	w.cancel(nil)
}
