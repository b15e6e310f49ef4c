// Package storecopy copies a whole Hearth store from one driver to another
// (the bbolt file into Postgres, and back) and verifies the copy object by
// object. It uses only the store.Driver and store.Tx seam, so any pair of
// drivers works.
//
// The copy reads the source in one View (a consistent snapshot: a source
// written meanwhile is copied as it was when the copy began) and writes the
// destination in transactions of bounded size, walking every list in pages
// and every thread's messages and conversation's items as a stream: memory
// stays bounded by one transaction's worth of objects, whatever a thread
// holds. Within a walk of the source it never calls the source again
// (a Postgres transaction is one connection, busy while a walk's rows are
// open): what a walk's callbacks need from the source is read before or
// after it.
package storecopy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// ErrNotEmpty is Copy's refusal of a destination that holds any object.
var ErrNotEmpty = errors.New("storecopy: the destination store is not empty")

// Options tune Copy and Verify. The zero value is usable.
type Options struct {
	// BatchObjects bounds the objects one destination transaction writes.
	// Default 1000.
	BatchObjects int
	// BatchBytes bounds the JSON bytes of the objects one destination
	// transaction writes (one object larger than it is a transaction of its
	// own). Default 8 MiB.
	BatchBytes int
	// SrcBlobs and DstBlobs, when both set, hold the bytes of files and
	// container files, which the store's records describe but do not hold
	// (the engine's FilesDir): Copy copies them, Verify compares them.
	SrcBlobs, DstBlobs Blobs
	// Progress, when set, is told the running totals after each committed
	// transaction (Copy) or each top-level kind compared (Verify).
	Progress func(Stats)
}

func (o *Options) defaults() {
	if o.BatchObjects <= 0 {
		o.BatchObjects = 1000
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 8 << 20
	}
}

// Stats counts what Copy wrote or Verify compared, by kind.
type Stats struct {
	Assistants, Threads, Messages, Runs, Steps           int64
	Files, OutputFiles, VectorStores, VectorStoreFiles   int64
	FileBatches, BatchMembers                            int64
	Conversations, ConversationItems                     int64
	Responses, ResponseItems, Containers, ContainerFiles int64
	// ResumeCounts is the runs with a resume count carried over.
	ResumeCounts int64
	// Blobs and BlobBytes are the files' and container files' bytes.
	Blobs, BlobBytes int64
	// Transactions is how many destination transactions Copy committed.
	Transactions int64
	Took         time.Duration
}

// Objects is the number of records copied or compared (bytes not counted).
func (s Stats) Objects() int64 {
	return s.Assistants + s.Threads + s.Messages + s.Runs + s.Steps + s.Files + s.OutputFiles +
		s.VectorStores + s.VectorStoreFiles + s.FileBatches + s.BatchMembers + s.Conversations +
		s.ConversationItems + s.Responses + s.ResponseItems + s.Containers + s.ContainerFiles + s.ResumeCounts
}

// page is the list page size: the stores' maximum.
const page = apitype.MaxListLimit

// pages visits every object of a list, oldest first, a page at a time.
func pages[T any](list func(apitype.ListParams) (apitype.Page[T], error), id func(*T) string, fn func(*T) error) error {
	p := apitype.ListParams{Limit: page, Order: apitype.OrderAsc}
	for {
		pg, err := list(p)
		if err != nil {
			return err
		}
		for i := range pg.Data {
			if err := fn(&pg.Data[i]); err != nil {
				return err
			}
		}
		if !pg.HasMore || len(pg.Data) == 0 {
			return nil
		}
		p.After = id(&pg.Data[len(pg.Data)-1])
	}
}

// writer batches the destination's writes into bounded transactions.
type writer struct {
	ctx   context.Context
	dst   store.Driver
	opt   Options
	ops   []func(store.Tx) error
	bytes int
	st    *Stats
}

// add queues op, which writes an object of about size bytes; n, when not
// nil, is the count it adds to once committed.
func (w *writer) add(size int, n *int64, op func(store.Tx) error) error {
	w.ops = append(w.ops, op)
	w.bytes += size
	if n != nil {
		*n++ // a failed flush fails the whole copy
	}
	if len(w.ops) >= w.opt.BatchObjects || w.bytes >= w.opt.BatchBytes {
		return w.flush()
	}
	return nil
}

// flush commits the queued writes as one transaction. The ops replace or
// insert whole records into a transaction begun afresh, so a driver that
// runs fn again (a retried commit) gets the same outcome.
func (w *writer) flush() error {
	if len(w.ops) == 0 {
		return nil
	}
	ops := w.ops
	err := w.dst.Update(w.ctx, func(tx store.Tx) error {
		for _, op := range ops {
			if err := op(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storecopy: write to the destination: %w", err)
	}
	clear(w.ops) // let the objects go
	w.ops, w.bytes = w.ops[:0], 0
	w.st.Transactions++
	if w.opt.Progress != nil {
		w.opt.Progress(*w.st)
	}
	return nil
}

// size is v's JSON size, the measure of a transaction's bytes.
func size(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 1 << 10
	}
	return len(b)
}

// Empty reports whether a store holds no object at all (every top-level
// list is empty; everything else belongs to one of them).
func Empty(ctx context.Context, d store.Driver) (bool, error) {
	empty := true
	err := d.View(ctx, func(tx store.Tx) error {
		one := apitype.ListParams{Limit: 1}
		for _, n := range []func() (int, error){
			func() (int, error) { p, err := tx.ListAssistants(one); return len(p.Data), err },
			func() (int, error) { p, err := tx.ListThreads(one); return len(p.Data), err },
			func() (int, error) { p, err := tx.ListFiles(one, ""); return len(p.Data), err },
			func() (int, error) { p, err := tx.ListVectorStores(one); return len(p.Data), err },
			func() (int, error) { p, err := tx.ListConversations(one); return len(p.Data), err },
			func() (int, error) { p, err := tx.ListResponses(one); return len(p.Data), err },
			func() (int, error) { p, err := tx.ListContainers(one, ""); return len(p.Data), err },
		} {
			k, err := n()
			if err != nil {
				return err
			}
			if k > 0 {
				empty = false
				return nil
			}
		}
		return nil
	})
	return empty, err
}

// errProbe rolls back the probe transaction: it only reads.
var errProbe = errors.New("storecopy: probe rolled back")

// runState is what a store keeps of runs and shutdowns outside its
// objects: the resume count of each live run, and the clean-close mark.
// Tx reads neither without writing (CountResume counts one more,
// TakeCleanClose clears the mark), so probe reads them in an Update it
// always rolls back: nothing is written to either store.
type runState struct {
	resumes    map[string]int // run id → resumes so far, for the runs that have any
	order      []string       // the same runs, as LiveRuns visits them
	cleanClose bool
}

func probe(ctx context.Context, d store.Driver) (runState, error) {
	var rs runState
	err := d.Update(ctx, func(tx store.Tx) error {
		rs = runState{resumes: map[string]int{}}
		var live []string
		if err := tx.LiveRuns(func(_, runID string) error { live = append(live, runID); return nil }); err != nil {
			return err
		}
		for _, id := range live {
			n, err := tx.CountResume(id)
			if err != nil {
				return err
			}
			if n > 1 {
				rs.resumes[id] = n - 1
				rs.order = append(rs.order, id)
			}
		}
		var err error
		rs.cleanClose, err = tx.TakeCleanClose()
		if err != nil {
			return err
		}
		return errProbe
	})
	if errors.Is(err, errProbe) {
		err = nil
	}
	return rs, err
}

// Copy copies every object of src into dst, which must be empty
// (ErrNotEmpty otherwise): assistants; threads with their messages (and
// token counts), runs, steps and output files; files (with their bytes
// when Options has Blobs); vector stores with their files, batches and
// which files each batch holds; conversations with their items (and token
// counts); responses with their input and output items (and token counts)
// and previous_response_id chains; containers with their files (and
// bytes); the live runs' resume counts and the clean-close mark. It does
// not copy the file search index (the destination's engine rebuilds it:
// see Reindex in the deployment guide) or anything a capability package
// keeps in the bbolt file itself.
//
// A Copy that fails leaves dst holding part of the copy (it writes in many
// transactions): empty it before trying again (Wipe, or a new database).
func Copy(ctx context.Context, src, dst store.Driver, opt Options) (Stats, error) {
	opt.defaults()
	start := time.Now()
	var st Stats
	empty, err := Empty(ctx, dst)
	if err != nil {
		return st, fmt.Errorf("storecopy: read the destination: %w", err)
	}
	if !empty {
		return st, ErrNotEmpty
	}
	rs, err := probe(ctx, src)
	if err != nil {
		return st, fmt.Errorf("storecopy: read the source's run state: %w", err)
	}
	w := &writer{ctx: ctx, dst: dst, opt: opt, st: &st}
	c := &copier{w: w, opt: opt, st: &st}
	err = src.View(ctx, func(tx store.Tx) error {
		c.tx = tx
		for _, step := range []func() error{c.assistants, c.files, c.threads, c.vectorStores, c.conversations, c.responses, c.containers} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	for _, id := range rs.order {
		n := rs.resumes[id]
		if err := w.add(8, &st.ResumeCounts, func(tx store.Tx) error {
			for range n {
				if _, err := tx.CountResume(id); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return st, err
		}
	}
	if rs.cleanClose {
		if err := w.add(8, nil, func(tx store.Tx) error { return tx.MarkCleanClose() }); err != nil {
			return st, err
		}
	}
	if err := w.flush(); err != nil {
		return st, err
	}
	st.Took = time.Since(start)
	return st, nil
}

// copier walks the source in one read transaction.
type copier struct {
	tx  store.Tx
	w   *writer
	opt Options
	st  *Stats
}

func (c *copier) assistants() error {
	return pages(c.tx.ListAssistants, func(a *apitype.Assistant) string { return a.ID }, func(a *apitype.Assistant) error {
		return c.w.add(size(a), &c.st.Assistants, func(tx store.Tx) error { return tx.PutAssistant(a) })
	})
}

func (c *copier) files() error {
	list := func(p apitype.ListParams) (apitype.Page[apitype.File], error) { return c.tx.ListFiles(p, "") }
	return pages(list, func(f *apitype.File) string { return f.ID }, func(f *apitype.File) error {
		if err := c.blob("", f.ID, f.Bytes); err != nil {
			return err
		}
		return c.w.add(size(f), &c.st.Files, func(tx store.Tx) error { return tx.PutFile(f) })
	})
}

// blob copies a file's (containerID "") or container file's bytes, before
// the record that names them is written (as the engine writes them).
func (c *copier) blob(containerID, id string, want int64) error {
	if c.opt.SrcBlobs == nil || c.opt.DstBlobs == nil {
		return nil
	}
	n, err := copyBlob(c.w.ctx, c.opt.SrcBlobs, c.opt.DstBlobs, containerID, id)
	if err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("storecopy: %s holds %d bytes; its record says %d", blobName(containerID, id), n, want)
	}
	c.st.Blobs++
	c.st.BlobBytes += n
	return nil
}

func (c *copier) threads() error {
	return pages(c.tx.ListThreads, func(th *apitype.Thread) string { return th.ID }, func(th *apitype.Thread) error {
		if err := c.w.add(size(th), &c.st.Threads, func(tx store.Tx) error { return tx.PutThread(th) }); err != nil {
			return err
		}
		// Runs (which make the thread's active run and live index as their
		// status says), then their steps, then messages, then output files.
		listRuns := func(p apitype.ListParams) (apitype.Page[apitype.Run], error) { return c.tx.ListRuns(th.ID, p) }
		if err := pages(listRuns, func(r *apitype.Run) string { return r.ID }, func(r *apitype.Run) error {
			if err := c.w.add(size(r), &c.st.Runs, func(tx store.Tx) error { return tx.PutRun(r) }); err != nil {
				return err
			}
			listSteps := func(p apitype.ListParams) (apitype.Page[apitype.RunStep], error) {
				return c.tx.ListSteps(th.ID, r.ID, p)
			}
			return pages(listSteps, func(s *apitype.RunStep) string { return s.ID }, func(s *apitype.RunStep) error {
				return c.w.add(size(s), &c.st.Steps, func(tx store.Tx) error { return tx.PutStep(s) })
			})
		}); err != nil {
			return err
		}
		if err := c.tx.EachMessage(th.ID, false, func(m *apitype.Message, tokens int) (bool, error) {
			return true, c.w.add(size(m), &c.st.Messages, func(tx store.Tx) error { return tx.PutMessage(m, tokens) })
		}); err != nil {
			return err
		}
		var outputs []string // ids only, read whole: a thread's are capped (MaxThreadCodeOutputFiles)
		if err := c.tx.EachOutputFile(th.ID, func(id string) error { outputs = append(outputs, id); return nil }); err != nil {
			return err
		}
		for _, id := range outputs {
			f, err := c.tx.GetFile(id)
			if err != nil {
				return err
			}
			if err := c.w.add(size(f), &c.st.OutputFiles, func(tx store.Tx) error { return tx.PutOutputFile(th.ID, f) }); err != nil {
				return err
			}
		}
		return nil
	})
}

func (c *copier) vectorStores() error {
	return pages(c.tx.ListVectorStores, func(v *apitype.VectorStore) string { return v.ID }, func(v *apitype.VectorStore) error {
		if err := c.w.add(size(v), &c.st.VectorStores, func(tx store.Tx) error { return tx.PutVectorStore(v) }); err != nil {
			return err
		}
		listFiles := func(p apitype.ListParams) (apitype.Page[apitype.VectorStoreFile], error) {
			return c.tx.ListVectorStoreFiles(v.ID, "", apitype.VectorStoreFileListParams{ListParams: p})
		}
		if err := pages(listFiles, func(f *apitype.VectorStoreFile) string { return f.ID }, func(f *apitype.VectorStoreFile) error {
			return c.w.add(size(f), &c.st.VectorStoreFiles, func(tx store.Tx) error { return tx.PutVectorStoreFile(f, "") })
		}); err != nil {
			return err
		}
		listBatches := func(p apitype.ListParams) (apitype.Page[apitype.VectorStoreFileBatch], error) {
			return c.tx.ListFileBatches(v.ID, p)
		}
		return pages(listBatches, func(b *apitype.VectorStoreFileBatch) string { return b.ID }, func(b *apitype.VectorStoreFileBatch) error {
			if err := c.w.add(size(b), &c.st.FileBatches, func(tx store.Tx) error { return tx.PutFileBatch(b) }); err != nil {
				return err
			}
			// A batch's membership is written with the file it names; a
			// file detached from the store since has no record to write it
			// with, and is not part of the batch's list anyway.
			ids, err := c.tx.BatchFileIDs(v.ID, b.ID)
			if err != nil {
				return err
			}
			for _, id := range ids {
				f, err := c.tx.GetVectorStoreFile(v.ID, id)
				if errors.Is(err, apitype.ErrNotFound) {
					continue
				} else if err != nil {
					return err
				}
				if err := c.w.add(size(f), &c.st.BatchMembers, func(tx store.Tx) error { return tx.PutVectorStoreFile(f, b.ID) }); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

func (c *copier) conversations() error {
	return pages(c.tx.ListConversations, func(v *apitype.Conversation) string { return v.ID }, func(cv *apitype.Conversation) error {
		if err := c.w.add(size(cv), &c.st.Conversations, func(tx store.Tx) error { return tx.PutConversation(cv) }); err != nil {
			return err
		}
		// Items are appended in runs of up to a batch's size, each run one
		// queued write.
		var items []apitype.Item
		var tokens []int
		bytes := 0
		appendRun := func() error {
			if len(items) == 0 {
				return nil
			}
			its, tks := items, tokens
			items, tokens, bytes = nil, nil, 0
			c.st.ConversationItems += int64(len(its))
			return c.w.add(size(its), nil, func(tx store.Tx) error { return tx.AppendConversationItems(cv.ID, its, tks) })
		}
		if err := c.tx.EachConversationItem(cv.ID, false, func(it *apitype.Item, n int) (bool, error) {
			items, tokens = append(items, *it), append(tokens, n)
			bytes += size(it)
			if len(items) >= c.opt.BatchObjects || bytes >= c.opt.BatchBytes {
				return true, appendRun()
			}
			return true, nil
		}); err != nil {
			return err
		}
		return appendRun()
	})
}

func (c *copier) responses() error {
	return pages(c.tx.ListResponses, func(r *apitype.Response) string { return r.ID }, func(r *apitype.Response) error {
		// A response is created whole, with its input, in one write (as the
		// engine creates it): its input is read into memory.
		var input []apitype.Item
		var tokens []int
		if err := c.tx.ResponseInput(r.ID, false, func(it *apitype.Item, n int) (bool, error) {
			input, tokens = append(input, *it), append(tokens, n)
			return true, nil
		}); err != nil {
			return err
		}
		// The output's token counts: ResponseHistory walks the output first,
		// newest first.
		out := make([]int, len(r.Output))
		i := len(out) - 1
		if i >= 0 {
			if err := c.tx.ResponseHistory(r.ID, func(_ *apitype.Item, n int) (bool, error) {
				out[i] = n
				i--
				return i >= 0, nil
			}); err != nil {
				return err
			}
		}
		c.st.ResponseItems += int64(len(input) + len(out))
		return c.w.add(size(r)+size(input), &c.st.Responses, func(tx store.Tx) error {
			return tx.CreateResponseOutput(r, input, tokens, out)
		})
	})
}

func (c *copier) containers() error {
	list := func(p apitype.ListParams) (apitype.Page[apitype.Container], error) { return c.tx.ListContainers(p, "") }
	return pages(list, func(v *apitype.Container) string { return v.ID }, func(ct *apitype.Container) error {
		if err := c.w.add(size(ct), &c.st.Containers, func(tx store.Tx) error { return tx.PutContainer(ct) }); err != nil {
			return err
		}
		listFiles := func(p apitype.ListParams) (apitype.Page[apitype.ContainerFile], error) {
			return c.tx.ListContainerFiles(ct.ID, p)
		}
		return pages(listFiles, func(f *apitype.ContainerFile) string { return f.ID }, func(f *apitype.ContainerFile) error {
			if err := c.blob(f.ContainerID, f.ID, f.Bytes); err != nil {
				return err
			}
			return c.w.add(size(f), &c.st.ContainerFiles, func(tx store.Tx) error { return tx.PutContainerFile(f) })
		})
	})
}
