package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// evilPage is another site's page that tries, with everything a page may do
// without the user's help, to drive a keyless Hearth: a no-cors POST (a
// "simple" request, no preflight), a form posted into a hidden frame, a read
// of the API, and the Playground framed to click through it. Each attempt
// marks the body when the browser is done with it.
const evilPage = `<!doctype html><html><body>
<iframe name="sink" id="sink"></iframe>
<iframe id="framed" name="framed" src="%[1]s/playground/"></iframe>
<form id="f" method="POST" action="%[1]s/v1/assistants" target="sink" enctype="text/plain">
<input name='{"model":"hearth-demo","name":"evil-form","x":"' value='"}'></form>
<script>
const mark = (k) => document.body.setAttribute("data-" + k, "1");
fetch("%[1]s/v1/assistants", {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"},
  body: JSON.stringify({model: "hearth-demo", name: "evil-fetch"})}).finally(() => mark("fetch"));
fetch("%[1]s/v1/assistants").then((r) => r.json()).then(() => mark("read-ok"), () => mark("read-blocked"));
document.getElementById("sink").addEventListener("load", () => mark("form"), {once: true});
document.getElementById("framed").addEventListener("load", () => mark("framed"), {once: true});
document.getElementById("f").submit();
</script></body></html>`

// TestCrossSitePageCannotDrivePlayground opens a page of another origin in
// Chromium that aims every request the Playground's actions make at a
// keyless `hearth serve`: the server's origin checks refuse the writes
// (403), CORS keeps the reads from the page, and the Playground refuses to
// be framed (frame-ancestors 'none'), so a click-jacked Playground is not
// possible either.
func TestCrossSitePageCannotDrivePlayground(t *testing.T) {
	ctx := browser(t)
	srv := startServe(t, nil, "--db", filepath.Join(t.TempDir(), "h.db"), "--model-backend", "scripted")
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, evilPage, srv.url)
	}))
	defer evil.Close()

	if err := chromedp.Do(ctx, chromedp.Navigate(evil.URL),
		chromedp.WaitReady(chromedp.CSS("body[data-fetch][data-form][data-framed]")),
		chromedp.WaitReady(chromedp.CSS("body[data-read-blocked]"))); err != nil {
		t.Fatalf("evil page: %v", err)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("body[data-read-ok]").length`)); err != nil || n != 0 {
		t.Errorf("the other site's page read the API (%d, %v)", n, err)
	}

	// Nothing was created, and not because nothing arrived: both writes
	// reached the server and were refused.
	if code, body := do(t, "GET", srv.url+"/v1/assistants", "", ""); code != 200 || strings.Contains(body, "evil") {
		t.Errorf("assistants after the attack: %d %s", code, body)
	}
	if n := strings.Count(srv.logs.String(), "method=POST path=/v1/assistants status=403"); n != 2 {
		t.Errorf("refused POSTs in the log: %d, want 2\n%s", n, srv.logs)
	}

	// The framed Playground did not load: the frame shows Chromium's error
	// page, not the Playground.
	res, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	var framed *cdp.Frame
	for _, c := range res.FrameTree.ChildFrames {
		if c.Frame.Name == "framed" {
			framed = c.Frame
		}
	}
	if framed == nil {
		t.Fatal("no framed Playground in the frame tree")
	}
	t.Logf("framed Playground: url %q unreachable %q", framed.URL, framed.UnreachableURL)
	if strings.HasPrefix(framed.URL, srv.url) {
		t.Errorf("another site framed the Playground: %s", framed.URL)
	}
}
