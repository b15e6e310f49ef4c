package apitype

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Each sample, written from the reference, decodes into its type and
// encodes back to the same JSON (compared as values, so key order and
// spacing do not matter).
func TestRoundTrip(t *testing.T) {
	samples := map[string]func() any{
		"assistant.json":             func() any { return new(Assistant) },
		"assistant_json_schema.json": func() any { return new(Assistant) },
		"thread.json":                func() any { return new(Thread) },
		"message.json":               func() any { return new(Message) },
		"run_requires_action.json":   func() any { return new(Run) },
		"run_failed.json":            func() any { return new(Run) },
		"step_tool_calls.json":       func() any { return new(RunStep) },
		"step_message.json":          func() any { return new(RunStep) },
		"file.json":                  func() any { return new(File) },
		"vector_store.json":          func() any { return new(VectorStore) },
		"vector_store_file.json":     func() any { return new(VectorStoreFile) },
		"file_batch.json":            func() any { return new(VectorStoreFileBatch) },
		"message_delta.json":         func() any { return new(MessageDeltaEvent) },
		"step_delta.json":            func() any { return new(RunStepDeltaEvent) },
		"page.json":                  func() any { return new(Page[Thread]) },
		"error.json":                 func() any { return new(ErrorBody) },
	}
	for name, newV := range samples {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			v := newV()
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(v); err != nil {
				t.Fatalf("decode: %v", err)
			}
			out, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			json.Unmarshal(raw, &want)
			json.Unmarshal(out, &got)
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("round trip differs:\nwant %s\n got %s", raw, out)
			}
		})
	}
}

func TestUnions(t *testing.T) {
	var f ResponseFormat
	if err := json.Unmarshal([]byte(`"auto"`), &f); err != nil || !f.IsAuto() {
		t.Fatalf("auto: %v %+v", err, f)
	}
	if err := json.Unmarshal([]byte(`"json"`), &f); err == nil {
		t.Fatal("string other than auto accepted")
	}
	var c ToolChoice
	for _, s := range []string{`"none"`, `"auto"`, `"required"`, `{"type":"function","function":{"name":"f"}}`, `{"type":"file_search"}`} {
		if err := json.Unmarshal([]byte(s), &c); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		out, _ := json.Marshal(c)
		if string(out) != s {
			t.Fatalf("tool_choice %s → %s", s, out)
		}
	}
	if err := json.Unmarshal([]byte(`"sometimes"`), &c); err == nil {
		t.Fatal("bad tool_choice accepted")
	}
	var in MessageContentInput
	if err := json.Unmarshal([]byte(`"hi"`), &in); err != nil || in.Text != "hi" || in.Parts != nil {
		t.Fatalf("string content: %v %+v", err, in)
	}
	if err := json.Unmarshal([]byte(`[{"type":"text","text":{"value":"a","annotations":[]}}]`), &in); err != nil || len(in.Parts) != 1 {
		t.Fatalf("parts: %v %+v", err, in)
	}
	// The SDKs' input shape: a text part's text is a string. It decodes to
	// the output shape and encodes back as it came.
	sdk := `[{"type":"text","text":"what is this?"},{"type":"image_file","image_file":{"file_id":"file-1","detail":"low"}}]`
	if err := json.Unmarshal([]byte(sdk), &in); err != nil || len(in.Parts) != 2 || in.Parts[0].Text == nil || in.Parts[0].Text.Value != "what is this?" ||
		in.Parts[0].Text.Annotations == nil || in.Parts[1].ImageFile.FileID != "file-1" {
		t.Fatalf("sdk parts: %v %+v", err, in)
	}
	if out, _ := json.Marshal(in); string(out) != sdk {
		t.Fatalf("sdk parts re-encoded as %s", out)
	}
	if err := json.Unmarshal([]byte(`[{"type":"text","text":[1]}]`), &in); err == nil {
		t.Fatal("array text accepted")
	}
	if err := json.Unmarshal([]byte(`42`), &in); err == nil {
		t.Fatal("number content accepted")
	}
	var q StringList
	if err := json.Unmarshal([]byte(`"a"`), &q); err != nil || len(q) != 1 {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(`["a","b"]`), &q); err != nil || len(q) != 2 {
		t.Fatal(err)
	}
}

func TestErrorsIs(t *testing.T) {
	err := error(ActiveRunError("thread_1", "run_1"))
	if !errors.Is(err, ErrActiveRun) || !errors.Is(err, ErrInvalidRequest) || errors.Is(err, ErrNotFound) {
		t.Fatal("active run error does not match its sentinels")
	}
	if !errors.Is(NotFound("thread", "x"), ErrNotFound) || errors.Is(Invalid("p", "m"), ErrActiveRun) {
		t.Fatal("sentinel matching is wrong")
	}
	b, _ := json.Marshal(ErrorBody{Invalid("limit", "bad")})
	if string(b) != `{"error":{"message":"bad","type":"invalid_request_error","param":"limit","code":null}}` {
		t.Fatalf("envelope %s", b)
	}
}

// The decoders must never panic, whatever the bytes.
func FuzzDecode(f *testing.F) {
	entries, _ := os.ReadDir("testdata")
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join("testdata", e.Name())); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`"auto"`))
	f.Add([]byte(`{"type":"json_schema","json_schema":null}`))
	f.Add([]byte(`[{"type":"text"}]`))
	f.Add([]byte(`{"items":[{"type":"message","role":"user","content":"hi"}],"metadata":{"a":"b"}}`))
	f.Add([]byte(`{"name":"c","file_ids":["file-1"],"expires_after":{"anchor":"last_active_at","minutes":20},"memory_limit":"1g"}`))
	f.Add([]byte(`{"type":"and","filters":[{"type":"eq","key":"k","value":"v"},{"type":"in","key":"n","value":[1,2]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		targets := []any{new(Assistant), new(Message), new(Run), new(RunStep), new(ResponseFormat), new(ToolChoice),
			new(MessageContentInput), new(StringList), new(RunCreateParams), new(ThreadAndRunCreateParams),
			new(AssistantCreateParams), new(VectorStoreSearchParams), new(SubmitToolOutputsParams),
			new(Item), new(ConversationCreateParams), new(ConversationUpdateParams), new(ConversationItemCreateParams),
			new(ContainerCreateParams), new(ContainerFileCreateParams), new(Filter), new(ResponseTool)}
		for _, v := range targets {
			if json.Unmarshal(data, v) == nil {
				if _, err := json.Marshal(v); err != nil {
					t.Fatalf("%T decoded but does not encode: %v", v, err)
				}
			}
		}
	})
}
