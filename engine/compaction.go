package engine

import (
	"context"
	"time"
)

// compacter compacts the store when deletes have left it mostly free
// pages (Config.AutoCompactInterval): on an edge device that runs for
// months, deleted threads otherwise keep their disk, and every commit pays
// for the scattered free list.
func (e *Engine) compacter() {
	defer e.wg.Done()
	t := time.NewTicker(e.cfg.AutoCompactInterval)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
			e.compactIfFree(e.ctx)
		}
	}
}

// compactIfFree compacts when at least half the file, and at least
// Config.AutoCompactMinFreeBytes, is free.
func (e *Engine) compactIfFree(ctx context.Context) {
	free, size := e.store.FreeBytes(), e.store.Size()
	if free < e.cfg.AutoCompactMinFreeBytes || free*2 < size {
		return
	}
	st, err := e.store.Compact(ctx)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("auto-compact the store", "free_bytes", free, "err", err)
		}
		return
	}
	e.log.Info("store compacted", "free_bytes", free, "before", st.Before, "after", st.After,
		"took", st.Took, "writes_paused", st.Paused)
}
