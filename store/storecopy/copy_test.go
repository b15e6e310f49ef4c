package storecopy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/store/storecopy"
)

// fixture is a bbolt store filled through the engine with every kind of
// object, then with what only the store can make (a live run with resume
// counts), closed; its path and FilesDir.
type fixture struct {
	path, files string
	file        string // an uploaded file's id
	thread      string // a thread with a completed run
	conv        string // a conversation one of whose items was deleted
	resp        string // the last response of a chain whose middle was deleted
	container   string
	cfile       string // a file of container
}

func fill(t *testing.T, messages int) fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	fx := fixture{path: filepath.Join(dir, "src.db"), files: filepath.Join(dir, "src.db.files")}
	e, err := engine.Open(ctx, engine.Config{Path: fx.path, Model: scripted.Echo(), NoSync: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "m", Name: apitype.Ptr("tutor"), Metadata: apitype.Metadata{"k": "v"}})
	must(err)
	_, err = e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "m2"})
	must(err)
	f, err := e.Files.Create(ctx, strings.NewReader("the capital of France is Paris\n"), apitype.FileCreateParams{Purpose: "assistants", Filename: "facts.txt"})
	must(err)
	fx.file = f.ID
	f2, err := e.Files.Create(ctx, strings.NewReader("second file"), apitype.FileCreateParams{Purpose: "user_data", Filename: "b.txt"})
	must(err)
	th, err := e.Threads.Create(ctx, apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{
		{Role: apitype.RoleUser, Content: apitype.TextInput("hello there")},
	}, Metadata: apitype.Metadata{"user": "u1"}})
	must(err)
	fx.thread = th.ID
	for i := range messages {
		_, err := e.Messages.Create(ctx, th.ID, apitype.MessageCreateParams{Role: apitype.RoleUser, Content: apitype.TextInput(fmt.Sprintf("message %d with some words", i))})
		must(err)
	}
	run, err := e.Runs.CreateAndWait(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	must(err)
	if run.Status != apitype.RunCompleted {
		t.Fatalf("run %s", run.Status)
	}
	_, err = e.Threads.Create(ctx, apitype.ThreadCreateParams{}) // empty
	must(err)
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{Name: apitype.Ptr("docs"), FileIDs: []string{f.ID}})
	must(err)
	_, err = e.VectorStores.CreateBatch(ctx, vs.ID, apitype.VectorStoreFileBatchCreateParams{FileIDs: []string{f2.ID}})
	must(err)
	_, err = e.VectorStores.Wait(ctx, vs.ID)
	must(err)
	conv, err := e.Conversations.Create(ctx, apitype.ConversationCreateParams{Items: []apitype.Item{
		userItem("first"), userItem("second"), userItem("third"),
	}, Metadata: apitype.Metadata{"topic": "x"}})
	must(err)
	fx.conv = conv.ID
	items, err := e.Conversations.Items.List(ctx, conv.ID, apitype.ListParams{Order: apitype.OrderAsc})
	must(err)
	_, err = e.Conversations.Items.Delete(ctx, conv.ID, items.Data[1].ID())
	must(err)
	var prev *string
	var chain []string
	for i := range 3 {
		r, err := e.Responses.Create(ctx, &apitype.ResponseCreateParams{Model: "m", Input: apitype.TextResponseInput(fmt.Sprintf("turn %d", i)), PreviousResponseID: prev})
		must(err)
		prev = &r.ID
		chain = append(chain, r.ID)
	}
	_, err = e.Responses.Delete(ctx, chain[1])
	must(err)
	fx.resp = chain[2]
	_, err = e.Responses.Create(ctx, &apitype.ResponseCreateParams{Model: "m", Input: apitype.TextResponseInput("in a conversation"), Conversation: &apitype.ConversationRef{ID: conv.ID}})
	must(err)
	ct, err := e.Containers.Create(ctx, apitype.ContainerCreateParams{Name: "box"})
	must(err)
	fx.container = ct.ID
	cf, err := e.Containers.Files.Upload(ctx, ct.ID, strings.NewReader("print('hi')\n"), "hi.py")
	must(err)
	fx.cfile = cf.ID
	must(e.Close())

	// A run a restart resumed twice, still live: its resume count and the
	// live index travel with it. And a file the code interpreter wrote,
	// counted against the thread.
	s, err := store.Open(fx.path, store.Options{NoSync: true})
	must(err)
	out := &apitype.File{ID: "file-zzout", Object: apitype.ObjectFile, Bytes: 3, Filename: "plot.png", Purpose: apitype.PurposeAssistantsOutput, Status: "processed"}
	must(os.WriteFile(filepath.Join(fx.files, out.ID), []byte("png"), 0o600))
	must(s.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutOutputFile(th.ID, out); err != nil {
			return err
		}
		live := &apitype.Run{ID: "run_zzlive", Object: "thread.run", ThreadID: th.ID, AssistantID: a.ID, Status: apitype.RunInProgress}
		if err := tx.PutRun(live); err != nil {
			return err
		}
		for range 2 {
			if _, err := tx.CountResume(live.ID); err != nil {
				return err
			}
		}
		return nil
	}))
	must(s.Close())
	return fx
}

var quiet = slog.New(slog.DiscardHandler)

func userItem(text string) apitype.Item {
	return apitype.ItemOf(&apitype.MessageItem{Type: apitype.ItemMessage, Role: apitype.RoleUser, Content: []apitype.ContentPart{apitype.InputText(text)}})
}

func openBolt(t *testing.T, path string) *store.Store {
	t.Helper()
	s, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Every object of a store filled through the engine, bytes included, is in
// the bbolt copy; Verify finds no difference; and an engine opened on the
// copy serves what the source served.
func TestCopyBoltToBolt(t *testing.T) {
	ctx := context.Background()
	fx := fill(t, 20)
	dstPath := filepath.Join(t.TempDir(), "dst.db")
	src, dst := openBolt(t, fx.path), openBolt(t, dstPath)
	opt := storecopy.Options{BatchObjects: 7, SrcBlobs: storecopy.Dir(fx.files), DstBlobs: storecopy.Dir(dstPath + ".files")}
	st, err := storecopy.Copy(ctx, src, dst, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("copied %+v", st)
	want := storecopy.Stats{Assistants: 2, Threads: 2, Files: 3, OutputFiles: 1, VectorStores: 1, VectorStoreFiles: 2, FileBatches: 1, BatchMembers: 1,
		Conversations: 1, Containers: 1, ContainerFiles: 1, ResumeCounts: 1, Blobs: 4}
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"assistants", st.Assistants, want.Assistants}, {"threads", st.Threads, want.Threads}, {"files", st.Files, want.Files},
		{"vector stores", st.VectorStores, want.VectorStores}, {"vector store files", st.VectorStoreFiles, want.VectorStoreFiles},
		{"batches", st.FileBatches, want.FileBatches}, {"batch members", st.BatchMembers, want.BatchMembers},
		{"conversations", st.Conversations, want.Conversations}, {"containers", st.Containers, want.Containers},
		{"container files", st.ContainerFiles, want.ContainerFiles}, {"resume counts", st.ResumeCounts, want.ResumeCounts},
		{"blobs", st.Blobs, want.Blobs}, {"output files", st.OutputFiles, want.OutputFiles}, {"responses", st.Responses, 3}, {"runs", st.Runs, 2},
	} {
		if c.got != c.want {
			t.Errorf("%s: copied %d, want %d", c.name, c.got, c.want)
		}
	}
	if st.Messages < 22 || st.Steps == 0 || st.ConversationItems < 4 || st.ResponseItems == 0 {
		t.Errorf("too few messages, steps or items: %+v", st)
	}
	if st.Transactions < st.Objects()/7 {
		t.Errorf("%d objects in %d transactions of at most 7", st.Objects(), st.Transactions)
	}
	vst, err := storecopy.Verify(ctx, src, dst, opt)
	if err != nil {
		t.Fatal(err)
	}
	if vst.Objects() != st.Objects() || vst.Blobs != st.Blobs || vst.BlobBytes != st.BlobBytes {
		t.Errorf("verified %+v\ncopied %+v", vst, st)
	}
	src.Close()
	dst.Close()

	// The copy serves: an engine on it reads the file's bytes, the thread,
	// the chain past its deleted middle, the container file.
	e, err := engine.Open(ctx, engine.Config{Path: dstPath, Model: scripted.Echo(), NoSync: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	_, rc, err := e.Files.Content(ctx, fx.file)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "the capital of France is Paris\n" {
		t.Errorf("file bytes %q", b)
	}
	if _, rc, err = e.Containers.Files.Content(ctx, fx.container, fx.cfile); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	r, err := e.Responses.Create(ctx, &apitype.ResponseCreateParams{Model: "m", Input: apitype.TextResponseInput("next"), PreviousResponseID: &fx.resp})
	if err != nil || r.Status != apitype.ResponseCompleted {
		t.Fatalf("a response after the copied chain: %v %+v", err, r)
	}
}

// A copy into a store holding anything is refused before anything is
// written.
func TestCopyRefusesNonEmpty(t *testing.T) {
	ctx := context.Background()
	fx := fill(t, 0)
	src := openBolt(t, fx.path)
	dst := openBolt(t, filepath.Join(t.TempDir(), "dst.db"))
	if err := dst.Update(ctx, func(tx store.Tx) error {
		return tx.PutConversation(&apitype.Conversation{ID: "conv_x", Object: "conversation"})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := storecopy.Copy(ctx, src, dst, storecopy.Options{}); !errors.Is(err, storecopy.ErrNotEmpty) {
		t.Fatalf("copy into a store with a conversation: %v", err)
	}
	if err := dst.View(ctx, func(tx store.Tx) error {
		p, err := tx.ListThreads(apitype.ListParams{})
		if err == nil && len(p.Data) > 0 {
			err = fmt.Errorf("threads were written: %d", len(p.Data))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// Verify reports the first difference, naming it, for each kind of
// change made to a good copy.
func TestVerifyFindsDifferences(t *testing.T) {
	ctx := context.Background()
	fx := fill(t, 3)
	for _, tc := range []struct {
		name   string
		where  string
		change func(tx store.Tx) error
		blob   bool
	}{
		{"message text", "message", func(tx store.Tx) error {
			m := lastMessage(t, tx, fx.thread)
			m.Content[0].Text.Value += "!"
			return tx.PutMessage(m, -1)
		}, false},
		{"message tokens", "the token count of thread " + fx.thread + " message", func(tx store.Tx) error {
			m := lastMessage(t, tx, fx.thread)
			return tx.PutMessage(m, 9999)
		}, false},
		{"a missing conversation item", "conversation " + fx.conv, func(tx store.Tx) error {
			p, err := tx.ListConversationItems(fx.conv, apitype.ListParams{})
			if err != nil {
				return err
			}
			return tx.DeleteConversationItem(fx.conv, p.Data[0].ID())
		}, false},
		{"a response's output", "response " + fx.resp, func(tx store.Tx) error {
			r, err := tx.GetResponse(fx.resp)
			if err != nil {
				return err
			}
			r.Output = r.Output[:0]
			return tx.PutResponse(r, []int{})
		}, false},
		{"an extra assistant", "assistant asst_zzz", func(tx store.Tx) error {
			return tx.PutAssistant(&apitype.Assistant{ID: "asst_zzz"})
		}, false},
		{"a resume count", "the resume count of run run_zzlive", func(tx store.Tx) error {
			_, err := tx.CountResume("run_zzlive")
			return err
		}, false},
		{"a deleted output file", "file file-zzout", func(tx store.Tx) error {
			return tx.DeleteFile("file-zzout")
		}, false},
		{"a container file's bytes", "the bytes of container " + fx.container, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dstPath := filepath.Join(t.TempDir(), "dst.db")
			src, dst := openBolt(t, fx.path), openBolt(t, dstPath)
			defer src.Close()
			opt := storecopy.Options{SrcBlobs: storecopy.Dir(fx.files), DstBlobs: storecopy.Dir(dstPath + ".files")}
			if _, err := storecopy.Copy(ctx, src, dst, opt); err != nil {
				t.Fatal(err)
			}
			if tc.blob {
				if err := os.WriteFile(filepath.Join(dstPath+".files", "containers", fx.cfile), []byte("print('ho')\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			} else if err := dst.Update(ctx, tc.change); err != nil {
				t.Fatal(err)
			}
			_, err := storecopy.Verify(ctx, src, dst, opt)
			var mm *storecopy.Mismatch
			if !errors.As(err, &mm) || !errors.Is(err, storecopy.ErrMismatch) {
				t.Fatalf("Verify: %v", err)
			}
			if !strings.Contains(mm.Where, tc.where) {
				t.Fatalf("the difference is named %q, want it to name %q\n%v", mm.Where, tc.where, err)
			}
			t.Log(err)
		})
	}
}

func lastMessage(t *testing.T, tx store.Tx, thread string) *apitype.Message {
	p, err := tx.ListMessages(thread, apitype.MessageListParams{ListParams: apitype.ListParams{Limit: 1}})
	if err != nil || len(p.Data) == 0 {
		t.Fatalf("last message: %v", err)
	}
	return &p.Data[0]
}

// countingDriver records the most messages one destination transaction
// wrote.
type countingDriver struct {
	store.Driver
	most, txs int
}

type countingTx struct {
	store.Tx
	n int
}

func (c *countingTx) PutMessage(m *apitype.Message, tokens int) error {
	c.n++
	return c.Tx.PutMessage(m, tokens)
}

func (d *countingDriver) Update(ctx context.Context, fn func(store.Tx) error) error {
	var n int
	err := d.Driver.Update(ctx, func(tx store.Tx) error {
		c := &countingTx{Tx: tx}
		err := fn(c)
		n = c.n
		return err
	})
	if err == nil {
		d.most, d.txs = max(d.most, n), d.txs+1
	}
	return err
}

// A thread of 100,000 messages is copied in transactions of at most
// BatchObjects messages, and the copy holds no more than a transaction's
// worth of them: the live heap after the last transaction is about what it
// was after the first, far below the thread's size.
func TestCopyLongThreadBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 100,000 messages")
	}
	ctx := context.Background()
	const n, batch = store.MaxMessagesPerThread, 500
	src := openBolt(t, filepath.Join(t.TempDir(), "src.db"))
	th := &apitype.Thread{ID: "thread_long", Object: "thread"}
	text := strings.Repeat("a message of a long thread ", 8)
	if err := src.Update(ctx, func(tx store.Tx) error { return tx.PutThread(th) }); err != nil {
		t.Fatal(err)
	}
	gen := store.NewIDGenerator(nil, nil)
	for i := 0; i < n; i += 10000 {
		if err := src.Update(ctx, func(tx store.Tx) error {
			for j := range 10000 {
				m := &apitype.Message{ID: gen.New(store.PrefixMessage), Object: "thread.message", ThreadID: th.ID, Role: apitype.RoleUser,
					Status: apitype.MessageCompleted, Content: []apitype.MessageContent{{Type: "text", Text: &apitype.TextContent{Value: fmt.Sprint(text, i+j), Annotations: []apitype.Annotation{}}}}}
				if err := tx.PutMessage(m, i+j); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	dst := &countingDriver{Driver: openBolt(t, filepath.Join(t.TempDir(), "dst.db"))}
	var heaps []uint64
	st, err := storecopy.Copy(ctx, src, dst, storecopy.Options{BatchObjects: batch, Progress: func(storecopy.Stats) {
		if len(heaps) < 2 || len(heaps)%50 == 0 {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heaps = append(heaps, ms.HeapAlloc)
		} else {
			heaps = append(heaps, heaps[len(heaps)-1])
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != n || dst.most > batch || dst.txs < n/batch {
		t.Fatalf("%d messages in %d transactions, at most %d in one (batch %d)", st.Messages, dst.txs, dst.most, batch)
	}
	thread := int64(n) * int64(len(text))
	first, last := heaps[1], heaps[len(heaps)-1]
	t.Logf("live heap after the first transaction %d KiB, after the last %d KiB; the thread's text %d KiB; %d objects/s",
		first>>10, last>>10, thread>>10, int64(float64(st.Objects())/st.Took.Seconds()))
	if int64(last)-int64(first) > thread/4 {
		t.Fatalf("the live heap grew by %d KiB over the copy of a %d KiB thread", (int64(last)-int64(first))>>10, thread>>10)
	}
	if _, err := storecopy.Verify(ctx, src, dst, storecopy.Options{}); err != nil {
		t.Fatal(err)
	}
}
