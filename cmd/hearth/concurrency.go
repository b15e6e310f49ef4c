package main

import (
	"fmt"
	"runtime"
	"strconv"
)

// defaultConcurrentRuns picks how many runs execute at once when
// --max-concurrent-runs is not given. With Ollama a run spends most of its
// time in a generation that Ollama serves OLLAMA_NUM_PARALLEL at a time
// (4 when unset, its usual choice with enough memory), and the rest in tools
// and the store, which use the CPU: one slot per parallel generation plus
// one per core keeps the model busy without letting runs pile up on it. The
// scripted model only uses the CPU, so four runs a core.
func defaultConcurrentRuns(backend string, getenv func(string) string) int {
	cpus := runtime.NumCPU()
	if backend == "scripted" {
		return max(4, 4*cpus)
	}
	parallel := 4
	if n, err := strconv.Atoi(getenv("OLLAMA_NUM_PARALLEL")); err == nil && n > 0 {
		parallel = n
	}
	return max(4, parallel+cpus)
}

// concurrentRuns reads --max-concurrent-runs (or HEARTH_MAX_CONCURRENT_RUNS):
// "" or "auto" means defaultConcurrentRuns.
func concurrentRuns(v, backend string, getenv func(string) string) (int, error) {
	if v == "" || v == "auto" {
		return defaultConcurrentRuns(backend, getenv), nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 4096 {
		return 0, fmt.Errorf("%w: --max-concurrent-runs must be auto or a number from 1 to 4096, got %q", errUsage, v)
	}
	return n, nil
}
