package engine_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/truncate"
)

const ingestCrashEnv = "HEARTH_INGEST_CRASH_DB"

func docText(i int) string {
	return fmt.Sprintf("Document %d. %s", i, strings.Repeat(fmt.Sprintf("Paragraph about topic %d with several words. ", i), 400))
}

// TestIngestCrashChild uploads documents and adds them to a vector store in a
// loop until killed, printing each acknowledged upload and attach.
func TestIngestCrashChild(t *testing.T) {
	path := os.Getenv(ingestCrashEnv)
	if path == "" {
		t.Skip("runs only as TestIngestCrash's child")
	}
	truncate.Default()
	ctx := context.Background()
	e, err := engine.Open(ctx, engine.Config{Path: path})
	if err != nil {
		fmt.Println("HEARTH ERR", err)
		os.Exit(2)
	}
	var vs *apitype.VectorStore
	if page, err := e.VectorStores.List(ctx, apitype.ListParams{}); err == nil && len(page.Data) > 0 {
		vs = &page.Data[0] // the store a previous (killed) child made
	} else if vs, err = e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{Name: apitype.Ptr("crash")}); err != nil {
		fmt.Println("HEARTH ERR", err)
		os.Exit(2)
	}
	fmt.Println("HEARTH VS", vs.ID)
	fmt.Println("HEARTH READY")
	for i := 0; ; i++ {
		text := docText(i)
		f, err := e.Files.Create(ctx, strings.NewReader(text), apitype.FileCreateParams{Filename: fmt.Sprintf("doc%d.txt", i), Purpose: "assistants"})
		if err != nil {
			fmt.Println("HEARTH ERR", err)
			os.Exit(2)
		}
		fmt.Printf("HEARTH FILE %s %d %d\n", f.ID, i, len(text))
		if _, err := e.VectorStores.CreateFile(ctx, vs.ID, apitype.VectorStoreFileCreateParams{FileID: f.ID}); err != nil {
			fmt.Println("HEARTH ERR", err)
			os.Exit(2)
		}
		fmt.Printf("HEARTH ATTACHED %s\n", f.ID)
	}
}

// TestIngestCrash kills a process that uploads and ingests at 20 random
// moments; after each, a reopened engine has every acknowledged file whole,
// no stray bytes on disk, and finishes every ingestion it finds in progress.
func TestIngestCrash(t *testing.T) {
	bboltOnly(t) // crashes on Postgres: the chaos test
	if os.Getenv(ingestCrashEnv) != "" {
		t.Skip("parent only")
	}
	if testing.Short() {
		t.Skip("kills child processes")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "hearth.db")
	rng := rand.New(rand.NewPCG(7, 11))
	ctx := context.Background()
	files := map[string][2]int{} // id → doc number, size
	attached := map[string]bool{}
	vsID := ""
	for kill := range 20 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestIngestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), ingestCrashEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				f := strings.Fields(strings.TrimPrefix(sc.Text(), "HEARTH "))
				switch {
				case len(f) == 1 && f[0] == "READY":
					close(ready)
				case len(f) == 2 && f[0] == "VS" && vsID == "":
					vsID = f[1]
				case len(f) == 4 && f[0] == "FILE":
					var n, size int
					fmt.Sscan(f[2], &n)
					fmt.Sscan(f[3], &size)
					files[f[1]] = [2]int{n, size}
				case len(f) == 2 && f[0] == "ATTACHED":
					attached[f[1]] = true
				}
			}
		}()
		select {
		case <-ready:
		case <-done:
			t.Fatal("child ended before READY")
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			t.Fatal("child not ready")
		}
		time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		cmd.Wait()

		e, err := engine.Open(ctx, engine.Config{Path: path})
		if err != nil {
			t.Fatalf("reopen after kill %d: %v", kill, err)
		}
		for id, want := range files {
			_, rc, err := e.Files.Content(ctx, id)
			if err != nil {
				t.Fatalf("kill %d: acknowledged file %s: %v", kill, id, err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			if len(b) != want[1] || !bytes.Equal(b, []byte(docText(want[0]))) {
				t.Fatalf("kill %d: file %s has %d bytes, want %d", kill, id, len(b), want[1])
			}
		}
		entries, _ := os.ReadDir(path + ".files")
		for _, ent := range entries {
			if _, err := e.Files.Retrieve(ctx, ent.Name()); err != nil {
				t.Fatalf("kill %d: stray file on disk %s", kill, ent.Name())
			}
		}
		if vsID != "" {
			wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			v, err := e.VectorStores.Wait(wctx, vsID)
			cancel()
			if err != nil {
				t.Fatalf("kill %d: ingestion did not finish: %v", kill, err)
			}
			if v.FileCounts.Failed != 0 || v.FileCounts.InProgress != 0 {
				t.Fatalf("kill %d: %+v", kill, v.FileCounts)
			}
			for id := range attached {
				f, err := e.VectorStores.RetrieveFile(ctx, vsID, id)
				if err != nil || f.Status != apitype.StatusCompleted {
					t.Fatalf("kill %d: attached file %s: %v %+v", kill, id, err, f)
				}
			}
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d files acknowledged, %d attached, across 20 kills", len(files), len(attached))
}
