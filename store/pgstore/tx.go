package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// Tx is one transaction of the Postgres driver (store.Tx). Its statements
// go out in as few round trips as they can: the transaction's BEGIN, and
// each write's SAVEPOINT and RELEASE, travel in the pipeline (one pgx
// batch) of the next statement, so a write of one statement costs one
// round trip, and its commit one more, shared by the group.
type Tx struct {
	ctx   context.Context
	conn  *pgx.Conn
	tx    pgx.Tx // nil until the first statement began it
	opts  pgx.TxOptions
	write bool

	// pre are the statements to send ahead of the next one (savepoints).
	pre []preStmt
	// sp: this write's savepoint has been sent (there is something to roll
	// back to or release).
	sp bool
	// failed is a statement of this write that failed: the transaction is
	// aborted until it is rolled back to the write's savepoint.
	failed error
	// fatal ends the group: the connection is gone, or the transaction
	// failed to serialise and must run again.
	fatal   error
	pgxUsed bool
	// counts are the changes this write made to its threads' message
	// counts, written once as it ends: updating the thread's row with every
	// message would leave a version of it per message in one transaction,
	// each lookup of the row walking them all.
	counts map[string]int
}

type preStmt struct {
	sql       string
	args      []any
	scan      func(pgx.Row) error
	savepoint bool
}

// Context is the context the transaction's statements run under.
func (t *Tx) Context() context.Context { return t.ctx }

// Pgx is the transaction itself, begun if it was not yet, for statements
// of other Postgres code (River's InsertTx) in the same write.
func (t *Tx) Pgx() pgx.Tx {
	if t.tx == nil || len(t.pre) > 0 {
		_ = t.send(&pgx.Batch{}, nil)
	}
	t.pgxUsed = true
	return t.tx
}

// beginWrite opens a write's savepoint (sent with its first statement).
func (t *Tx) beginWrite() {
	t.pre = append(t.pre, preStmt{sql: "SAVEPOINT w", savepoint: true})
	t.sp, t.failed, t.pgxUsed = false, nil, false
	clear(t.counts)
}

// flushCounts queues the write's message count changes.
func (t *Tx) flushCounts() {
	for id, d := range t.counts {
		if d != 0 {
			t.pre = append(t.pre, preStmt{sql: "UPDATE threads SET message_count = greatest(message_count + $2, 0) WHERE id = $1", args: []any{id, d}})
		}
	}
	clear(t.counts)
}

// endWrite closes the write's savepoint: rolled back to when it failed,
// released when not (both sent with the next statement, unless the write
// ran statements of its own through Pgx, whose failure must be its own).
func (t *Tx) endWrite(rollback bool) error {
	if rollback {
		clear(t.counts)
	} else {
		t.flushCounts()
	}
	if !t.sp {
		// Nothing was sent: drop the savepoint unsent.
		if n := len(t.pre); n > 0 && t.pre[n-1].savepoint {
			t.pre = t.pre[:n-1]
		}
		return nil
	}
	if rollback {
		t.pre = append(t.pre, preStmt{sql: "ROLLBACK TO SAVEPOINT w"})
	}
	t.pre = append(t.pre, preStmt{sql: "RELEASE SAVEPOINT w"})
	if !t.pgxUsed || rollback {
		return nil
	}
	err := t.send(&pgx.Batch{}, nil)
	if err != nil && t.fatal == nil {
		// The release failed (a statement run through Pgx left the
		// transaction aborted): undo the write.
		t.pre = append(t.pre[:0], preStmt{sql: "ROLLBACK TO SAVEPOINT w"}, preStmt{sql: "RELEASE SAVEPOINT w"})
		if rerr := t.send(&pgx.Batch{}, nil); rerr != nil && t.fatal == nil {
			t.fatal = rerr
		}
	}
	return err
}

// send runs b's statements after what is pending (BEGIN, savepoints) in
// one round trip; read reads b's results in order.
func (t *Tx) send(b *pgx.Batch, read func(pgx.BatchResults) error) error {
	if t.fatal != nil {
		return t.fatal
	}
	nb := &pgx.Batch{}
	begin := t.tx == nil
	if begin {
		nb.BeginTx(t.opts)
	}
	pre := t.pre
	t.pre = nil
	for _, p := range pre {
		nb.Queue(p.sql, p.args...)
	}
	nb.QueuedQueries = append(nb.QueuedQueries, b.QueuedQueries...)
	if len(nb.QueuedQueries) == 0 {
		return nil
	}
	br := t.conn.SendBatch(t.ctx, nb)
	var err error
	if begin {
		_, err = br.Exec()
		t.tx = br.Tx()
	}
	for _, p := range pre {
		if err != nil {
			break
		}
		if p.scan != nil {
			err = p.scan(br.QueryRow())
		} else {
			_, err = br.Exec()
		}
		if err == nil && p.savepoint {
			t.sp = true
		}
	}
	if err != nil {
		br.Close()
		// The transaction's own machinery failed: nothing can go on.
		t.fatal = t.lost(err)
		return t.fatal
	}
	if read != nil {
		err = read(br)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.note(err)
	}
	return err
}

// lost is the error that fails a whole group.
func (t *Tx) lost(err error) error {
	if retryable(err) {
		return err
	}
	if isServerError(err) && !connectionEnded(err) {
		return fmt.Errorf("pgstore: nothing was written: %w", err)
	}
	return fmt.Errorf("%w: %w", errConnLost, err)
}

// note records what a failed statement means for the write and its group.
func (t *Tx) note(err error) {
	switch {
	case retryable(err), t.conn.IsClosed(), t.ctx.Err() != nil:
		if t.write {
			t.fatal = t.lost(err)
		}
	case t.failed == nil:
		t.failed = err
	}
}

// query runs one statement and calls scan for each row.
func (t *Tx) query(sql string, args []any, scan func(pgx.Rows) error) error {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	return t.send(b, func(br pgx.BatchResults) error { return readRows(br, scan) })
}

func readRows(br pgx.BatchResults, scan func(pgx.Rows) error) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// row runs a statement of at most one row; found says whether it had one.
func (t *Tx) row(sql string, args []any, dest ...any) (found bool, err error) {
	err = t.query(sql, args, func(r pgx.Rows) error { found = true; return r.Scan(dest...) })
	return found, err
}

// exec runs one statement and returns the rows it affected.
func (t *Tx) exec(sql string, args ...any) (int64, error) {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	var n int64
	err := t.send(b, func(br pgx.BatchResults) error {
		tag, err := br.Exec()
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// ---- records

func decode[T any](v []byte, kind, id string) (*T, error) {
	var out T
	if err := json.Unmarshal(v, &out); err != nil {
		return nil, fmt.Errorf("pgstore: decode %s %s: %w", kind, id, err)
	}
	return &out, nil
}

func encode(v any, kind string) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("pgstore: encode %s: %w", kind, err)
	}
	return b, nil
}

// get reads one record by a statement selecting it; absent → notFound.
func getRecord[T any](t *Tx, sql string, args []any, kind, id string, notFound error) (*T, error) {
	var v []byte
	found, err := t.row(sql, args, &v)
	if err != nil {
		return nil, err
	}
	if !found || v == nil {
		return nil, notFound
	}
	return decode[T](v, kind, id)
}

// ---- pages

// listQ is a list as a keyset query: from is the table and a WHERE on
// args ($1…); key the column ids sort by (COLLATE "C"); cols "key, record".
type listQ struct {
	from string
	args []any
	key  string
	cols string
	// exists, when set, is a query of one boolean sent in the same round
	// trip: false means the parent is unknown (notFound is returned).
	exists     string
	existsArgs []any
	notFound   error
	// parents, when set instead, is a query of one integer: 0, or i when
	// the parent notFounds[i-1] names is unknown.
	parents   string
	notFounds []error
}

type rec struct {
	id string
	v  []byte
}

// pageSQL is the keyset query of one page, as store/list.go cuts it:
// after=X starts strictly after X in list order; before=Y alone reads the
// limit items just before Y (walking backwards, then reversed); both bound
// each side; a limit+1th row says has_more in the direction read.
func pageSQL(q listQ, p apitype.ListParams, limit int) (string, []any, bool) {
	args := append([]any(nil), q.args...)
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	forward := p.Order == apitype.OrderAsc
	reverse := p.Before != "" && p.After == ""
	var conds []string
	ahead := func(forward bool) string {
		if forward {
			return " > "
		}
		return " < "
	}
	if reverse {
		forward = !forward
		conds = append(conds, q.key+ahead(forward)+arg(p.Before))
	} else {
		if p.After != "" {
			conds = append(conds, q.key+ahead(forward)+arg(p.After))
		}
		if p.Before != "" {
			conds = append(conds, q.key+ahead(!forward)+arg(p.Before))
		}
	}
	var sb strings.Builder
	sb.WriteString("SELECT " + q.cols + " FROM " + q.from)
	for _, c := range conds {
		sb.WriteString(" AND " + c)
	}
	sb.WriteString(" ORDER BY " + q.key)
	if !forward {
		sb.WriteString(" DESC")
	}
	sb.WriteString(" LIMIT " + strconv.Itoa(limit+1))
	return sb.String(), args, reverse
}

// pageRecs cuts a page: its records in list order and has_more.
func (t *Tx) pageRecs(q listQ, p apitype.ListParams, limit int) ([]rec, bool, error) {
	sql, args, reverse := pageSQL(q, p, limit)
	b := &pgx.Batch{}
	if q.exists != "" {
		b.Queue(q.exists, q.existsArgs...)
	} else if q.parents != "" {
		b.Queue(q.parents, q.existsArgs...)
	}
	b.Queue(sql, args...)
	exists, missing := true, 0
	recs := make([]rec, 0, min(limit+1, 32))
	err := t.send(b, func(br pgx.BatchResults) error {
		if q.exists != "" {
			if err := br.QueryRow().Scan(&exists); err != nil {
				return err
			}
		} else if q.parents != "" {
			if err := br.QueryRow().Scan(&missing); err != nil {
				return err
			}
		}
		return readRows(br, func(r pgx.Rows) error {
			var x rec
			if err := r.Scan(&x.id, &x.v); err != nil {
				return err
			}
			recs = append(recs, x)
			return nil
		})
	})
	if err != nil {
		return nil, false, err
	}
	if !exists {
		return nil, false, q.notFound
	}
	if missing > 0 {
		return nil, false, q.notFounds[missing-1]
	}
	more := len(recs) > limit
	if more {
		recs = recs[:limit]
	}
	if reverse {
		for i, j := 0, len(recs)-1; i < j; i, j = i+1, j-1 {
			recs[i], recs[j] = recs[j], recs[i]
		}
	}
	return recs, more, nil
}

func pageLimit(p apitype.ListParams) int {
	if p.Limit <= 0 {
		return apitype.DefaultListLimit
	}
	return min(p.Limit, apitype.MaxListLimit)
}

// list is one page of T.
func list[T any](t *Tx, q listQ, p apitype.ListParams, kind string) (apitype.Page[T], error) {
	return listN[T](t, q, p, pageLimit(p), kind)
}

func listN[T any](t *Tx, q listQ, p apitype.ListParams, limit int, kind string) (apitype.Page[T], error) {
	recs, more, err := t.pageRecs(q, p, limit)
	if err != nil {
		return apitype.Page[T]{}, err
	}
	page := apitype.Page[T]{Object: apitype.ObjectList, Data: make([]T, len(recs)), HasMore: more}
	for i, r := range recs {
		if err := json.Unmarshal(r.v, &page.Data[i]); err != nil {
			return apitype.Page[T]{}, fmt.Errorf("pgstore: decode %s %s: %w", kind, r.id, err)
		}
	}
	if n := len(recs); n > 0 {
		f, l := recs[0].id, recs[n-1].id
		page.FirstID, page.LastID = &f, &l
	}
	return page, nil
}

// ---- walks

// wrow is a row of a walk: its key (text or bigint), a count, a record and
// a text.
type wrow struct {
	k any
	n int
	v []byte
	s string
}

// walkQ is a walk in key order, read in chunks growing from 32 rows to
// 1024, each a keyset seek from the last key: a walk stopped early (a
// prompt keeping the newest messages) reads little more than it visits,
// and fn may use the transaction (a chunk is read before fn sees it).
type walkQ struct {
	from       string // table WHERE …, on args
	args       []any
	key        string
	cols       string // three columns: int, bytes, text (NULL-able as 0, nil, "")
	desc       bool
	exists     string
	existsArgs []any
	notFound   error
}

func (t *Tx) walk(q walkQ, fn func(r *wrow) (bool, error)) error {
	var cur any
	size := 32
	first := true
	for {
		args := append([]any(nil), q.args...)
		sql := "SELECT " + q.key + ", " + q.cols + " FROM " + q.from
		op, dir := " > ", ""
		if q.desc {
			op, dir = " < ", " DESC"
		}
		if cur != nil {
			args = append(args, cur)
			sql += " AND " + q.key + op + "$" + strconv.Itoa(len(args))
		}
		sql += " ORDER BY " + q.key + dir + " LIMIT " + strconv.Itoa(size)
		b := &pgx.Batch{}
		withExists := first && q.exists != ""
		if withExists {
			b.Queue(q.exists, q.existsArgs...)
		}
		b.Queue(sql, args...)
		exists := true
		var rows []wrow
		err := t.send(b, func(br pgx.BatchResults) error {
			if withExists {
				if err := br.QueryRow().Scan(&exists); err != nil {
					return err
				}
			}
			return readRows(br, func(r pgx.Rows) error {
				var w wrow
				var n *int64
				var s *string
				if err := r.Scan(&w.k, &n, &w.v, &s); err != nil {
					return err
				}
				if n != nil {
					w.n = int(*n)
				}
				if s != nil {
					w.s = *s
				}
				rows = append(rows, w)
				return nil
			})
		})
		if err != nil {
			return err
		}
		if !exists {
			return q.notFound
		}
		for i := range rows {
			if more, err := fn(&rows[i]); err != nil || !more {
				return err
			}
		}
		if len(rows) < size {
			return nil
		}
		cur, first, size = rows[len(rows)-1].k, false, min(size*4, 1024)
	}
}

// ---- assistants

func (t *Tx) PutAssistant(a *apitype.Assistant) error {
	v, err := encode(a, "assistant")
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO assistants (id, created_at, record) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET created_at = EXCLUDED.created_at, record = EXCLUDED.record`, a.ID, a.CreatedAt, v)
	return err
}

func (t *Tx) GetAssistant(id string) (*apitype.Assistant, error) {
	return getRecord[apitype.Assistant](t, "SELECT record FROM assistants WHERE id = $1", []any{id}, "assistant", id, apitype.NotFound("assistant", id))
}

func (t *Tx) has(sql, id string) (bool, error) {
	var ok bool
	_, err := t.row(sql, []any{id}, &ok)
	return ok, err
}

func (t *Tx) HasAssistant(id string) (bool, error) {
	return t.has("SELECT EXISTS (SELECT 1 FROM assistants WHERE id = $1)", id)
}

func (t *Tx) deleteBy(sql string, notFound error, args ...any) error {
	n, err := t.exec(sql, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound
	}
	return nil
}

func (t *Tx) DeleteAssistant(id string) error {
	return t.deleteBy("DELETE FROM assistants WHERE id = $1", apitype.NotFound("assistant", id), id)
}

func (t *Tx) ListAssistants(p apitype.ListParams) (apitype.Page[apitype.Assistant], error) {
	return list[apitype.Assistant](t, listQ{from: "assistants WHERE true", key: "id", cols: "id, record"}, p, "assistant")
}

// ---- threads

func (t *Tx) PutThread(th *apitype.Thread) error {
	v, err := encode(th, "thread")
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO threads (id, created_at, record) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET created_at = EXCLUDED.created_at, record = EXCLUDED.record`, th.ID, th.CreatedAt, v)
	return err
}

func (t *Tx) GetThread(id string) (*apitype.Thread, error) {
	return getRecord[apitype.Thread](t, "SELECT record FROM threads WHERE id = $1", []any{id}, "thread", id, apitype.NotFound("thread", id))
}

func (t *Tx) ListThreads(p apitype.ListParams) (apitype.Page[apitype.Thread], error) {
	return list[apitype.Thread](t, listQ{from: "threads WHERE true", key: "id", cols: "id, record"}, p, "thread")
}

func (t *Tx) HasThread(id string) (bool, error) {
	return t.has("SELECT EXISTS (SELECT 1 FROM threads WHERE id = $1)", id)
}

// DeleteThread deletes a thread; its messages, runs and steps go by the
// foreign keys' cascades, its runs' resume counts and its output files'
// count here (the files stay).
func (t *Tx) DeleteThread(id string) error {
	delete(t.counts, id)
	return t.deleteBy(`WITH r AS (DELETE FROM resumes WHERE id IN (SELECT id FROM runs WHERE thread_id = $1)),
		o AS (UPDATE files SET thread_id = NULL WHERE thread_id = $1)
		DELETE FROM threads WHERE id = $1`, apitype.NotFound("thread", id), id)
}

const threadExists = "SELECT EXISTS (SELECT 1 FROM threads WHERE id = $1)"

// ---- messages

// PutMessage inserts or replaces a message in one statement: the thread
// checked, the cap checked, the count kept, the stored token count kept
// when tokens < 0.
func (t *Tx) PutMessage(m *apitype.Message, tokens int) error {
	v, err := encode(m, "message")
	if err != nil {
		return fmt.Errorf("pgstore: encode message %s: %w", m.ID, err)
	}
	var run *string
	if m.RunID != nil && *m.RunID != "" {
		run = m.RunID
	}
	delta := t.counts[m.ThreadID]
	var thread, existed bool
	var count int64
	_, err = t.row(`WITH th AS (SELECT message_count + $7 AS n FROM threads WHERE id = $1),
		old AS (SELECT tokens FROM messages WHERE thread_id = $1 AND id = $2),
		ins AS (
			INSERT INTO messages (thread_id, id, run_id, tokens, record)
			SELECT $1, $2, $3, CASE WHEN $4::integer < 0 THEN coalesce((SELECT tokens FROM old), 0) ELSE $4::integer END, $5
			WHERE EXISTS (SELECT 1 FROM th) AND (EXISTS (SELECT 1 FROM old) OR (SELECT n FROM th) < $6)
			ON CONFLICT (thread_id, id) DO UPDATE SET run_id = EXCLUDED.run_id, tokens = EXCLUDED.tokens, record = EXCLUDED.record
			RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM th), coalesce((SELECT n FROM th), 0), EXISTS (SELECT 1 FROM old)`,
		[]any{m.ThreadID, m.ID, run, tokens, v, store.MaxMessagesPerThread, delta}, &thread, &count, &existed)
	switch {
	case err != nil:
		return err
	case !thread:
		return apitype.NotFound("thread", m.ThreadID)
	case existed:
		return nil
	case count >= store.MaxMessagesPerThread:
		return apitype.Invalid("thread_id", "thread %s already holds the maximum of %d messages", m.ThreadID, store.MaxMessagesPerThread)
	}
	t.count(m.ThreadID, 1)
	return nil
}

func (t *Tx) count(threadID string, d int) {
	if t.counts == nil {
		t.counts = map[string]int{}
	}
	t.counts[threadID] += d
}

func (t *Tx) GetMessage(threadID, id string) (*apitype.Message, error) {
	var thread bool
	var v []byte
	_, err := t.row(`SELECT EXISTS (SELECT 1 FROM threads WHERE id = $1), (SELECT record FROM messages WHERE thread_id = $1 AND id = $2)`,
		[]any{threadID, id}, &thread, &v)
	switch {
	case err != nil:
		return nil, err
	case !thread:
		return nil, apitype.NotFound("thread", threadID)
	case v == nil:
		return nil, apitype.NotFound("message", id)
	}
	return decode[apitype.Message](v, "message", id)
}

func (t *Tx) DeleteMessage(threadID, id string) error {
	var thread, deleted bool
	_, err := t.row(`WITH d AS (DELETE FROM messages WHERE thread_id = $1 AND id = $2 RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM threads WHERE id = $1), EXISTS (SELECT 1 FROM d)`, []any{threadID, id}, &thread, &deleted)
	switch {
	case err != nil:
		return err
	case !thread:
		return apitype.NotFound("thread", threadID)
	case !deleted:
		return apitype.NotFound("message", id)
	}
	t.count(threadID, -1)
	return nil
}

// CountMessages reads the count PutMessage and DeleteMessage keep.
func (t *Tx) CountMessages(threadID string) (int, error) {
	var n int64
	found, err := t.row("SELECT message_count FROM threads WHERE id = $1", []any{threadID}, &n)
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, apitype.NotFound("thread", threadID)
	}
	return max(int(n)+t.counts[threadID], 0), nil
}

func (t *Tx) ListMessages(threadID string, p apitype.MessageListParams) (apitype.Page[apitype.Message], error) {
	q := listQ{from: "messages WHERE thread_id = $1", args: []any{threadID}, key: "id", cols: "id, record",
		exists: threadExists, existsArgs: []any{threadID}, notFound: apitype.NotFound("thread", threadID)}
	if p.RunID != "" {
		q.from, q.args = "messages WHERE thread_id = $1 AND run_id = $2", []any{threadID, p.RunID}
	}
	return list[apitype.Message](t, q, p.ListParams, "message")
}

func (t *Tx) EachMessage(threadID string, desc bool, fn func(m *apitype.Message, tokens int) (bool, error)) error {
	return t.walk(walkQ{from: "messages WHERE thread_id = $1", args: []any{threadID}, key: "id", cols: "tokens::bigint, record, NULL::text", desc: desc,
		exists: threadExists, existsArgs: []any{threadID}, notFound: apitype.NotFound("thread", threadID)},
		func(r *wrow) (bool, error) {
			m, err := decode[apitype.Message](r.v, "message", r.k.(string))
			if err != nil {
				return false, err
			}
			return fn(m, r.n)
		})
}

// LendMessages is EachMessage: every message is fn's (lending is allowed,
// not required).
func (t *Tx) LendMessages(threadID string, desc bool, fn func(m *apitype.Message, tokens int) (bool, error)) error {
	return t.EachMessage(threadID, desc, fn)
}

// ---- runs and steps

// PutRun inserts or replaces a run in one statement. A non-terminal run is
// the thread's active run (one_active_run_per_thread); a terminal one's
// resume count goes. Another run already active on the thread is the
// engine's ActiveRunError, not a constraint violation.
func (t *Tx) PutRun(r *apitype.Run) error {
	v, err := encode(r, "run")
	if err != nil {
		return err
	}
	terminal := r.Status.Terminal()
	var thread bool
	var other *string
	_, err = t.row(`WITH th AS (SELECT 1 FROM threads WHERE id = $2),
		act AS (SELECT id FROM runs WHERE thread_id = $2 AND id <> $1 AND status IN ('queued', 'in_progress', 'requires_action', 'cancelling') LIMIT 1),
		up AS (
			INSERT INTO runs (id, thread_id, status, expires_at, record)
			SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM th) AND ($6 OR NOT EXISTS (SELECT 1 FROM act))
			ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, expires_at = EXCLUDED.expires_at, record = EXCLUDED.record
			WHERE runs.thread_id = EXCLUDED.thread_id
			RETURNING 1),
		res AS (DELETE FROM resumes WHERE $6 AND id = $1 AND EXISTS (SELECT 1 FROM up))
		SELECT EXISTS (SELECT 1 FROM th), CASE WHEN $6 THEN NULL ELSE (SELECT id FROM act) END`,
		[]any{r.ID, r.ThreadID, string(r.Status), r.ExpiresAt, v, terminal}, &thread, &other)
	switch {
	case err != nil:
		return err
	case !thread:
		return apitype.NotFound("thread", r.ThreadID)
	case other != nil:
		return apitype.ActiveRunError(r.ThreadID, *other)
	}
	return nil
}

func (t *Tx) GetRun(threadID, id string) (*apitype.Run, error) {
	var thread bool
	var v []byte
	_, err := t.row(`SELECT EXISTS (SELECT 1 FROM threads WHERE id = $1), (SELECT record FROM runs WHERE id = $2 AND thread_id = $1)`,
		[]any{threadID, id}, &thread, &v)
	switch {
	case err != nil:
		return nil, err
	case !thread:
		return nil, apitype.NotFound("thread", threadID)
	case v == nil:
		return nil, apitype.NotFound("run", id)
	}
	return decode[apitype.Run](v, "run", id)
}

func (t *Tx) ListRuns(threadID string, p apitype.ListParams) (apitype.Page[apitype.Run], error) {
	return list[apitype.Run](t, listQ{from: "runs WHERE thread_id = $1", args: []any{threadID}, key: "id", cols: "id, record",
		exists: threadExists, existsArgs: []any{threadID}, notFound: apitype.NotFound("thread", threadID)}, p, "run")
}

// ActiveRun reads the index one_active_run_per_thread keeps unique. Under
// SERIALIZABLE, the read is what makes a concurrent PutRun of another
// replica a serialisation failure (retried) rather than a second run.
func (t *Tx) ActiveRun(threadID string) (string, error) {
	var id string
	_, err := t.row(`SELECT id FROM runs WHERE thread_id = $1 AND status IN ('queued', 'in_progress', 'requires_action', 'cancelling')`,
		[]any{threadID}, &id)
	return id, err
}

func (t *Tx) LiveRuns(fn func(threadID, runID string) error) error {
	return t.walk(walkQ{from: "runs WHERE status NOT IN ('completed', 'failed', 'cancelled', 'expired', 'incomplete')", key: "id",
		cols: "NULL::bigint, NULL::bytea, thread_id"}, func(r *wrow) (bool, error) {
		return true, fn(r.s, r.k.(string))
	})
}

func (t *Tx) PutStep(s *apitype.RunStep) error {
	v, err := encode(s, "run step")
	if err != nil {
		return err
	}
	var thread, run bool
	_, err = t.row(`WITH th AS (SELECT 1 FROM threads WHERE id = $1),
		r AS (SELECT 1 FROM runs WHERE id = $2 AND thread_id = $1),
		up AS (INSERT INTO run_steps (run_id, id, record) SELECT $2, $3, $4 WHERE EXISTS (SELECT 1 FROM r)
			ON CONFLICT (run_id, id) DO UPDATE SET record = EXCLUDED.record)
		SELECT EXISTS (SELECT 1 FROM th), EXISTS (SELECT 1 FROM r)`, []any{s.ThreadID, s.RunID, s.ID, v}, &thread, &run)
	switch {
	case err != nil:
		return err
	case !thread:
		return apitype.NotFound("thread", s.ThreadID)
	case !run:
		return apitype.NotFound("run", s.RunID)
	}
	return nil
}

func (t *Tx) GetStep(threadID, runID, id string) (*apitype.RunStep, error) {
	var thread bool
	var v []byte
	_, err := t.row(`SELECT EXISTS (SELECT 1 FROM threads WHERE id = $1),
		(SELECT s.record FROM run_steps s JOIN runs r ON r.id = s.run_id WHERE r.id = $2 AND r.thread_id = $1 AND s.id = $3)`,
		[]any{threadID, runID, id}, &thread, &v)
	switch {
	case err != nil:
		return nil, err
	case !thread:
		return nil, apitype.NotFound("thread", threadID)
	case v == nil:
		return nil, apitype.NotFound("run step", id)
	}
	return decode[apitype.RunStep](v, "run step", id)
}

// ListSteps pages a run's steps; an unknown thread is not found, and a run
// the thread does not hold (yet) lists none (see store.Tx's ListSteps).
func (t *Tx) ListSteps(threadID, runID string, p apitype.ListParams) (apitype.Page[apitype.RunStep], error) {
	return list[apitype.RunStep](t, listQ{
		from: "run_steps WHERE run_id = $1 AND EXISTS (SELECT 1 FROM runs WHERE id = $1 AND thread_id = $2)", args: []any{runID, threadID},
		key: "id", cols: "id, record", exists: threadExists, existsArgs: []any{threadID}, notFound: apitype.NotFound("thread", threadID)}, p, "run step")
}

// CountResume counts in resumes, by run (or response) id; PutRun of a
// terminal run deletes the count.
func (t *Tx) CountResume(runID string) (int, error) {
	var n int64
	_, err := t.row(`INSERT INTO resumes (id, n) VALUES ($1, 1) ON CONFLICT (id) DO UPDATE SET n = resumes.n + 1 RETURNING n`, []any{runID}, &n)
	return int(n), err
}

// MarkCleanClose and TakeCleanClose keep one row in store_meta. With
// several replicas on one database the mark is the database's, not a
// replica's: a replica shutting down cleanly marks it and the next replica
// to start takes it, though the runs the mark is about (those the closing
// replica left in progress) may be another replica's to resume. Until the
// mark is per replica (a replica id in the row, and runs leased by
// replica), it only tells that the last replica to stop stopped cleanly.
func (t *Tx) MarkCleanClose() error {
	_, err := t.exec(`INSERT INTO store_meta (key, value) VALUES ('clean_close', '1') ON CONFLICT (key) DO NOTHING`)
	return err
}

func (t *Tx) TakeCleanClose() (bool, error) {
	n, err := t.exec(`DELETE FROM store_meta WHERE key = 'clean_close'`)
	return n > 0, err
}

// ---- files

func (t *Tx) putFile(f *apitype.File, threadID *string) error {
	v, err := encode(f, "file")
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO files (id, purpose, bytes, thread_id, record) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET purpose = EXCLUDED.purpose, bytes = EXCLUDED.bytes,
			thread_id = coalesce(EXCLUDED.thread_id, files.thread_id), record = EXCLUDED.record`, f.ID, f.Purpose, f.Bytes, threadID, v)
	return err
}

func (t *Tx) PutFile(f *apitype.File) error { return t.putFile(f, nil) }

func (t *Tx) GetFile(id string) (*apitype.File, error) {
	return getRecord[apitype.File](t, "SELECT record FROM files WHERE id = $1", []any{id}, "file", id, apitype.NotFound("file", id))
}

func (t *Tx) DeleteFile(id string) error {
	return t.deleteBy("DELETE FROM files WHERE id = $1", apitype.NotFound("file", id), id)
}

// PutOutputFile stores the file with the thread it was written for: the
// count is of the files that still exist, so a deleted one stops counting
// by itself.
func (t *Tx) PutOutputFile(threadID string, f *apitype.File) error {
	ok, err := t.HasThread(threadID)
	if err != nil {
		return err
	}
	if !ok {
		return apitype.NotFound("thread", threadID)
	}
	return t.putFile(f, &threadID)
}

func (t *Tx) OutputFiles(threadID string) (n int, size int64, err error) {
	var thread bool
	var count int64
	_, err = t.row(`SELECT EXISTS (SELECT 1 FROM threads WHERE id = $1), count(*), coalesce(sum(bytes), 0)::bigint FROM files WHERE thread_id = $1`,
		[]any{threadID}, &thread, &count, &size)
	if err != nil {
		return 0, 0, err
	}
	if !thread {
		return 0, 0, apitype.NotFound("thread", threadID)
	}
	return int(count), size, nil
}

// ListFiles pages files; files.list pages up to 10,000, which is one query
// here.
func (t *Tx) ListFiles(p apitype.ListParams, purpose string) (apitype.Page[apitype.File], error) {
	q := listQ{from: "files WHERE true", key: "id", cols: "id, record"}
	if purpose != "" {
		q.from, q.args = "files WHERE purpose = $1", []any{purpose}
	}
	limit := pageLimit(p)
	if p.Limit > apitype.MaxListLimit {
		limit = p.Limit
	}
	return listN[apitype.File](t, q, p, limit, "file")
}

// ---- vector stores

func (t *Tx) PutVectorStore(v *apitype.VectorStore) error {
	rec, err := encode(v, "vector store")
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO vector_stores (id, expires_at, record) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at, record = EXCLUDED.record`, v.ID, v.ExpiresAt, rec)
	return err
}

func (t *Tx) GetVectorStore(id string) (*apitype.VectorStore, error) {
	return getRecord[apitype.VectorStore](t, "SELECT record FROM vector_stores WHERE id = $1", []any{id}, "vector store", id, apitype.NotFound("vector store", id))
}

func (t *Tx) DeleteVectorStore(id string) error {
	return t.deleteBy("DELETE FROM vector_stores WHERE id = $1", apitype.NotFound("vector store", id), id)
}

func (t *Tx) ListVectorStores(p apitype.ListParams) (apitype.Page[apitype.VectorStore], error) {
	return list[apitype.VectorStore](t, listQ{from: "vector_stores WHERE true", key: "id", cols: "id, record"}, p, "vector store")
}

const vsExists = "SELECT EXISTS (SELECT 1 FROM vector_stores WHERE id = $1)"

func (t *Tx) PutVectorStoreFile(f *apitype.VectorStoreFile, batchID string) error {
	v, err := encode(f, "vector store file")
	if err != nil {
		return err
	}
	attrs := []byte("{}")
	if f.Attributes != nil {
		if attrs, err = encode(f.Attributes, "attributes"); err != nil {
			return err
		}
	}
	var vs bool
	_, err = t.row(`WITH vs AS (SELECT 1 FROM vector_stores WHERE id = $1),
		up AS (INSERT INTO vector_store_files (vector_store_id, file_id, status, attributes, record)
			SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM vs)
			ON CONFLICT (vector_store_id, file_id) DO UPDATE SET status = EXCLUDED.status, attributes = EXCLUDED.attributes, record = EXCLUDED.record),
		b AS (INSERT INTO vector_store_batch_files (vector_store_id, batch_id, file_id)
			SELECT $1, $6, $2 WHERE $6 <> '' AND EXISTS (SELECT 1 FROM vs) ON CONFLICT DO NOTHING)
		SELECT EXISTS (SELECT 1 FROM vs)`, []any{f.VectorStoreID, f.ID, f.Status, attrs, v, batchID}, &vs)
	if err != nil {
		return err
	}
	if !vs {
		return apitype.NotFound("vector store", f.VectorStoreID)
	}
	return nil
}

func (t *Tx) vsRecord(sql string, args []any, vsID, kind, id string) ([]byte, error) {
	var vs bool
	var v []byte
	if _, err := t.row(sql, args, &vs, &v); err != nil {
		return nil, err
	}
	if !vs {
		return nil, apitype.NotFound("vector store", vsID)
	}
	if v == nil {
		return nil, apitype.NotFound(kind, id)
	}
	return v, nil
}

func (t *Tx) GetVectorStoreFile(vsID, fileID string) (*apitype.VectorStoreFile, error) {
	v, err := t.vsRecord(`SELECT EXISTS (SELECT 1 FROM vector_stores WHERE id = $1),
		(SELECT record FROM vector_store_files WHERE vector_store_id = $1 AND file_id = $2)`, []any{vsID, fileID}, vsID, "vector store file", fileID)
	if err != nil {
		return nil, err
	}
	return decode[apitype.VectorStoreFile](v, "vector store file", fileID)
}

func (t *Tx) DeleteVectorStoreFile(vsID, fileID string) error {
	var vs, deleted bool
	_, err := t.row(`WITH d AS (DELETE FROM vector_store_files WHERE vector_store_id = $1 AND file_id = $2 RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM vector_stores WHERE id = $1), EXISTS (SELECT 1 FROM d)`, []any{vsID, fileID}, &vs, &deleted)
	switch {
	case err != nil:
		return err
	case !vs:
		return apitype.NotFound("vector store", vsID)
	case !deleted:
		return apitype.NotFound("vector store file", fileID)
	}
	return nil
}

func (t *Tx) strings(sql string, args ...any) ([]string, error) {
	var out []string
	err := t.query(sql, args, func(r pgx.Rows) error {
		var s string
		if err := r.Scan(&s); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

func (t *Tx) VectorStoresHolding(fileID string) ([]string, error) {
	return t.strings("SELECT vector_store_id FROM vector_store_files WHERE file_id = $1 ORDER BY vector_store_id", fileID)
}

func (t *Tx) ListVectorStoreFiles(vsID, batchID string, p apitype.VectorStoreFileListParams) (apitype.Page[apitype.VectorStoreFile], error) {
	q := listQ{from: "vector_store_files WHERE vector_store_id = $1", args: []any{vsID}, key: "file_id", cols: "file_id, record",
		exists: vsExists, existsArgs: []any{vsID}, notFound: apitype.NotFound("vector store", vsID)}
	if batchID != "" {
		q.from = `vector_store_batch_files b JOIN vector_store_files f USING (vector_store_id, file_id)
			WHERE b.vector_store_id = $1 AND b.batch_id = $2`
		q.args, q.key, q.cols = append(q.args, batchID), "b.file_id", "b.file_id, f.record"
	}
	if p.Filter != "" {
		q.args = append(q.args, p.Filter)
		q.from += " AND status = $" + strconv.Itoa(len(q.args))
	}
	return list[apitype.VectorStoreFile](t, q, p.ListParams, "vector store file")
}

func (t *Tx) EachVectorStoreFile(vsID string, fn func(*apitype.VectorStoreFile) error) error {
	return t.walk(walkQ{from: "vector_store_files WHERE vector_store_id = $1", args: []any{vsID}, key: "file_id", cols: "NULL::bigint, record, NULL::text",
		exists: vsExists, existsArgs: []any{vsID}, notFound: apitype.NotFound("vector store", vsID)}, func(r *wrow) (bool, error) {
		f, err := decode[apitype.VectorStoreFile](r.v, "vector store file", r.k.(string))
		if err != nil {
			return false, err
		}
		return true, fn(f)
	})
}

func (t *Tx) PutFileBatch(b *apitype.VectorStoreFileBatch) error {
	v, err := encode(b, "vector store file batch")
	if err != nil {
		return err
	}
	var vs bool
	_, err = t.row(`WITH vs AS (SELECT 1 FROM vector_stores WHERE id = $1),
		up AS (INSERT INTO vector_store_file_batches (vector_store_id, id, record) SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM vs)
			ON CONFLICT (vector_store_id, id) DO UPDATE SET record = EXCLUDED.record)
		SELECT EXISTS (SELECT 1 FROM vs)`, []any{b.VectorStoreID, b.ID, v}, &vs)
	if err != nil {
		return err
	}
	if !vs {
		return apitype.NotFound("vector store", b.VectorStoreID)
	}
	return nil
}

func (t *Tx) GetFileBatch(vsID, id string) (*apitype.VectorStoreFileBatch, error) {
	v, err := t.vsRecord(`SELECT EXISTS (SELECT 1 FROM vector_stores WHERE id = $1),
		(SELECT record FROM vector_store_file_batches WHERE vector_store_id = $1 AND id = $2)`, []any{vsID, id}, vsID, "vector store file batch", id)
	if err != nil {
		return nil, err
	}
	return decode[apitype.VectorStoreFileBatch](v, "vector store file batch", id)
}

// vsStrings is a list of ids of a vector store, NotFound when it is unknown.
func (t *Tx) vsStrings(vsID, sql string, args ...any) ([]string, error) {
	b := &pgx.Batch{}
	b.Queue(vsExists, vsID)
	b.Queue(sql, args...)
	var vs bool
	var out []string
	err := t.send(b, func(br pgx.BatchResults) error {
		if err := br.QueryRow().Scan(&vs); err != nil {
			return err
		}
		return readRows(br, func(r pgx.Rows) error {
			var s string
			if err := r.Scan(&s); err != nil {
				return err
			}
			out = append(out, s)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if !vs {
		return nil, apitype.NotFound("vector store", vsID)
	}
	return out, nil
}

func (t *Tx) BatchFileIDs(vsID, batchID string) ([]string, error) {
	return t.vsStrings(vsID, "SELECT file_id FROM vector_store_batch_files WHERE vector_store_id = $1 AND batch_id = $2 ORDER BY file_id", vsID, batchID)
}

func (t *Tx) ListFileBatchesOf(vsID, fileID string) ([]string, error) {
	return t.vsStrings(vsID, "SELECT batch_id FROM vector_store_batch_files WHERE vector_store_id = $1 AND file_id = $2 ORDER BY batch_id", vsID, fileID)
}
