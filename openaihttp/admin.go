package openaihttp

import (
	"net/http"
	"time"
)

// backup streams an online, consistent copy of the database: one read
// transaction (bbolt's Tx.WriteTo), so writers go on meanwhile. This is how
// `hearth backup --server` copies a database a running server holds locked.
func (h *Handler) backup(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="hearth-backup.db"`)
	if _, err := h.eng.Store().Backup(r.Context(), w); err != nil {
		// Headers are gone: the client detects the torn copy when it checks
		// the file (hearth backup opens and verifies it).
		h.log.Error("backup failed", "err", err)
		panic(http.ErrAbortHandler) // cut the connection: no clean end of body
	}
}
