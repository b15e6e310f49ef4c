package openaihttp

import (
	"bytes"
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"strconv"

	"github.com/hearth-go/hearth/apitype"
)

// The Responses API.

// getBodyLimit bounds the body GET /v1/responses/{id} may carry: openai-go's
// GetStreaming sends {"stream": true} as a GET body.
const getBodyLimit = 64 << 10

func (h *Handler) responseRoutes(route func(string, int64, endpoint), jsonLimit int64) {
	route("POST /v1/responses", jsonLimit, h.createResponse)
	route("GET /v1/responses/{response_id}", getBodyLimit, h.getResponse)
	route("DELETE /v1/responses/{response_id}", 0, h.deleteResponse)
	route("POST /v1/responses/{response_id}/cancel", 0, h.cancelResponse)
	route("GET /v1/responses/{response_id}/input_items", 0, h.listInputItems)
}

func (h *Handler) createResponse(w http.ResponseWriter, r *http.Request) (any, error) {
	p := new(apitype.ResponseCreateParams)
	if err := decodeStrictBody(r, h.opts.MaxBodyBytes, p); err != nil {
		return nil, err
	}
	if p.Stream {
		return h.serveResponseStream(w, r, func(ctx context.Context) iter.Seq2[apitype.ResponseStreamEvent, error] {
			return h.eng.Responses.CreateStream(ctx, p)
		})
	}
	if p.Background != nil && *p.Background {
		return h.eng.Responses.Create(r.Context(), p) // answered queued, at once
	}
	// A foreground response is answered when the model is done, which may
	// take longer than the per-request timeout: like a stream, it lifts it
	// and ends early only when the client goes away or the server drains.
	if h.drained.Err() != nil {
		return nil, errShuttingDown()
	}
	ctx, cancel := context.WithCancel(untimed(r))
	defer cancel()
	defer context.AfterFunc(h.drained, cancel)()
	liftDeadlines(http.NewResponseController(w))
	resp, err := h.eng.Responses.Create(ctx, p)
	if err != nil && h.drained.Err() != nil && ctx.Err() != nil {
		return nil, &apitype.Error{Type: apitype.ErrorTypeServer, Status: http.StatusServiceUnavailable, Code: "server_shutdown",
			Message: "The server is shutting down. The response continues when it restarts if it was stored; retrieve it to follow."}
	}
	return resp, err
}

// getResponse answers GET /v1/responses/{id}: the response, or with
// stream=true its events after starting_after (query or, as openai-go
// sends them, a JSON body).
func (h *Handler) getResponse(w http.ResponseWriter, r *http.Request) (any, error) {
	p, err := retrieveParams(r)
	if err != nil {
		return nil, err
	}
	id := r.PathValue("response_id")
	if !p.Stream {
		return h.eng.Responses.Retrieve(r.Context(), id, p)
	}
	if err := apitype.CheckInclude("include", p.Include); err != nil {
		return nil, err
	}
	after := -1
	if p.StartingAfter != nil {
		after = *p.StartingAfter
	}
	return h.serveResponseStream(w, r, func(ctx context.Context) iter.Seq2[apitype.ResponseStreamEvent, error] {
		return h.eng.Responses.StreamIncluding(ctx, id, after, p.Include)
	})
}

// retrieveParams reads GET /v1/responses/{id}'s query, and a JSON body's
// stream and starting_after if one was sent.
func retrieveParams(r *http.Request) (apitype.ResponseRetrieveParams, error) {
	p := apitype.ResponseRetrieveParams{Include: queryArray(r, "include")}
	q := r.URL.Query()
	for _, name := range []string{"stream", "include_obfuscation"} {
		s := q.Get(name)
		if s == "" {
			continue
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			return p, apitype.Invalid(name, "Invalid '%s': expected a boolean, got %q.", name, clip(s))
		}
		if name == "stream" {
			p.Stream = b
		} else {
			p.IncludeObfuscation = &b
		}
	}
	if s := q.Get("starting_after"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return p, apitype.Invalid("starting_after", "Invalid 'starting_after': expected a non-negative integer, got %q.", clip(s))
		}
		p.StartingAfter = &n
	}
	b, err := readBody(r, getBodyLimit)
	if err != nil {
		return p, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return p, nil
	}
	var body struct {
		Stream        *bool `json:"stream"`
		StartingAfter *int  `json:"starting_after"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return p, errBadJSON("invalid JSON body: " + trimErr(err))
	}
	if body.Stream != nil {
		p.Stream = *body.Stream
	}
	if body.StartingAfter != nil {
		if *body.StartingAfter < 0 {
			return p, apitype.Invalid("starting_after", "Invalid 'starting_after': expected a non-negative integer, got %d.", *body.StartingAfter)
		}
		p.StartingAfter = body.StartingAfter
	}
	return p, nil
}

func (h *Handler) deleteResponse(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.eng.Responses.Delete(r.Context(), r.PathValue("response_id"))
}

func (h *Handler) cancelResponse(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.eng.Responses.Cancel(r.Context(), r.PathValue("response_id"))
}

func (h *Handler) listInputItems(w http.ResponseWriter, r *http.Request) (any, error) {
	lp, err := listParams(r)
	if err != nil {
		return nil, err
	}
	return h.eng.Responses.InputItems(r.Context(), r.PathValue("response_id"),
		apitype.InputItemListParams{ListParams: lp, Include: queryArray(r, "include")})
}

// serveResponseStream answers a Responses event stream: each event named
// by its type and carrying its sequence_number; an error after the first
// event is the API's error event, numbered next; the stream ends with the
// event that ends the response, without a [DONE] line.
func (h *Handler) serveResponseStream(w http.ResponseWriter, r *http.Request, open func(context.Context) iter.Seq2[apitype.ResponseStreamEvent, error]) (any, error) {
	next := 0
	return serveSSE(h, w, r, open, sseCodec[apitype.ResponseStreamEvent]{
		write: func(buf *bytes.Buffer, ev apitype.ResponseStreamEvent) {
			next = ev.SequenceNumber + 1
			writeEvent(buf, string(ev.Type), ev)
		},
		fail: func(buf *bytes.Buffer, ae *apitype.Error) {
			ev := apitype.ErrorResponseEvent(ae)
			ev.SequenceNumber = next
			writeEvent(buf, string(ev.Type), ev)
		},
	})
}
