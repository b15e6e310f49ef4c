package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// rssFile is the file-backed part of this process's resident set.
func rssFile(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// Reading a 32 MiB file maps its pages; ReleaseMapped takes them out of
// the resident set, and what a read transaction still holds reads the same.
func TestReleaseMapped(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	const n, size = 4096, 8 << 10
	val := func(i int) []byte { return bytes.Repeat([]byte(fmt.Sprintf("%07d", i)), size/7) }
	if err := s.DB().Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("blobs"))
		for i := 0; err == nil && i < n; i++ {
			err = b.Put([]byte(fmt.Sprintf("%07d", i)), val(i))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	before := rssFile(t)
	tx, err := s.DB().Begin(false)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var held []byte
	sum := 0 // read, so the loop cannot be optimised away
	c := tx.Bucket([]byte("blobs")).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		sum += int(v[len(v)-1]) // touch every value's last page
		if string(k) == "0002048" {
			held = v // points into the mapping
		}
	}
	read := rssFile(t)
	if read-before < n*size/2 {
		t.Fatalf("reading %d MiB grew RssFile by %d KiB only: the test cannot see mapped pages", n*size>>20, (read-before)>>10)
	}
	released, err := s.ReleaseMapped(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after := rssFile(t)
	t.Logf("RssFile %d KiB → read %d KiB → released %d KiB (mapping %d KiB)", before>>10, read>>10, after>>10, released>>10)
	if released < n*size || read-after < (read-before)*9/10 {
		t.Fatalf("released a %d KiB mapping; RssFile %d → %d KiB", released>>10, read>>10, after>>10)
	}
	if !bytes.Equal(held, val(2048)) {
		t.Fatal("a value held across the release reads differently")
	}
	tx.Rollback() // a write that grows the file remaps it, after the reads
	// Writes that grow the file and later reads are unaffected.
	if err := s.DB().Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("blobs")).Put([]byte("z"), bytes.Repeat([]byte("z"), 1<<20))
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().View(func(tx *bolt.Tx) error {
		if got := tx.Bucket([]byte("blobs")).Get([]byte("0000007")); !bytes.Equal(got, val(7)) {
			return fmt.Errorf("value 7 reads %q…", got[:14])
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReleaseMapped(ctx); err != nil {
		t.Fatal(err)
	}
	if sum == 0 {
		t.Fatal("read nothing")
	}
}

// BenchmarkReleaseMapped times ReleaseMapped on a 32 MiB file whose pages
// were all read (what writes wait for), and a full read of the file just
// after it (pages mapped again from the page cache) beside the same read
// with every page still mapped, in alternating rounds:
//
//	go test ./store -run '^$' -bench ReleaseMapped -benchtime 20x -count 3
func BenchmarkReleaseMapped(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	const n, size = 4096, 8 << 10
	if err := s.DB().Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucket([]byte("blobs"))
		for i := 0; err == nil && i < n; i++ {
			err = bk.Put([]byte(fmt.Sprintf("%07d", i)), bytes.Repeat([]byte{byte(i)}, size))
		}
		return err
	}); err != nil {
		b.Fatal(err)
	}
	readAll := func() time.Duration {
		start := time.Now()
		sum := 0
		if err := s.DB().View(func(tx *bolt.Tx) error {
			c := tx.Bucket([]byte("blobs")).Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				for i := 0; i < len(v); i += 4096 {
					sum += int(v[i])
				}
			}
			return nil
		}); err != nil || sum == 0 {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	var release, cold, hot time.Duration
	readAll()
	for b.Loop() {
		hot += readAll()
		start := time.Now()
		if _, err := s.ReleaseMapped(ctx); err != nil {
			b.Fatal(err)
		}
		release += time.Since(start)
		cold += readAll()
	}
	n64 := float64(b.N)
	b.ReportMetric(float64(release)/n64, "release-ns/op")
	b.ReportMetric(float64(cold)/n64, "read-after-ns/op")
	b.ReportMetric(float64(hot)/n64, "read-mapped-ns/op")
	b.ReportMetric(float64(cold)/float64(hot), "x-mapped")
}
