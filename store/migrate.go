package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/hearth-go/hearth/apitype"
	bolt "go.etcd.io/bbolt"
)

// Schema 3 and older gave each thread's bucket five sub-buckets, named by
// these keys; the schema 2 and 3 migrations run on that layout, and the
// schema 4 migration flattens it.
var (
	oldMessages = []byte("m")
	oldTokens   = []byte("k")
	oldRunMsgs  = []byte("rm")
	oldRuns     = []byte("r")
	oldSteps    = []byte("s")
	oldOutputs  = []byte("o")
)

// flatOrder is the order the schema 4 migration copies a thread's old
// sub-buckets in, with the prefix each record's key takes in the flat
// bucket; runs and steps move to bRuns and bSteps (a run leaving an index
// key under tRuns).
var flatOrder = []struct{ old, prefix []byte }{
	{oldRunMsgs, tRunMsgs},
	{oldTokens, tTokens},
	{oldMessages, tMessages},
	{oldOutputs, tOutputs},
	{oldRuns, tRuns},
	{oldSteps, nil},
}

// bFlatten holds, while the schema 4 migration runs, the flat copy of a
// thread too large for one step (thread id → bucket); kFlattenAt, in
// bMeta, says how far the copy got. The thread's old bucket is replaced by
// its copy once the copy is whole, so the file always holds every thread
// whole in one layout or the other.
var (
	bFlatten   = []byte("schema4_flatten")
	kFlattenAt = []byte("schema4_flatten_at")
)

// recountMigration (schema 2) stores count's token counts for messages
// written before counts were exact, rewriteBatch records a transaction.
func recountMigration(count func(*apitype.Message) int) Migration {
	if count == nil {
		return Migration{Version: 2, Up: func(*bolt.Tx) error { return nil }}
	}
	var at rewriteAt
	return Migration{Version: 2, Step: func(btx *bolt.Tx) (bool, error) {
		return rewriteStep(btx, &at, rewriteBatch, func([]byte) bool { return true }, count)
	}}
}

// recodeMigration (schema 3) rewrites every older message record as v2,
// with the token count it had, limit records a transaction.
func recodeMigration(limit int) Migration {
	var at rewriteAt
	return Migration{Version: 3, Step: func(btx *bolt.Tx) (bool, error) {
		return rewriteStep(btx, &at, limit, isOlderRecord, keepTokens)
	}}
}

func isOlderRecord(v []byte) bool     { return len(v) > 0 && v[0] != msgCodecV2 }
func keepTokens(*apitype.Message) int { return -1 }

// rewriteBatch bounds a migration step: ~300 bytes a record, a few MB dirty.
const rewriteBatch = 10_000

// rewriteAt is a thread id and a message id in it.
type rewriteAt struct{ thread, msg string }

// rewriteStep puts again as a v2 record, in the schema 3 layout, with the
// token count tokens gives (< 0: the one it has), up to limit message
// records that want selects, from *at on; moves *at past them; and reports
// whether it found fewer (none left). A step that stops is taken again
// from the start, so rewriting a record twice must be harmless.
func rewriteStep(tx *bolt.Tx, at *rewriteAt, limit int, want func(v []byte) bool, tokens func(*apitype.Message) int) (bool, error) {
	threads := tx.Bucket(bThreadData)
	var todo []rewriteAt
	c := threads.Cursor()
	for k, v := c.Seek([]byte(at.thread)); k != nil && len(todo) < limit; k, v = c.Next() {
		if v != nil {
			continue // thread_data holds one bucket a thread
		}
		mb := threads.Bucket(k).Bucket(oldMessages)
		if mb == nil {
			continue // flat already (cannot be before schema 4)
		}
		mc := mb.Cursor()
		mk, mv := mc.First()
		if string(k) == at.thread && at.msg != "" {
			if mk, mv = mc.Seek([]byte(at.msg)); mk != nil && string(mk) == at.msg {
				mk, mv = mc.Next() // done in the step before
			}
		}
		for ; mk != nil && len(todo) < limit; mk, mv = mc.Next() {
			if want(mv) {
				todo = append(todo, rewriteAt{string(k), string(mk)})
			}
		}
	}
	for _, r := range todo { // put after the walk: writes move cursors
		if err := rewriteOld(threads.Bucket([]byte(r.thread)), r.thread, r.msg, tokens); err != nil {
			return false, err
		}
	}
	if len(todo) < limit {
		return true, nil
	}
	*at = todo[len(todo)-1]
	return false, nil
}

// rewriteOld is PutMessage of a message as it is, in the schema 3 layout
// (its run, so its run index entry, and the count are unchanged).
func rewriteOld(tb *bolt.Bucket, threadID, id string, tokens func(*apitype.Message) int) error {
	mb, key := tb.Bucket(oldMessages), []byte(id)
	v := mb.Get(key)
	var m apitype.Message
	if err := decodeMessage(v, id, newMsgArena(threadID, 1), &m); err != nil {
		return fmt.Errorf("store: decode message %s: %w", id, err)
	}
	n := tokens(&m)
	if n < 0 {
		if c, ok := recordTokens(v); ok {
			n = c
		} else {
			c, _ := binary.Uvarint(tb.Bucket(oldTokens).Get(key))
			n = int(c)
		}
	}
	if len(v) > 0 && v[0] == '{' {
		if err := tb.Bucket(oldTokens).Delete(key); err != nil {
			return err
		}
	}
	data, err := encodeMessage(nil, &m, n)
	if err != nil {
		return fmt.Errorf("store: encode message %s: %w", id, err)
	}
	return mb.Put(key, data)
}

// flattenMigration (schema 4) rewrites each thread's bucket from five
// sub-buckets to the flat layout, copying at most limit records a
// transaction.
func flattenMigration(limit int) Migration {
	var at []byte
	return Migration{Version: 4, Step: func(btx *bolt.Tx) (bool, error) {
		return flattenStep(btx, &at, limit)
	}}
}

// flattenStep flattens threads still in the old layout, from thread *at
// on, copying up to limit records (a thread counting as one), and reports
// whether none is left. A thread whose records fit is rewritten in place; a
// larger one is copied, step by step, into a bucket under bFlatten, which
// the step after the copy is whole puts in the thread's place (bbolt's
// MoveBucket must not move a bucket written in the same transaction). A
// crash leaves a partial copy, which the next step goes on from where
// kFlattenAt says. Runs and steps are put in bRuns and bSteps as they are
// read: putting one twice is harmless.
func flattenStep(tx *bolt.Tx, at *[]byte, limit int) (bool, error) {
	threads, meta := tx.Bucket(bThreadData), tx.Bucket(bMeta)
	staging, err := tx.CreateBucketIfNotExists(bFlatten)
	if err != nil {
		return false, err
	}
	// Copies made whole by the last step take their thread's place.
	var whole [][]byte
	if err := staging.ForEachBucket(func(id []byte) error {
		if staging.Bucket(id).Get(tCount) != nil {
			whole = append(whole, bytes.Clone(id))
		}
		return nil
	}); err != nil {
		return false, err
	}
	for _, id := range whole {
		if err := threads.DeleteBucket(id); err != nil {
			return false, fmt.Errorf("thread %s: %w", id, err)
		}
		if err := staging.MoveBucket(id, threads); err != nil {
			return false, fmt.Errorf("thread %s: %w", id, err)
		}
	}
	runs, steps := tx.Bucket(bRuns), tx.Bucket(bSteps)
	runs.FillPercent, steps.FillPercent = appendFill, appendFill
	type flat struct {
		id   []byte
		recs []kv
	}
	var inPlace []flat // rewritten after the walk: writes move cursors
	budget := limit
	c := threads.Cursor()
	k, v := c.Seek(*at)
	for ; k != nil && budget > 0; k, v = c.Next() {
		if v != nil {
			continue
		}
		old := threads.Bucket(k)
		if !oldLayout(old) {
			continue
		}
		budget--
		dst := staging.Bucket(k)
		var from flatAt
		if dst != nil {
			if p := meta.Get(kFlattenAt); p != nil && bytes.HasPrefix(p, append(bytes.Clone(k), 0)) {
				from = decodeFlatAt(p[len(k)+1:])
			}
		}
		recs, moved, next, err := readFlat(old, from, budget)
		if err != nil {
			return false, fmt.Errorf("thread %s: %w", k, err)
		}
		budget -= len(moved) // a run is a record moved and an index key
		for _, r := range recs {
			if !bytes.HasPrefix(r.k, tRuns) {
				budget--
			}
		}
		for _, r := range moved {
			b := runs
			if r.steps {
				b = steps
			}
			if err := b.Put(r.k, r.v); err != nil {
				return false, err
			}
		}
		done := next == nil
		if done {
			recs = append(recs, kv{k: bytes.Clone(tCount), v: countValue(old)})
		}
		if done && dst == nil {
			inPlace = append(inPlace, flat{bytes.Clone(k), recs})
			continue
		}
		if dst == nil {
			if dst, err = staging.CreateBucket(k); err != nil {
				return false, err
			}
		}
		dst.FillPercent = appendFill // keys come in order
		for _, r := range recs {
			if err := dst.Put(r.k, r.v); err != nil {
				return false, err
			}
		}
		if done {
			if err := meta.Delete(kFlattenAt); err != nil {
				return false, err
			}
			continue
		}
		if err := meta.Put(kFlattenAt, append(append(bytes.Clone(k), 0), next...)); err != nil {
			return false, err
		}
		break // the budget is spent within this thread
	}
	for _, f := range inPlace {
		if err := threads.DeleteBucket(f.id); err != nil {
			return false, err
		}
		tb, err := threads.CreateBucket(f.id)
		if err != nil {
			return false, err
		}
		tb.FillPercent = appendFill
		for _, r := range f.recs {
			if err := tb.Put(r.k, r.v); err != nil {
				return false, err
			}
		}
	}
	if k != nil || len(whole) > 0 {
		*at = bytes.Clone(k)
		return false, nil
	}
	pending := false
	_ = staging.ForEachBucket(func([]byte) error { pending = true; return nil })
	if pending {
		return false, nil // copies made whole in this step move in the next
	}
	return true, tx.DeleteBucket(bFlatten)
}

// kv is a record to put; steps says which top-level bucket a moved one
// goes to (bSteps, else bRuns).
type kv struct {
	k, v  []byte
	steps bool
}

// flatAt is where a partial copy stopped: the flatOrder index of the old
// sub-bucket and the last key copied from it (nil: none yet).
type flatAt struct {
	sub  int
	last []byte
}

func decodeFlatAt(p []byte) flatAt {
	if len(p) == 0 || int(p[0]) >= len(flatOrder) {
		return flatAt{}
	}
	return flatAt{int(p[0]), bytes.Clone(p[1:])}
}

// countValue is the old thread's message count record (zero when absent).
func countValue(old *bolt.Bucket) []byte {
	if n := old.Get(tCount); len(n) == 8 {
		return bytes.Clone(n)
	}
	return u64(0)
}

// oldLayout reports whether a thread's bucket has the schema 3 sub-buckets.
func oldLayout(tb *bolt.Bucket) bool {
	for _, f := range flatOrder {
		if tb.Bucket(f.old) != nil {
			return true
		}
	}
	return false
}

// readFlat reads, from from on, at most limit of old's sub-bucket records
// (copied): those that stay in the thread's bucket under their flat keys,
// and the runs and steps that move to the top-level buckets. next encodes
// where a further step goes on, nil when it read the last record.
func readFlat(old *bolt.Bucket, from flatAt, limit int) (recs, moved []kv, next []byte, err error) {
	// Every nested bucket must be one the layout knows: a record left
	// behind would be lost with the old bucket.
	err = old.ForEachBucket(func(name []byte) error {
		for _, f := range flatOrder {
			if bytes.Equal(name, f.old) {
				return nil
			}
		}
		return fmt.Errorf("store: schema 4 migration: unknown sub-bucket %q", name)
	})
	if err != nil {
		return nil, nil, nil, err
	}
	n := 0
	for i := from.sub; i < len(flatOrder); i++ {
		f := flatOrder[i]
		sub := old.Bucket(f.old)
		if sub == nil {
			continue
		}
		sc := sub.Cursor()
		k, v := sc.First()
		if i == from.sub && from.last != nil {
			if k, v = sc.Seek(from.last); bytes.Equal(k, from.last) {
				k, v = sc.Next()
			}
		}
		var last []byte
		if i == from.sub {
			last = from.last
		}
		for ; k != nil; k, v = sc.Next() {
			if n == limit {
				if last == nil {
					return recs, moved, []byte{byte(i)}, nil // nothing of this one yet
				}
				return recs, moved, append([]byte{byte(i)}, last...), nil
			}
			if v == nil {
				return nil, nil, nil, fmt.Errorf("store: schema 4 migration: nested bucket %q in %q", k, f.old)
			}
			switch {
			case bytes.Equal(f.old, oldRuns):
				recs = append(recs, kv{k: tkey(nil, tRuns, string(k)), v: present})
				moved = append(moved, kv{k: bytes.Clone(k), v: bytes.Clone(v)})
			case bytes.Equal(f.old, oldSteps):
				moved = append(moved, kv{k: bytes.Clone(k), v: bytes.Clone(v), steps: true})
			default:
				recs = append(recs, kv{k: tkey(nil, f.prefix, string(k)), v: bytes.Clone(v)})
			}
			last = k
			n++
		}
	}
	return recs, moved, nil, nil
}
