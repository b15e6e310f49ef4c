package engine

import (
	"context"

	"github.com/hearth-go/hearth/store"
)

// compactIfFree compacts the store online when at least half the file, and
// at least Config.AutoCompactMinFreeBytes, is free pages. Run every
// Config.AutoCompactInterval: on an edge device that runs for months,
// deleted threads otherwise keep their disk, and every commit pays for the
// scattered free list.
func (e *Engine) compactIfFree(ctx context.Context) {
	c, ok := e.store.(store.Compacter)
	if !ok {
		return // a store that gives deleted space back itself
	}
	free, size := c.FreeBytes(), c.Size()
	if free < e.cfg.AutoCompactMinFreeBytes || free*2 < size {
		return
	}
	st, err := c.Compact(ctx)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("auto-compact the store", "free_bytes", free, "err", err)
		}
		return
	}
	e.log.Info("store compacted", "free_bytes", free, "before", st.Before, "after", st.After,
		"took", st.Took, "writes_paused", st.Paused)
}

// releaseMapped takes the file pages reads have mapped out of the resident
// set, every Config.ReleaseMappedInterval.
func (e *Engine) releaseMapped(ctx context.Context) {
	r, ok := e.store.(store.MappedReleaser)
	if !ok {
		return
	}
	if _, err := r.ReleaseMapped(ctx); err != nil && ctx.Err() == nil {
		e.log.Warn("release the store's mapped pages", "err", err)
	}
}
