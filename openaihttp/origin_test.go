package openaihttp_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/openaihttp"
)

// A web page can send a keyless loopback server simple requests, and a
// DNS-rebinding page can send anything with a foreign Host: both are refused.
func TestBrowserAndRebindingRefused(t *testing.T) {
	e := newEnv(t, scripted.Echo(), func(o *openaihttp.Options) { o.Keys = nil; o.Admin = true })
	do := func(method, path, body string, hdr map[string]string) int {
		req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	cross := map[string]string{"Origin": "http://attacker.example", "Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"}
	if got := do("POST", "/v1/assistants", `{"model":"m"}`, cross); got != http.StatusForbidden {
		t.Errorf("cross-site POST: status %d, want 403", got)
	}
	if got := do("GET", "/admin/backup", "", map[string]string{"Host": "attacker.example"}); got == http.StatusOK {
		t.Errorf("foreign Host GET /admin/backup: status %d", got)
	}
	if got := do("GET", "/v1/assistants", "", map[string]string{"Host": "rebind.attacker.example:8080"}); got != http.StatusForbidden {
		t.Errorf("foreign Host GET: status %d, want 403", got)
	}
	if got := do("GET", "/admin/backup", "", nil); got == http.StatusOK {
		t.Errorf("keyless GET /admin/backup: status %d, want refused", got)
	}
	if got := do("POST", "/admin/compact", "", nil); got == http.StatusOK {
		t.Errorf("keyless POST /admin/compact: status %d, want refused", got)
	}
	if got := do("GET", "/v1/assistants", "", map[string]string{"X-Forwarded-For": "203.0.113.9"}); got != http.StatusForbidden {
		t.Errorf("keyless proxied GET: status %d, want 403", got)
	}
	if got := do("POST", "/v1/assistants", `{"model":"m"}`, map[string]string{"Content-Type": "application/json", "Host": "localhost"}); got != http.StatusOK {
		t.Errorf("loopback same-origin POST: status %d, want 200", got)
	}
}
