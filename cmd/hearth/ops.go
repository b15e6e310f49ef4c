package main

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hearth-go/hearth/llm"
)

// aliasFlag collects --model-alias alias=model, repeatable.
type aliasFlag map[string]string

func (a aliasFlag) String() string {
	var parts []string
	for k, v := range a {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (a aliasFlag) Set(s string) error {
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return fmt.Errorf("model alias %q is not alias=model (e.g. gpt-4o=llama3.2)", kv)
		}
		a[k] = v
	}
	return nil
}

// aliased runs the local model for a request naming an alias. The engine
// keeps the name the client sent on the run; only the backend sees the other.
type aliased struct {
	llm.Model
	to map[string]string
}

func withAliases(m llm.Model, to map[string]string) llm.Model {
	if len(to) == 0 {
		return m
	}
	return &aliased{Model: m, to: to}
}

func (a *aliased) local(name string) string {
	if v, ok := a.to[name]; ok {
		return v
	}
	return name
}

func (a *aliased) Chat(ctx context.Context, req *llm.Request) iter.Seq2[llm.Chunk, error] {
	if to, ok := a.to[req.Model]; ok {
		r := *req
		r.Model = to
		req = &r
	}
	return a.Model.Chat(ctx, req)
}

// ContextWindow asks the backend about the local model (0 when it cannot
// tell, which leaves the engine's default).
func (a *aliased) ContextWindow(ctx context.Context, model string) (int, error) {
	if cw, ok := a.Model.(llm.ContextWindower); ok {
		return cw.ContextWindow(ctx, a.local(model))
	}
	return 0, nil
}

// startupCheck asks the backend for its models and says whether the
// default model and the aliases' targets are among them. Serving goes on
// either way: the backend may come up later.
func startupCheck(ctx context.Context, log *slog.Logger, m llm.Model, backend, defaultModel string, aliases map[string]string) {
	lister, ok := m.(llm.ModelLister)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ms, err := lister.ListModels(ctx)
	if err != nil {
		log.Warn("model backend did not answer; serving anyway, runs fail until it does", "model_backend", backend, "err", err)
		return
	}
	names := make([]string, 0, len(ms))
	for _, mi := range ms {
		names = append(names, mi.ID)
	}
	log.Info("model backend answered", "model_backend", backend, "models", strings.Join(names, ","))
	has := func(name string) bool {
		return slices.Contains(names, name) || !strings.Contains(name, ":") && slices.Contains(names, name+":latest")
	}
	missing := func(what, name string) {
		if backend == "ollama" {
			log.Warn(what+" is not on the backend", "model", name, "fix", "ollama pull "+name)
		} else {
			log.Warn(what+" is not on the backend", "model", name)
		}
	}
	if defaultModel != "" {
		local := defaultModel
		if v, ok := aliases[local]; ok {
			local = v
		}
		if !has(local) {
			missing("default model", local)
		}
	}
	for _, alias := range sortedKeys(aliases) {
		if !has(aliases[alias]) {
			missing("model alias target", aliases[alias])
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
