// Package engine runs the Assistants API in-process: assistants, threads,
// messages, runs and their steps, stored in one bbolt file and answered by an
// llm.Model.
//
// Open an Engine with a Config, use its services (Assistants, Threads,
// Messages, Runs, Steps), and Close it. Runs execute on a bounded worker
// pool; every state change is one transaction, published as an event only
// after it commits, and runs a crashed process left behind are resumed or
// ended on the next Open.
package engine
