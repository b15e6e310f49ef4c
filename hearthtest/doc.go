// Package hearthtest is for the tests of programs built on Hearth: it opens
// an engine on a temporary database that the test's end closes, and waits
// on runs, streams, logs and the scripted model by signals, never by
// sleeping or by a wall-clock bound.
//
// A test opens an engine with Open, drives it through its services as the
// program does, and checks the outcome:
//
//	model := scripted.New(scripted.Turn{Text: "Hello!"})
//	e := hearthtest.Open(t, model)
//	run, _ := e.Runs.CreateThreadAndRun(ctx, params)
//	hearthtest.RequireRunStatus(t, e, run.ThreadID, run.ID, apitype.RunCompleted)
//
// To act while a model call is in flight — cancel the run, read its partial
// message, restart the engine — give the scripted turn a scripted.Hold and
// wait on it (or on scripted.Model.WaitRequests); release it to let the
// reply finish. CollectEvents drains a stream into a list to compare, and
// Logs records what the engine logged.
//
// Open fails the test when goroutines Hearth started outlive the engine's
// Close. Tests that run in parallel (t.Parallel) share the process's
// goroutines, so they open their engines with NoLeakCheck.
package hearthtest
