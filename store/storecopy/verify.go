package storecopy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// ErrMismatch matches the *Mismatch Verify returns.
var ErrMismatch = errors.New("storecopy: the destination differs from the source")

// Mismatch is the first difference Verify found.
type Mismatch struct {
	// Where names the object or count ("thread thread_… message msg_…",
	// "the number of messages of thread thread_…").
	Where string
	// Src and Dst are what each store holds there (JSON, cut around the
	// first byte that differs), "missing" when one has nothing.
	Src, Dst string
}

func (m *Mismatch) Error() string {
	return fmt.Sprintf("storecopy: the destination differs from the source at %s:\n  source:      %s\n  destination: %s", m.Where, m.Src, m.Dst)
}

// Is makes a Mismatch match ErrMismatch.
func (m *Mismatch) Is(target error) bool { return target == ErrMismatch }

// Verify compares every object Copy copies, in both stores, in one read
// transaction of each: the JSON of every record, the token count of every
// message and item, every list's pages, the counts the stores keep
// (messages, conversation items, output files), the live runs and
// responses, the resume counts and the clean-close mark, and — with
// Options' Blobs — every file's bytes. It returns the first difference as
// a *Mismatch (matching ErrMismatch); nil means the destination holds
// exactly what the source holds.
func Verify(ctx context.Context, src, dst store.Driver, opt Options) (Stats, error) {
	opt.defaults()
	start := time.Now()
	var st Stats
	rs, err := probe(ctx, src)
	if err != nil {
		return st, fmt.Errorf("storecopy: read the source's run state: %w", err)
	}
	rd, err := probe(ctx, dst)
	if err != nil {
		return st, fmt.Errorf("storecopy: read the destination's run state: %w", err)
	}
	for _, id := range rs.order {
		if err := same(fmt.Sprintf("the resume count of run %s", id), rs.resumes[id], rd.resumes[id]); err != nil {
			return st, err
		}
		st.ResumeCounts++
	}
	if len(rd.order) != len(rs.order) {
		return st, &Mismatch{Where: "the runs with a resume count", Src: fmt.Sprint(rs.order), Dst: fmt.Sprint(rd.order)}
	}
	if err := same("the clean-close mark", rs.cleanClose, rd.cleanClose); err != nil {
		return st, err
	}
	err = src.View(ctx, func(stx store.Tx) error {
		return dst.View(ctx, func(dtx store.Tx) error {
			v := &verifier{ctx: ctx, s: stx, d: dtx, opt: opt, st: &st}
			for _, step := range []func() error{v.assistants, v.files, v.threads, v.liveRuns, v.vectorStores, v.conversations, v.responses, v.liveResponses, v.containers} {
				if err := step(); err != nil {
					return err
				}
				if opt.Progress != nil {
					opt.Progress(st)
				}
			}
			return nil
		})
	})
	st.Took = time.Since(start)
	return st, err
}

type verifier struct {
	ctx  context.Context
	s, d store.Tx
	opt  Options
	st   *Stats
}

// same compares two values by their JSON.
func same(where string, a, b any) error {
	ja, err := json.Marshal(a)
	if err != nil {
		return err
	}
	jb, err := json.Marshal(b)
	if err != nil {
		return err
	}
	if bytes.Equal(ja, jb) {
		return nil
	}
	sa, sb := cut(ja, jb)
	return &Mismatch{Where: where, Src: sa, Dst: sb}
}

// cut shows a and b around their first differing byte.
func cut(a, b []byte) (string, string) {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-80)
	show := func(s []byte) string {
		end := min(len(s), i+80)
		out := string(s[from:end])
		if from > 0 {
			out = "…" + out
		}
		if end < len(s) {
			out += "…"
		}
		return out
	}
	return show(a), show(b)
}

// cmpPages compares a list in both stores page by page, oldest first, and
// calls each with every object (the same in both) to compare what it owns.
func cmpPages[T any](kind string, ls, ld func(apitype.ListParams) (apitype.Page[T], error), id func(*T) string, n *int64, each func(*T) error) error {
	p := apitype.ListParams{Limit: page, Order: apitype.OrderAsc}
	for {
		ps, err := ls(p)
		if err != nil {
			return fmt.Errorf("storecopy: list %s in the source: %w", kind, err)
		}
		pd, err := ld(p)
		if err != nil {
			return fmt.Errorf("storecopy: list %s in the destination: %w", kind, err)
		}
		for i := range max(len(ps.Data), len(pd.Data)) {
			switch {
			case i >= len(pd.Data):
				return &Mismatch{Where: kind + " " + id(&ps.Data[i]), Src: "present", Dst: "missing"}
			case i >= len(ps.Data):
				return &Mismatch{Where: kind + " " + id(&pd.Data[i]), Src: "missing", Dst: "present"}
			}
			if err := same(kind+" "+id(&ps.Data[i]), &ps.Data[i], &pd.Data[i]); err != nil {
				return err
			}
			*n++
			if each != nil {
				if err := each(&ps.Data[i]); err != nil {
					return err
				}
			}
		}
		if ps.HasMore != pd.HasMore {
			return &Mismatch{Where: kind + " after " + p.After + " (has_more)", Src: fmt.Sprint(ps.HasMore), Dst: fmt.Sprint(pd.HasMore)}
		}
		if !ps.HasMore || len(ps.Data) == 0 {
			return nil
		}
		p.After = id(&ps.Data[len(ps.Data)-1])
	}
}

// walk is a store walk with token counts (EachMessage and its kin).
type walk[T any] func(fn func(*T, int) (bool, error)) error

func seq[T any](w walk[T], errp *error) iter.Seq2[*T, int] {
	return func(yield func(*T, int) bool) {
		*errp = w(func(v *T, n int) (bool, error) { return yield(v, n), nil })
	}
}

// cmpWalks compares two walks in step, each record's JSON and token count,
// up to limit records (< 0: all), holding one record of each at a time.
func cmpWalks[T any](kind string, ws, wd walk[T], id func(*T) string, limit int, n *int64) error {
	var serr, derr error
	nextS, stopS := iter.Pull2(seq(ws, &serr))
	defer stopS()
	nextD, stopD := iter.Pull2(seq(wd, &derr))
	defer stopD()
	for i := 0; limit < 0 || i < limit; i++ {
		a, ta, okA := nextS()
		b, tb, okB := nextD()
		if !okA && serr != nil {
			return fmt.Errorf("storecopy: read %s in the source: %w", kind, serr)
		}
		if !okB && derr != nil {
			return fmt.Errorf("storecopy: read %s in the destination: %w", kind, derr)
		}
		switch {
		case !okA && !okB:
			return nil
		case !okB:
			return &Mismatch{Where: kind + " " + id(a), Src: "present", Dst: "missing"}
		case !okA:
			return &Mismatch{Where: kind + " " + id(b), Src: "missing", Dst: "present"}
		}
		if err := same(kind+" "+id(a), a, b); err != nil {
			return err
		}
		if err := same("the token count of "+kind+" "+id(a), ta, tb); err != nil {
			return err
		}
		if n != nil {
			*n++
		}
	}
	return nil
}

func (v *verifier) assistants() error {
	return cmpPages("assistant", v.s.ListAssistants, v.d.ListAssistants, func(a *apitype.Assistant) string { return a.ID }, &v.st.Assistants, nil)
}

func (v *verifier) files() error {
	list := func(tx store.Tx) func(apitype.ListParams) (apitype.Page[apitype.File], error) {
		return func(p apitype.ListParams) (apitype.Page[apitype.File], error) { return tx.ListFiles(p, "") }
	}
	return cmpPages("file", list(v.s), list(v.d), func(f *apitype.File) string { return f.ID }, &v.st.Files, func(f *apitype.File) error {
		return v.blob("", f.ID)
	})
}

func (v *verifier) blob(containerID, id string) error {
	if v.opt.SrcBlobs == nil || v.opt.DstBlobs == nil {
		return nil
	}
	n, err := compareBlob(v.ctx, v.opt.SrcBlobs, v.opt.DstBlobs, containerID, id)
	if err != nil {
		return err
	}
	v.st.Blobs++
	v.st.BlobBytes += n
	return nil
}

func (v *verifier) threads() error {
	return cmpPages("thread", v.s.ListThreads, v.d.ListThreads, func(t *apitype.Thread) string { return t.ID }, &v.st.Threads, func(th *apitype.Thread) error {
		where := "thread " + th.ID
		ns, err := v.s.CountMessages(th.ID)
		if err != nil {
			return err
		}
		nd, err := v.d.CountMessages(th.ID)
		if err != nil {
			return err
		}
		if err := same("the number of messages of "+where, ns, nd); err != nil {
			return err
		}
		runs := func(tx store.Tx) func(apitype.ListParams) (apitype.Page[apitype.Run], error) {
			return func(p apitype.ListParams) (apitype.Page[apitype.Run], error) { return tx.ListRuns(th.ID, p) }
		}
		if err := cmpPages(where+" run", runs(v.s), runs(v.d), func(r *apitype.Run) string { return r.ID }, &v.st.Runs, func(r *apitype.Run) error {
			steps := func(tx store.Tx) func(apitype.ListParams) (apitype.Page[apitype.RunStep], error) {
				return func(p apitype.ListParams) (apitype.Page[apitype.RunStep], error) { return tx.ListSteps(th.ID, r.ID, p) }
			}
			if err := cmpPages(where+" run "+r.ID+" step", steps(v.s), steps(v.d), func(s *apitype.RunStep) string { return s.ID }, &v.st.Steps, nil); err != nil {
				return err
			}
			// The run's messages: the index ListMessages' run_id reads.
			ofRun := func(tx store.Tx) func(apitype.ListParams) (apitype.Page[apitype.Message], error) {
				return func(p apitype.ListParams) (apitype.Page[apitype.Message], error) {
					return tx.ListMessages(th.ID, apitype.MessageListParams{ListParams: p, RunID: r.ID})
				}
			}
			var n int64
			return cmpPages(where+" run "+r.ID+" message", ofRun(v.s), ofRun(v.d), func(m *apitype.Message) string { return m.ID }, &n, nil)
		}); err != nil {
			return err
		}
		msgs := func(tx store.Tx) walk[apitype.Message] {
			return func(fn func(*apitype.Message, int) (bool, error)) error { return tx.EachMessage(th.ID, false, fn) }
		}
		if err := cmpWalks(where+" message", msgs(v.s), msgs(v.d), func(m *apitype.Message) string { return m.ID }, -1, &v.st.Messages); err != nil {
			return err
		}
		var os, od []string
		if err := v.s.EachOutputFile(th.ID, func(id string) error { os = append(os, id); return nil }); err != nil {
			return err
		}
		if err := v.d.EachOutputFile(th.ID, func(id string) error { od = append(od, id); return nil }); err != nil {
			return err
		}
		if err := same("the output files of "+where, os, od); err != nil {
			return err
		}
		v.st.OutputFiles += int64(len(os))
		type usage struct {
			N    int
			Size int64
		}
		var us, ud usage
		if us.N, us.Size, err = v.s.OutputFiles(th.ID); err != nil {
			return err
		}
		if ud.N, ud.Size, err = v.d.OutputFiles(th.ID); err != nil {
			return err
		}
		return same("the output file usage of "+where, us, ud)
	})
}

// liveRuns compares the live-run index: which runs recovery resumes.
func (v *verifier) liveRuns() error {
	all := func(tx store.Tx) ([]string, error) {
		var out []string
		err := tx.LiveRuns(func(threadID, runID string) error { out = append(out, threadID+"/"+runID); return nil })
		return out, err
	}
	s, err := all(v.s)
	if err != nil {
		return err
	}
	d, err := all(v.d)
	if err != nil {
		return err
	}
	return same("the live runs", s, d)
}

func (v *verifier) vectorStores() error {
	return cmpPages("vector store", v.s.ListVectorStores, v.d.ListVectorStores, func(x *apitype.VectorStore) string { return x.ID }, &v.st.VectorStores, func(vs *apitype.VectorStore) error {
		where := "vector store " + vs.ID
		files := func(tx store.Tx, batch string) func(apitype.ListParams) (apitype.Page[apitype.VectorStoreFile], error) {
			return func(p apitype.ListParams) (apitype.Page[apitype.VectorStoreFile], error) {
				return tx.ListVectorStoreFiles(vs.ID, batch, apitype.VectorStoreFileListParams{ListParams: p})
			}
		}
		id := func(f *apitype.VectorStoreFile) string { return f.ID }
		if err := cmpPages(where+" file", files(v.s, ""), files(v.d, ""), id, &v.st.VectorStoreFiles, nil); err != nil {
			return err
		}
		batches := func(tx store.Tx) func(apitype.ListParams) (apitype.Page[apitype.VectorStoreFileBatch], error) {
			return func(p apitype.ListParams) (apitype.Page[apitype.VectorStoreFileBatch], error) {
				return tx.ListFileBatches(vs.ID, p)
			}
		}
		return cmpPages(where+" batch", batches(v.s), batches(v.d), func(b *apitype.VectorStoreFileBatch) string { return b.ID }, &v.st.FileBatches, func(b *apitype.VectorStoreFileBatch) error {
			return cmpPages(where+" batch "+b.ID+" file", files(v.s, b.ID), files(v.d, b.ID), id, &v.st.BatchMembers, nil)
		})
	})
}

func (v *verifier) conversations() error {
	return cmpPages("conversation", v.s.ListConversations, v.d.ListConversations, func(c *apitype.Conversation) string { return c.ID }, &v.st.Conversations, func(c *apitype.Conversation) error {
		where := "conversation " + c.ID
		ns, err := v.s.CountConversationItems(c.ID)
		if err != nil {
			return err
		}
		nd, err := v.d.CountConversationItems(c.ID)
		if err != nil {
			return err
		}
		if err := same("the number of items of "+where, ns, nd); err != nil {
			return err
		}
		items := func(tx store.Tx) walk[apitype.Item] {
			return func(fn func(*apitype.Item, int) (bool, error)) error { return tx.EachConversationItem(c.ID, false, fn) }
		}
		return cmpWalks(where+" item", items(v.s), items(v.d), itemID, -1, &v.st.ConversationItems)
	})
}

func itemID(it *apitype.Item) string { return it.ID() }

func (v *verifier) responses() error {
	return cmpPages("response", v.s.ListResponses, v.d.ListResponses, func(r *apitype.Response) string { return r.ID }, &v.st.Responses, func(r *apitype.Response) error {
		where := "response " + r.ID
		input := func(tx store.Tx) walk[apitype.Item] {
			return func(fn func(*apitype.Item, int) (bool, error)) error { return tx.ResponseInput(r.ID, false, fn) }
		}
		if err := cmpWalks(where+" input item", input(v.s), input(v.d), itemID, -1, &v.st.ResponseItems); err != nil {
			return err
		}
		// The output's token counts, as the next response's prompt reads
		// them: the head of ResponseHistory.
		history := func(tx store.Tx) walk[apitype.Item] {
			return func(fn func(*apitype.Item, int) (bool, error)) error { return tx.ResponseHistory(r.ID, fn) }
		}
		return cmpWalks(where+" output item", history(v.s), history(v.d), itemID, len(r.Output), &v.st.ResponseItems)
	})
}

func (v *verifier) liveResponses() error {
	all := func(tx store.Tx) ([]string, error) {
		var out []string
		err := tx.LiveResponses(func(id string) error { out = append(out, id); return nil })
		return out, err
	}
	s, err := all(v.s)
	if err != nil {
		return err
	}
	d, err := all(v.d)
	if err != nil {
		return err
	}
	return same("the live responses", s, d)
}

func (v *verifier) containers() error {
	list := func(tx store.Tx) func(apitype.ListParams) (apitype.Page[apitype.Container], error) {
		return func(p apitype.ListParams) (apitype.Page[apitype.Container], error) { return tx.ListContainers(p, "") }
	}
	return cmpPages("container", list(v.s), list(v.d), func(c *apitype.Container) string { return c.ID }, &v.st.Containers, func(c *apitype.Container) error {
		files := func(tx store.Tx) func(apitype.ListParams) (apitype.Page[apitype.ContainerFile], error) {
			return func(p apitype.ListParams) (apitype.Page[apitype.ContainerFile], error) {
				return tx.ListContainerFiles(c.ID, p)
			}
		}
		return cmpPages("container "+c.ID+" file", files(v.s), files(v.d), func(f *apitype.ContainerFile) string { return f.ID }, &v.st.ContainerFiles, func(f *apitype.ContainerFile) error {
			return v.blob(f.ContainerID, f.ID)
		})
	})
}
