// Package engine runs OpenAI's stateful APIs in-process — the Assistants API
// (assistants, threads, messages, runs and their steps) and the Responses
// and Conversations APIs — stored in one bbolt file and answered by an
// llm.Model.
//
// Open an Engine with a Config, use its services (Assistants, Threads,
// Messages, Runs, Steps, Files, VectorStores; Responses, Conversations,
// Containers), and
// Close it. Runs execute on
// a bounded worker pool; every state change is one transaction, published as
// an event only after it commits, and runs a crashed process left behind are
// resumed or ended on the next Open.
//
// # Runs
//
// Every run call comes three ways: Runs.Create returns the queued run at
// once; Runs.CreateAndWait returns when the run needs action or is over
// (notified, never polled); Runs.CreateStream yields the wire's events
// (thread.run.created … thread.message.delta … thread.run.completed), with
// Event.TextDelta for the text each delta adds. Streams are lazy and single
// use: nothing starts until the range does. A run that calls functions
// stops in requires_action; Runs.SubmitToolOutputs (and its AndWait and
// Stream forms) answers the calls and the run goes on. Runs.Cancel stops a
// run, its model call included. The examples show each.
//
// # Responses
//
// Responses.Create returns when the response has ended (a background one
// at once, queued); Responses.CreateStream yields its response.* events,
// each with its sequence number, and Responses.Stream replays a background
// response's from one. A response continues a previous_response_id chain
// or a conversation; its function calls end it, and the next response
// carries their function_call_output items. Conversations hold items; a
// response given one reads them first and appends its turn when it ends.
// The code_interpreter tool runs in Containers: one sandbox session each,
// whose Python state and /mnt/data files persist until it expires idle.
//
// # Many replicas
//
// With a shared store (Config.Store on Postgres), shared file bytes
// (Config.FileBytes, store/pgfiles.Bytes) and a shared index
// (NewFileIndexOn over store/pgfiles.IndexStorage), any replica serves
// any file, mounts it in a sandbox and searches what any replica ingested.
//
// A code interpreter session is a process's: its Python state cannot
// follow a thread or a container to another replica. When a thread's next
// run, or a container's next call, lands on a replica that has no session
// for it, that replica starts one — a restart, as when the sandbox evicts
// a session — with /mnt/data rebuilt from the shared bytes: the run's
// code_interpreter files (a thread), or every file of the container (the
// ones its code wrote anywhere included). Python variables are gone; the
// files are all there. The call never fails for where it landed: a file deleted meanwhile is left out,
// not an error. A replica holding an older session of the container first
// brings its /mnt/data in line with the container's files (written,
// replaced or deleted elsewhere) before the code runs; its variables are
// those of its own last call. Pinning a thread to a replica (a load
// balancer routing by thread or container id) keeps the variables, and is
// the deployment's choice, never needed for correctness.
//
// # Errors
//
// Errors are *apitype.Error values, the API's error envelope: match them
// with errors.Is against apitype.ErrNotFound, apitype.ErrInvalidRequest,
// apitype.ErrActiveRun and the others, and read Param for the field at
// fault. Calls on a closed engine fail with ErrClosed, a Config Open cannot
// honour with ErrInvalidConfig.
//
// # Testing
//
// Package hearthtest opens an engine for a test and waits on it by
// signals; the llm/scripted model answers in tests.
package engine

// How a run executes, for a reader of the code: a run is queued (queue.go)
// and taken by a worker, whose execution (execute.go) claims it, runs the loop and finishes it. The
// loop (loop.go) builds a prompt (prompt.go), makes one model call (turn),
// which streams its text and tool calls out as they come and returns a
// reply; what happens next is decided by decide (decide.go), a pure function
// of the run's settings and that reply — complete, record tool calls, retry
// with a correction, end incomplete or failed. The decision is carried out
// through runAPI, the API-specific half: for the Assistants API, answer.go
// writes the message and its step and toolcalls.go the tool_calls step and
// the built-in tools. Every write goes through writes.go (the claim, the
// background writes, write, finish), each one transaction compare-and-set on
// the run's status, and its events go out through the execution's outbox
// (outbox.go) after that transaction commits. Tool outputs come back through
// submit.go; overdue runs end in expiry.go; what a dead process left is
// resumed by recovery.go.
//
// A response (responses.go) runs on the same loop with respond.go's
// responseRun as its runAPI: its output grows in memory, each change an
// event in the response's log (respLog, which streams and replays read),
// and the finished response, its output and the conversation's new items
// are written in one transaction at the end (responseRun.end); its prompt
// is responsePrompt's, over items (respitems.go, items.go).
