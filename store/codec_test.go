package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	bolt "go.etcd.io/bbolt"
)

// randMessage makes messages that exercise every field, both the fast
// content form and the JSON fallbacks, and nil-vs-empty everywhere.
func randMessage(rng *rand.Rand) *apitype.Message {
	str := func() string {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = "ab\"\\é\n\x00z"[rng.IntN(9)]
		}
		return string(b)
	}
	maybe := func() bool { return rng.IntN(2) == 0 }
	m := &apitype.Message{ID: "msg_" + str(), Object: apitype.ObjectMessage, CreatedAt: rng.Int64() - rng.Int64(),
		ThreadID: "thread_" + str(), Status: apitype.MessageStatus(str()), Role: apitype.Role(str())}
	if maybe() {
		m.IncompleteDetails = &apitype.IncompleteDetails{Reason: str()}
	}
	if maybe() {
		m.CompletedAt = apitype.Ptr(rng.Int64())
	}
	if maybe() {
		m.IncompleteAt = apitype.Ptr(-rng.Int64())
	}
	if maybe() {
		m.AssistantID = apitype.Ptr(str())
	}
	if maybe() {
		m.RunID = apitype.Ptr(str())
	}
	if n := rng.IntN(4); n > 0 {
		m.Content = []apitype.MessageContent{}
		for range n - 1 {
			p := apitype.MessageContent{Type: apitype.ContentText, Text: &apitype.TextContent{Value: str()}}
			switch rng.IntN(6) {
			case 0:
				p.Text.Annotations = []apitype.Annotation{}
			case 1:
				p.Text.Annotations = []apitype.Annotation{{Type: apitype.AnnotationFileCitation, Text: str(), StartIndex: 1, EndIndex: 4,
					FileCitation: &apitype.FileCitation{FileID: "file-" + str()}}}
			case 2:
				p = apitype.MessageContent{Type: apitype.ContentImageFile, ImageFile: &apitype.ImageFile{FileID: str()}}
			case 3:
				p = apitype.MessageContent{Type: apitype.ContentRefusal, Refusal: apitype.Ptr(str())}
			}
			m.Content = append(m.Content, p)
		}
	}
	switch rng.IntN(3) {
	case 1:
		m.Attachments = []apitype.Attachment{}
	case 2:
		m.Attachments = []apitype.Attachment{{FileID: str(), Tools: []apitype.AttachmentTool{{Type: "file_search"}}}}
	}
	if n := rng.IntN(4); n > 0 {
		m.Metadata = apitype.Metadata{}
		for range n - 1 {
			m.Metadata[str()] = str()
		}
	}
	return m
}

// jsonRoundTrip is what storing as JSON gave: the reference behaviour.
func jsonRoundTrip(t testing.TB, m *apitype.Message) *apitype.Message {
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out apitype.Message
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func TestMessageCodecRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lender := newMsgLender() // reused across every record, as a scan does
	for i := range 5000 {
		m := randMessage(rng)
		arena := newMsgArena(m.ThreadID, 4)
		lender.setThread(m.ThreadID)
		rec, err := encodeMessage(nil, m, i)
		if err != nil {
			t.Fatal(err)
		}
		var got apitype.Message
		if err := decodeMessage(rec, m.ID, arena, &got); err != nil {
			t.Fatalf("%d: decode: %v", i, err)
		}
		// Compare through JSON: invalid UTF-8 is the one thing the binary
		// form keeps more faithfully than encoding/json, and it maps both
		// to the same wire bytes.
		want := jsonRoundTrip(t, m)
		if !reflect.DeepEqual(jsonRoundTrip(t, &got), want) {
			t.Fatalf("%d: round trip differs:\n got  %+v\n want %+v", i, got, *want)
		}
		// nil-vs-empty survives exactly (it decides null vs [] on the wire).
		if (got.Content == nil) != (m.Content == nil) || (got.Metadata == nil) != (m.Metadata == nil) || (got.Attachments == nil) != (m.Attachments == nil) {
			t.Fatalf("%d: nil/empty lost", i)
		}
		// Lent, the same record decodes to the same message, and a clone
		// of it shares nothing with the lender's storage.
		lent := &lender.ls.msg
		if err := decodeMessage(rec, m.ID, lender, lent); err != nil {
			t.Fatalf("%d: lent decode: %v", i, err)
		}
		kept := lent.Clone()
		if !reflect.DeepEqual(lent, &got) || !reflect.DeepEqual(kept, &got) {
			t.Fatalf("%d: lent decode differs:\n lent %+v\n kept %+v\n got  %+v", i, *lent, *kept, got)
		}
		// The same message as an older file's v1 record reads the same.
		old, err := encodeV1(nil, m, i)
		if err != nil {
			t.Fatal(err)
		}
		var v1 apitype.Message
		if err := decodeMessage(old, "msg_elsewhere", newMsgArena("thread_elsewhere", 1), &v1); err != nil {
			t.Fatalf("%d: v1 decode: %v", i, err)
		}
		if !reflect.DeepEqual(&v1, &got) {
			t.Fatalf("%d: v1 record differs:\n v1  %+v\n got %+v", i, v1, got)
		}
		for _, r := range [][]byte{rec, old} {
			if n, ok := recordTokens(r); !ok || n != i {
				t.Fatalf("%d: tokens read back as %d %v (v%d)", i, n, ok, r[0])
			}
			// Truncated records are errors, never panics, in either mode.
			for cut := range r {
				if err := decodeMessage(r[:cut], m.ID, arena, &apitype.Message{}); err == nil {
					t.Fatalf("%d: v%d record cut at %d of %d decoded", i, r[0], cut, len(r))
				}
				if err := decodeMessage(r[:cut], m.ID, lender, &lender.ls.msg); err == nil {
					t.Fatalf("%d: v%d record cut at %d of %d decoded lent", i, r[0], cut, len(r))
				}
			}
		}
	}
}

// TestMessageEncodingIsStable: records are deterministic (metadata in key
// order), and reading one and writing it again gives the same bytes.
func TestMessageEncodingIsStable(t *testing.T) {
	m := &apitype.Message{ID: "msg_1", Object: apitype.ObjectMessage, ThreadID: "thread_1", Status: apitype.MessageCompleted,
		Role: apitype.RoleAssistant, CompletedAt: apitype.Ptr[int64](5), RunID: apitype.Ptr("run_1"),
		Content:  []apitype.MessageContent{{Type: apitype.ContentText, Text: &apitype.TextContent{Value: strings.Repeat("x", 300), Annotations: []apitype.Annotation{}}}},
		Metadata: apitype.Metadata{"b": "2", "a": "1", "c": "3", "d": "", "e": "5"}}
	first, err := encodeMessage(nil, m, 3)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		var got apitype.Message
		if err := decodeMessage(first, m.ID, newMsgArena(m.ThreadID, 1), &got); err != nil {
			t.Fatal(err)
		}
		again, err := encodeMessage(nil, &got, 3)
		if err != nil || !bytes.Equal(again, first) {
			t.Fatalf("re-encoded record differs (%v):\n%q\n%q", err, again, first)
		}
	}
}

// TestEmptyContentStaysEmpty: a message with no parts yet (an assistant
// message just started) reads back with "content": [], not null, also as the
// first thing a fresh arena decodes.
func TestEmptyContentStaysEmpty(t *testing.T) {
	rec, err := encodeMessage(nil, &apitype.Message{ID: "msg_1", Content: []apitype.MessageContent{}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []*msgArena{newMsgArena("", 1), newMsgLender()} {
		var m apitype.Message
		if err := decodeMessage(rec, "msg_1", a, &m); err != nil || m.Content == nil {
			t.Fatalf("lend=%v: content %#v, %v", a.lend, m.Content, err)
		}
	}
}

// TestMessageDecodeLegacyJSON: records written as JSON (schema 1) still read.
func TestMessageDecodeLegacyJSON(t *testing.T) {
	s := openTest(t)
	th, id := "thread_legacy", "msg_legacy"
	m := &apitype.Message{ID: id, ThreadID: th, Object: apitype.ObjectMessage, RunID: apitype.Ptr("run_1"),
		Content: []apitype.MessageContent{{Type: apitype.ContentText, Text: &apitype.TextContent{Value: "old", Annotations: []apitype.Annotation{}}}}}
	update(t, s, func(tx Tx) error {
		if err := tx.PutThread(&apitype.Thread{ID: th}); err != nil {
			return err
		}
		if err := tx.PutMessage(m, 2); err != nil {
			return err
		}
		// Overwrite the record with its JSON form and its count beside it,
		// as an older build wrote them.
		tb, _ := tx.(*boltTx).threadBucket(th)
		if err := tb.Put(tkey(nil, tTokens, id), []byte{9}); err != nil {
			return err
		}
		return putJSON(tb, tkey(nil, tMessages, id), m)
	})
	view(t, s, func(tx Tx) error {
		got, err := tx.GetMessage(th, id)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, jsonRoundTrip(t, m)) {
			t.Fatalf("legacy record read as %+v", got)
		}
		page, err := tx.ListMessages(th, apitype.MessageListParams{RunID: "run_1"})
		if err != nil || len(page.Data) != 1 {
			t.Fatalf("legacy record listed: %v %v", page.Data, err)
		}
		tx.(*boltTx).MessageTokens(th, true, func(_ string, n int) bool {
			if n != 9 {
				t.Fatalf("legacy token count read as %d", n)
			}
			return true
		})
		return nil
	})
	// Re-putting it under no run clears the run index entry (old record JSON).
	m.RunID = nil
	update(t, s, func(tx Tx) error { return tx.PutMessage(m, -1) })
	view(t, s, func(tx Tx) error {
		page, err := tx.ListMessages(th, apitype.MessageListParams{RunID: "run_1"})
		if err != nil || len(page.Data) != 0 {
			t.Fatalf("run index after re-put: %v %v", page.Data, err)
		}
		// The count kept with tokens < 0 moved into the new record.
		tx.(*boltTx).MessageTokens(th, true, func(_ string, n int) bool {
			if n != 9 {
				t.Fatalf("token count after re-put %d", n)
			}
			return true
		})
		return nil
	})
}

// TestCorruptMessageIsAnError: a damaged record fails the read with an error.
func TestCorruptMessageIsAnError(t *testing.T) {
	s := openTest(t)
	update(t, s, func(tx Tx) error {
		if err := tx.PutThread(&apitype.Thread{ID: "thread_c"}); err != nil {
			return err
		}
		tb, _ := tx.(*boltTx).threadBucket("thread_c")
		return tb.Put(tkey(nil, tMessages, "msg_bad"), []byte{msgCodecV1, 200})
	})
	err := s.View(context.Background(), func(tx Tx) error {
		_, err := tx.ListMessages("thread_c", apitype.MessageListParams{})
		return err
	})
	if err == nil {
		t.Fatal("corrupt record listed without error")
	}
	err = s.View(context.Background(), func(tx Tx) error {
		_, err := tx.(*boltTx).ScanMessages("thread_c", apitype.MessageListParams{}, func(*apitype.Message) error { return nil })
		return err
	})
	if !errors.Is(err, errCorrupt) {
		t.Fatalf("corrupt record scanned: %v", err)
	}
	// It can still be deleted, which heals the list.
	update(t, s, func(tx Tx) error { return tx.DeleteMessage("thread_c", "msg_bad") })
	view(t, s, func(tx Tx) error {
		if n, _ := tx.CountMessages("thread_c"); n != 0 {
			t.Fatalf("count after deleting an uncounted record: %d", n)
		}
		_, err := tx.ListMessages("thread_c", apitype.MessageListParams{})
		return err
	})
}

func FuzzMessageDecode(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 8 {
		rec, _ := encodeMessage(nil, randMessage(rng), 7)
		f.Add(rec)
	}
	f.Add([]byte(`{"id":"msg_x"}`))
	for range 4 {
		rec, _ := encodeV1(nil, randMessage(rng), 7)
		f.Add(rec)
	}
	f.Add([]byte{msgCodecV1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{msgCodecV2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	// One lender for the whole run, as one scan reuses it for every record:
	// what a record left behind must never leak into the next.
	lender := newMsgLender()
	lender.setThread("thread_f")
	f.Fuzz(func(t *testing.T, rec []byte) {
		var m apitype.Message
		err := decodeMessage(rec, "msg_f", newMsgArena("thread_f", 1), &m)
		// Lending reads the same bytes the same way, or fails the same way,
		// whatever the lent message held before.
		lerr := decodeMessage(rec, "msg_f", lender, &lender.ls.msg)
		if (err == nil) != (lerr == nil) {
			t.Fatalf("owned decode: %v, lent decode: %v", err, lerr)
		}
		if err != nil {
			if !errors.Is(err, errCorrupt) && rec[0] != '{' {
				t.Fatalf("binary record failed with %v, not errCorrupt", err)
			}
			return
		}
		if !reflect.DeepEqual(&lender.ls.msg, &m) || !reflect.DeepEqual(lender.ls.msg.Clone(), &m) {
			t.Fatalf("decodes differ:\n lent %+v\n got  %+v", lender.ls.msg, m)
		}
		// Whatever decodes re-encodes to a record that decodes the same.
		again, err := encodeMessage(nil, &m, 1)
		if err != nil {
			return // e.g. JSON input holding values JSON cannot re-encode
		}
		var m2 apitype.Message
		if err := decodeMessage(again, m.ID, newMsgArena(m.ThreadID, 1), &m2); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !reflect.DeepEqual(jsonRoundTrip(t, &m), jsonRoundTrip(t, &m2)) {
			t.Fatalf("re-encoded record decodes differently")
		}
	})
}

func appendOptStrV1(b []byte, s *string) []byte {
	if s == nil {
		return append(b, tagNil)
	}
	return appendStrV1(append(b, tagEmpty), *s)
}
func appendOptIntV1(b []byte, v *int64) []byte {
	if v == nil {
		return append(b, tagNil)
	}
	return binary.AppendVarint(append(b, tagEmpty), *v)
}
func appendJSONV1(b []byte, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	b = binary.AppendUvarint(append(b, tagJSON), uint64(len(data)))
	return append(b, data...), nil
}

// encodeV1 is the v1 encoder as it was (records of older files).
func encodeV1(b []byte, m *apitype.Message, tokens int) ([]byte, error) {
	b = append(b, msgCodecV1)
	b = binary.AppendUvarint(b, uint64(max(tokens, 0)))
	b = appendStrV1(b, m.ID)
	b = appendStrV1(b, m.Object)
	b = binary.AppendVarint(b, m.CreatedAt)
	b = appendStrV1(b, m.ThreadID)
	b = appendStrV1(b, string(m.Status))
	if m.IncompleteDetails == nil {
		b = append(b, tagNil)
	} else {
		b = appendStrV1(append(b, tagEmpty), m.IncompleteDetails.Reason)
	}
	b = appendOptIntV1(b, m.CompletedAt)
	b = appendOptIntV1(b, m.IncompleteAt)
	b = appendStrV1(b, string(m.Role))
	var err error
	switch {
	case m.Content == nil:
		b = append(b, tagNil)
	case plainContent(m.Content):
		b = binary.AppendUvarint(append(b, tagEmpty), uint64(len(m.Content)))
		for _, p := range m.Content {
			b = appendStrV1(b, p.Text.Value)
			if p.Text.Annotations == nil {
				b = append(b, tagNil)
			} else {
				b = append(b, tagEmpty)
			}
		}
	default:
		if b, err = appendJSONV1(b, m.Content); err != nil {
			return nil, err
		}
	}
	b = appendOptStrV1(b, m.AssistantID)
	b = appendOptStrV1(b, m.RunID)
	switch {
	case m.Attachments == nil:
		b = append(b, tagNil)
	case len(m.Attachments) == 0:
		b = append(b, tagEmpty)
	default:
		if b, err = appendJSONV1(b, m.Attachments); err != nil {
			return nil, err
		}
	}
	if m.Metadata == nil {
		b = append(b, tagNil)
	} else {
		b = binary.AppendUvarint(append(b, tagEmpty), uint64(len(m.Metadata)))
		for k, v := range m.Metadata {
			b = appendStrV1(appendStrV1(b, k), v)
		}
	}
	return b, nil
}

func appendStrV1(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// TestSchema3RewritesOlderRecords: a schema 2 file holding v1 and JSON
// records opens as schema 3 with every message a v2 record, the same
// messages listed and their token counts kept, also when an earlier
// migration stopped between its steps.
func TestSchema3RewritesOlderRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	th := "thread_old"
	rng := rand.New(rand.NewPCG(5, 6))
	var want []apitype.Message
	update(t, s, func(tx Tx) error {
		tb, err := putOldThread(tx.(*boltTx).Bolt(), &apitype.Thread{ID: th})
		if err != nil {
			return err
		}
		for i := range 30 {
			m := randMessage(rng)
			m.ID, m.ThreadID, m.RunID = fmt.Sprintf("msg_%03d", i), th, nil
			// As an older build wrote it: v1, or JSON with its count beside it.
			var old, tokens []byte
			if i%3 == 0 {
				if old, err = json.Marshal(m); err != nil {
					return err
				}
				tokens = binary.AppendUvarint(nil, uint64(i))
			} else if old, err = encodeV1(nil, m, i); err != nil {
				return err
			}
			if err := putOldMessage(tb, m, old, tokens); err != nil {
				return err
			}
			want = append(want, *jsonRoundTrip(t, m))
		}
		return tx.(*boltTx).Bolt().Bucket(bMeta).Put(kSchema, u64(2))
	})
	s.Close()

	// Two steps of 7 records, then a stop: the file is at schema 2 with
	// v1, JSON and v2 records mixed; opening finishes it.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	var at rewriteAt
	for step := range 2 {
		err := db.Update(func(btx *bolt.Tx) error {
			done, err := rewriteStep(btx, &at, 7, isOlderRecord, keepTokens)
			if done {
				t.Fatalf("step %d found nothing left", step)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	err = db.View(func(btx *bolt.Tx) error {
		v2, n := 0, 0
		btx.Bucket(bThreadData).Bucket([]byte(th)).Bucket(oldMessages).ForEach(func(_, v []byte) error {
			if n++; v[0] == msgCodecV2 {
				v2++
			}
			return nil
		})
		if v2 != 14 || n != len(want) {
			t.Fatalf("%d v2 records of %d after two steps of 7", v2, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(); err != nil || v != SchemaVersion {
		t.Fatalf("schema %d %v, want %d", v, err, SchemaVersion)
	}
	view(t, s, func(tx Tx) error {
		tb, _ := tx.(*boltTx).threadBucket(th)
		tokens := 0
		tb.ForEach(func(k, v []byte) error {
			if k[0] == tMessages[0] && v[0] != msgCodecV2 {
				t.Fatalf("%s still a %q record", k, v[0])
			}
			if k[0] == tTokens[0] {
				tokens++
			}
			return nil
		})
		if tokens != 0 {
			t.Fatalf("%d counts left beside records", tokens)
		}
		page, err := tx.ListMessages(th, apitype.MessageListParams{ListParams: apitype.ListParams{Order: apitype.OrderAsc, Limit: 100}})
		if err != nil {
			return err
		}
		for i := range page.Data {
			if got := jsonRoundTrip(t, &page.Data[i]); !reflect.DeepEqual(got, &want[i]) {
				t.Fatalf("message %d after migration:\n got  %+v\n want %+v", i, got, want[i])
			}
		}
		i := 0
		return tx.(*boltTx).MessageTokens(th, false, func(id string, n int) bool {
			if n != i {
				t.Fatalf("%s tokens %d, want %d", id, n, i)
			}
			i++
			return true
		})
	})
}

// TestRecountMigration: a schema 1 file (JSON records, counts beside them)
// opens at the latest schema with every count from Options.CountTokens; in
// steps of 7, each of 30 messages is counted exactly once.
func TestRecountMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	th := "thread_json"
	update(t, s, func(tx Tx) error {
		tb, err := putOldThread(tx.(*boltTx).Bolt(), &apitype.Thread{ID: th})
		if err != nil {
			return err
		}
		for i := range 30 {
			m := &apitype.Message{ID: fmt.Sprintf("msg_%03d", i), Object: apitype.ObjectMessage, ThreadID: th,
				Role: apitype.RoleUser, Content: []apitype.MessageContent{{Type: apitype.ContentText, Text: &apitype.TextContent{Value: strings.Repeat("x", i)}}}}
			rec, err := json.Marshal(m)
			if err != nil {
				return err
			}
			if err := putOldMessage(tb, m, rec, []byte{99}); err != nil {
				return err
			}
		}
		return tx.(*boltTx).Bolt().Bucket(bMeta).Put(kSchema, u64(1))
	})
	s.Close()

	count := func(m *apitype.Message) int { return len(m.Content[0].Text.Value) + 1 }
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	var at rewriteAt
	for done, steps := false, 0; !done; steps++ {
		if steps > 5 {
			t.Fatal("more than 5 steps of 7 for 30 messages")
		}
		err := db.Update(func(btx *bolt.Tx) (err error) {
			done, err = rewriteStep(btx, &at, 7, func([]byte) bool { return true }, func(m *apitype.Message) int {
				seen[m.ID]++
				return count(m)
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != 30 {
		t.Fatalf("%d messages counted, want 30", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s counted %d times", id, n)
		}
	}
	db.Close()

	// Through Open, from schema 1 again (the file is at 1 still).
	s, err = Open(path, Options{CountTokens: count})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(); v != SchemaVersion {
		t.Fatalf("schema %d", v)
	}
	view(t, s, func(tx Tx) error {
		i := 0
		return tx.(*boltTx).MessageTokens(th, false, func(id string, n int) bool {
			if n != i+1 {
				t.Fatalf("%s: %d tokens, want %d", id, n, i+1)
			}
			i++
			return true
		})
	})
}
