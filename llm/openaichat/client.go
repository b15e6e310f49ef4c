package openaichat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hearth-go/hearth/llm"
)

// Defaults for Config fields left zero.
const (
	DefaultRetries        = 2
	DefaultRetryBackoff   = 200 * time.Millisecond
	DefaultMaxRetryAfter  = 30 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultHeaderTimeout  = 2 * time.Minute
	DefaultIdleTimeout    = 2 * time.Minute
	embedBatch            = 64
)

// Config configures a Client.
type Config struct {
	// URL is the server's OpenAI base, e.g. http://gpu-box:8000/v1; "/v1" is
	// added when the path lacks it. Required.
	URL string
	// APIKey is sent as a Bearer token when set.
	APIKey string
	// HTTPClient sends the requests; nil builds one with the timeouts below.
	// A caller's client keeps its own transport timeouts; IdleTimeout still
	// bounds the stream.
	HTTPClient *http.Client
	// ContextWindow is the model's context size in tokens when the server
	// does not report it (vLLM /v1/models max_model_len, llama.cpp /props
	// n_ctx); it wins over what the server reports when set.
	ContextWindow int
	// EmbedModel is the model Embed uses; required for Embed.
	EmbedModel string
	// Retries is how many times a call is retried after a transient failure
	// (unreachable, 5xx, 429, a stream cut before any output); default 2,
	// negative for none.
	Retries int
	// RetryBackoff is the first retry's delay, doubled each retry; a
	// Retry-After header replaces it, up to MaxRetryAfter.
	RetryBackoff  time.Duration
	MaxRetryAfter time.Duration
	// ConnectTimeout bounds dialing; HeaderTimeout the wait for the response
	// headers; IdleTimeout the silence between two stream lines.
	ConnectTimeout, HeaderTimeout, IdleTimeout time.Duration
	// Logger receives debug records; nil discards them.
	Logger *slog.Logger
	// Sleep pauses before a retry for d (Retry-After or the backoff) and
	// returns early with ctx's error; nil waits on a timer. Tests set it to
	// see the delays without taking them.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client is an OpenAI-compatible chat backend. It implements llm.Model,
// llm.ContextWindower and llm.Embedder and is safe for concurrent use.
type Client struct {
	cfg     Config
	base    string // …/v1
	chatURL string
	hc      *http.Client
	log     *slog.Logger

	mu   sync.Mutex
	ctxs map[string]int // context windows by model
}

var (
	_ llm.Model           = (*Client)(nil)
	_ llm.ContextWindower = (*Client)(nil)
	_ llm.Embedder        = (*Client)(nil)
)

// New returns a client for cfg.URL. It does not contact the server: use
// Models to check that it answers.
func New(cfg Config) (*Client, error) {
	base, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.Retries == 0 {
		cfg.Retries = DefaultRetries
	} else if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = DefaultRetryBackoff
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.HeaderTimeout <= 0 {
		cfg.HeaderTimeout = DefaultHeaderTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	hc := cfg.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
		tr.TLSHandshakeTimeout = cfg.ConnectTimeout
		tr.ResponseHeaderTimeout = cfg.HeaderTimeout
		tr.MaxIdleConnsPerHost = 64
		hc = &http.Client{Transport: tr}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{cfg: cfg, base: base, chatURL: base + "/chat/completions", hc: hc, log: log, ctxs: map[string]int{}}, nil
}

func parseURL(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", errors.New("openaichat: no server URL (set --openai-url or HEARTH_OPENAI_URL, e.g. http://127.0.0.1:8000/v1)")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("openaichat: invalid server URL %q: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("openaichat: invalid server URL %q: scheme must be http or https", raw)
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("openaichat: invalid server URL %q: no host", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	if !strings.HasSuffix(u.Path, "/v1") {
		u.Path += "/v1"
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}

// URL returns the server's OpenAI base URL (ending in /v1).
func (c *Client) URL() string { return c.base }

func (c *Client) newRequest(ctx context.Context, method, url string, body []byte) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	req.Header.Set("User-Agent", "hearth")
	return req, nil
}

// getJSON GETs url into v; a 4xx/5xx is a *StatusError.
func (c *Client) getJSON(ctx context.Context, url string, v any) error {
	req, err := c.newRequest(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return readStatus(resp)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(v)
}

// ModelInfo is one entry of /v1/models.
type ModelInfo struct {
	ID      string `json:"id"`
	OwnedBy string `json:"owned_by,omitempty"`
	// MaxModelLen is vLLM's context length; 0 when the server does not say.
	MaxModelLen int `json:"max_model_len,omitempty"`
}

// Models lists the server's models (GET /v1/models). Its error wraps
// llm.ErrUnreachable when nothing answers.
func (c *Client) Models(ctx context.Context) ([]ModelInfo, error) {
	var out struct {
		Data []ModelInfo `json:"data"`
	}
	if err := c.getJSON(ctx, c.base+"/models", &out); err != nil {
		return nil, c.mapErr(ctx, err, "", 1)
	}
	return out.Data, nil
}

// ContextWindow returns the model's context length: Config.ContextWindow
// when set, else vLLM's max_model_len from /v1/models, else llama.cpp's n_ctx
// from /props; 0 with a nil error when nothing says. Results are cached.
func (c *Client) ContextWindow(ctx context.Context, model string) (int, error) {
	if c.cfg.ContextWindow > 0 {
		return c.cfg.ContextWindow, nil
	}
	c.mu.Lock()
	n, ok := c.ctxs[model]
	c.mu.Unlock()
	if ok {
		return n, nil
	}
	ms, err := c.Models(ctx)
	if err != nil {
		return 0, err
	}
	for _, m := range ms {
		if m.ID == model && m.MaxModelLen > 0 {
			n = m.MaxModelLen
		}
	}
	if n == 0 {
		n = c.props(ctx)
	}
	c.mu.Lock()
	c.ctxs[model] = n
	c.mu.Unlock()
	return n, nil
}

// props reads llama-server's /props (beside /v1, not under it).
func (c *Client) props(ctx context.Context) int {
	var p struct {
		NCtx int `json:"n_ctx"`
		Gen  struct {
			NCtx int `json:"n_ctx"`
		} `json:"default_generation_settings"`
	}
	if err := c.getJSON(ctx, strings.TrimSuffix(c.base, "/v1")+"/props", &p); err != nil {
		return 0
	}
	if p.Gen.NCtx > 0 {
		return p.Gen.NCtx
	}
	return p.NCtx
}

// Embed embeds texts with Config.EmbedModel through /v1/embeddings, in
// batches of 64, one vector per text in order.
func (c *Client) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if c.cfg.EmbedModel == "" {
		return nil, errors.New("openaichat: no embedding model configured (set --embed-model)")
	}
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += embedBatch {
		batch := texts[start:min(start+embedBatch, len(texts))]
		body, _ := json.Marshal(map[string]any{"model": c.cfg.EmbedModel, "input": batch, "encoding_format": "float"})
		var resp struct {
			Data []struct {
				Index     int       `json:"index"`
				Embedding []float32 `json:"embedding"`
			} `json:"data"`
		}
		tries, err := c.retry(ctx, func() error {
			req, err := c.newRequest(ctx, http.MethodPost, c.base+"/embeddings", body)
			if err != nil {
				return err
			}
			hr, err := c.hc.Do(req)
			if err != nil {
				return err
			}
			defer hr.Body.Close()
			if hr.StatusCode >= 400 {
				return readStatus(hr)
			}
			return json.NewDecoder(hr.Body).Decode(&resp)
		})
		if err != nil {
			return nil, c.mapErr(ctx, err, c.cfg.EmbedModel, tries)
		}
		if len(resp.Data) != len(batch) {
			return nil, fmt.Errorf("openaichat: %s returned %d embeddings for %d texts: %w", c.cfg.EmbedModel, len(resp.Data), len(batch), ErrServer)
		}
		vecs := make([][]float32, len(batch))
		for i, d := range resp.Data {
			j := d.Index
			if j < 0 || j >= len(batch) || vecs[j] != nil {
				j = i
			}
			vecs[j] = d.Embedding
		}
		out = append(out, vecs...)
	}
	return out, nil
}

// retry runs call until it succeeds, fails for good, or the retries are
// spent, and returns how many times it called.
func (c *Client) retry(ctx context.Context, call func() error) (int, error) {
	delay := c.cfg.RetryBackoff
	for attempt := 0; ; attempt++ {
		err := call()
		if err == nil || attempt >= c.cfg.Retries || !transient(ctx, err) {
			return attempt + 1, err
		}
		if !c.wait(ctx, err, &delay) {
			return attempt + 1, err
		}
	}
}

// wait sleeps before a retry: the server's Retry-After when it sent one
// (capped), else the backoff, which doubles.
func (c *Client) wait(ctx context.Context, err error, delay *time.Duration) bool {
	d := *delay
	var se *StatusError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		d = min(se.RetryAfter, c.cfg.MaxRetryAfter)
	} else {
		*delay *= 2
	}
	c.log.DebugContext(ctx, "openaichat: retrying", "delay", d, "err", err)
	if c.cfg.Sleep != nil {
		return c.cfg.Sleep(ctx, d) == nil && ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
