package pgstore

import (
	"github.com/jackc/pgx/v5"

	"github.com/hearth-go/hearth/apitype"
)

// The enumerations a whole-store copy (store/storecopy, hearth
// migrate-store) needs beyond the API's own lists.

// ListConversations pages conversations.
func (t *Tx) ListConversations(p apitype.ListParams) (apitype.Page[apitype.Conversation], error) {
	return list[apitype.Conversation](t, listQ{from: "conversations WHERE true", key: "id", cols: "id, record"}, p, "conversation")
}

// ListResponses pages stored responses, each with its output as
// GetResponse reads it.
func (t *Tx) ListResponses(p apitype.ListParams) (apitype.Page[apitype.Response], error) {
	page, err := list[apitype.Response](t, listQ{from: "responses WHERE true", key: "id", cols: "id, record"}, p, "response")
	if err != nil {
		return page, err
	}
	for i := range page.Data {
		r, err := t.GetResponse(page.Data[i].ID)
		if err != nil {
			return page, err
		}
		page.Data[i] = *r
	}
	return page, nil
}

// ListFileBatches pages a vector store's batches.
func (t *Tx) ListFileBatches(vsID string, p apitype.ListParams) (apitype.Page[apitype.VectorStoreFileBatch], error) {
	q := listQ{from: "vector_store_file_batches WHERE vector_store_id = $1", args: []any{vsID}, key: "id", cols: "id, record",
		exists: vsExists, existsArgs: []any{vsID}, notFound: apitype.NotFound("vector store", vsID)}
	return list[apitype.VectorStoreFileBatch](t, q, p, "vector store file batch")
}

// EachOutputFile visits the ids of a thread's output files, oldest first.
func (t *Tx) EachOutputFile(threadID string, fn func(fileID string) error) error {
	b := &pgx.Batch{}
	b.Queue(threadExists, threadID)
	b.Queue("SELECT id FROM files WHERE thread_id = $1 ORDER BY id", threadID)
	thread := false
	var ids []string
	if err := t.send(b, func(br pgx.BatchResults) error {
		if err := br.QueryRow().Scan(&thread); err != nil {
			return err
		}
		return readRows(br, func(r pgx.Rows) error {
			var id string
			if err := r.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
			return nil
		})
	}); err != nil {
		return err
	}
	if !thread {
		return apitype.NotFound("thread", threadID)
	}
	for _, id := range ids {
		if err := fn(id); err != nil {
			return err
		}
	}
	return nil
}
