package engine

import (
	"context"

	"github.com/hearth-go/hearth/apitype"
)

// WatchRun subscribes to a run's events as they are published, without
// reading the run (a read would expire an overdue run itself): tests that
// check the background expirer wait on it.
func WatchRun(e *Engine, runID string) (next func(context.Context) (apitype.Event, error), stop func()) {
	sb := e.bus.Subscribe(runID)
	return sb.Next, sb.Close
}

// CompactIfFree runs one check of the auto-compacter.
func CompactIfFree(e *Engine, ctx context.Context) { e.compactIfFree(ctx) }

// ExpireContainersDue runs one pass of the container expirer.
func ExpireContainersDue(e *Engine, ctx context.Context) { e.expireContainersDue(ctx) }
