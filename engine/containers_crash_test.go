package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
)

const containerCrashEnv = "HEARTH_CONTAINER_CRASH_DB"

func containerDoc(i int) string {
	return strings.Repeat(fmt.Sprintf("row %d of a file written into a container\n", i), 2000+i%7*500)
}

// TestContainerFileCrashChild writes files into a container in a loop until
// killed, printing each acknowledged one.
func TestContainerFileCrashChild(t *testing.T) {
	path := os.Getenv(containerCrashEnv)
	if path == "" {
		t.Skip("runs only as TestContainerFileCrash's child")
	}
	ctx := context.Background()
	e, err := engine.Open(ctx, engine.Config{Path: path})
	if err != nil {
		fmt.Println("HEARTH ERR", err)
		os.Exit(2)
	}
	var c *apitype.Container
	if page, err := e.Containers.List(ctx, apitype.ContainerListParams{}); err == nil && len(page.Data) > 0 {
		c = &page.Data[0]
	} else if c, err = e.Containers.Create(ctx, apitype.ContainerCreateParams{Name: "crash",
		ExpiresAfter: &apitype.ContainerExpiresAfter{Anchor: "last_active_at", Minutes: apitype.MaxContainerMinutes}}); err != nil {
		fmt.Println("HEARTH ERR", err)
		os.Exit(2)
	}
	fmt.Println("HEARTH CONTAINER", c.ID)
	fmt.Println("HEARTH READY")
	for i := 0; ; i++ {
		f, err := e.Containers.Files.Upload(ctx, c.ID, strings.NewReader(containerDoc(i)), fmt.Sprintf("f%d.txt", i))
		if err != nil {
			fmt.Println("HEARTH ERR", err)
			os.Exit(2)
		}
		fmt.Printf("HEARTH FILE %s %d\n", f.ID, i)
	}
}

// TestContainerFileCrash kills a process writing container files at 20
// random moments; after each, a reopened engine has every acknowledged
// file whole and no stray or partial bytes on disk.
func TestContainerFileCrash(t *testing.T) {
	bboltOnly(t) // crashes on Postgres: the chaos test
	if os.Getenv(containerCrashEnv) != "" {
		t.Skip("parent only")
	}
	if testing.Short() {
		t.Skip("kills child processes")
	}
	path := filepath.Join(t.TempDir(), "hearth.db")
	rng := crashRNG(t, 3)
	ctx := context.Background()
	files := map[string]int{} // id → doc number
	cid := ""
	for kill := range 20 {
		delay := time.Duration(rng.IntN(100)) * time.Millisecond // a random kill point
		for _, l := range killChild(t, "TestContainerFileCrashChild", containerCrashEnv, "", path, false, delay) {
			f := strings.Fields(l)
			switch {
			case len(f) == 2 && f[0] == "CONTAINER":
				cid = f[1]
			case len(f) == 3 && f[0] == "FILE":
				var n int
				fmt.Sscan(f[2], &n)
				files[f[1]] = n
			}
		}

		e, err := engine.Open(ctx, engine.Config{Path: path})
		if err != nil {
			t.Fatalf("reopen after kill %d: %v", kill, err)
		}
		for id, n := range files {
			if got := containerFileText(t, e, cid, id); got != containerDoc(n) {
				t.Fatalf("kill %d: acknowledged file %s has %d bytes, want %d", kill, id, len(got), len(containerDoc(n)))
			}
		}
		entries, _ := os.ReadDir(filepath.Join(path+".files", "containers"))
		for _, ent := range entries {
			if _, err := e.Containers.Files.Retrieve(ctx, cid, ent.Name()); err != nil {
				t.Fatalf("kill %d: stray bytes on disk %s", kill, ent.Name())
			}
		}
		page, err := e.Containers.Files.List(ctx, cid, apitype.ListParams{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page.Data {
			if got := containerFileText(t, e, cid, f.ID); int64(len(got)) != f.Bytes {
				t.Fatalf("kill %d: file %s records %d bytes, holds %d", kill, f.ID, f.Bytes, len(got))
			}
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d container files acknowledged across 20 kills", len(files))
}
