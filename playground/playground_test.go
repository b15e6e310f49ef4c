package playground_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/playground"
)

func TestHandler(t *testing.T) {
	h := playground.Handler()
	for path, want := range map[string]string{"/playground/": "text/html", "/playground/app.js": "javascript", "/playground/style.css": "text/css"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != 200 || !strings.Contains(w.Header().Get("Content-Type"), want) || w.Header().Get("Content-Security-Policy") != playground.CSP ||
			w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %v", path, w.Code, w.Header())
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/playground/", strings.NewReader("x")))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", w.Code)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/playground/nope.js", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("missing file: %d", w.Code)
	}
	// The page runs no inline script: the CSP would block it.
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/playground/", nil))
	if strings.Contains(w.Body.String(), "<script>") || strings.Contains(w.Body.String(), " onclick=") {
		t.Errorf("inline script in the page:\n%s", w.Body)
	}
	if !strings.Contains(playground.CSP, "default-src 'none'") || strings.Contains(playground.CSP, "unsafe") || !strings.Contains(playground.CSP, "frame-ancestors 'none'") {
		t.Errorf("CSP too loose: %s", playground.CSP)
	}
}
