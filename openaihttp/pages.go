package openaihttp

import (
	"cmp"
	"net/http"
	"slices"
	"strings"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/playground"
	"github.com/hearth-go/hearth/store"
)

// pageRoutes mounts the Playground (Options.Playground). ServeHTTP's
// browser guard covers it like every route; the page itself is code, not
// data, so with keys it is served without one (it asks for the key and
// sends it to /v1), and without keys to loopback clients only.
func (h *Handler) pageRoutes() {
	if !h.opts.Playground {
		return
	}
	page := playground.Handler()
	h.mux.Handle("GET "+playground.Path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(h.keys) == 0 {
			if err := h.authorize(r); err != nil {
				h.writeError(w, r, err)
				return
			}
		}
		page.ServeHTTP(w, r)
	}))
	h.mux.Handle("GET "+strings.TrimSuffix(playground.Path, "/"), http.RedirectHandler(playground.Path, http.StatusMovedPermanently))
}

// rootPage is GET / for a browser when the Playground is served: a line
// saying Hearth is running and a link to the page. It has no script.
const rootPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hearth</title></head>
<body style="font-family: system-ui, sans-serif; margin: 2rem">
<h1>Hearth is running</h1>
<p>The OpenAI-compatible API is at <code>/v1</code>. Try it in the <a href="/playground/">Playground</a>.</p>
</body></html>
`

// wantsHTML reports whether a GET / comes from a browser (it accepts HTML).
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

func writeRootPage(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(rootPage))
}

// listThreads is GET /v1/threads, a Hearth extension (the hosted API has no
// thread list; its Playground used an internal one): threads newest first
// (order=asc for oldest), with limit and after/before like every list. The
// store keeps no thread index by time, so each page reads every thread in
// one read transaction: fine for the Playground's and the CLI's lists.
func (h *Handler) listThreads(w http.ResponseWriter, r *http.Request) (any, error) {
	p, err := listParams(r)
	if err != nil {
		return nil, err
	}
	if p.Limit == 0 {
		p.Limit = 20
	}
	var all []apitype.Thread
	err = h.eng.Store().View(r.Context(), func(tx *store.Tx) error {
		return tx.EachThread(func(id string) error {
			t, err := tx.GetThread(id)
			if err != nil {
				return err
			}
			all = append(all, *t)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	desc := p.Order != apitype.OrderAsc
	slices.SortFunc(all, func(a, b apitype.Thread) int {
		c := cmp.Or(cmp.Compare(a.CreatedAt, b.CreatedAt), strings.Compare(a.ID, b.ID))
		if desc {
			return -c
		}
		return c
	})
	lo, hi := 0, len(all)
	if p.After != "" {
		i := slices.IndexFunc(all, func(t apitype.Thread) bool { return t.ID == p.After })
		if i < 0 {
			return nil, apitype.Invalid("after", "No thread found with id '%s'.", clip(p.After))
		}
		lo = i + 1
	}
	if p.Before != "" {
		i := slices.IndexFunc(all, func(t apitype.Thread) bool { return t.ID == p.Before })
		if i < 0 {
			return nil, apitype.Invalid("before", "No thread found with id '%s'.", clip(p.Before))
		}
		hi = i
		lo = max(lo, hi-p.Limit)
	}
	lo = min(lo, hi)
	page := &apitype.Page[apitype.Thread]{Object: "list", Data: all[lo:min(hi, lo+p.Limit)]}
	page.HasMore = lo+len(page.Data) < hi
	if page.Data == nil {
		page.Data = []apitype.Thread{}
	}
	if n := len(page.Data); n > 0 {
		page.FirstID, page.LastID = &page.Data[0].ID, &page.Data[n-1].ID
	}
	return page, nil
}
