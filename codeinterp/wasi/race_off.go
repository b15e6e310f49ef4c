//go:build !race

package wasi

const raceOverhead = 0
