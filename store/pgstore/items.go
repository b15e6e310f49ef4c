package pgstore

import (
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// ---- conversations
//
// A conversation's items are rows by position (from 1, in insertion
// order, whatever their ids). Deleting an item keeps its row as a
// tombstone (record NULL), as bbolt keeps its index entry: an after cursor
// naming a deleted item still pages from where it was, and the id may be
// appended again (the tombstone then takes the new position).

func decodeItem(v []byte, what string) (*apitype.Item, error) {
	var it apitype.Item
	if err := json.Unmarshal(v, &it); err != nil {
		return nil, fmt.Errorf("pgstore: decode %s: %w", what, err)
	}
	return &it, nil
}

func (t *Tx) PutConversation(c *apitype.Conversation) error {
	v, err := encode(c, "conversation")
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO conversations (id, created_at, record) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET created_at = EXCLUDED.created_at, record = EXCLUDED.record`, c.ID, c.CreatedAt, v)
	return err
}

func (t *Tx) GetConversation(id string) (*apitype.Conversation, error) {
	return getRecord[apitype.Conversation](t, "SELECT record FROM conversations WHERE id = $1", []any{id}, "conversation", id, store.ConversationNotFound(id))
}

func (t *Tx) DeleteConversation(id string) error {
	return t.deleteBy("DELETE FROM conversations WHERE id = $1", store.ConversationNotFound(id), id)
}

const convExists = "SELECT EXISTS (SELECT 1 FROM conversations WHERE id = $1)"

func itemNotFound(convID, itemID string) error {
	return &apitype.Error{Type: apitype.ErrorTypeNotFound, Status: 404,
		Message: fmt.Sprintf("Item with id '%s' not found in conversation '%s'.", itemID, convID)}
}

// AppendConversationItems appends in two round trips whatever the number
// of items: the conversation and the ids it holds, then one INSERT of them
// all with the count.
func (t *Tx) AppendConversationItems(convID string, items []apitype.Item, tokens []int) error {
	if len(tokens) != len(items) {
		return fmt.Errorf("pgstore: %d items, %d token counts", len(items), len(tokens))
	}
	ids := make([]string, len(items))
	seen := make(map[string]bool, len(items))
	for i := range items {
		ids[i] = items[i].ID()
	}
	var conv bool
	var next int64
	held := map[string]bool{}
	b := &pgx.Batch{}
	b.Queue("SELECT next_pos FROM conversations WHERE id = $1", convID)
	b.Queue("SELECT item_id FROM conversation_items WHERE conversation_id = $1 AND item_id = ANY ($2) AND record IS NOT NULL", convID, ids)
	err := t.send(b, func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		for rows.Next() {
			conv = true
			if err := rows.Scan(&next); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		return readRows(br, func(r pgx.Rows) error {
			var id string
			if err := r.Scan(&id); err != nil {
				return err
			}
			held[id] = true
			return nil
		})
	})
	if err != nil {
		return err
	}
	if !conv {
		return store.ConversationNotFound(convID)
	}
	recs := make([]string, len(items))
	toks := make([]int32, len(items))
	for i := range items {
		id := ids[i]
		if id == "" {
			return apitype.Invalid(fmt.Sprintf("items[%d].id", i), "an item stored in a conversation needs an id")
		}
		if held[id] || seen[id] {
			return apitype.Invalid(fmt.Sprintf("items[%d].id", i), "Conversation '%s' already has an item with id '%s'.", convID, id)
		}
		seen[id] = true
		v, err := json.Marshal(&items[i])
		if err != nil {
			return fmt.Errorf("pgstore: encode item %s: %w", id, err)
		}
		recs[i], toks[i] = string(v), int32(max(tokens[i], 0))
	}
	if len(items) == 0 {
		return nil
	}
	_, err = t.exec(`WITH ins AS (
			INSERT INTO conversation_items (conversation_id, pos, item_id, tokens, record)
			SELECT $1, $2 + u.n - 1, u.id, u.tokens, u.record::json
			FROM unnest($3::text[], $4::integer[], $5::text[]) WITH ORDINALITY AS u(id, tokens, record, n)
			ON CONFLICT (conversation_id, item_id) DO UPDATE SET pos = EXCLUDED.pos, tokens = EXCLUDED.tokens, record = EXCLUDED.record
			RETURNING 1)
		UPDATE conversations SET item_count = item_count + (SELECT count(*) FROM ins), next_pos = $2 + $6 WHERE id = $1`,
		convID, next, ids, toks, recs, len(items))
	return err
}

func (t *Tx) GetConversationItem(convID, itemID string) (*apitype.Item, error) {
	var conv bool
	var v []byte
	_, err := t.row(`SELECT EXISTS (SELECT 1 FROM conversations WHERE id = $1),
		(SELECT record FROM conversation_items WHERE conversation_id = $1 AND item_id = $2)`, []any{convID, itemID}, &conv, &v)
	switch {
	case err != nil:
		return nil, err
	case !conv:
		return nil, store.ConversationNotFound(convID)
	case v == nil:
		return nil, itemNotFound(convID, itemID)
	}
	return decodeItem(v, "item "+itemID)
}

func (t *Tx) DeleteConversationItem(convID, itemID string) error {
	var conv, deleted bool
	_, err := t.row(`WITH d AS (UPDATE conversation_items SET record = NULL, tokens = 0
			WHERE conversation_id = $1 AND item_id = $2 AND record IS NOT NULL RETURNING 1),
		up AS (UPDATE conversations SET item_count = greatest(item_count - 1, 0) WHERE id = $1 AND EXISTS (SELECT 1 FROM d))
		SELECT EXISTS (SELECT 1 FROM conversations WHERE id = $1), EXISTS (SELECT 1 FROM d)`, []any{convID, itemID}, &conv, &deleted)
	switch {
	case err != nil:
		return err
	case !conv:
		return store.ConversationNotFound(convID)
	case !deleted:
		return itemNotFound(convID, itemID)
	}
	return nil
}

func (t *Tx) CountConversationItems(convID string) (int, error) {
	var n int64
	found, err := t.row("SELECT item_count FROM conversations WHERE id = $1", []any{convID}, &n)
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, store.ConversationNotFound(convID)
	}
	return int(n), nil
}

// ListConversationItems pages by position after the item p.After names
// (a deleted one too); before is not part of this list.
func (t *Tx) ListConversationItems(convID string, p apitype.ListParams) (apitype.Page[apitype.Item], error) {
	if p.Before != "" {
		return apitype.Page[apitype.Item]{}, apitype.Invalid("before", "conversation items page with after only")
	}
	limit := pageLimit(p)
	args := []any{convID}
	sql := "SELECT item_id, record FROM conversation_items WHERE conversation_id = $1 AND record IS NOT NULL"
	forward := p.Order == apitype.OrderAsc
	if p.After != "" {
		args = append(args, p.After)
		op := " < "
		if forward {
			op = " > "
		}
		sql += " AND pos" + op + "(SELECT pos FROM conversation_items WHERE conversation_id = $1 AND item_id = $2)"
	}
	sql += " ORDER BY pos"
	if !forward {
		sql += " DESC"
	}
	sql += fmt.Sprintf(" LIMIT %d", limit+1)
	b := &pgx.Batch{}
	b.Queue(`SELECT EXISTS (SELECT 1 FROM conversations WHERE id = $1),
		$2 = '' OR EXISTS (SELECT 1 FROM conversation_items WHERE conversation_id = $1 AND item_id = $2)`, convID, p.After)
	b.Queue(sql, args...)
	var conv, cursor bool
	var recs []rec
	err := t.send(b, func(br pgx.BatchResults) error {
		if err := br.QueryRow().Scan(&conv, &cursor); err != nil {
			return err
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
	switch {
	case err != nil:
		return apitype.Page[apitype.Item]{}, err
	case !conv:
		return apitype.Page[apitype.Item]{}, store.ConversationNotFound(convID)
	case !cursor:
		return apitype.Page[apitype.Item]{}, apitype.Invalid("after", "No item with id '%s' in conversation '%s'.", p.After, convID)
	}
	return itemPage(recs, limit)
}

func itemPage(recs []rec, limit int) (apitype.Page[apitype.Item], error) {
	page := apitype.Page[apitype.Item]{Object: apitype.ObjectList, Data: make([]apitype.Item, 0, min(len(recs), limit))}
	if len(recs) > limit {
		page.HasMore, recs = true, recs[:limit]
	}
	for _, r := range recs {
		it, err := decodeItem(r.v, "item "+r.id)
		if err != nil {
			return apitype.Page[apitype.Item]{}, err
		}
		page.Data = append(page.Data, *it)
	}
	if n := len(page.Data); n > 0 {
		f, l := page.Data[0].ID(), page.Data[n-1].ID()
		page.FirstID, page.LastID = &f, &l
	}
	return page, nil
}

func (t *Tx) EachConversationItem(convID string, desc bool, fn func(it *apitype.Item, tokens int) (bool, error)) error {
	return t.walk(walkQ{from: "conversation_items WHERE conversation_id = $1 AND record IS NOT NULL", args: []any{convID}, key: "pos",
		cols: "tokens::bigint, record, NULL::text", desc: desc, exists: convExists, existsArgs: []any{convID}, notFound: store.ConversationNotFound(convID)},
		func(r *wrow) (bool, error) {
			it, err := decodeItem(r.v, "conversation item")
			if err != nil {
				return false, err
			}
			return fn(it, r.n)
		})
}

func (t *Tx) LendConversationItems(convID string, desc bool, fn func(it *apitype.Item, tokens int) (bool, error)) error {
	return t.EachConversationItem(convID, desc, fn)
}

// ---- responses

func responseNotFound(id string) error {
	return &apitype.Error{Type: apitype.ErrorTypeNotFound, Status: 404, Message: fmt.Sprintf("Response with id '%s' not found.", id)}
}

// itemRows are items as the arrays one INSERT … unnest takes.
type itemRows struct {
	output []bool
	pos    []int32
	ids    []string
	tokens []int32
	recs   []string
}

func (r *itemRows) add(output bool, items []apitype.Item, tokens []int) error {
	for i := range items {
		v, err := json.Marshal(&items[i])
		if err != nil {
			return fmt.Errorf("pgstore: encode item: %w", err)
		}
		r.output = append(r.output, output)
		r.pos = append(r.pos, int32(i))
		r.ids = append(r.ids, items[i].ID())
		r.tokens = append(r.tokens, int32(max(tokens[i], 0)))
		r.recs = append(r.recs, string(v))
	}
	return nil
}

const insertItems = `INSERT INTO response_items (response_id, output, pos, item_id, tokens, record)
	SELECT $1, u.output, u.pos, nullif(u.id, ''), u.tokens, u.record::json
	FROM unnest($2::boolean[], $3::integer[], $4::text[], $5::integer[], $6::text[]) AS u(output, pos, id, tokens, record)`

func responseHead(r *apitype.Response) ([]byte, error) {
	head := *r
	head.Output = nil
	return encode(&head, "response")
}

func (t *Tx) CreateResponse(r *apitype.Response, input []apitype.Item, tokens []int) error {
	return t.CreateResponseOutput(r, input, tokens, nil)
}

// CreateResponseOutput stores the response, its input and output items and
// its link in one statement.
func (t *Tx) CreateResponseOutput(r *apitype.Response, input []apitype.Item, tokens, outTokens []int) error {
	if len(tokens) != len(input) {
		return fmt.Errorf("pgstore: %d input items, %d token counts", len(input), len(tokens))
	}
	if outTokens != nil && len(outTokens) != len(r.Output) {
		return fmt.Errorf("pgstore: %d output items, %d token counts", len(r.Output), len(outTokens))
	}
	v, err := responseHead(r)
	if err != nil {
		return err
	}
	var rows itemRows
	if err := rows.add(false, input, tokens); err != nil {
		return err
	}
	if outTokens != nil {
		if err := rows.add(true, r.Output, outTokens); err != nil {
			return err
		}
	}
	var conv *string
	if r.Conversation != nil {
		conv = &r.Conversation.ID
	}
	var made bool
	_, err = t.row(`WITH r AS (
			INSERT INTO responses (id, previous_response_id, conversation_id, status, background, record)
			VALUES ($1, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING RETURNING id),
		i AS (`+insertItems+` WHERE EXISTS (SELECT 1 FROM r))
		SELECT EXISTS (SELECT 1 FROM r)`,
		[]any{r.ID, rows.output, rows.pos, rows.ids, rows.tokens, rows.recs, r.PreviousResponseID, conv, string(r.Status), r.Background, v}, &made)
	if err != nil {
		return err
	}
	if !made {
		return &apitype.Error{Type: apitype.ErrorTypeConflict, Status: 409, Message: fmt.Sprintf("Response %s already exists.", r.ID)}
	}
	return nil
}

// PutResponse replaces a response (and its output items when tokens is not
// nil) in one round trip.
func (t *Tx) PutResponse(r *apitype.Response, tokens []int) error {
	if tokens != nil && len(tokens) != len(r.Output) {
		return fmt.Errorf("pgstore: %d output items, %d token counts", len(r.Output), len(tokens))
	}
	v, err := responseHead(r)
	if err != nil {
		return err
	}
	var conv *string
	if r.Conversation != nil {
		conv = &r.Conversation.ID
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO responses (id, conversation_id, status, background, record) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET conversation_id = EXCLUDED.conversation_id, status = EXCLUDED.status,
			background = EXCLUDED.background, record = EXCLUDED.record`, r.ID, conv, string(r.Status), r.Background, v)
	if tokens != nil {
		var rows itemRows
		if err := rows.add(true, r.Output, tokens); err != nil {
			return err
		}
		b.Queue("DELETE FROM response_items WHERE response_id = $1 AND output", r.ID)
		if len(r.Output) > 0 {
			b.Queue(insertItems, r.ID, rows.output, rows.pos, rows.ids, rows.tokens, rows.recs)
		}
	}
	if r.Status.Terminal() {
		b.Queue("DELETE FROM resumes WHERE id = $1", r.ID)
	}
	n := len(b.QueuedQueries)
	return t.send(b, func(br pgx.BatchResults) error {
		for range n {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		return nil
	})
}

// GetResponse reads the response and its output in one round trip.
func (t *Tx) GetResponse(id string) (*apitype.Response, error) {
	b := &pgx.Batch{}
	b.Queue("SELECT record FROM responses WHERE id = $1", id)
	b.Queue("SELECT record FROM response_items WHERE response_id = $1 AND output ORDER BY pos", id)
	var head []byte
	var outs [][]byte
	err := t.send(b, func(br pgx.BatchResults) error {
		if err := readRows(br, func(r pgx.Rows) error { return r.Scan(&head) }); err != nil {
			return err
		}
		return readRows(br, func(r pgx.Rows) error {
			var v []byte
			if err := r.Scan(&v); err != nil {
				return err
			}
			outs = append(outs, v)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if head == nil {
		return nil, responseNotFound(id)
	}
	r, err := decode[apitype.Response](head, "response", id)
	if err != nil {
		return nil, err
	}
	r.Output = make([]apitype.Item, 0, len(outs))
	for _, v := range outs {
		it, err := decodeItem(v, "output item of "+id)
		if err != nil {
			return nil, err
		}
		r.Output = append(r.Output, *it)
	}
	return r, nil
}

func (t *Tx) HasResponse(id string) (bool, error) {
	return t.has("SELECT EXISTS (SELECT 1 FROM responses WHERE id = $1)", id)
}

func (t *Tx) DeleteResponse(id string) error {
	return t.deleteBy(`WITH r AS (DELETE FROM resumes WHERE id = $1) DELETE FROM responses WHERE id = $1`, responseNotFound(id), id)
}

func (t *Tx) LiveResponses(fn func(id string) error) error {
	return t.walk(walkQ{from: "responses WHERE status IN ('queued', 'in_progress')", key: "id", cols: "NULL::bigint, NULL::bytea, NULL::text"},
		func(r *wrow) (bool, error) { return true, fn(r.k.(string)) })
}

// ResponseInput walks a response's input items; an unknown response has
// none, as in bbolt.
func (t *Tx) ResponseInput(id string, desc bool, fn func(it *apitype.Item, tokens int) (bool, error)) error {
	return t.walk(walkQ{from: "response_items WHERE response_id = $1 AND NOT output", args: []any{id}, key: "pos",
		cols: "tokens::bigint, record, NULL::text", desc: desc}, func(r *wrow) (bool, error) {
		it, err := decodeItem(r.v, "input item of "+id)
		if err != nil {
			return false, err
		}
		return fn(it, r.n)
	})
}

// ResponseHistory walks the chain one response a round trip: its link and
// its items (output then input, newest first) in one statement. A deleted
// response has no row: the chain ends there.
func (t *Tx) ResponseHistory(id string, fn func(it *apitype.Item, tokens int) (bool, error)) error {
	for id != "" {
		var prev *string
		type item struct {
			n int
			v []byte
		}
		var items []item
		found := false
		err := t.query(`SELECT r.previous_response_id, i.tokens, i.record FROM responses r
			LEFT JOIN LATERAL (SELECT tokens, record, output, pos FROM response_items WHERE response_id = r.id) i ON true
			WHERE r.id = $1 ORDER BY i.output DESC, i.pos DESC`, []any{id}, func(r pgx.Rows) error {
			found = true
			var n *int32
			var v []byte
			if err := r.Scan(&prev, &n, &v); err != nil {
				return err
			}
			if v != nil {
				items = append(items, item{int(*n), v})
			}
			return nil
		})
		if err != nil || !found {
			return err
		}
		for _, x := range items {
			it, err := decodeItem(x.v, "item of "+id)
			if err != nil {
				return err
			}
			if more, err := fn(it, x.n); err != nil || !more {
				return err
			}
		}
		id = ""
		if prev != nil {
			id = *prev
		}
	}
	return nil
}

func (t *Tx) LendResponseHistory(id string, fn func(it *apitype.Item, tokens int) (bool, error)) error {
	return t.ResponseHistory(id, fn)
}

// ListResponseInputItems pages a response's input items by position; after
// and before must be items of its input (the last position an id holds),
// and before is where the walk stops, as in bbolt.
func (t *Tx) ListResponseInputItems(id string, p apitype.ListParams) (apitype.Page[apitype.Item], error) {
	empty := apitype.Page[apitype.Item]{Object: apitype.ObjectList, Data: []apitype.Item{}}
	limit := pageLimit(p)
	forward := p.Order == apitype.OrderAsc
	ahead, behind, dir := " < ", " > ", " DESC"
	if forward {
		ahead, behind, dir = " > ", " < ", ""
	}
	const posOf = "(SELECT max(pos) FROM response_items WHERE response_id = $1 AND NOT output AND item_id = %s)"
	sql := "SELECT coalesce(item_id, ''), record FROM response_items WHERE response_id = $1 AND NOT output"
	args := []any{id}
	if p.After != "" {
		args = append(args, p.After)
		sql += " AND pos" + ahead + fmt.Sprintf(posOf, "$2")
	}
	if p.Before != "" {
		args = append(args, p.Before)
		sql += " AND pos" + behind + fmt.Sprintf(posOf, fmt.Sprintf("$%d", len(args)))
	}
	sql += " ORDER BY pos" + dir + fmt.Sprintf(" LIMIT %d", limit+1)
	b := &pgx.Batch{}
	b.Queue(`SELECT EXISTS (SELECT 1 FROM responses WHERE id = $1),
		$2 = '' OR EXISTS (SELECT 1 FROM response_items WHERE response_id = $1 AND NOT output AND item_id = $2),
		$3 = '' OR EXISTS (SELECT 1 FROM response_items WHERE response_id = $1 AND NOT output AND item_id = $3)`, id, p.After, p.Before)
	b.Queue(sql, args...)
	var resp, after, before bool
	var recs []rec
	err := t.send(b, func(br pgx.BatchResults) error {
		if err := br.QueryRow().Scan(&resp, &after, &before); err != nil {
			return err
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
	switch {
	case err != nil:
		return empty, err
	case !resp:
		return empty, responseNotFound(id)
	case !before:
		return empty, apitype.Invalid("before", "No item with id '%s' is in the input of response %s.", p.Before, id)
	case !after:
		return empty, apitype.Invalid("after", "No item with id '%s' is in the input of response %s.", p.After, id)
	}
	return itemPage(recs, limit)
}

// ---- containers

const expiry = "(last_active_at + 60 * expires_minutes::bigint)"

func (t *Tx) PutContainer(c *apitype.Container) error {
	v, err := encode(c, "container")
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO containers (id, status, last_active_at, expires_minutes, record) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, last_active_at = EXCLUDED.last_active_at,
			expires_minutes = EXCLUDED.expires_minutes, record = EXCLUDED.record`,
		c.ID, c.Status, c.LastActiveAt, c.ExpiresAfter.Minutes, v)
	return err
}

func (t *Tx) GetContainer(id string) (*apitype.Container, error) {
	return getRecord[apitype.Container](t, "SELECT record FROM containers WHERE id = $1", []any{id}, "container", id, apitype.ContainerNotFound(id))
}

// DeleteContainer reads its files and deletes it (the files by cascade) in
// one round trip.
func (t *Tx) DeleteContainer(id string) ([]apitype.ContainerFile, error) {
	b := &pgx.Batch{}
	b.Queue("SELECT id, record FROM container_files WHERE container_id = $1 ORDER BY id", id)
	b.Queue("DELETE FROM containers WHERE id = $1", id)
	var recs []rec
	var deleted int64
	err := t.send(b, func(br pgx.BatchResults) error {
		if err := readRows(br, func(r pgx.Rows) error {
			var x rec
			if err := r.Scan(&x.id, &x.v); err != nil {
				return err
			}
			recs = append(recs, x)
			return nil
		}); err != nil {
			return err
		}
		tag, err := br.Exec()
		deleted = tag.RowsAffected()
		return err
	})
	if err != nil {
		return nil, err
	}
	if deleted == 0 {
		return nil, apitype.ContainerNotFound(id)
	}
	return containerFiles(recs)
}

func containerFiles(recs []rec) ([]apitype.ContainerFile, error) {
	var out []apitype.ContainerFile
	for _, r := range recs {
		var f apitype.ContainerFile
		if err := json.Unmarshal(r.v, &f); err != nil {
			return nil, fmt.Errorf("pgstore: decode container file %s: %w", r.id, err)
		}
		out = append(out, f)
	}
	return out, nil
}

func (t *Tx) ListContainers(p apitype.ListParams, name string) (apitype.Page[apitype.Container], error) {
	q := listQ{from: "containers WHERE true", key: "id", cols: "id, record"}
	if name != "" {
		q.from, q.args = "containers WHERE record->>'name' = $1", []any{name}
	}
	return list[apitype.Container](t, q, p, "container")
}

// DueContainers walks the expiry index in (expires at, id) order, in
// chunks, until fn returns false.
func (t *Tx) DueContainers(now int64, fn func(id string) bool) error {
	var at int64
	var after string
	size := 32
	for first := true; ; first = false {
		args := []any{now}
		sql := "SELECT id, " + expiry + " FROM containers WHERE status = 'active' AND " + expiry + " <= $1"
		if !first {
			args = append(args, at, after)
			sql += " AND (" + expiry + ", id) > ($2, $3)"
		}
		sql += " ORDER BY " + expiry + ", id LIMIT " + fmt.Sprint(size)
		type due struct {
			id string
			at int64
		}
		var rows []due
		err := t.query(sql, args, func(r pgx.Rows) error {
			var d due
			if err := r.Scan(&d.id, &d.at); err != nil {
				return err
			}
			rows = append(rows, d)
			return nil
		})
		if err != nil {
			return err
		}
		for _, d := range rows {
			if !fn(d.id) {
				return nil
			}
		}
		if len(rows) < size {
			return nil
		}
		at, after, size = rows[len(rows)-1].at, rows[len(rows)-1].id, min(size*4, 1024)
	}
}

const containerExists = "SELECT EXISTS (SELECT 1 FROM containers WHERE id = $1)"

func (t *Tx) PutContainerFile(f *apitype.ContainerFile) error {
	v, err := encode(f, "container file")
	if err != nil {
		return err
	}
	var c bool
	_, err = t.row(`WITH c AS (SELECT 1 FROM containers WHERE id = $1),
		up AS (INSERT INTO container_files (container_id, id, path, bytes, record) SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM c)
			ON CONFLICT (container_id, id) DO UPDATE SET path = EXCLUDED.path, bytes = EXCLUDED.bytes, record = EXCLUDED.record)
		SELECT EXISTS (SELECT 1 FROM c)`, []any{f.ContainerID, f.ID, f.Path, f.Bytes, v}, &c)
	if err != nil {
		return err
	}
	if !c {
		return apitype.ContainerNotFound(f.ContainerID)
	}
	return nil
}

func (t *Tx) GetContainerFile(containerID, id string) (*apitype.ContainerFile, error) {
	var c bool
	var v []byte
	_, err := t.row(`SELECT EXISTS (SELECT 1 FROM containers WHERE id = $1),
		(SELECT record FROM container_files WHERE container_id = $1 AND id = $2)`, []any{containerID, id}, &c, &v)
	switch {
	case err != nil:
		return nil, err
	case !c:
		return nil, apitype.ContainerNotFound(containerID)
	case v == nil:
		return nil, apitype.ContainerFileNotFound(containerID, id)
	}
	return decode[apitype.ContainerFile](v, "container file", id)
}

func (t *Tx) DeleteContainerFile(containerID, id string) error {
	var c, deleted bool
	_, err := t.row(`WITH d AS (DELETE FROM container_files WHERE container_id = $1 AND id = $2 RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM containers WHERE id = $1), EXISTS (SELECT 1 FROM d)`, []any{containerID, id}, &c, &deleted)
	switch {
	case err != nil:
		return err
	case !c:
		return apitype.ContainerNotFound(containerID)
	case !deleted:
		return apitype.ContainerFileNotFound(containerID, id)
	}
	return nil
}

func (t *Tx) ListContainerFiles(containerID string, p apitype.ListParams) (apitype.Page[apitype.ContainerFile], error) {
	return list[apitype.ContainerFile](t, listQ{from: "container_files WHERE container_id = $1", args: []any{containerID}, key: "id", cols: "id, record",
		exists: containerExists, existsArgs: []any{containerID}, notFound: apitype.ContainerNotFound(containerID)}, p, "container file")
}

func (t *Tx) ContainerFiles(containerID string) ([]apitype.ContainerFile, error) {
	var recs []rec
	err := t.query("SELECT id, record FROM container_files WHERE container_id = $1 ORDER BY id", []any{containerID}, func(r pgx.Rows) error {
		var x rec
		if err := r.Scan(&x.id, &x.v); err != nil {
			return err
		}
		recs = append(recs, x)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return containerFiles(recs)
}

var _ store.Tx = (*Tx)(nil)
