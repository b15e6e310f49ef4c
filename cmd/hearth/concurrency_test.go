package main

import (
	"errors"
	"runtime"
	"testing"
)

func TestConcurrentRuns(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	none := env(nil)
	cpus := runtime.NumCPU()
	for _, c := range []struct {
		v, backend string
		getenv     func(string) string
		want       int
	}{
		{"", "ollama", none, max(4, 4+cpus)},
		{"auto", "ollama", env(map[string]string{"OLLAMA_NUM_PARALLEL": "16"}), 16 + cpus},
		{"auto", "scripted", none, max(4, 4*cpus)},
		{"12", "ollama", none, 12},
	} {
		got, err := concurrentRuns(c.v, c.backend, c.getenv)
		if err != nil || got != c.want {
			t.Errorf("concurrentRuns(%q, %q) = %d, %v; want %d", c.v, c.backend, got, err, c.want)
		}
	}
	for _, bad := range []string{"0", "-1", "many", "5000"} {
		if _, err := concurrentRuns(bad, "ollama", none); !errors.Is(err, errUsage) {
			t.Errorf("concurrentRuns(%q) = %v, want errUsage", bad, err)
		}
	}
}
