package store

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/hearth-go/hearth/apitype"
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
	arena := newMsgArena(4)
	lender := newMsgLender() // reused across every record, as a scan does
	for i := range 5000 {
		m := randMessage(rng)
		rec, err := encodeMessage(nil, m, i)
		if err != nil {
			t.Fatal(err)
		}
		var got apitype.Message
		if err := decodeMessage(rec, arena, &got); err != nil {
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
		if err := decodeMessage(rec, lender, lent); err != nil {
			t.Fatalf("%d: lent decode: %v", i, err)
		}
		kept := lent.Clone()
		var slow apitype.Message
		if err := decode(rec, newMsgArena(1), &slow, false); err != nil {
			t.Fatalf("%d: general reader: %v", i, err)
		}
		if !reflect.DeepEqual(lent, &got) || !reflect.DeepEqual(kept, &got) || !reflect.DeepEqual(&slow, &got) {
			t.Fatalf("%d: lent decode differs:\n lent %+v\n kept %+v\n got  %+v", i, *lent, *kept, got)
		}
		if n, ok := recordTokens(rec); !ok || n != i {
			t.Fatalf("%d: tokens read back as %d %v", i, n, ok)
		}
		// Truncated records are errors, never panics, in either mode.
		for cut := range rec {
			if err := decodeMessage(rec[:cut], arena, &apitype.Message{}); err == nil {
				t.Fatalf("%d: record cut at %d of %d decoded", i, cut, len(rec))
			}
			if err := decodeMessage(rec[:cut], lender, &lender.ls.msg); err == nil {
				t.Fatalf("%d: record cut at %d of %d decoded lent", i, cut, len(rec))
			}
			if err := decode(rec[:cut], arena, &apitype.Message{}, false); err == nil {
				t.Fatalf("%d: record cut at %d of %d decoded by the general reader", i, cut, len(rec))
			}
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
	for _, a := range []*msgArena{newMsgArena(1), newMsgLender()} {
		var m apitype.Message
		if err := decodeMessage(rec, a, &m); err != nil || m.Content == nil {
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
	update(t, s, func(tx *Tx) error {
		if err := tx.PutThread(&apitype.Thread{ID: th}); err != nil {
			return err
		}
		if err := tx.PutMessage(m, 2); err != nil {
			return err
		}
		// Overwrite the record with its JSON form and its count beside it,
		// as an older build wrote them.
		tb, _ := tx.threadBucket(th)
		if err := tb.Bucket(tTokens).Put([]byte(id), []byte{9}); err != nil {
			return err
		}
		return putJSON(tb.Bucket(tMessages), []byte(id), m)
	})
	view(t, s, func(tx *Tx) error {
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
		tx.MessageTokens(th, true, func(_ string, n int) bool {
			if n != 9 {
				t.Fatalf("legacy token count read as %d", n)
			}
			return true
		})
		return nil
	})
	// Re-putting it under no run clears the run index entry (old record JSON).
	m.RunID = nil
	update(t, s, func(tx *Tx) error { return tx.PutMessage(m, -1) })
	view(t, s, func(tx *Tx) error {
		page, err := tx.ListMessages(th, apitype.MessageListParams{RunID: "run_1"})
		if err != nil || len(page.Data) != 0 {
			t.Fatalf("run index after re-put: %v %v", page.Data, err)
		}
		// The count kept with tokens < 0 moved into the new record.
		tx.MessageTokens(th, true, func(_ string, n int) bool {
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
	update(t, s, func(tx *Tx) error {
		if err := tx.PutThread(&apitype.Thread{ID: "thread_c"}); err != nil {
			return err
		}
		tb, _ := tx.threadBucket("thread_c")
		return tb.Bucket(tMessages).Put([]byte("msg_bad"), []byte{msgCodecV1, 200})
	})
	err := s.View(context.Background(), func(tx *Tx) error {
		_, err := tx.ListMessages("thread_c", apitype.MessageListParams{})
		return err
	})
	if err == nil {
		t.Fatal("corrupt record listed without error")
	}
	err = s.View(context.Background(), func(tx *Tx) error {
		_, err := tx.ScanMessages("thread_c", apitype.MessageListParams{}, func(*apitype.Message) error { return nil })
		return err
	})
	if !errors.Is(err, errCorrupt) {
		t.Fatalf("corrupt record scanned: %v", err)
	}
	// It can still be deleted, which heals the list.
	update(t, s, func(tx *Tx) error { return tx.DeleteMessage("thread_c", "msg_bad") })
	view(t, s, func(tx *Tx) error {
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
	f.Add([]byte{msgCodecV1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	// One lender for the whole run, as one scan reuses it for every record:
	// what a record left behind must never leak into the next.
	lender := newMsgLender()
	f.Fuzz(func(t *testing.T, rec []byte) {
		var m apitype.Message
		err := decodeMessage(rec, newMsgArena(1), &m)
		// Lending reads the same bytes the same way, or fails the same way,
		// and so does the general reader alone (the fast path's reference).
		lerr := decodeMessage(rec, lender, &lender.ls.msg)
		var slow apitype.Message
		serr := decode(rec, newMsgArena(1), &slow, false)
		if (err == nil) != (lerr == nil) || (err == nil) != (serr == nil) {
			t.Fatalf("owned decode: %v, lent decode: %v, general reader: %v", err, lerr, serr)
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(&lender.ls.msg, &m) || !reflect.DeepEqual(lender.ls.msg.Clone(), &m) || !reflect.DeepEqual(&slow, &m) {
			t.Fatalf("decodes differ:\n lent %+v\n got  %+v\n slow %+v", lender.ls.msg, m, slow)
		}
		// Whatever decodes re-encodes to a record that decodes the same.
		again, err := encodeMessage(nil, &m, 1)
		if err != nil {
			return // e.g. JSON input holding values JSON cannot re-encode
		}
		var m2 apitype.Message
		if err := decodeMessage(again, newMsgArena(1), &m2); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !reflect.DeepEqual(jsonRoundTrip(t, &m), jsonRoundTrip(t, &m2)) {
			t.Fatalf("re-encoded record decodes differently")
		}
	})
}
