package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/hearth-go/hearth/apitype"
	bolt "go.etcd.io/bbolt"
)

// Layout. Top-level buckets hold objects by id; each thread has a bucket
// under bThreadData with its messages, token counts, runs and steps, so
// deleting a thread is one DeleteBucket in the same transaction.
//
// A thread's bucket is flat (schema 4): every kind of record under a
// one-byte key prefix, no sub-bucket. bbolt stores a bucket without
// sub-buckets that is under a quarter page inside its parent's page, so
// an empty or small thread costs its records and some 60 bytes; with the
// five sub-buckets of schema 3 a thread took a page of its own (4.6 KB
// empty). Each prefix's keys are still one sorted range of the bucket, so
// every lookup stays one seek. Run and step records (0.6–2 KB of JSON
// each, enough to push a short thread past the quarter page) live in the
// top-level bRuns and bSteps, by id, with the thread's bucket indexing
// its runs; their ids are time-ordered too, so those buckets grow at the
// end like the others.
var (
	bMeta          = []byte("meta")
	bAssistants    = []byte("assistants")
	bThreads       = []byte("threads")
	bThreadData    = []byte("thread_data")
	bActiveRuns    = []byte("active_runs") // thread id → run id of its active run
	bLiveRuns      = []byte("live_runs")   // run id → thread id, every non-terminal run
	bResumes       = []byte("run_resumes") // run id → times a restart resumed it
	bRuns          = []byte("runs")        // run id → run JSON (schema 4; in the thread's bucket before)
	bSteps         = []byte("steps")       // run id \x00 step id → step JSON (likewise)
	bFiles         = []byte("files")
	bVectorStores  = []byte("vector_stores")
	bVectorStoreFi = []byte("vector_store_data")

	rootBuckets = [][]byte{bMeta, bAssistants, bThreads, bThreadData, bActiveRuns, bLiveRuns, bResumes, bRuns, bSteps, bFiles, bVectorStores, bVectorStoreFi,
		bConversations, bConvItems, bConvItemIDs,
		bResponses, bResponseData, bLiveResps,
		bContainers, bContainerFiles, bContainerExpiry}

	kSchema = []byte("schema_version")
	// kCleanClose is present while the file rests after a clean shutdown.
	kCleanClose = []byte("clean_close")
	// present is the value of index entries (never empty, so never read as a bucket).
	present = []byte{1}

	// Key prefixes inside a thread's bucket. Every key but tCount is a
	// prefix and an id, so it is longer than one byte.
	tRunMsgs  = []byte("i") // "i" run id \x00 msg id → present
	tTokens   = []byte("k") // "k" msg id → uvarint token count, for JSON (schema 1) records only
	tMessages = []byte("m") // "m" msg id → message record
	tCount    = []byte("n") // message count, uint64
	tOutputs  = []byte("o") // "o" file id → uvarint bytes: the code interpreter's output files kept for the thread
	tRuns     = []byte("r") // "r" run id → present: the thread's runs, in bRuns

	vsFiles     = []byte("f") // file id → vector store file JSON
	vsBatches   = []byte("b") // batch id → batch JSON
	vsBatchFile = []byte("bf")
	vsSubs      = [][]byte{vsFiles, vsBatches, vsBatchFile}
)

// tkey is a thread bucket's key: prefix then id, appended to buf.
func tkey(buf []byte, prefix []byte, id string) []byte {
	return append(append(buf, prefix...), id...)
}

// tkey2 is tkey of the pair a \x00 b.
func tkey2(buf []byte, prefix []byte, a, b string) []byte {
	return append(append(append(append(buf, prefix...), a...), 0), b...)
}

// MaxMessagesPerThread is the reference's cap on a thread's messages.
const MaxMessagesPerThread = 100_000

// Tx is one transaction with typed accessors. Reads return *apitype.Error
// (404 not_found_error) for unknown ids.
type boltTx struct {
	tx      *bolt.Tx
	lenders *sync.Pool // the Store's, for ScanMessages; nil from Wrap
	fill    float64    // FillPercent of append-only buckets; 0 is appendFill
}

// appendFill is the FillPercent of the buckets whose keys only grow (ids
// are time-ordered: threads, messages, runs, steps, assistants, files). When
// a page of such a bucket splits, its left part is never written again, so
// bbolt's default of 0.5 left every leaf half empty and a message cost 2.3×
// its bytes on disk. The 5% left free absorbs a record that grows in place
// (a message completed, a run's status) without splitting its page.
const appendFill = 0.95

// appending marks b, in this write transaction, as a bucket whose keys only
// grow, so its pages split full (bbolt keeps the setting per transaction).
func (t *boltTx) appending(b *bolt.Bucket) *bolt.Bucket {
	if t.fill > 0 {
		b.FillPercent = t.fill
	} else {
		b.FillPercent = appendFill
	}
	return b
}

// Bolt exposes the underlying transaction to capability packages.
// Unstable: see the package doc.
func (t *boltTx) Bolt() *bolt.Tx { return t.tx }

func getJSON[T any](b *bolt.Bucket, id, kind string) (*T, error) {
	return getJSONKey[T](b, []byte(id), id, kind)
}

// getJSONKey is getJSON of the record at key.
func getJSONKey[T any](b *bolt.Bucket, key []byte, id, kind string) (*T, error) {
	v := b.Get(key)
	if v == nil {
		return nil, apitype.NotFound(kind, id)
	}
	var out T
	if err := json.Unmarshal(v, &out); err != nil {
		return nil, fmt.Errorf("store: decode %s %s: %w", kind, id, err)
	}
	return &out, nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %s: %w", key, err)
	}
	return b.Put(key, data)
}

// ---- assistants

// PutAssistant inserts or replaces an assistant.
func (t *boltTx) PutAssistant(a *apitype.Assistant) error {
	return putJSON(t.appending(t.tx.Bucket(bAssistants)), []byte(a.ID), a)
}

// GetAssistant reads an assistant.
func (t *boltTx) GetAssistant(id string) (*apitype.Assistant, error) {
	return getJSON[apitype.Assistant](t.tx.Bucket(bAssistants), id, "assistant")
}

// HasAssistant reports whether an assistant exists, without decoding it.
func (t *boltTx) HasAssistant(id string) (bool, error) {
	return t.tx.Bucket(bAssistants).Get([]byte(id)) != nil, nil
}

// DeleteAssistant deletes an assistant.
func (t *boltTx) DeleteAssistant(id string) error {
	b := t.tx.Bucket(bAssistants)
	if b.Get([]byte(id)) == nil {
		return apitype.NotFound("assistant", id)
	}
	return b.Delete([]byte(id))
}

// ListAssistants pages through assistants.
func (t *boltTx) ListAssistants(p apitype.ListParams) (apitype.Page[apitype.Assistant], error) {
	return listJSON[apitype.Assistant](t.tx.Bucket(bAssistants), nil, p)
}

// ---- threads

// PutThread inserts or replaces a thread and makes its data bucket.
func (t *boltTx) PutThread(th *apitype.Thread) error {
	if err := putJSON(t.appending(t.tx.Bucket(bThreads)), []byte(th.ID), th); err != nil {
		return err
	}
	_, err := t.appending(t.tx.Bucket(bThreadData)).CreateBucketIfNotExists([]byte(th.ID))
	return err
}

// GetThread reads a thread.
func (t *boltTx) GetThread(id string) (*apitype.Thread, error) {
	return getJSON[apitype.Thread](t.tx.Bucket(bThreads), id, "thread")
}

// ListThreads pages through threads by cursor, like every list (thread ids
// sort in creation order). The hosted API has no thread list; Hearth's
// Playground and CLI use this one.
func (t *boltTx) ListThreads(p apitype.ListParams) (apitype.Page[apitype.Thread], error) {
	return listJSON[apitype.Thread](t.tx.Bucket(bThreads), nil, p)
}

// HasThread reports whether a thread exists, without decoding it.
func (t *boltTx) HasThread(id string) (bool, error) {
	return t.tx.Bucket(bThreads).Get([]byte(id)) != nil, nil
}

// DeleteThread deletes a thread and everything under it: messages, runs,
// steps and its run indexes.
func (t *boltTx) DeleteThread(id string) error {
	b := t.tx.Bucket(bThreads)
	if b.Get([]byte(id)) == nil {
		return apitype.NotFound("thread", id)
	}
	if tb := t.tx.Bucket(bThreadData).Bucket([]byte(id)); tb != nil {
		live, runs, steps := t.tx.Bucket(bLiveRuns), t.tx.Bucket(bRuns), t.tx.Bucket(bSteps)
		c := tb.Cursor()
		for k, _ := c.Seek(tRuns); len(k) > 1 && k[0] == tRuns[0]; k, _ = c.Next() {
			run := k[1:]
			if err := live.Delete(run); err != nil {
				return err
			}
			if err := runs.Delete(run); err != nil {
				return err
			}
			if err := deletePrefix(steps, append(bytes.Clone(run), 0)); err != nil {
				return err
			}
		}
		if err := t.tx.Bucket(bThreadData).DeleteBucket([]byte(id)); err != nil {
			return err
		}
	}
	if err := t.tx.Bucket(bActiveRuns).Delete([]byte(id)); err != nil {
		return err
	}
	return b.Delete([]byte(id))
}

func (t *boltTx) threadBucket(threadID string) (*bolt.Bucket, error) {
	all := t.tx.Bucket(bThreadData)
	tb := all.Bucket([]byte(threadID))
	if tb == nil {
		return nil, apitype.NotFound("thread", threadID)
	}
	if t.tx.Writable() {
		// Small threads are values of thread_data's pages, growing there:
		// its pages split full too (the setting lasts one transaction).
		t.appending(all)
	}
	return tb, nil
}

// ---- messages

// PutMessage inserts or replaces a message; tokens is its cached token count
// (kept as it was when tokens < 0 and the message exists).
func (t *boltTx) PutMessage(m *apitype.Message, tokens int) error {
	tb, err := t.threadBucket(m.ThreadID)
	if err != nil {
		return err
	}
	t.appending(tb)
	var kbuf [64]byte
	key := tkey(kbuf[:0], tMessages, m.ID)
	old := tb.Get(key)
	if old == nil {
		n := count(tb)
		if n >= MaxMessagesPerThread {
			return apitype.Invalid("thread_id", "thread %s already holds the maximum of %d messages", m.ThreadID, MaxMessagesPerThread)
		}
		if err := tb.Put(tCount, u64(n+1)); err != nil {
			return err
		}
	} else if run, ok, err := messageRunID(old); err == nil && ok && (m.RunID == nil || *m.RunID != run) {
		if err := tb.Delete(tkey2(nil, tRunMsgs, run, m.ID)); err != nil {
			return err
		}
	}
	if tokens < 0 && old != nil {
		tokens = storedTokens(tb, key, old)
	}
	if len(old) > 0 && old[0] == '{' {
		// A JSON record's count lived beside it; the new record carries it.
		if err := tb.Delete(tkey(nil, tTokens, m.ID)); err != nil {
			return err
		}
	}
	data, err := encodeMessage(nil, m, tokens)
	if err != nil {
		return fmt.Errorf("store: encode message %s: %w", m.ID, err)
	}
	if err := tb.Put(key, data); err != nil {
		return err
	}
	if m.RunID != nil && *m.RunID != "" {
		return tb.Put(tkey2(nil, tRunMsgs, *m.RunID, m.ID), present)
	}
	return nil
}

// GetMessage reads a message of a thread.
func (t *boltTx) GetMessage(threadID, id string) (*apitype.Message, error) {
	tb, err := t.threadBucket(threadID)
	if err != nil {
		return nil, err
	}
	var kbuf [64]byte
	v := tb.Get(tkey(kbuf[:0], tMessages, id))
	if v == nil {
		return nil, apitype.NotFound("message", id)
	}
	var m apitype.Message
	if err := decodeMessage(v, id, newMsgArena(threadID, 1), &m); err != nil {
		return nil, fmt.Errorf("store: decode message %s: %w", id, err)
	}
	return &m, nil
}

// DeleteMessage deletes a message of a thread.
func (t *boltTx) DeleteMessage(threadID, id string) error {
	tb, err := t.threadBucket(threadID)
	if err != nil {
		return err
	}
	var kbuf [64]byte
	key := tkey(kbuf[:0], tMessages, id)
	v := tb.Get(key)
	if v == nil {
		return apitype.NotFound("message", id)
	}
	// Only the run id is needed; a damaged record stays deletable.
	run, inRun, _ := messageRunID(v)
	if err := tb.Delete(key); err != nil {
		return err
	}
	if err := tb.Delete(tkey(kbuf[:0], tTokens, id)); err != nil {
		return err
	}
	if inRun {
		if err := tb.Delete(tkey2(kbuf[:0], tRunMsgs, run, id)); err != nil {
			return err
		}
	}
	n := count(tb)
	if n > 0 { // never wrap, whatever a damaged file holds
		n--
	}
	return tb.Put(tCount, u64(n))
}

// CountMessages returns how many messages a thread holds.
func (t *boltTx) CountMessages(threadID string) (int, error) {
	tb, err := t.threadBucket(threadID)
	if err != nil {
		return 0, err
	}
	return int(count(tb)), nil
}

// ListMessages pages through a thread's messages, optionally those of one
// run. The page owns its memory: it is ScanMessages' page with each record
// copied into an arena the page's strings point into.
func (t *boltTx) ListMessages(threadID string, p apitype.MessageListParams) (apitype.Page[apitype.Message], error) {
	var small [apitype.DefaultListLimit]pageRecord
	recs := pageBuffer(small[:], p.ListParams)
	n, more, err := t.messagePage(threadID, p, recs)
	if err != nil {
		return apitype.Page[apitype.Message]{}, err
	}
	arena := newMsgArena(threadID, n)
	size := 0
	for _, r := range recs[:n] {
		size += len(r.id) + len(r.v)
	}
	arena.buf = make([]byte, 0, size) // one chunk for the page's ids and records
	data := make([]apitype.Message, n)
	for i, r := range recs[:n] {
		// Decode in place: no copy of the struct, no per-item allocation.
		if err := decodeMessage(r.v, arena.str(r.id), arena, &data[i]); err != nil {
			return apitype.Page[apitype.Message]{}, fmt.Errorf("store: decode message %s: %w", r.id, err)
		}
	}
	page := apitype.Page[apitype.Message]{Object: apitype.ObjectList, Data: data, HasMore: more}
	if n > 0 {
		f, l := ownIDs(recs[0].id, recs[n-1].id)
		page.FirstID, page.LastID = arena.newStr(f), arena.newStr(l)
	}
	return page, nil
}

// ScanMessages visits the page of a thread's messages that ListMessages with
// the same params returns, in the same order, and returns what that page
// says about itself. It is the listing without the copy: each message is
// decoded into one reused Message whose strings point straight into the
// transaction's memory, so a page costs a few allocations, not one per
// message. (Parts a record keeps as JSON — annotations, images, refusals,
// attachments — and records of older files, which are JSON, are decoded
// with encoding/json and do allocate.)
//
// The message fn gets, with everything it points to, is valid only until fn
// returns: the next message reuses it, and its strings last only as long as
// the transaction, like a value from bbolt's Get. Keep one with m.Clone()
// (writing through m changes only the lent copy). fn must not modify the
// thread in this transaction. An error from fn stops the scan and is
// returned as it is; a damaged record is an error wrapping the store's
// corrupt-record error, never a panic.
func (t *boltTx) ScanMessages(threadID string, p apitype.MessageListParams, fn func(m *apitype.Message) error) (PageInfo, error) {
	if p.RunID != "" || p.Before != "" {
		return t.scanCut(threadID, p, fn)
	}
	// The usual page (no run filter, no before) is walked and lent in one
	// loop: a previous page must be cut first, as it is walked backwards.
	tb, err := t.threadBucket(threadID)
	if err != nil {
		return PageInfo{}, err
	}
	limit, forward := pageLimit(p.ListParams), p.Order == apitype.OrderAsc
	var afterBuf [64]byte
	c, next := tb.Cursor(), stepper(forward)
	lender := t.lender()
	lender.setThread(threadID)
	var info PageInfo
	var first, last []byte
	n := 0
	for k, v := walkStart(c, tMessages, forward, cursorKey(afterBuf[:0], tMessages, p.After)); len(k) > 1 && k[0] == tMessages[0]; k, v = next(c) {
		if n == limit {
			info.HasMore = true
			break
		}
		k = k[1:]
		// t.lend, written out: this loop runs once per listed message.
		if id := unsafe.String(unsafe.SliceData(k), len(k)); !lender.ls.lendV2(v, id) {
			if err = lendOther(v, id, lender, &lender.ls.msg); err != nil {
				err = fmt.Errorf("store: decode message %s: %w", k, err)
				break
			}
		}
		if err = fn(&lender.ls.msg); err != nil {
			break
		}
		if n == 0 {
			first = k
		}
		last, n = k, n+1
	}
	t.release(lender)
	if err != nil {
		return PageInfo{}, err
	}
	if n > 0 {
		info.FirstID, info.LastID = ownIDs(first, last)
	}
	return info, nil
}

// scanCut is ScanMessages for the pages cut before they are visited: a
// run's messages, and pages bounded by before.
func (t *boltTx) scanCut(threadID string, p apitype.MessageListParams, fn func(m *apitype.Message) error) (PageInfo, error) {
	var small [apitype.DefaultListLimit]pageRecord
	recs := pageBuffer(small[:], p.ListParams)
	n, more, err := t.messagePage(threadID, p, recs)
	if err != nil {
		return PageInfo{}, err
	}
	lender := t.lender()
	lender.setThread(threadID)
	for _, r := range recs[:n] {
		if err = t.lend(r.id, r.v, lender, fn); err != nil {
			break
		}
	}
	t.release(lender)
	if err != nil {
		return PageInfo{}, err
	}
	info := PageInfo{HasMore: more}
	if n > 0 {
		info.FirstID, info.LastID = ownIDs(recs[0].id, recs[n-1].id)
	}
	return info, nil
}

// lend decodes the record v of message id into lender's message and gives
// it to fn.
func (t *boltTx) lend(id, v []byte, lender *msgArena, fn func(m *apitype.Message) error) error {
	sid := unsafe.String(unsafe.SliceData(id), len(id))
	if !lender.ls.lendV2(v, sid) { // lendMessage, unwrapped
		if err := lendOther(v, sid, lender, &lender.ls.msg); err != nil {
			return fmt.Errorf("store: decode message %s: %w", id, err)
		}
	}
	return fn(&lender.ls.msg)
}

// lender returns a lender for one scan. Lenders are pooled per Store: one is
// about half a kilobyte, and allocating it was a tenth of a scan's cost.
func (t *boltTx) lender() *msgArena {
	if t.lenders != nil {
		if a, ok := t.lenders.Get().(*msgArena); ok {
			return a
		}
	}
	return newMsgLender()
}

// release returns a lender to the pool, holding no pointer into this
// transaction's memory (which may be unmapped before it is used again).
func (t *boltTx) release(a *msgArena) {
	if t.lenders == nil || cap(a.parts) > 64 || len(a.ls.meta) > 64 {
		return // unpooled, or grown by an unusual record: let it go
	}
	a.scrub()
	t.lenders.Put(a)
}

// messagePage cuts a page of a thread's messages into recs; the run_id
// filter cuts the run's index and reads each message by key.
func (t *boltTx) messagePage(threadID string, p apitype.MessageListParams, recs []pageRecord) (n int, more bool, err error) {
	tb, err := t.threadBucket(threadID)
	if err != nil {
		return 0, false, err
	}
	if p.RunID == "" {
		n, more = cutPage(tb, tMessages, p.ListParams, recs)
		return n, more, nil
	}
	// The run index holds keys only; values are the message records.
	var pbuf, kbuf [64]byte
	n, more = cutPage(tb, tkey2(pbuf[:0], tRunMsgs, p.RunID, ""), p.ListParams, recs)
	for i := range recs[:n] {
		if recs[i].v = tb.Get(append(append(kbuf[:0], tMessages...), recs[i].id...)); recs[i].v == nil {
			return 0, false, fmt.Errorf("store: run index names missing message %s", recs[i].id)
		}
	}
	return n, more, nil
}

// MessageTokens walks a thread's messages from the newest (desc) or oldest,
// giving each id with its cached token count, until fn returns false. It
// reads the count at the head of each record and decodes no message.
func (t *boltTx) MessageTokens(threadID string, desc bool, fn func(id string, tokens int) bool) error {
	tb, err := t.threadBucket(threadID)
	if err != nil {
		return err
	}
	c := tb.Cursor()
	for k, v := walkStart(c, tMessages, !desc, nil); len(k) > 1 && k[0] == tMessages[0]; k, v = step(c, desc) {
		if !fn(string(k[1:]), storedTokens(tb, k, v)) {
			return nil
		}
	}
	return nil
}

// storedTokens is the cached token count of the message record v at key
// (tMessages and the id) of the thread bucket tb.
func storedTokens(tb *bolt.Bucket, key, v []byte) int {
	if n, ok := recordTokens(v); ok {
		return n
	}
	var kbuf [64]byte
	n, _ := binary.Uvarint(tb.Get(append(append(kbuf[:0], tTokens...), key[len(tMessages):]...)))
	return int(n)
}

func step(c *bolt.Cursor, desc bool) ([]byte, []byte) {
	if desc {
		return c.Prev()
	}
	return c.Next()
}

func count(tb *bolt.Bucket) uint64 {
	if v := tb.Get(tCount); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func pair(a, b string) []byte {
	k := make([]byte, 0, len(a)+1+len(b))
	k = append(k, a...)
	k = append(k, 0)
	return append(k, b...)
}

// ---- runs

// PutRun inserts or replaces a run and keeps the thread's active-run lock and
// the live-run index in step with its status.
func (t *boltTx) PutRun(r *apitype.Run) error {
	tb, err := t.threadBucket(r.ThreadID)
	if err != nil {
		return err
	}
	if err := putJSON(t.appending(t.tx.Bucket(bRuns)), []byte(r.ID), r); err != nil {
		return err
	}
	var kbuf [64]byte
	if key := tkey(kbuf[:0], tRuns, r.ID); tb.Get(key) == nil {
		if err := t.appending(tb).Put(key, present); err != nil {
			return err
		}
	}
	active, live := t.tx.Bucket(bActiveRuns), t.tx.Bucket(bLiveRuns)
	if r.Status.Terminal() {
		if string(active.Get([]byte(r.ThreadID))) == r.ID {
			if err := active.Delete([]byte(r.ThreadID)); err != nil {
				return err
			}
		}
		if err := t.tx.Bucket(bResumes).Delete([]byte(r.ID)); err != nil {
			return err
		}
		return live.Delete([]byte(r.ID))
	}
	if err := active.Put([]byte(r.ThreadID), []byte(r.ID)); err != nil {
		return err
	}
	return live.Put([]byte(r.ID), []byte(r.ThreadID))
}

// GetRun reads a run of a thread.
func (t *boltTx) GetRun(threadID, id string) (*apitype.Run, error) {
	// Runs are polled: the usual case is one lookup, the record naming its
	// thread; the thread's bucket is looked at only to say what is missing.
	if r, err := getJSON[apitype.Run](t.tx.Bucket(bRuns), id, "run"); err == nil && r.ThreadID == threadID {
		return r, nil
	} else if err != nil && !errors.Is(err, apitype.ErrNotFound) {
		return nil, err
	}
	if _, err := t.threadBucket(threadID); err != nil {
		return nil, err
	}
	return nil, apitype.NotFound("run", id)
}

// hasRun reports whether the thread bucket tb indexes run id.
func hasRun(tb *bolt.Bucket, id string) bool {
	var kbuf [64]byte
	return tb.Get(tkey(kbuf[:0], tRuns, id)) != nil
}

// deletePrefix deletes b's keys under prefix.
func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, k)
	}
	for _, k := range keys { // after the walk: deletes move cursors
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// ListRuns pages through a thread's runs.
func (t *boltTx) ListRuns(threadID string, p apitype.ListParams) (apitype.Page[apitype.Run], error) {
	tb, err := t.threadBucket(threadID)
	if err != nil {
		return apitype.Page[apitype.Run]{}, err
	}
	runs := t.tx.Bucket(bRuns)
	return listWhere(tb, tRuns, p, false, func(k, _ []byte, out *apitype.Run) (bool, error) {
		v := runs.Get(k[len(tRuns):])
		if v == nil {
			return false, fmt.Errorf("store: thread %s indexes missing run %s", threadID, k[len(tRuns):])
		}
		return true, json.Unmarshal(v, out)
	})
}

// ActiveRun returns the id of the thread's active run, or "".
func (t *boltTx) ActiveRun(threadID string) (string, error) {
	return string(t.tx.Bucket(bActiveRuns).Get([]byte(threadID))), nil
}

// LiveRuns calls fn for every run that is not terminal, oldest first.
func (t *boltTx) LiveRuns(fn func(threadID, runID string) error) error {
	return t.tx.Bucket(bLiveRuns).ForEach(func(k, v []byte) error { return fn(string(v), string(k)) })
}

// ---- steps

// PutStep inserts or replaces a run step.
func (t *boltTx) PutStep(s *apitype.RunStep) error {
	tb, err := t.threadBucket(s.ThreadID)
	if err != nil {
		return err
	}
	if !hasRun(tb, s.RunID) {
		return apitype.NotFound("run", s.RunID)
	}
	return putJSON(t.appending(t.tx.Bucket(bSteps)), pair(s.RunID, s.ID), s)
}

// GetStep reads a step of a run.
func (t *boltTx) GetStep(threadID, runID, id string) (*apitype.RunStep, error) {
	tb, err := t.threadBucket(threadID)
	if err != nil {
		return nil, err
	}
	var v []byte
	if hasRun(tb, runID) {
		v = t.tx.Bucket(bSteps).Get(pair(runID, id))
	}
	if v == nil {
		return nil, apitype.NotFound("run step", id)
	}
	var s apitype.RunStep
	return &s, json.Unmarshal(v, &s)
}

// ListSteps pages through a run's steps; a run the thread does not hold
// (yet) lists none, as the Tx promises.
func (t *boltTx) ListSteps(threadID, runID string, p apitype.ListParams) (apitype.Page[apitype.RunStep], error) {
	tb, err := t.threadBucket(threadID)
	if err != nil {
		return apitype.Page[apitype.RunStep]{}, err
	}
	if !hasRun(tb, runID) {
		return apitype.Page[apitype.RunStep]{Object: apitype.ObjectList, Data: []apitype.RunStep{}}, nil
	}
	return listJSON[apitype.RunStep](t.tx.Bucket(bSteps), append([]byte(runID), 0), p)
}

// ---- files

// PutFile inserts or replaces a file's record.
func (t *boltTx) PutFile(f *apitype.File) error {
	return putJSON(t.appending(t.tx.Bucket(bFiles)), []byte(f.ID), f)
}

// GetFile reads a file's record.
func (t *boltTx) GetFile(id string) (*apitype.File, error) {
	return getJSON[apitype.File](t.tx.Bucket(bFiles), id, "file")
}

// DeleteFile deletes a file's record.
func (t *boltTx) DeleteFile(id string) error {
	b := t.tx.Bucket(bFiles)
	if b.Get([]byte(id)) == nil {
		return apitype.NotFound("file", id)
	}
	return b.Delete([]byte(id))
}

// PutOutputFile stores the record of a file the code interpreter wrote in
// one of a thread's runs and counts it against that thread (OutputFiles).
// Entries of files deleted since are dropped here, so the count only holds
// files that still take disk.
func (t *boltTx) PutOutputFile(threadID string, f *apitype.File) error {
	tb, err := t.threadBucket(threadID)
	if err != nil {
		return err
	}
	if err := t.PutFile(f); err != nil {
		return err
	}
	files := t.tx.Bucket(bFiles)
	var gone [][]byte
	c := tb.Cursor()
	for k, _ := c.Seek(tOutputs); len(k) > 1 && k[0] == tOutputs[0]; k, _ = c.Next() {
		if files.Get(k[1:]) == nil {
			gone = append(gone, bytes.Clone(k))
		}
	}
	for _, k := range gone {
		if err := tb.Delete(k); err != nil {
			return err
		}
	}
	var kbuf [64]byte
	return tb.Put(tkey(kbuf[:0], tOutputs, f.ID), binary.AppendUvarint(nil, uint64(f.Bytes)))
}

// OutputFiles reports how many files the code interpreter has stored for a
// thread's runs that still exist, and their bytes.
func (t *boltTx) OutputFiles(threadID string) (n int, size int64, err error) {
	tb, err := t.threadBucket(threadID)
	if err != nil {
		return 0, 0, err
	}
	files := t.tx.Bucket(bFiles)
	c := tb.Cursor()
	for k, v := c.Seek(tOutputs); len(k) > 1 && k[0] == tOutputs[0]; k, v = c.Next() {
		if files.Get(k[1:]) != nil {
			b, _ := binary.Uvarint(v)
			n++
			size += int64(b)
		}
	}
	return n, size, nil
}

// EachOutputFile visits the ids of a thread's output files that still
// exist, oldest first.
func (t *boltTx) EachOutputFile(threadID string, fn func(fileID string) error) error {
	tb, err := t.threadBucket(threadID)
	if err != nil {
		return err
	}
	files := t.tx.Bucket(bFiles)
	c := tb.Cursor()
	for k, _ := c.Seek(tOutputs); len(k) > 1 && k[0] == tOutputs[0]; k, _ = c.Next() {
		if files.Get(k[1:]) != nil {
			if err := fn(string(k[1:])); err != nil {
				return err
			}
		}
	}
	return nil
}

// ListFiles pages through files, only those of purpose when it is set.
func (t *boltTx) ListFiles(p apitype.ListParams, purpose string) (apitype.Page[apitype.File], error) {
	if p.Limit <= apitype.MaxListLimit {
		return t.listFiles(p, purpose)
	}
	// files.list pages up to 10,000: walk on in pages of 100 from where the
	// last one ended.
	want, q := p.Limit, p
	var all apitype.Page[apitype.File]
	for {
		q.Limit = min(apitype.MaxListLimit, want-len(all.Data))
		page, err := t.listFiles(q, purpose)
		if err != nil {
			return page, err
		}
		all.Object, all.HasMore = page.Object, page.HasMore
		all.Data = append(all.Data, page.Data...)
		if !page.HasMore || len(all.Data) >= want || len(page.Data) == 0 {
			break
		}
		q.After = page.Data[len(page.Data)-1].ID
	}
	if n := len(all.Data); n > 0 {
		f, l := all.Data[0].ID, all.Data[n-1].ID
		all.FirstID, all.LastID = &f, &l
	}
	return all, nil
}

func (t *boltTx) listFiles(p apitype.ListParams, purpose string) (apitype.Page[apitype.File], error) {
	if purpose == "" {
		return listJSON[apitype.File](t.tx.Bucket(bFiles), nil, p)
	}
	return listFiltered(t.tx.Bucket(bFiles), p, func(f *apitype.File) bool { return f.Purpose == purpose })
}

// ---- vector stores

// PutVectorStore inserts or replaces a vector store and makes its data bucket.
func (t *boltTx) PutVectorStore(v *apitype.VectorStore) error {
	if err := putJSON(t.appending(t.tx.Bucket(bVectorStores)), []byte(v.ID), v); err != nil {
		return err
	}
	vb, err := t.appending(t.tx.Bucket(bVectorStoreFi)).CreateBucketIfNotExists([]byte(v.ID))
	if err != nil {
		return err
	}
	for _, name := range vsSubs {
		if _, err := vb.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// GetVectorStore reads a vector store.
func (t *boltTx) GetVectorStore(id string) (*apitype.VectorStore, error) {
	return getJSON[apitype.VectorStore](t.tx.Bucket(bVectorStores), id, "vector store")
}

// DeleteVectorStore deletes a vector store with its file records and batches.
func (t *boltTx) DeleteVectorStore(id string) error {
	b := t.tx.Bucket(bVectorStores)
	if b.Get([]byte(id)) == nil {
		return apitype.NotFound("vector store", id)
	}
	if t.tx.Bucket(bVectorStoreFi).Bucket([]byte(id)) != nil {
		if err := t.tx.Bucket(bVectorStoreFi).DeleteBucket([]byte(id)); err != nil {
			return err
		}
	}
	return b.Delete([]byte(id))
}

// ListVectorStores pages through vector stores.
func (t *boltTx) ListVectorStores(p apitype.ListParams) (apitype.Page[apitype.VectorStore], error) {
	return listJSON[apitype.VectorStore](t.tx.Bucket(bVectorStores), nil, p)
}

func (t *boltTx) vsBucket(id string) (*bolt.Bucket, error) {
	vb := t.tx.Bucket(bVectorStoreFi).Bucket([]byte(id))
	if vb == nil {
		return nil, apitype.NotFound("vector store", id)
	}
	return vb, nil
}

// PutVectorStoreFile inserts or replaces a vector store file; batchID, when
// set, records the file as a member of that batch.
func (t *boltTx) PutVectorStoreFile(f *apitype.VectorStoreFile, batchID string) error {
	vb, err := t.vsBucket(f.VectorStoreID)
	if err != nil {
		return err
	}
	if batchID != "" {
		if err := t.appending(vb.Bucket(vsBatchFile)).Put(pair(batchID, f.ID), present); err != nil {
			return err
		}
	}
	return putJSON(vb.Bucket(vsFiles), []byte(f.ID), f)
}

// GetVectorStoreFile reads a vector store file.
func (t *boltTx) GetVectorStoreFile(vsID, fileID string) (*apitype.VectorStoreFile, error) {
	vb, err := t.vsBucket(vsID)
	if err != nil {
		return nil, err
	}
	return getJSON[apitype.VectorStoreFile](vb.Bucket(vsFiles), fileID, "vector store file")
}

// DeleteVectorStoreFile detaches a file from a vector store.
func (t *boltTx) DeleteVectorStoreFile(vsID, fileID string) error {
	vb, err := t.vsBucket(vsID)
	if err != nil {
		return err
	}
	if vb.Bucket(vsFiles).Get([]byte(fileID)) == nil {
		return apitype.NotFound("vector store file", fileID)
	}
	return vb.Bucket(vsFiles).Delete([]byte(fileID))
}

// VectorStoresHolding lists the vector stores a file is attached to. It
// looks the file up in each vector store (no index by file): deleting a file
// is rare beside the reads an index would slow.
func (t *boltTx) VectorStoresHolding(fileID string) ([]string, error) {
	var ids []string
	key := []byte(fileID)
	err := t.tx.Bucket(bVectorStoreFi).ForEachBucket(func(vsID []byte) error {
		if files := t.tx.Bucket(bVectorStoreFi).Bucket(vsID).Bucket(vsFiles); files != nil && files.Get(key) != nil {
			ids = append(ids, string(vsID))
		}
		return nil
	})
	return ids, err
}

// ListVectorStoreFiles pages through a vector store's files, or a batch's
// when batchID is set, keeping only status filter when it is set.
func (t *boltTx) ListVectorStoreFiles(vsID, batchID string, p apitype.VectorStoreFileListParams) (apitype.Page[apitype.VectorStoreFile], error) {
	vb, err := t.vsBucket(vsID)
	if err != nil {
		return apitype.Page[apitype.VectorStoreFile]{}, err
	}
	keep := func(f *apitype.VectorStoreFile) bool { return p.Filter == "" || f.Status == p.Filter }
	if batchID == "" {
		if p.Filter == "" {
			return listJSON[apitype.VectorStoreFile](vb.Bucket(vsFiles), nil, p.ListParams)
		}
		return listFiltered(vb.Bucket(vsFiles), p.ListParams, keep)
	}
	files := vb.Bucket(vsFiles)
	prefix := append([]byte(batchID), 0)
	return listWhere(vb.Bucket(vsBatchFile), prefix, p.ListParams, true, func(k, _ []byte, f *apitype.VectorStoreFile) (bool, error) {
		v := files.Get(k[len(prefix):])
		if v == nil { // detached since
			return false, nil
		}
		if err := json.Unmarshal(v, f); err != nil {
			return false, err
		}
		return keep(f), nil
	})
}

// EachVectorStoreFile calls fn for every file of a vector store.
func (t *boltTx) EachVectorStoreFile(vsID string, fn func(*apitype.VectorStoreFile) error) error {
	vb, err := t.vsBucket(vsID)
	if err != nil {
		return err
	}
	return vb.Bucket(vsFiles).ForEach(func(_, v []byte) error {
		var f apitype.VectorStoreFile
		if err := json.Unmarshal(v, &f); err != nil {
			return err
		}
		return fn(&f)
	})
}

// PutFileBatch inserts or replaces a file batch.
func (t *boltTx) PutFileBatch(b *apitype.VectorStoreFileBatch) error {
	vb, err := t.vsBucket(b.VectorStoreID)
	if err != nil {
		return err
	}
	return putJSON(t.appending(vb.Bucket(vsBatches)), []byte(b.ID), b)
}

// GetFileBatch reads a file batch.
func (t *boltTx) GetFileBatch(vsID, id string) (*apitype.VectorStoreFileBatch, error) {
	vb, err := t.vsBucket(vsID)
	if err != nil {
		return nil, err
	}
	return getJSON[apitype.VectorStoreFileBatch](vb.Bucket(vsBatches), id, "vector store file batch")
}

// BatchFileIDs returns the ids of a batch's files.
func (t *boltTx) BatchFileIDs(vsID, batchID string) ([]string, error) {
	vb, err := t.vsBucket(vsID)
	if err != nil {
		return nil, err
	}
	prefix := append([]byte(batchID), 0)
	var ids []string
	c := vb.Bucket(vsBatchFile).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		ids = append(ids, string(k[len(prefix):]))
	}
	return ids, nil
}

// ListFileBatches pages through a vector store's batches.
func (t *boltTx) ListFileBatches(vsID string, p apitype.ListParams) (apitype.Page[apitype.VectorStoreFileBatch], error) {
	vb, err := t.vsBucket(vsID)
	if err != nil {
		return apitype.Page[apitype.VectorStoreFileBatch]{}, err
	}
	return listJSON[apitype.VectorStoreFileBatch](vb.Bucket(vsBatches), nil, p)
}

// ListFileBatchesOf returns the ids of a vector store's batches that hold a file.
func (t *boltTx) ListFileBatchesOf(vsID, fileID string) ([]string, error) {
	vb, err := t.vsBucket(vsID)
	if err != nil {
		return nil, err
	}
	var ids []string
	err = vb.Bucket(vsBatchFile).ForEach(func(k, _ []byte) error {
		if i := bytes.IndexByte(k, 0); i > 0 && string(k[i+1:]) == fileID {
			ids = append(ids, string(k[:i]))
		}
		return nil
	})
	return ids, err
}

// Wrap gives a migration (which runs on a raw bbolt transaction) the typed
// accessors. Unstable: see the package doc.
func Wrap(btx *bolt.Tx) Tx { return &boltTx{tx: btx} }

// EachThread calls fn with every thread's id.
func (t *boltTx) EachThread(fn func(id string) error) error {
	return t.tx.Bucket(bThreads).ForEach(func(k, _ []byte) error { return fn(string(k)) })
}

// EachMessage walks a thread's messages from the newest (desc) or oldest,
// decoding each with its cached token count, until fn returns false: one
// cursor step and one decode per message, for readers that stop early.
// Each message is fn's to keep; LendMessages is the same walk without the
// copy.
func (t *boltTx) EachMessage(threadID string, desc bool, fn func(m *apitype.Message, tokens int) (bool, error)) error {
	arena := newMsgArena(threadID, 64)
	return t.eachRecord(threadID, desc, func(k, v []byte, tokens int) (bool, error) {
		m := new(apitype.Message)
		if err := decodeMessage(v, arena.str(k), arena, m); err != nil {
			return false, fmt.Errorf("store: decode message %s: %w", k, err)
		}
		return fn(m, tokens)
	})
}

// LendMessages is EachMessage lending each message as ScanMessages does:
// valid only until fn returns, its strings the transaction's memory (Clone
// what is kept). Prompt truncation reads this way what it keeps.
func (t *boltTx) LendMessages(threadID string, desc bool, fn func(m *apitype.Message, tokens int) (bool, error)) error {
	lender := t.lender()
	lender.setThread(threadID)
	m := &lender.ls.msg
	err := t.eachRecord(threadID, desc, func(k, v []byte, tokens int) (bool, error) {
		if id := unsafe.String(unsafe.SliceData(k), len(k)); !lender.ls.lendV2(v, id) {
			if err := lendOther(v, id, lender, m); err != nil {
				return false, fmt.Errorf("store: decode message %s: %w", k, err)
			}
		}
		return fn(m, tokens)
	})
	t.release(lender)
	return err
}

// eachRecord walks a thread's message records with their token counts.
func (t *boltTx) eachRecord(threadID string, desc bool, fn func(k, v []byte, tokens int) (bool, error)) error {
	tb, err := t.threadBucket(threadID)
	if err != nil {
		return err
	}
	c := tb.Cursor()
	for k, v := walkStart(c, tMessages, !desc, nil); len(k) > 1 && k[0] == tMessages[0]; k, v = step(c, desc) {
		if more, err := fn(k[1:], v, storedTokens(tb, k, v)); err != nil || !more {
			return err
		}
	}
	return nil
}

// MarkCleanClose records that the process is shutting down cleanly: runs
// it leaves in progress were stopped on purpose, not by what they did.
func (t *boltTx) MarkCleanClose() error { return t.tx.Bucket(bMeta).Put(kCleanClose, present) }

// TakeCleanClose reports whether the last process shut down cleanly, and
// clears the mark for this one.
func (t *boltTx) TakeCleanClose() (bool, error) {
	meta := t.tx.Bucket(bMeta)
	if meta.Get(kCleanClose) == nil {
		return false, nil
	}
	return true, meta.Delete(kCleanClose)
}

// CountResume records that a restart resumed a run and returns how many
// times that has happened; the count goes when the run ends.
func (t *boltTx) CountResume(runID string) (int, error) {
	b := t.tx.Bucket(bResumes)
	n := uint64(0)
	if v := b.Get([]byte(runID)); len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	}
	n++
	return int(n), b.Put([]byte(runID), u64(n))
}
