package openaihttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/http"
	"sync"
	"time"

	"github.com/hearth-go/hearth/apitype"
)

// errDraining ends streams when the server shuts down.
var errDraining = errors.New("openaihttp: server shutting down")

var doneEvent = []byte("event: done\ndata: [DONE]\n\n")

// serveStream answers an Assistants stream: text/event-stream with the
// events open yields, then the done event.
func (h *Handler) serveStream(w http.ResponseWriter, r *http.Request, open func(context.Context) iter.Seq2[apitype.Event, error]) (any, error) {
	return serveSSE(h, w, r, open, sseCodec[apitype.Event]{
		write: func(buf *bytes.Buffer, ev apitype.Event) {
			if ev.Error != nil {
				writeEvent(buf, string(ev.Event), apitype.ErrorBody{Error: ev.Error})
			} else {
				writeEvent(buf, string(ev.Event), ev.Data())
			}
		},
		fail: func(buf *bytes.Buffer, ae *apitype.Error) {
			writeEvent(buf, string(apitype.EventError), apitype.ErrorBody{Error: ae})
			buf.Write(doneEvent)
		},
		done: doneEvent,
	})
}

// sseCodec is how one API writes its events: Assistants streams end with
// "event: done / data: [DONE]" and carry errors in the error envelope;
// Responses streams carry sequence numbers and just end.
type sseCodec[E any] struct {
	write func(*bytes.Buffer, E)
	// fail writes the event that ends a started stream with an error.
	fail func(*bytes.Buffer, *apitype.Error)
	// done ends a stream that ran to its end (nil: nothing).
	done []byte
}

// serveSSE answers text/event-stream with the events open yields, each
// flushed at once, then c.done. Errors before the first event (bad
// params, unknown ids) are answered as a plain JSON envelope instead, as the
// hosted API did. The stream's context is the request's, without the
// per-request timeout: a client that goes away ends only its subscription,
// never the run.
func serveSSE[E any](h *Handler, w http.ResponseWriter, r *http.Request, open func(context.Context) iter.Seq2[E, error], c sseCodec[E]) (any, error) {
	if h.drained.Err() != nil {
		return nil, errShuttingDown()
	}
	h.ops.streams.Add(1)
	// Uncounted before done goes out, so a client that saw done and then
	// scrapes /metrics sees the stream gone.
	uncount := sync.OnceFunc(func() { h.ops.streams.Add(-1) })
	defer uncount()
	ctx, cancel := context.WithCancelCause(untimed(r))
	defer cancel(nil)
	stop := context.AfterFunc(h.drained, func() { cancel(errDraining) })
	defer stop()

	rc := http.NewResponseController(w)
	started := false
	var buf bytes.Buffer
	for ev, err := range open(ctx) {
		if err != nil {
			if !started {
				if context.Cause(ctx) == errDraining {
					return nil, errShuttingDown()
				}
				return nil, err
			}
			if ctx.Err() != nil && context.Cause(ctx) != errDraining {
				return nil, nil // the client went away; the run goes on
			}
			ae := asAPIError(err)
			if context.Cause(ctx) == errDraining {
				ae = &apitype.Error{Type: apitype.ErrorTypeServer, Status: http.StatusServiceUnavailable, Code: "server_shutdown",
					Message: "The server is shutting down. The run continues when it restarts; retrieve it to follow."}
			}
			buf.Reset()
			c.fail(&buf, ae)
			uncount()
			_, _ = w.Write(buf.Bytes())
			_ = rc.Flush()
			return nil, nil
		}
		if !started {
			started = true
			liftDeadlines(rc)
			hd := w.Header()
			hd.Del("openai-poll-after-ms")
			hd.Set("Content-Type", "text/event-stream; charset=utf-8")
			hd.Set("Cache-Control", "no-cache")
			hd.Set("X-Accel-Buffering", "no")
			w.WriteHeader(http.StatusOK)
		}
		buf.Reset()
		c.write(&buf, ev)
		if _, err := w.Write(buf.Bytes()); err != nil {
			return nil, nil // the client went away; the run goes on
		}
		if err := rc.Flush(); err != nil {
			return nil, nil
		}
	}
	if !started {
		// An empty stream cannot happen with the engine; answer something valid.
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		w.WriteHeader(http.StatusOK)
	}
	uncount()
	if c.done != nil {
		_, _ = w.Write(c.done)
	}
	_ = rc.Flush()
	return nil, nil
}

func errShuttingDown() *apitype.Error {
	return &apitype.Error{Type: apitype.ErrorTypeServer, Status: http.StatusServiceUnavailable,
		Message: "The server is shutting down; retry shortly."}
}

// liftDeadlines lets an answer outlive the per-request deadlines: streams,
// and a foreground response answered when the model is done.
func liftDeadlines(rc *http.ResponseController) {
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
}

// writeEvent appends one SSE event. JSON never contains a raw newline, so the
// data fits one line.
func writeEvent(buf *bytes.Buffer, name string, data any) {
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(data); err != nil { // Encode ends with '\n'
		name = string(apitype.EventError)
		js.Reset()
		js.WriteString(`{"error":{"message":"could not encode event","type":"server_error","param":null,"code":null}}` + "\n")
	}
	buf.WriteString("event: ")
	buf.WriteString(name)
	buf.WriteString("\ndata: ")
	buf.Write(js.Bytes())
	buf.WriteString("\n")
}
