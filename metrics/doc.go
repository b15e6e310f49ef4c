// Package metrics exposes Hearth's engine to Prometheus: an engine.Observer
// that counts runs, model calls, tokens, ingestion and commits, and gauges
// read from the engine at scrape time. The engine never imports it; a program
// that does not want Prometheus leaves engine.Config.Observer unset.
package metrics
