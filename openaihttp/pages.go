package openaihttp

import (
	"net/http"
	"strings"

	"github.com/hearth-go/hearth/playground"
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
// thread list; its Playground used an internal one): a page by cursor like
// every list, newest first unless order=asc.
func (h *Handler) listThreads(w http.ResponseWriter, r *http.Request) (any, error) {
	p, err := listParams(r)
	if err != nil {
		return nil, err
	}
	return h.eng.Threads.List(r.Context(), p)
}
