package ollama

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ollama/ollama/api"
	"golang.org/x/sync/singleflight"

	"github.com/hearth-go/hearth/llm"
)

// Defaults for Config fields left zero.
const (
	DefaultURL          = "http://127.0.0.1:11434"
	DefaultMaxContext   = 8192
	DefaultEmbedModel   = "nomic-embed-text"
	DefaultRetries      = 2
	DefaultRetryBackoff = 200 * time.Millisecond
	// embedBatch is how many texts go in one /api/embed request.
	embedBatch = 64
)

// Config configures a Client. The zero value talks to $OLLAMA_HOST or the
// default local address.
type Config struct {
	// URL of the Ollama server; "" → $OLLAMA_HOST → http://127.0.0.1:11434.
	// A bare "host:port" means http.
	URL string
	// HTTPClient sends the requests; nil uses a client without a timeout
	// (contexts bound each call).
	HTTPClient *http.Client
	// MaxContext caps num_ctx when a request does not set ContextWindow;
	// default 8192. Ollama allocates memory for the whole window, so a cap
	// keeps a 128k-context model from taking all RAM.
	MaxContext int
	// EmbedModel is the model Embed uses; default "nomic-embed-text".
	EmbedModel string
	// Retries is how many times a call is retried after a transient failure
	// (unreachable, HTTP 5xx, a stream cut before any output); default 2,
	// negative for none.
	Retries int
	// RetryBackoff is the first retry's delay, doubled each retry; default 200ms.
	RetryBackoff time.Duration
	// KeepAlive is how long Ollama keeps the model loaded after a call; nil
	// leaves Ollama's default (5m).
	KeepAlive *time.Duration
	// Think turns thinking on or off for thinking models; nil leaves Ollama's
	// default. Thinking never enters the answer text: it arrives in
	// llm.Chunk.Thinking.
	Think *bool
	// Logger receives debug and warning records; nil discards them.
	Logger *slog.Logger
}

// Client is an Ollama backend. It implements llm.Model, llm.ContextWindower
// and llm.Embedder, and is safe for concurrent use.
type Client struct {
	cfg     Config
	base    *url.URL
	chatURL string
	api     *api.Client
	log     *slog.Logger

	mu    sync.Mutex
	info  map[string]modelInfo // /api/show results by model name
	shows singleflight.Group   // one /api/show per model at a time
	tools toolCache
}

var (
	_ llm.Model           = (*Client)(nil)
	_ llm.ContextWindower = (*Client)(nil)
	_ llm.Embedder        = (*Client)(nil)
	_ llm.ModelLister     = (*Client)(nil)
)

// modelInfo is what the backend keeps from /api/show.
type modelInfo struct {
	contextLength int      // 0 when the server did not say
	capabilities  []string // nil when the server did not say
}

// New returns a client for the server cfg names. It does not contact the
// server: use Ping to check that Ollama answers.
func New(cfg Config) (*Client, error) {
	raw := cfg.URL
	if raw == "" {
		raw = os.Getenv("OLLAMA_HOST")
	}
	if raw == "" {
		raw = DefaultURL
	}
	base, err := parseURL(raw)
	if err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.MaxContext <= 0 {
		cfg.MaxContext = DefaultMaxContext
	}
	if cfg.EmbedModel == "" {
		cfg.EmbedModel = DefaultEmbedModel
	}
	if cfg.Retries == 0 {
		cfg.Retries = DefaultRetries
	} else if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = DefaultRetryBackoff
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{
		cfg:     cfg,
		base:    base,
		chatURL: base.JoinPath("/api/chat").String(),
		api:     api.NewClient(base, cfg.HTTPClient),
		log:     log,
		info:    map[string]modelInfo{},
	}, nil
}

// parseURL accepts "http://host:port[/path]", "host:port" and "host", the
// forms OLLAMA_HOST takes, and fills in Ollama's default port.
func parseURL(raw string) (*url.URL, error) {
	s := strings.TrimSpace(raw)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("ollama: invalid server URL %q: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("ollama: invalid server URL %q: scheme must be http or https", raw)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("ollama: invalid server URL %q: no host", raw)
	}
	if u.Port() == "" {
		port := "11434"
		if strings.Contains(raw, "://") {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		u.Host = net.JoinHostPort(u.Hostname(), port)
	} else if _, err := strconv.ParseUint(u.Port(), 10, 16); err != nil {
		return nil, fmt.Errorf("ollama: invalid server URL %q: bad port", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// URL returns the server's base URL.
func (c *Client) URL() string { return c.base.String() }

// Ping checks that Ollama answers (GET /api/version). Its error wraps
// llm.ErrUnreachable when nothing listens at URL.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.api.Version(ctx)
	if err != nil {
		return c.mapErr(ctx, err, "", 1)
	}
	return nil
}

// ListModels lists the models Ollama has pulled (GET /api/tags). Its error
// wraps llm.ErrUnreachable when nothing listens at URL.
func (c *Client) ListModels(ctx context.Context) ([]llm.ModelInfo, error) {
	res, err := c.api.List(ctx)
	if err != nil {
		return nil, c.mapErr(ctx, err, "", 1)
	}
	out := make([]llm.ModelInfo, 0, len(res.Models))
	for _, m := range res.Models {
		out = append(out, llm.ModelInfo{ID: m.Name, Created: m.ModifiedAt.Unix(), OwnedBy: "ollama"})
	}
	return out, nil
}

// ContextWindow returns the model's trained context length in tokens, from
// /api/show's "<arch>.context_length", cached per model. It is 0 with a nil
// error when the server does not report one.
func (c *Client) ContextWindow(ctx context.Context, model string) (int, error) {
	info, err := c.show(ctx, model)
	if err != nil {
		return 0, err
	}
	return info.contextLength, nil
}

// show fetches and caches what /api/show says about model. Only successes
// are cached: a model pulled later is found on the next call.
func (c *Client) show(ctx context.Context, model string) (modelInfo, error) {
	c.mu.Lock()
	info, ok := c.info[model]
	c.mu.Unlock()
	if ok {
		return info, nil
	}
	v, err := c.showOnce(ctx, model)
	if err != nil && ctx.Err() == nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		// The shared call belonged to a caller that gave up; ask again.
		v, err = c.showOnce(ctx, model)
	}
	if err != nil {
		return modelInfo{}, err
	}
	return v, nil
}

// showOnce asks the server, once for all concurrent callers: many runs start
// at once on a fresh client.
func (c *Client) showOnce(ctx context.Context, model string) (modelInfo, error) {
	v, err, _ := c.shows.Do(model, func() (any, error) {
		var resp *api.ShowResponse
		tries, err := c.retry(ctx, func() error {
			var err error
			resp, err = c.api.Show(ctx, &api.ShowRequest{Model: model})
			return err
		})
		if err != nil {
			return nil, c.mapErr(ctx, err, model, tries)
		}
		info := parseShow(resp)
		c.mu.Lock()
		c.info[model] = info
		c.mu.Unlock()
		return info, nil
	})
	if err != nil {
		return modelInfo{}, err
	}
	return v.(modelInfo), nil
}

func parseShow(resp *api.ShowResponse) modelInfo {
	var info modelInfo
	for _, cp := range resp.Capabilities {
		info.capabilities = append(info.capabilities, string(cp))
	}
	arch, _ := resp.ModelInfo["general.architecture"].(string)
	if n := number(resp.ModelInfo[arch+".context_length"]); arch != "" && n > 0 {
		info.contextLength = n
		return info
	}
	// Fall back to any "*.context_length" key (older servers, odd archs).
	for k, v := range resp.ModelInfo {
		if strings.HasSuffix(k, ".context_length") {
			if n := number(v); n > info.contextLength {
				info.contextLength = n
			}
		}
	}
	return info
}

func number(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int:
		return n
	case int64:
		return int(n)
	}
	return 0
}

func (i modelInfo) hasCapability(c string) bool { return slices.Contains(i.capabilities, c) }

// Embed embeds texts with Config.EmbedModel through /api/embed, in batches,
// without truncation: a text longer than the embedding model's context is an
// error wrapping llm.ErrContextOverflow. The result has one vector per text.
func (c *Client) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	noTruncate := false
	for start := 0; start < len(texts); start += embedBatch {
		batch := texts[start:min(start+embedBatch, len(texts))]
		req := &api.EmbedRequest{Model: c.cfg.EmbedModel, Input: batch, Truncate: &noTruncate}
		if c.cfg.KeepAlive != nil {
			req.KeepAlive = &api.Duration{Duration: *c.cfg.KeepAlive}
		}
		var resp *api.EmbedResponse
		tries, err := c.retry(ctx, func() error {
			var err error
			resp, err = c.api.Embed(ctx, req)
			return err
		})
		if err != nil {
			return nil, c.mapErr(ctx, err, c.cfg.EmbedModel, tries)
		}
		if len(resp.Embeddings) != len(batch) {
			return nil, fmt.Errorf("ollama: %s returned %d embeddings for %d texts", c.cfg.EmbedModel, len(resp.Embeddings), len(batch))
		}
		out = append(out, resp.Embeddings...)
	}
	return out, nil
}

// retry runs call until it succeeds, fails for good, or Config.Retries
// retries are spent, sleeping an exponential backoff between tries, and
// returns how many times it called. Only calls that are safe to repeat come here.
func (c *Client) retry(ctx context.Context, call func() error) (int, error) {
	delay := c.cfg.RetryBackoff
	for attempt := 0; ; attempt++ {
		err := call()
		if err == nil || attempt >= c.cfg.Retries || !transient(ctx, err) {
			return attempt + 1, err
		}
		c.log.WarnContext(ctx, "ollama: retrying", "attempt", attempt+1, "delay", delay, "reason", err)
		if !sleep(ctx, delay) {
			return attempt + 1, err
		}
		delay *= 2
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
