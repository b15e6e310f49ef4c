package openaihttp

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/playground"
)

// OpsOptions configures the operator's endpoints: GET / (Hearth is
// running), /healthz (the process answers), /readyz (the store takes writes
// and the backend answered recently), /v1/models and /v1/models/{id} (the
// backend's models and the aliases), and /metrics. Only /v1/models needs a
// key, when keys are set.
type OpsOptions struct {
	// Models lists the backend's models for /v1/models and tells /readyz
	// the backend is up. Default: none — /v1/models lists only the aliases
	// and /readyz does not check a backend.
	Models llm.ModelLister
	// Aliases maps the model names clients send to local models; /v1/models
	// lists each alias as a model of its own.
	Aliases map[string]string
	// Metrics serves GET /metrics (e.g. metrics.Observer.Handler). Default:
	// none (404).
	Metrics http.Handler
	// BackendFresh is how long a backend answer counts for /readyz before it
	// is asked again. Default 10s; negative asks every time.
	BackendFresh time.Duration
	// CheckTimeout bounds each readiness check. Default 2s.
	CheckTimeout time.Duration
	// Version is reported by GET /.
	Version string
}

// opsState is what the operator's endpoints keep between requests.
type opsState struct {
	opts    OpsOptions
	streams atomic.Int64 // open event streams

	mu       sync.Mutex
	lastErr  error     // the backend's last answer
	lastSeen time.Time // when it was last asked
}

func newOps(o OpsOptions) *opsState {
	if o.BackendFresh == 0 {
		o.BackendFresh = 10 * time.Second
	}
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = 2 * time.Second
	}
	return &opsState{opts: o}
}

// ActiveStreams is how many event streams are open (a gauge for metrics).
func (h *Handler) ActiveStreams() int { return int(h.ops.streams.Load()) }

func (h *Handler) opsRoutes(route func(string, int64, endpoint)) {
	open := func(pattern string, fn http.HandlerFunc) { h.mux.Handle(pattern, fn) }
	open("GET /{$}", h.root)
	open("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	open("GET /readyz", h.readyz)
	if h.opts.Ops.Metrics != nil {
		h.mux.Handle("GET /metrics", h.opts.Ops.Metrics)
	}
	route("GET /v1/models", 0, h.listModels)
	route("GET /v1/models/{model...}", 0, h.getModel) // ids may hold slashes (hf.co/…)
}

func (h *Handler) root(w http.ResponseWriter, r *http.Request) {
	if h.opts.Playground && wantsHTML(r) {
		writeRootPage(w)
		return
	}
	body := map[string]string{"object": "hearth", "status": "Hearth is running", "version": h.opts.Ops.Version, "api": "/v1"}
	if h.opts.Playground {
		body["playground"] = playground.Path
	}
	writeJSON(w, http.StatusOK, body)
}

// readiness is /readyz's body: each part's state, "ok" or what is wrong.
type readiness struct {
	Status  string `json:"status"` // ready or not_ready
	Store   string `json:"store"`
	Backend string `json:"backend"`
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.ops.opts.CheckTimeout)
	defer cancel()
	rd := readiness{Status: "ready", Store: "ok", Backend: "ok"}
	if err := h.eng.Ready(ctx); err != nil {
		rd.Status, rd.Store = "not_ready", err.Error()
	}
	if err := h.backendUp(ctx); err != nil {
		rd.Status, rd.Backend = "not_ready", err.Error()
	} else if h.ops.opts.Models == nil {
		rd.Backend = "not checked (the backend cannot list models)"
	}
	status := http.StatusOK
	if rd.Status != "ready" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, rd)
}

// backendUp reports whether the backend answered within BackendFresh,
// asking it again when the last answer is older.
func (h *Handler) backendUp(ctx context.Context) error {
	o := h.ops
	if o.opts.Models == nil {
		return nil
	}
	o.mu.Lock()
	fresh := time.Since(o.lastSeen) < o.opts.BackendFresh
	last := o.lastErr
	o.mu.Unlock()
	if fresh {
		return last
	}
	_, err := o.opts.Models.ListModels(ctx)
	o.record(err)
	return err
}

func (o *opsState) record(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lastSeen, o.lastErr = time.Now(), err
}

// model is the API's Model object.
type model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func (h *Handler) models(ctx context.Context) ([]model, error) {
	var out []model
	local := map[string]llm.ModelInfo{}
	if lister := h.ops.opts.Models; lister != nil {
		ms, err := lister.ListModels(ctx)
		h.ops.record(err)
		if err != nil {
			return nil, &apitype.Error{Type: apitype.ErrorTypeServer, Status: http.StatusBadGateway,
				Message: "The model backend did not answer: " + err.Error()}
		}
		for _, m := range ms {
			local[m.ID] = m
			out = append(out, model{ID: m.ID, Object: "model", Created: m.Created, OwnedBy: m.OwnedBy})
		}
	}
	aliases := make([]string, 0, len(h.ops.opts.Aliases))
	for a := range h.ops.opts.Aliases {
		aliases = append(aliases, a)
	}
	sort.Strings(aliases)
	for _, a := range aliases {
		if _, dup := local[a]; dup {
			continue
		}
		target, ok := local[h.ops.opts.Aliases[a]]
		if !ok { // Ollama names "llama3.2" as "llama3.2:latest"
			target = local[h.ops.opts.Aliases[a]+":latest"]
		}
		out = append(out, model{ID: a, Object: "model", Created: target.Created, OwnedBy: "hearth (alias of " + h.ops.opts.Aliases[a] + ")"})
	}
	return out, nil
}

func (h *Handler) listModels(w http.ResponseWriter, r *http.Request) (any, error) {
	ms, err := h.models(r.Context())
	if err != nil {
		return nil, err
	}
	if ms == nil {
		ms = []model{}
	}
	return map[string]any{"object": "list", "data": ms}, nil
}

func (h *Handler) getModel(w http.ResponseWriter, r *http.Request) (any, error) {
	id := r.PathValue("model")
	ms, err := h.models(r.Context())
	if err != nil {
		return nil, err
	}
	if i := slices.IndexFunc(ms, func(m model) bool { return m.ID == id }); i >= 0 {
		return ms[i], nil
	}
	return nil, &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Status: http.StatusNotFound, Code: "model_not_found",
		Message: "The model '" + id + "' does not exist or you do not have access to it."}
}
