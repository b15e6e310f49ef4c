package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-go/hearth/filesearch"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/openaichat"
)

// openaiFlags configure --model-backend openai: any OpenAI-compatible
// server (vLLM, SGLang, llama-server, LM Studio, LocalAI, Ollama's /v1). The
// API key is read from the environment or a file, never from a flag: flags
// show in ps and shell history.
type openaiFlags struct {
	a             *app
	url, keyFile  string
	contextWindow int
	idleTimeout   time.Duration
	client        *openaichat.Client
	// envErr is a HEARTH_OPENAI_* variable that does not parse: serve
	// refuses it rather than run on a default the user did not choose.
	envErr error
}

func (a *app) openaiFlags(fs *flag.FlagSet) *openaiFlags {
	o := &openaiFlags{a: a}
	fs.StringVar(&o.url, "openai-url", a.env("HEARTH_OPENAI_URL", ""), "OpenAI-compatible server for --model-backend openai, e.g. http://gpu:8000/v1 (env HEARTH_OPENAI_URL); its API key comes from env HEARTH_OPENAI_API_KEY or OPENAI_API_KEY, or --openai-key-file")
	fs.StringVar(&o.keyFile, "openai-key-file", a.env("HEARTH_OPENAI_API_KEY_FILE", ""), "file holding the OpenAI-compatible server's API key (env HEARTH_OPENAI_API_KEY_FILE)")
	fs.IntVar(&o.contextWindow, "openai-context-window", o.envInt("HEARTH_OPENAI_CONTEXT_WINDOW", 0), "the served model's context in tokens when the server does not report it (vLLM and llama-server do) (env HEARTH_OPENAI_CONTEXT_WINDOW)")
	fs.DurationVar(&o.idleTimeout, "openai-idle-timeout", o.envDuration("HEARTH_OPENAI_IDLE_TIMEOUT", openaichat.DefaultIdleTimeout), "how long a reply stream may stay silent before the call fails (env HEARTH_OPENAI_IDLE_TIMEOUT)")
	return o
}

func (o *openaiFlags) envInt(name string, def int) int {
	v := o.a.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		o.envErr = fmt.Errorf("%w: %s=%q is not a number of tokens", errUsage, name, v)
		return def
	}
	return n
}

func (o *openaiFlags) envDuration(name string, def time.Duration) time.Duration {
	v := o.a.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		o.envErr = fmt.Errorf("%w: %s=%q is not a positive duration such as 2m or 90s", errUsage, name, v)
		return def
	}
	return d
}

// key is the API key: the file's first non-comment line, else the env.
func (o *openaiFlags) key() (string, error) {
	if o.keyFile != "" {
		b, err := os.ReadFile(o.keyFile)
		if err != nil {
			return "", fmt.Errorf("--openai-key-file: %w", err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				return l, nil
			}
		}
		return "", fmt.Errorf("--openai-key-file %s holds no key", o.keyFile)
	}
	if k := o.a.getenv("HEARTH_OPENAI_API_KEY"); k != "" {
		return k, nil
	}
	return o.a.getenv("OPENAI_API_KEY"), nil
}

// open builds the client and logs which server and models answer. An
// unreachable server is a warning, not a refusal to start: runs fail with
// an actionable last_error until it comes up. firstByte (serve's
// --model-first-byte-timeout) also bounds the wait for response headers,
// so raising it lets a slow-starting model answer.
func (o *openaiFlags) open(ctx context.Context, log *slog.Logger, defaultModel, embedModel string, firstByte time.Duration) (llm.Model, error) {
	if o.envErr != nil {
		return nil, o.envErr
	}
	if o.url == "" {
		return nil, fmt.Errorf("%w: --model-backend openai needs --openai-url (or HEARTH_OPENAI_URL), e.g. http://127.0.0.1:8000/v1", errUsage)
	}
	key, err := o.key()
	if err != nil {
		return nil, err
	}
	c, err := openaichat.New(openaichat.Config{URL: o.url, APIKey: key, ContextWindow: o.contextWindow,
		EmbedModel: embedModel, HeaderTimeout: firstByte, IdleTimeout: o.idleTimeout, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	o.client = c
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	models, err := c.Models(pctx)
	if err != nil {
		log.Warn("model server does not answer yet; runs fail until it does", "server", c.URL(), "err", err)
		return c, nil
	}
	ids := make([]string, len(models))
	for i, m := range models {
		ids[i] = m.ID
	}
	attrs := []any{"server", c.URL(), "models", strings.Join(ids, ","), "api_key", key != "",
		"header_timeout", firstByte, "idle_timeout", o.idleTimeout}
	if defaultModel != "" {
		n, _ := c.ContextWindow(pctx, defaultModel)
		attrs = append(attrs, "default_model", defaultModel, "context_window", n)
	}
	if embedModel != "" {
		attrs = append(attrs, "embed_model", embedModel)
	}
	log.Info("model server answers", attrs...)
	return c, nil
}

// embedder embeds file search chunks on the same server.
func (o *openaiFlags) embedder(model string) (filesearch.Embedder, error) {
	if o.client == nil {
		return nil, errors.New("--embed-model with --model-backend openai: no client")
	}
	return filesearch.NewLLMEmbedder(o.client, model), nil
}
