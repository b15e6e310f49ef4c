package pgstore

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/hearth-go/hearth/apitype"
)

// The fast reader gives what encoding/json gives, for every message
// json.Marshal writes, or declines (and encoding/json decodes it).
func TestMessageDecodeMatchesEncodingJSON(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	strs := []string{"", "plain", "quote \" and \\ back", "tab\tnew\nline", "é ü 中文 🎉", "<&> \u2028", "\x00ctl"}
	pick := func() string { return strs[rng.IntN(len(strs))] }
	ptr := func() *string {
		if rng.IntN(2) == 0 {
			return nil
		}
		s := pick()
		return &s
	}
	num := func() *int64 {
		if rng.IntN(2) == 0 {
			return nil
		}
		n := rng.Int64N(1<<40) - 1<<39
		return &n
	}
	fast := 0
	for range 3000 {
		m := apitype.Message{ID: pick(), Object: pick(), CreatedAt: rng.Int64(), ThreadID: pick(), Status: apitype.MessageStatus(pick()),
			CompletedAt: num(), IncompleteAt: num(), Role: apitype.Role(pick()), AssistantID: ptr(), RunID: ptr()}
		if rng.IntN(3) == 0 {
			m.IncompleteDetails = &apitype.IncompleteDetails{Reason: pick()}
		}
		switch rng.IntN(4) {
		case 0:
		case 1:
			m.Content = []apitype.MessageContent{}
		default:
			for range rng.IntN(4) {
				p := apitype.MessageContent{Type: apitype.ContentText, Text: &apitype.TextContent{Value: pick()}}
				switch rng.IntN(5) {
				case 0:
				case 1:
					p.Text.Annotations = []apitype.Annotation{{Type: "file_citation", Text: pick()}}
				case 2:
					p = apitype.MessageContent{Type: apitype.ContentImageFile, ImageFile: &apitype.ImageFile{FileID: pick()}}
				default:
					p.Text.Annotations = []apitype.Annotation{}
				}
				m.Content = append(m.Content, p)
			}
		}
		switch rng.IntN(3) {
		case 1:
			m.Attachments = []apitype.Attachment{}
		case 2:
			m.Attachments = []apitype.Attachment{{FileID: pick()}}
		}
		switch rng.IntN(3) {
		case 1:
			m.Metadata = apitype.Metadata{}
		case 2:
			m.Metadata = apitype.Metadata{pick(): pick(), pick(): pick()}
		}
		b, err := json.Marshal(&m)
		if err != nil {
			t.Fatal(err)
		}
		var want apitype.Message
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		var got apitype.Message
		if readMessage(b, &got) {
			fast++
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s\nfast  %#v\nwant %#v", b, got, want)
			}
		}
		dm, err := decodeMessage(b, m.ID)
		if err != nil || !reflect.DeepEqual(*dm, want) {
			t.Fatalf("decodeMessage(%s): %#v, %v", b, dm, err)
		}
		// A record cut short or with a byte changed is never misread.
		for range 4 {
			bad := append([]byte(nil), b...)
			bad[rng.IntN(len(bad))] ^= byte(1 + rng.IntN(255))
			var g apitype.Message
			if readMessage(bad, &g) {
				var w apitype.Message
				if err := json.Unmarshal(bad, &w); err != nil || !reflect.DeepEqual(g, w) {
					t.Fatalf("a damaged record %q read as %#v (encoding/json: %#v, %v)", bad, g, w, err)
				}
			}
		}
		if readMessage(b[:rng.IntN(len(b))], new(apitype.Message)) {
			t.Fatalf("a truncated record read: %s", b)
		}
	}
	if fast < 500 {
		t.Fatalf("the fast reader took only %d of 3000 messages", fast)
	}
	t.Logf("fast reader took %d of 3000", fast)
}

func BenchmarkMessageDecode(b *testing.B) {
	m := apitype.Message{ID: "msg_01", Object: apitype.ObjectMessage, ThreadID: "thread_01", Status: apitype.MessageCompleted, Role: apitype.RoleUser,
		Content: []apitype.MessageContent{{Type: "text", Text: &apitype.TextContent{Value: "hello there, a message of some three hundred bytes " +
			"is about what a chat holds on average, so this one is padded with words until it is about that long, more or less, and then a bit",
			Annotations: []apitype.Annotation{}}}}, Attachments: []apitype.Attachment{}, Metadata: apitype.Metadata{}}
	v, _ := json.Marshal(&m)
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeMessage(v, "x"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		for b.Loop() {
			var m apitype.Message
			if err := json.Unmarshal(v, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
