package filesearch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	bolt "go.etcd.io/bbolt"
)

// TestCrashDuringIngestion kills a process (SIGKILL) while it is adding
// files, then reopens the database: every file is either listed with all its
// chunks or absent with none, and the index loads and answers.
func TestCrashDuringIngestion(t *testing.T) {
	if path := os.Getenv("HEARTH_FS_CRASH_DB"); path != "" {
		crashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	progress := path + ".progress"
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDuringIngestion$")
	cmd.Env = append(os.Environ(), "HEARTH_FS_CRASH_DB="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the child has committed a few files, then kill it mid-way.
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(progress)
		if bytes.Count(b, []byte("\n")) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("child made no progress")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(37 * time.Millisecond)
	cmd.Process.Kill()
	cmd.Wait()

	db := openDB(t, path)
	defer db.Close()
	listed := map[string]int{}
	found := map[string]int{}
	err := db.View(func(tx *bolt.Tx) error {
		sb := tx.Bucket(rootBucket).Bucket([]byte("vs_crash"))
		if sb == nil {
			return fmt.Errorf("store missing")
		}
		sb.Bucket(filesBucket).ForEach(func(k, v []byte) error {
			var fi FileInfo
			json.Unmarshal(v, &fi)
			listed[string(k)] = fi.Chunks
			return nil
		})
		return sb.Bucket(chunksBucket).ForEach(func(k, v []byte) error {
			found[string(k[:bytes.IndexByte(k, 0)])]++
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) < 3 {
		t.Fatalf("only %d files survived", len(listed))
	}
	for f, n := range found {
		if listed[f] != n {
			t.Errorf("file %s: %d chunks stored, record says %d (listed=%v)", f, n, listed[f], listed[f] > 0)
		}
	}
	for f, n := range listed {
		if found[f] != n {
			t.Errorf("file %s: record says %d chunks, %d stored", f, n, found[f])
		}
	}
	ix, _ := Open(db, Config{})
	rs, err := ix.Search(context.Background(), []string{"vs_crash"}, "warranty", SearchOptions{})
	if err != nil || len(rs) == 0 {
		t.Fatalf("search after crash: %d results, %v", len(rs), err)
	}
	t.Logf("%d files complete after SIGKILL", len(listed))
}

// crashChild adds multi-chunk files until it is killed, appending each
// committed file id to a progress file.
func crashChild(path string) {
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		os.Exit(2)
	}
	ix, _ := Open(db, Config{})
	prog, _ := os.OpenFile(path+".progress", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	text := strings.Repeat(docTax+"\n"+docTea+"\n"+docBikes+"\n", 30)
	cs := &apitype.ChunkingStrategy{Type: "static", Static: &apitype.StaticChunking{MaxChunkSizeTokens: 100, ChunkOverlapTokens: 0}}
	for i := 0; i < 100000; i++ {
		id := fmt.Sprintf("file-%05d", i)
		if _, err := ix.AddFile(context.Background(), "vs_crash", id, id+".txt", text, cs); err != nil {
			os.Exit(3)
		}
		fmt.Fprintln(prog, id)
	}
	os.Exit(0)
}
