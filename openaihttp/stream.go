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

// serveStream answers text/event-stream with the events open yields, each
// flushed at once, then the done event. Errors before the first event (bad
// params, unknown ids) are answered as a plain JSON envelope instead, as the
// hosted API did. The stream's context is the request's, without the
// per-request timeout: a client that goes away ends only its subscription,
// never the run.
func (h *Handler) serveStream(w http.ResponseWriter, r *http.Request, open func(context.Context) iter.Seq2[apitype.Event, error]) (any, error) {
	if h.drained.Err() != nil {
		return nil, &apitype.Error{Type: apitype.ErrorTypeServer, Status: http.StatusServiceUnavailable,
			Message: "The server is shutting down; retry shortly."}
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
					return nil, &apitype.Error{Type: apitype.ErrorTypeServer, Status: http.StatusServiceUnavailable,
						Message: "The server is shutting down; retry shortly."}
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
			writeEvent(&buf, apitype.EventError, apitype.ErrorBody{Error: ae})
			buf.Write(doneEvent)
			uncount()
			_, _ = w.Write(buf.Bytes())
			_ = rc.Flush()
			return nil, nil
		}
		if !started {
			started = true
			// Streams outlive the per-request deadlines.
			_ = rc.SetReadDeadline(time.Time{})
			_ = rc.SetWriteDeadline(time.Time{})
			hd := w.Header()
			hd.Del("openai-poll-after-ms")
			hd.Set("Content-Type", "text/event-stream; charset=utf-8")
			hd.Set("Cache-Control", "no-cache")
			hd.Set("X-Accel-Buffering", "no")
			w.WriteHeader(http.StatusOK)
		}
		buf.Reset()
		if ev.Error != nil {
			writeEvent(&buf, ev.Event, apitype.ErrorBody{Error: ev.Error})
		} else {
			writeEvent(&buf, ev.Event, ev.Data())
		}
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
	_, _ = w.Write(doneEvent)
	_ = rc.Flush()
	return nil, nil
}

// writeEvent appends one SSE event. JSON never contains a raw newline, so the
// data fits one line.
func writeEvent(buf *bytes.Buffer, name apitype.EventType, data any) {
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(data); err != nil { // Encode ends with '\n'
		name = apitype.EventError
		js.Reset()
		js.WriteString(`{"error":{"message":"could not encode event","type":"server_error","param":null,"code":null}}` + "\n")
	}
	buf.WriteString("event: ")
	buf.WriteString(string(name))
	buf.WriteString("\ndata: ")
	buf.Write(js.Bytes())
	buf.WriteString("\n")
}
