package openaihttp

import (
	"net/http"
	"time"

	"github.com/hearth-go/hearth/apitype"
)

// backup streams an online, consistent copy of the database: one read
// transaction (bbolt's Tx.WriteTo), so writers go on meanwhile. This is how
// `hearth backup --server` copies a database a running server holds locked.
func (h *Handler) backup(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	st := h.eng.Store()
	if st == nil {
		h.writeError(w, r, notBolt("backup"))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="hearth-backup.db"`)
	if _, err := st.Backup(r.Context(), w); err != nil {
		// Headers are gone: the client detects the torn copy when it checks
		// the file (hearth backup opens and verifies it).
		h.log.Error("backup failed", "err", err)
		panic(http.ErrAbortHandler) // cut the connection: no clean end of body
	}
}

// compact swaps in a compacted copy of the database without stopping the
// server (store.Compact: writes wait while the data is copied, reads go
// on) and says what it did. This is `hearth compact --server`.
func (h *Handler) compact(w http.ResponseWriter, r *http.Request) {
	bst := h.eng.Store()
	if bst == nil {
		h.writeError(w, r, notBolt("compact"))
		return
	}
	st, err := bst.Compact(r.Context())
	if err != nil {
		h.log.Error("compaction failed", "err", err)
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "compaction", "before_bytes": st.Before, "after_bytes": st.After,
		"took_ms": st.Took.Milliseconds(), "writes_paused_ms": st.Paused.Milliseconds()})
}

// notBolt is the answer of an admin operation on the bbolt file when the
// engine runs on another store driver, whose database has tools of its own.
func notBolt(op string) error {
	return &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Status: 400,
		Message: "/admin/" + op + " works on a bbolt database; this server's store is another driver: use its database's own tools."}
}
