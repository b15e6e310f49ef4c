package engine_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/hearthtest"
	"github.com/hearth-go/hearth/llm/scripted"
)

// fillAndDelete writes a thread of about 4 MB and deletes it, so most of
// the file is free pages; it returns a thread that stays.
func fillAndDelete(t *testing.T, e *engine.Engine) *apitype.Thread {
	t.Helper()
	ctx := context.Background()
	keep := mustThread(t, e, "keep me")
	big := mustThread(t, e, "to delete")
	text := strings.Repeat("many words of text ", 100)
	for range 2000 {
		if _, err := e.Messages.Create(ctx, big.ID, apitype.MessageCreateParams{Role: apitype.RoleUser, Content: apitype.TextInput(text)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Threads.Delete(ctx, big.ID); err != nil {
		t.Fatal(err)
	}
	return keep
}

// The background compacter gives back the space of a deleted thread
// once it is most of the file, and keeps what is live.
func TestAutoCompact(t *testing.T) {
	bboltOnly(t)
	logs := &hearthtest.Logs{}
	e := openEngine(t, scripted.New(), func(c *engine.Config) {
		c.Logger = slog.New(logs)
		c.AutoCompactInterval = time.Millisecond
		c.AutoCompactMinFreeBytes = 1 << 20
	})
	keep := fillAndDelete(t, e)
	recs, err := logs.Wait(context.Background(), "store compacted")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compacted: %v", recs[0])
	if size := e.Store().Size(); size > 2<<20 {
		t.Fatalf("file is %d bytes after compaction", size)
	}
	msgs, err := e.Messages.List(context.Background(), keep.ID, apitype.MessageListParams{})
	if err != nil || len(msgs.Data) != 1 || msgs.Data[0].Text() != "keep me" {
		t.Fatalf("the live thread after compaction: %v %+v", err, msgs)
	}
}

// Below the thresholds the check leaves the file alone.
func TestAutoCompactThresholds(t *testing.T) {
	bboltOnly(t)
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		min     int64
		delete  bool
		compact bool
	}{
		{"mostly free", 1 << 20, true, true},
		{"below the minimum", 1 << 30, true, false},
		{"mostly live", 1 << 20, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := openEngine(t, scripted.New(), func(cfg *engine.Config) {
				cfg.AutoCompactInterval = -1
				cfg.AutoCompactMinFreeBytes = c.min
			})
			if c.delete {
				fillAndDelete(t, e)
			} else {
				th := mustThread(t, e, "live")
				for range 2000 {
					if _, err := e.Messages.Create(ctx, th.ID, apitype.MessageCreateParams{Role: apitype.RoleUser, Content: apitype.TextInput(strings.Repeat("live text ", 200))}); err != nil {
						t.Fatal(err)
					}
				}
			}
			before := e.Store().Size()
			engine.CompactIfFree(e, ctx)
			after := e.Store().Size()
			if compacted := after < before; compacted != c.compact {
				t.Fatalf("file %d → %d bytes (free %d): compacted=%v, want %v", before, after, e.Store().FreeBytes(), compacted, c.compact)
			}
		})
	}
}
