package store

import (
	"context"

	"github.com/hearth-go/hearth/apitype"
	bolt "go.etcd.io/bbolt"
)

// The store seam (issue 23). The engine depends on Driver and Tx, not on
// bbolt: *Store (this package's bbolt file) is one driver, and a Postgres
// driver is to be another. As river's riverdriver is, these interfaces are
// Hearth's own layer, not an API to implement outside Hearth: they change
// when a driver needs them to, and such changes are not breaking (see the
// package doc).
//
// A driver must keep every promise written here; the bbolt driver's
// methods (tx.go and its neighbours) say how it keeps them, and the
// conformance suite, package store/storetest, runs them against every
// driver.

// Driver is a store as the engine uses it as a whole: transactions, and
// group-committed writes.
//
// Every state change the engine makes is one Update or Submit: what fn
// wrote is all committed or none of it is. An Update's fn reads and then
// writes (a run's status checked, then changed; a thread checked for an
// active run, then given one), so a driver's write transactions must be
// serialisable — no other write commits between what fn read and what it
// wrote. bbolt has one writer; Postgres needs SERIALIZABLE, or the row
// locks (SELECT … FOR UPDATE) and constraints that give the same outcome,
// retrying fn on a serialisation failure (fn may run more than once).
//
// What only some drivers can do — compaction, releasing mapped pages,
// knowing their size, keeping a capability package's own buckets — is in
// the optional interfaces below (Compacter, MappedReleaser, Sizer,
// BoltStore): the engine asks for them with a type assertion and does
// without (no auto-compaction, no release). The bbolt file's other
// operations (Backup, Check, DB, CompactFile) are methods of *Store only,
// which the engine's Store method returns when it runs on bbolt.
type Driver interface {
	// View runs fn in a read-only transaction: a consistent snapshot of
	// every object, whatever commits meanwhile. Views run concurrently with
	// each other and with writes. fn must not call Update, Submit or View.
	// After Close, View returns ErrClosed; a ctx already ended, its error.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction and returns once it is
	// committed and durable (or failed: then nothing fn wrote is kept and
	// Update returns fn's error as it is). fn may run more than once (a
	// shared commit retried without a failing write, a serialisation
	// failure), so it must have no effect outside tx but assigning captured
	// variables. When ctx ends before the write was taken up, Update
	// returns ctx's error and nothing is written; once taken up, it waits
	// for the outcome, so an error from Update always means not written.
	Update(ctx context.Context, fn func(Tx) error) error
	// Submit queues fn as Update does and returns at once. Writes are
	// committed in the order Submit and Update queued them, and then (when
	// not nil) runs once fn's outcome is known, before Pending.Wait returns,
	// the callbacks of all writes in commit order: the engine publishes a
	// write's events from then, so streams see them ordered exactly as the
	// commits. then must be quick and must not use the store. A queued write
	// is always decided: with ctx's error when ctx had ended, with
	// ErrClosed after Close.
	Submit(ctx context.Context, fn func(Tx) error, then func(error)) Pending
	// Close commits what was queued before it, then releases the store.
	// Closing again returns nil.
	Close() error
}

// Compacter is a Driver whose storage keeps the space of deleted data
// until it is compacted (bbolt's file). The engine compacts online when
// FreeBytes is at least half of Size (Config.AutoCompactInterval).
type Compacter interface {
	FreeBytes() int64
	Size() int64
	Compact(ctx context.Context) (CompactStats, error)
}

// MappedReleaser is a Driver that maps its data into the process's memory
// (bbolt's mmap): ReleaseMapped takes the pages read out of the resident
// set (Config.ReleaseMappedInterval).
type MappedReleaser interface {
	ReleaseMapped(ctx context.Context) (int64, error)
}

// Sizer is a Driver that knows how many bytes it takes (Stats.DatabaseBytes).
type Sizer interface {
	Size() int64
}

// BoltStore is a Driver whose data is a bbolt file that capability
// packages may keep buckets of their own in (the default file search
// index, see Bolt).
type BoltStore interface {
	Bolt() Bolt
}

// BoltTx is a Tx of the bbolt driver, whose raw transaction tests and
// migrations may read. Unstable: see the package doc.
type BoltTx interface {
	Tx
	Bolt() *bolt.Tx
}

var (
	_ Driver         = (*Store)(nil)
	_ Compacter      = (*Store)(nil)
	_ MappedReleaser = (*Store)(nil)
	_ BoltStore      = (*Store)(nil)
	_ Sizer          = (*Store)(nil)
	_ Tx             = (*boltTx)(nil)
	_ BoltTx         = (*boltTx)(nil)
)

// NewPending returns a Pending for a driver's Submit, and the function the
// driver calls, once, with the write's outcome: it runs then (when not
// nil; a panic in it is recovered) and makes the outcome Wait's.
func NewPending(then func(error)) (Pending, func(error)) {
	w := &write{then: then, err: make(chan error, 1)}
	return Pending{w}, w.decide
}

// Tx is one transaction with typed accessors, as the engine and the HTTP
// layer use it; a View's is read-only (a write method on it fails).
//
// Promises every driver keeps:
//
//   - Ids. Objects are stored under the ids the caller made
//     (store.NewIDGenerator): they sort in creation order, and every list is
//     in that order, so a page is a seek to the cursor and a walk of at most
//     limit+1 records, never a scan of what lies before it.
//   - Not found. A Get, Delete or list of an object under an unknown id
//     (or an object of another parent: a message of another thread, a step
//     of another run) returns an *apitype.Error matching apitype.ErrNotFound
//     (apitype.NotFound(kind, id)), and changes nothing. Has* report it as
//     false. So does a Put under a parent that is not there (a message,
//     run or output file of an unknown thread, a step of a run the thread
//     does not hold, a file or batch of an unknown vector store, items of
//     an unknown conversation, a file of an unknown container).
//   - Bad input the store itself refuses is an *apitype.Error matching
//     apitype.ErrInvalidRequest naming its param, which reaches the client
//     as it is (a thread past MaxMessagesPerThread: "thread_id"; a
//     conversation item without an id or with one the conversation holds:
//     "items[i].id"; an unknown cursor in the lists that require a known
//     one: "after" or "before"). The store never returns apitype.ErrConflict itself:
//     compare-and-set is the engine reading then writing in one Update
//     (see Driver), which the driver makes serialisable.
//   - Put* insert or replace whole records. Deletes cascade to what the
//     object owns (a thread's messages, runs and steps; a vector store's
//     files and batches; a conversation's items; a container's files), in
//     the same transaction.
//   - Lists take apitype.ListParams (see list.go): order desc by default;
//     after and before are positions, not references — a cursor naming a
//     deleted id pages from where it would sort, so paging while deleting
//     neither fails nor skips; has_more says whether more lie beyond the
//     page in the direction it was read (of the filtered list, when a
//     filter is set). A page's Data is never nil (an empty list is []);
//     FirstID and LastID name its ends, nil when it is empty.
//   - Token counts. A message or item is stored with the count its writer
//     gives (PutMessage with tokens < 0 keeps the stored count), and the
//     walks (EachMessage, LendMessages, EachConversationItem,
//     ResponseHistory…) give it back without recounting: prompt truncation
//     relies on reading counts, not tokenizing history.
//   - Walks (Each*, Lend*, ResponseHistory, ResponseInput) visit in the
//     order asked until fn returns false or an error, which is returned as
//     it is; they read no more than they visit. A Lend* walk lends what it
//     gives: valid only until fn returns (Clone what is kept).
//   - Indexes the engine relies on are the store's to keep in step with
//     the records, in the same transaction: one active run per thread
//     (PutRun of a non-terminal run makes it the thread's ActiveRun; a
//     terminal one clears it if it is the active one; the engine never
//     puts a second non-terminal run in a thread that has one, and a
//     driver may refuse it), the live runs and live responses (queued or
//     in progress; LiveRuns, LiveResponses), the resume counts (gone when
//     the run ends), a thread's code output files, containers' expiry.
type Tx interface {
	// ---- assistants

	PutAssistant(a *apitype.Assistant) error
	GetAssistant(id string) (*apitype.Assistant, error)
	HasAssistant(id string) (bool, error)
	DeleteAssistant(id string) error
	ListAssistants(p apitype.ListParams) (apitype.Page[apitype.Assistant], error)

	// ---- threads and messages

	// PutThread also makes the thread's room for messages and runs.
	PutThread(th *apitype.Thread) error
	GetThread(id string) (*apitype.Thread, error)
	// ListThreads pages threads (Hearth's own list, for the Playground and CLI).
	ListThreads(p apitype.ListParams) (apitype.Page[apitype.Thread], error)
	HasThread(id string) (bool, error)
	// DeleteThread deletes a thread with its messages, runs, steps and
	// indexes.
	DeleteThread(id string) error
	// PutMessage refuses a new message past MaxMessagesPerThread.
	PutMessage(m *apitype.Message, tokens int) error
	GetMessage(threadID, id string) (*apitype.Message, error)
	DeleteMessage(threadID, id string) error
	// CountMessages is kept, not counted: O(1).
	CountMessages(threadID string) (int, error)
	// ListMessages pages a thread's messages, those of p.RunID when set;
	// the page owns its memory.
	ListMessages(threadID string, p apitype.MessageListParams) (apitype.Page[apitype.Message], error)
	// EachMessage and LendMessages walk a thread's messages from the newest
	// (desc) or the oldest with their token counts; EachMessage's are fn's
	// to keep, LendMessages' are lent.
	EachMessage(threadID string, desc bool, fn func(m *apitype.Message, tokens int) (bool, error)) error
	LendMessages(threadID string, desc bool, fn func(m *apitype.Message, tokens int) (bool, error)) error

	// ---- runs and steps

	// PutRun keeps the thread's active run and the live-run index in step
	// with r.Status (see the type's doc).
	PutRun(r *apitype.Run) error
	GetRun(threadID, id string) (*apitype.Run, error)
	ListRuns(threadID string, p apitype.ListParams) (apitype.Page[apitype.Run], error)
	// ActiveRun is the id of the thread's non-terminal run, or "".
	ActiveRun(threadID string) (string, error)
	// LiveRuns visits every non-terminal run, oldest first (recovery).
	LiveRuns(fn func(threadID, runID string) error) error
	PutStep(s *apitype.RunStep) error
	GetStep(threadID, runID, id string) (*apitype.RunStep, error)
	// ListSteps of a run the thread does not hold (yet) is an empty page,
	// not an error: the engine builds a new run's prompt in a View while
	// the write storing the run commits. (An unknown thread is not found.)
	ListSteps(threadID, runID string, p apitype.ListParams) (apitype.Page[apitype.RunStep], error)
	// CountResume counts a restart's resumption of a run and returns the
	// count so far; the count goes when the run ends.
	CountResume(runID string) (int, error)
	// MarkCleanClose records a clean shutdown; TakeCleanClose reports it
	// (at the next open) and clears it. Runs a clean shutdown left resume
	// without counting against the resume cap.
	MarkCleanClose() error
	TakeCleanClose() (bool, error)

	// ---- files (their records; the bytes are the engine's FilesDir)

	PutFile(f *apitype.File) error
	GetFile(id string) (*apitype.File, error)
	DeleteFile(id string) error
	// PutOutputFile stores a file the code interpreter wrote in a thread's
	// run and counts it against the thread; OutputFiles reports the count
	// and bytes of those that still exist.
	PutOutputFile(threadID string, f *apitype.File) error
	OutputFiles(threadID string) (n int, size int64, err error)
	// ListFiles pages files, those of purpose when it is set; its limit may
	// be up to apitype.MaxFileListLimit (files.list), not only MaxListLimit.
	ListFiles(p apitype.ListParams, purpose string) (apitype.Page[apitype.File], error)
	// EachOutputFile visits, oldest first, the ids of the thread's output
	// files (PutOutputFile) that still exist (a copy of the store re-makes
	// the index with them).
	EachOutputFile(threadID string, fn func(fileID string) error) error

	// ---- vector stores

	PutVectorStore(v *apitype.VectorStore) error
	GetVectorStore(id string) (*apitype.VectorStore, error)
	DeleteVectorStore(id string) error
	ListVectorStores(p apitype.ListParams) (apitype.Page[apitype.VectorStore], error)
	// PutVectorStoreFile records, when batchID is set, the file as one of
	// that batch's.
	PutVectorStoreFile(f *apitype.VectorStoreFile, batchID string) error
	GetVectorStoreFile(vsID, fileID string) (*apitype.VectorStoreFile, error)
	DeleteVectorStoreFile(vsID, fileID string) error
	// VectorStoresHolding lists the vector stores a file is attached to.
	VectorStoresHolding(fileID string) ([]string, error)
	// ListVectorStoreFiles pages a vector store's files, or a batch's when
	// batchID is set (those still attached), of status p.Filter when it is
	// set.
	ListVectorStoreFiles(vsID, batchID string, p apitype.VectorStoreFileListParams) (apitype.Page[apitype.VectorStoreFile], error)
	EachVectorStoreFile(vsID string, fn func(*apitype.VectorStoreFile) error) error
	PutFileBatch(b *apitype.VectorStoreFileBatch) error
	GetFileBatch(vsID, id string) (*apitype.VectorStoreFileBatch, error)
	BatchFileIDs(vsID, batchID string) ([]string, error)
	ListFileBatchesOf(vsID, fileID string) ([]string, error)
	// ListFileBatches pages a vector store's batches.
	ListFileBatches(vsID string, p apitype.ListParams) (apitype.Page[apitype.VectorStoreFileBatch], error)

	// ---- conversations

	PutConversation(c *apitype.Conversation) error
	GetConversation(id string) (*apitype.Conversation, error)
	DeleteConversation(id string) error
	// ListConversations pages conversations (the API has no such list; a
	// copy of the store and Hearth's own tools use it).
	ListConversations(p apitype.ListParams) (apitype.Page[apitype.Conversation], error)
	// AppendConversationItems appends items, in order, with their token
	// counts; each needs an id the conversation does not hold yet (nor an
	// item before it in items). A deleted item's id may be appended again.
	AppendConversationItems(convID string, items []apitype.Item, tokens []int) error
	GetConversationItem(convID, itemID string) (*apitype.Item, error)
	DeleteConversationItem(convID, itemID string) error
	CountConversationItems(convID string) (int, error)
	// ListConversationItems pages items in insertion order (asc) or newest
	// first, after p.After, which must name an item the conversation holds
	// or held: a deleted item's place is still a cursor.
	ListConversationItems(convID string, p apitype.ListParams) (apitype.Page[apitype.Item], error)
	EachConversationItem(convID string, desc bool, fn func(it *apitype.Item, tokens int) (bool, error)) error
	// LendConversationItems lends the plain text messages; other items are
	// fn's to keep.
	LendConversationItems(convID string, desc bool, fn func(it *apitype.Item, tokens int) (bool, error)) error

	// ---- responses

	// CreateResponse stores a new response with its input items (each with
	// an id and its token count) and links it to its previous response; a
	// queued or in_progress one is live (LiveResponses).
	CreateResponse(r *apitype.Response, input []apitype.Item, tokens []int) error
	// CreateResponseOutput is CreateResponse with r.Output stored too
	// (outTokens counts each; nil: no output).
	CreateResponseOutput(r *apitype.Response, input []apitype.Item, tokens, outTokens []int) error
	// PutResponse replaces a response and, when tokens is not nil, its
	// output items; the live index follows its status.
	PutResponse(r *apitype.Response, tokens []int) error
	GetResponse(id string) (*apitype.Response, error)
	HasResponse(id string) (bool, error)
	// ListResponses pages stored responses, each whole as GetResponse
	// reads it (the API has no such list; a copy of the store uses it).
	ListResponses(p apitype.ListParams) (apitype.Page[apitype.Response], error)
	// DeleteResponse removes a response, its items and its chain link;
	// responses naming it as previous keep their own items, their chain
	// ending there.
	DeleteResponse(id string) error
	LiveResponses(fn func(id string) error) error
	ResponseInput(id string, desc bool, fn func(it *apitype.Item, tokens int) (bool, error)) error
	// ResponseHistory walks, newest first, a response's output then input
	// items, then its previous response's, back along previous_response_id
	// until fn returns false or the chain ends: each response one seek, so
	// a prompt keeping the newest items of a long chain reads only those.
	// LendResponseHistory lends plain text messages.
	ResponseHistory(id string, fn func(it *apitype.Item, tokens int) (bool, error)) error
	LendResponseHistory(id string, fn func(it *apitype.Item, tokens int) (bool, error)) error
	// ListResponseInputItems pages a response's input items (desc unless p
	// says asc; after and before must be items of its input).
	ListResponseInputItems(id string, p apitype.ListParams) (apitype.Page[apitype.Item], error)

	// ---- containers (code interpreter, Responses API)

	// PutContainer keeps the container's place in the expiry index (an
	// expired one has none).
	PutContainer(c *apitype.Container) error
	GetContainer(id string) (*apitype.Container, error)
	// DeleteContainer returns the records of the files it deleted (their
	// bytes are the caller's to remove after the commit).
	DeleteContainer(id string) ([]apitype.ContainerFile, error)
	ListContainers(p apitype.ListParams, name string) (apitype.Page[apitype.Container], error)
	// DueContainers visits each active container idle since at or before
	// now, soonest first, until fn returns false.
	DueContainers(now int64, fn func(id string) bool) error
	// PutContainerFile needs the container to exist.
	PutContainerFile(f *apitype.ContainerFile) error
	GetContainerFile(containerID, id string) (*apitype.ContainerFile, error)
	DeleteContainerFile(containerID, id string) error
	ListContainerFiles(containerID string, p apitype.ListParams) (apitype.Page[apitype.ContainerFile], error)
	// ContainerFiles is every file of a container, oldest first.
	ContainerFiles(containerID string) ([]apitype.ContainerFile, error)
}
