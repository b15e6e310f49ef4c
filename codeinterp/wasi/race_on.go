//go:build race

package wasi

// raceOverhead: a race-enabled build's interpreter processes carry the race
// runtime too (measured ~60 MiB more each).
const raceOverhead = 96 << 20
