package openaihttp

import (
	"context"
	"iter"
	"net/http"

	"github.com/hearth-go/hearth/apitype"
)

// Assistants.

func (h *Handler) createAssistant(w http.ResponseWriter, r *http.Request) (any, error) {
	var p apitype.AssistantCreateParams
	if err := decodeJSON(r, h.opts.MaxBodyBytes, &p); err != nil {
		return nil, err
	}
	return h.eng.Assistants.Create(r.Context(), p)
}

func (h *Handler) listAssistants(w http.ResponseWriter, r *http.Request) (any, error) {
	p, err := listParams(r)
	if err != nil {
		return nil, err
	}
	return h.eng.Assistants.List(r.Context(), p)
}

func (h *Handler) getAssistant(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.eng.Assistants.Retrieve(r.Context(), r.PathValue("assistant_id"))
}

func (h *Handler) updateAssistant(w http.ResponseWriter, r *http.Request) (any, error) {
	var p apitype.AssistantUpdateParams
	if err := decodeJSON(r, h.opts.MaxBodyBytes, &p); err != nil {
		return nil, err
	}
	return h.eng.Assistants.Update(r.Context(), r.PathValue("assistant_id"), p)
}

func (h *Handler) deleteAssistant(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.eng.Assistants.Delete(r.Context(), r.PathValue("assistant_id"))
}

// Threads.

func (h *Handler) createThread(w http.ResponseWriter, r *http.Request) (any, error) {
	var p apitype.ThreadCreateParams
	if err := decodeJSON(r, h.opts.MaxBodyBytes, &p); err != nil {
		return nil, err
	}
	return h.eng.Threads.Create(r.Context(), p)
}

func (h *Handler) getThread(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.eng.Threads.Retrieve(r.Context(), r.PathValue("thread_id"))
}

func (h *Handler) updateThread(w http.ResponseWriter, r *http.Request) (any, error) {
	var p apitype.ThreadUpdateParams
	if err := decodeJSON(r, h.opts.MaxBodyBytes, &p); err != nil {
		return nil, err
	}
	return h.eng.Threads.Update(r.Context(), r.PathValue("thread_id"), p)
}

func (h *Handler) deleteThread(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.eng.Threads.Delete(r.Context(), r.PathValue("thread_id"))
}

// Messages.

func (h *Handler) createMessage(w http.ResponseWriter, r *http.Request) (any, error) {
	var p apitype.MessageCreateParams
	if err := decodeJSON(r, h.opts.MaxBodyBytes, &p); err != nil {
		return nil, err
	}
	return h.eng.Messages.Create(r.Context(), r.PathValue("thread_id"), p)
}

func (h *Handler) listMessages(w http.ResponseWriter, r *http.Request) (any, error) {
	lp, err := listParams(r)
	if err != nil {
		return nil, err
	}
	return h.eng.Messages.List(r.Context(), r.PathValue("thread_id"),
		apitype.MessageListParams{ListParams: lp, RunID: r.URL.Query().Get("run_id")})
}

func (h *Handler) getMessage(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.eng.Messages.Retrieve(r.Context(), r.PathValue("thread_id"), r.PathValue("message_id"))
}

func (h *Handler) updateMessage(w http.ResponseWriter, r *http.Request) (any, error) {
	var p apitype.MessageUpdateParams
	if err := decodeJSON(r, h.opts.MaxBodyBytes, &p); err != nil {
		return nil, err
	}
	return h.eng.Messages.Update(r.Context(), r.PathValue("thread_id"), r.PathValue("message_id"), p)
}

func (h *Handler) deleteMessage(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.eng.Messages.Delete(r.Context(), r.PathValue("thread_id"), r.PathValue("message_id"))
}

// Runs.

func (h *Handler) createRun(w http.ResponseWriter, r *http.Request) (any, error) {
	var p apitype.RunCreateParams
	if err := decodeJSON(r, h.opts.MaxBodyBytes, &p); err != nil {
		return nil, err
	}
	p.Include = queryArray(r, "include")
	threadID := r.PathValue("thread_id")
	if p.Stream {
		return h.serveStream(w, r, func(ctx context.Context) iter.Seq2[apitype.Event, error] {
			return h.eng.Runs.CreateStream(ctx, threadID, p)
		})
	}
	return h.eng.Runs.Create(r.Context(), threadID, p)
}

func (h *Handler) createThreadAndRun(w http.ResponseWriter, r *http.Request) (any, error) {
	var p apitype.ThreadAndRunCreateParams
	if err := decodeJSON(r, h.opts.MaxBodyBytes, &p); err != nil {
		return nil, err
	}
	if p.Stream {
		return h.serveStream(w, r, func(ctx context.Context) iter.Seq2[apitype.Event, error] {
			return h.eng.Runs.CreateThreadAndRunStream(ctx, p)
		})
	}
	return h.eng.Runs.CreateThreadAndRun(r.Context(), p)
}

func (h *Handler) listRuns(w http.ResponseWriter, r *http.Request) (any, error) {
	p, err := listParams(r)
	if err != nil {
		return nil, err
	}
	return h.eng.Runs.List(r.Context(), r.PathValue("thread_id"), p)
}

func (h *Handler) getRun(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.eng.Runs.Retrieve(r.Context(), r.PathValue("thread_id"), r.PathValue("run_id"))
}

func (h *Handler) updateRun(w http.ResponseWriter, r *http.Request) (any, error) {
	var p apitype.RunUpdateParams
	if err := decodeJSON(r, h.opts.MaxBodyBytes, &p); err != nil {
		return nil, err
	}
	return h.eng.Runs.Update(r.Context(), r.PathValue("thread_id"), r.PathValue("run_id"), p)
}

func (h *Handler) cancelRun(w http.ResponseWriter, r *http.Request) (any, error) {
	// The body is ignored, but must still be under the limit and read.
	if _, err := readBody(r, h.opts.MaxBodyBytes); err != nil {
		return nil, err
	}
	return h.eng.Runs.Cancel(r.Context(), r.PathValue("thread_id"), r.PathValue("run_id"))
}

func (h *Handler) submitToolOutputs(w http.ResponseWriter, r *http.Request) (any, error) {
	var p apitype.SubmitToolOutputsParams
	if err := decodeJSON(r, h.opts.MaxBodyBytes, &p); err != nil {
		return nil, err
	}
	threadID, runID := r.PathValue("thread_id"), r.PathValue("run_id")
	if p.Stream {
		return h.serveStream(w, r, func(ctx context.Context) iter.Seq2[apitype.Event, error] {
			return h.eng.Runs.SubmitToolOutputsStream(ctx, threadID, runID, p)
		})
	}
	return h.eng.Runs.SubmitToolOutputs(r.Context(), threadID, runID, p)
}

// Steps.

func (h *Handler) listSteps(w http.ResponseWriter, r *http.Request) (any, error) {
	lp, err := listParams(r)
	if err != nil {
		return nil, err
	}
	return h.eng.Steps.List(r.Context(), r.PathValue("thread_id"), r.PathValue("run_id"),
		apitype.StepListParams{ListParams: lp, Include: queryArray(r, "include")})
}

func (h *Handler) getStep(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.eng.Steps.Retrieve(r.Context(), r.PathValue("thread_id"), r.PathValue("run_id"), r.PathValue("step_id"),
		queryArray(r, "include"))
}
