package playground_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/hearth-go/hearth/playground"
)

// Serve the page under playground.Path beside an API of your own; the page
// calls /v1 on the same origin. (openaihttp.Options.Playground does this for
// a Hearth handler, behind its origin checks.)
func ExampleHandler() {
	mux := http.NewServeMux()
	mux.Handle("GET "+playground.Path, playground.Handler())
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, playground.Path, nil))
	fmt.Println(w.Code, w.Header().Get("X-Frame-Options"))
	// Output: 200 DENY
}
