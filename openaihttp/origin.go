package openaihttp

import (
	"net"
	"net/http"
	"strings"

	"github.com/hearth-go/hearth/apitype"
)

// browserGuard refuses what a web page could send a local server: a
// cross-origin browser request (Sec-Fetch-Site / Origin, Go's
// CrossOriginProtection rules) and, against DNS rebinding, a Host that is
// not a loopback name or address on a keyless server unless Options.AllowedHosts lists it. It
// returns nil when the request may go on.
func (h *Handler) browserGuard(r *http.Request) *apitype.Error {
	if err := h.cop.Check(r); err != nil {
		return &apitype.Error{Type: "permission_error", Status: http.StatusForbidden,
			Message: "Cross-origin browser requests are refused."}
	}
	// Behind a reverse proxy on the same host every client arrives from
	// loopback; a proxy announces itself with these headers, so refuse
	// rather than serve the whole network keyless.
	if len(h.keys) == 0 && (r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" || r.Header.Get("X-Real-Ip") != "") {
		return &apitype.Error{Type: "permission_error", Status: http.StatusForbidden,
			Message: "A proxied request (X-Forwarded-For/Forwarded) needs API keys: behind a proxy every client looks like loopback."}
	}
	// With keys a rebinding page cannot authenticate; without, Host is all
	// that tells a loopback client's own request from a rebound one.
	if len(h.keys) == 0 && !h.hostAllowed(r.Host) {
		return &apitype.Error{Type: "permission_error", Status: http.StatusForbidden,
			Message: "Host " + r.Host + " is not allowed; set allowed hosts to serve it."}
	}
	return nil
}

func (h *Handler) hostAllowed(host string) bool {
	name := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		name = hh
	}
	name = strings.ToLower(strings.TrimSuffix(strings.Trim(name, "[]"), "."))
	for _, a := range h.opts.AllowedHosts {
		if a == "*" || strings.EqualFold(a, name) || strings.EqualFold(a, host) {
			return true
		}
	}
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true
	}
	ip := net.ParseIP(name)
	return ip != nil && ip.IsLoopback()
}
