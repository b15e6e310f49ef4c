// Package postgres runs an engine on Postgres as one of several replicas
// sharing one database. Open connects once and gives every part
// engine.Config takes for that — the store driver, the job queue, the event
// bus, file bytes and the file search index — and Close releases them after
// the engine has closed.
package postgres
