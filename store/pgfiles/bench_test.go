package pgfiles_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/filesearch"
	"github.com/hearth-go/hearth/store/pgfiles"
	bolt "go.etcd.io/bbolt"
)

// paired times ops in alternating blocks of one loop and reports each's
// time per op, so a shared machine's drift falls on all of them alike.
func paired(b *testing.B, block int, ops []pairedOp) {
	b.Helper()
	for _, op := range ops { // warm up
		if err := op.fn(); err != nil {
			b.Fatal(err)
		}
	}
	d := make([]time.Duration, len(ops))
	b.ResetTimer()
	for b.Loop() {
		for i, op := range ops {
			start := time.Now()
			for range block {
				if err := op.fn(); err != nil {
					b.Fatal(err)
				}
			}
			d[i] += time.Since(start)
		}
	}
	n := float64(b.N * block)
	for i, op := range ops {
		per := float64(d[i]) / n
		b.ReportMetric(per, op.name+"-ns/op")
		if op.bytes > 0 {
			b.ReportMetric(float64(op.bytes)/(per/1e9)/1e6, op.name+"-MB/s")
		}
		if op.floor >= 0 {
			b.ReportMetric(float64(d[i])/float64(d[op.floor]), op.name+"-x-"+ops[op.floor].name)
		}
	}
}

type pairedOp struct {
	name  string
	fn    func() error
	bytes int64
	floor int // index of the op it is a ratio to; -1: none
}

// BenchmarkFileBytesPaired: a 16 MiB upload written and read back through
// engine.FileBytes — Postgres (one COPY, a MiB a row) beside the FilesDir
// default (temp file, fsync, rename, directory fsync) — alternating.
func BenchmarkFileBytesPaired(b *testing.B) {
	ctx := context.Background()
	pool := migrated(b)
	// An autovacuum worker (a superuser's) would keep pgtest from dropping
	// the database when it ends.
	if _, err := pool.Exec(ctx, `ALTER TABLE file_chunks SET (autovacuum_enabled = false, toast.autovacuum_enabled = false)`); err != nil {
		b.Fatal(err)
	}
	pg := pgfiles.NewBytes(pool, pgfiles.BytesOptions{})
	dir := engine.DirFileBytes(b.TempDir())
	const size = 16 << 20
	data := make([]byte, size)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	n := 0
	write := func(fb engine.FileBytes) func() error {
		return func() error {
			n++
			id := fmt.Sprintf("file-%d", n)
			if _, err := fb.Write(ctx, engine.SpaceFiles, id, bytes.NewReader(data)); err != nil {
				return err
			}
			return fb.Remove(ctx, engine.SpaceFiles, id) // kept out of growth; a fraction of the write
		}
	}
	for _, fb := range []engine.FileBytes{pg, dir} {
		if _, err := fb.Write(ctx, engine.SpaceFiles, "file-read", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
	read := func(fb engine.FileBytes) func() error {
		return func() error {
			rc, err := fb.Open(ctx, engine.SpaceFiles, "file-read")
			if err != nil {
				return err
			}
			defer rc.Close()
			k, err := io.Copy(io.Discard, rc)
			if err == nil && k != size {
				err = fmt.Errorf("read %d bytes", k)
			}
			return err
		}
	}
	paired(b, 2, []pairedOp{
		{"write-dir", write(dir), size, -1},
		{"write-pg", write(pg), size, 0},
		{"read-dir", read(dir), size, -1},
		{"read-pg", read(pg), size, 2},
	})
}

// BenchmarkIndexBuildPaired: a replica's first search of a store of
// files of 172 chunks each builds its in-memory index: from Postgres
// (IndexStorage) beside from the bbolt file (the default), alternating;
// then a search of a loaded store, where Postgres adds the version check
// that follows other replicas.
func BenchmarkIndexBuildPaired(b *testing.B) {
	for _, files := range []int{10, 100} {
		b.Run(fmt.Sprintf("files=%d", files), func(b *testing.B) { benchIndexBuild(b, files) })
	}
}

func benchIndexBuild(b *testing.B, files int) {
	ctx := context.Background()
	st := pgfiles.NewIndexStorage(migrated(b))
	db, err := bolt.Open(filepath.Join(b.TempDir(), "ix.db"), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cfg := filesearch.Config{}
	chunking := &apitype.ChunkingStrategy{Type: apitype.ChunkingStatic, Static: &apitype.StaticChunking{MaxChunkSizeTokens: 100, ChunkOverlapTokens: 0}}
	words := strings.Fields("kettle warranty descaling lid base cord appliance manual section filter steam water boil switch light")
	text := func(i int) string {
		var s strings.Builder
		for j := range 100 * 100 {
			s.WriteString(words[(i*7+j*13)%len(words)])
			fmt.Fprintf(&s, "%d ", j%97)
		}
		return s.String()
	}
	openBolt := func() (*filesearch.Index, error) { return filesearch.Open(db, cfg) }
	openPG := func() (*filesearch.Index, error) { return filesearch.OpenStorage(st, cfg) }
	var chunks int
	for _, open := range []func() (*filesearch.Index, error){openBolt, openPG} {
		ix, err := open()
		if err != nil {
			b.Fatal(err)
		}
		chunks = 0
		for i := range files {
			s, err := ix.AddFile(ctx, "vs_b", fmt.Sprintf("file-%04d", i), "f.txt", text(i), chunking)
			if err != nil {
				b.Fatal(err)
			}
			chunks += s.Chunks
		}
	}
	b.Logf("%d files, %d chunks in each index", files, chunks)
	build := func(open func() (*filesearch.Index, error)) func() error {
		return func() error {
			ix, err := open()
			if err != nil {
				return err
			}
			_, err = ix.Search(ctx, []string{"vs_b"}, "kettle warranty", filesearch.SearchOptions{})
			return err
		}
	}
	loaded := func(open func() (*filesearch.Index, error)) func() error {
		ix, err := open()
		if err != nil {
			b.Fatal(err)
		}
		return func() error {
			_, err := ix.Search(ctx, []string{"vs_b"}, "kettle warranty", filesearch.SearchOptions{})
			return err
		}
	}
	paired(b, 1, []pairedOp{
		{"build-bolt", build(openBolt), 0, -1},
		{"build-pg", build(openPG), 0, 0},
		{"search-bolt", loaded(openBolt), 0, -1},
		{"search-pg", loaded(openPG), 0, 2},
	})
}
