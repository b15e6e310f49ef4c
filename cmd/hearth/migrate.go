package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/store/pgfiles"
	"github.com/hearth-go/hearth/store/storecopy"
)

const migrateUsage = `hearth migrate-store [flags] FROM TO

Copies every object of one store into another, empty one, then compares
every object of both. FROM and TO are each bbolt:FILE (a stopped server's
database file; a new file for TO) or postgres (the database of
HEARTH_POSTGRES_DSN or --postgres-dsn-file). Files' bytes are copied too:
a bbolt side's from its FILE.files (or --from-files, --to-files), the
Postgres side's in its database, as hearth serve --store postgres keeps them.

  hearth migrate-store bbolt:hearth.db postgres
  hearth migrate-store postgres bbolt:restored.db
`

// storeSide is FROM or TO: a bbolt file or the Postgres database.
type storeSide struct {
	kind, path string // kind "bbolt" (path the file) or "postgres"
}

func parseSide(s string) (storeSide, error) {
	if s == "postgres" {
		return storeSide{kind: "postgres"}, nil
	}
	if p, ok := strings.CutPrefix(s, "bbolt:"); ok && p != "" {
		return storeSide{kind: "bbolt", path: p}, nil
	}
	return storeSide{}, fmt.Errorf("%w: %q is not a store: give bbolt:FILE or postgres", errUsage, s)
}

func (s storeSide) String() string {
	if s.kind == "bbolt" {
		return "bbolt file " + s.path
	}
	return "Postgres"
}

func (a *app) migrateStore(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate-store", flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), migrateUsage+"\n"); fs.PrintDefaults() }
	dsnFile := fs.String("postgres-dsn-file", a.env("HEARTH_POSTGRES_DSN_FILE", ""), "file holding the Postgres DSN (env HEARTH_POSTGRES_DSN_FILE; or the DSN in HEARTH_POSTGRES_DSN)")
	fromFiles := fs.String("from-files", "", "directory of the source's file bytes (default for bbolt:FILE: FILE.files; for postgres: the database)")
	toFiles := fs.String("to-files", "", "directory of the destination's file bytes (default for bbolt:FILE: FILE.files; for postgres: the database)")
	noBytes := fs.Bool("skip-file-bytes", false, "copy and compare the records only; you copy the files' bytes yourself")
	verifyOnly := fs.Bool("verify-only", false, "compare FROM and TO, copying nothing")
	batch := fs.Int("batch", 1000, "objects per destination transaction")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return fmt.Errorf("%w: hearth migrate-store [flags] FROM TO", errUsage)
	}
	from, err := parseSide(fs.Arg(0))
	if err != nil {
		return err
	}
	to, err := parseSide(fs.Arg(1))
	if err != nil {
		return err
	}
	switch {
	case from.kind == "postgres" && to.kind == "postgres":
		return fmt.Errorf("%w: both stores are Postgres; copy a Postgres database with pg_dump and pg_restore", errUsage)
	case from.kind == "bbolt" && to.kind == "bbolt" && from.path == to.path:
		return fmt.Errorf("%w: FROM and TO are the same file", errUsage)
	}
	opt := storecopy.Options{BatchObjects: *batch}
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// The source must exist and be a stopped server's; the destination
	// must be new (bbolt) or empty (Postgres, which Copy checks).
	if from.kind == "bbolt" {
		if _, err := os.Stat(from.path); err != nil {
			return fmt.Errorf("source: %w", err)
		}
	}
	created := false
	if to.kind == "bbolt" && !*verifyOnly {
		if _, err := os.Stat(to.path); err == nil {
			return fmt.Errorf("%s exists; migrate-store writes only into a new file", to.path)
		}
		created = true
	}
	src, err := a.openSide(ctx, from, *dsnFile, log)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer src.Close()
	dst, err := a.openSide(ctx, to, *dsnFile, log)
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	closeDst := sync1(dst.Close)
	defer closeDst()
	if !*noBytes {
		// A bbolt side's bytes are its files directory; Postgres keeps
		// them in the database (store/pgfiles), unless a directory is
		// given for a copy from an older deployment's.
		if opt.SrcBlobs, err = sideBlobs(from, *fromFiles, src); err != nil {
			return err
		}
		if opt.DstBlobs, err = sideBlobs(to, *toFiles, dst); err != nil {
			return err
		}
	}

	if !*verifyOnly {
		last := time.Now()
		opt.Progress = func(st storecopy.Stats) {
			if time.Since(last) >= 5*time.Second {
				last = time.Now()
				fmt.Fprintf(a.stderr, "migrate-store: %d objects copied…\n", st.Objects())
			}
		}
		st, err := storecopy.Copy(ctx, src, dst, opt)
		if err != nil {
			if errors.Is(err, storecopy.ErrNotEmpty) {
				return fmt.Errorf("the destination (%s) already holds objects: migrate-store copies only into an empty store", to)
			}
			return a.copyFailed(to, created, opt, closeDst, err)
		}
		fmt.Fprintf(a.stdout, "migrate-store: copied %s from %s to %s in %s (%.0f objects/s), %d transactions\n",
			summary(st), from, to, st.Took.Round(time.Millisecond), float64(st.Objects())/st.Took.Seconds(), st.Transactions)
		opt.Progress = nil
	}
	st, err := storecopy.Verify(ctx, src, dst, opt)
	if errors.Is(err, storecopy.ErrMismatch) {
		return fmt.Errorf("%w\nthe destination is left as it is, for you to look at; it is not a faithful copy", err)
	}
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	fmt.Fprintf(a.stdout, "migrate-store: verified %s: the destination holds exactly what the source holds (%s)\n", summary(st), st.Took.Round(time.Millisecond))
	return nil
}

// sideBlobs is where a side's file bytes are: the directory (the flag, or
// FILE.files for bbolt), else the Postgres side's database.
func sideBlobs(s storeSide, flagValue string, d store.Driver) (storecopy.Blobs, error) {
	if dir := filesDir(s, flagValue); dir != "" {
		return storecopy.Dir(dir), nil
	}
	pg, ok := d.(pooled)
	if !ok {
		return nil, fmt.Errorf("%w: where are %s's file bytes? give --from-files or --to-files", errUsage, s)
	}
	return fileBytesBlobs{pgfiles.NewBytes(pg.Pool(), pgfiles.BytesOptions{})}, nil
}

// fileBytesBlobs is an engine.FileBytes as storecopy.Blobs.
type fileBytesBlobs struct{ fb engine.FileBytes }

func blobSpace(containerID string) string {
	if containerID != "" {
		return engine.SpaceContainers
	}
	return engine.SpaceFiles
}

func (b fileBytesBlobs) Open(ctx context.Context, containerID, id string) (io.ReadCloser, error) {
	return b.fb.Open(ctx, blobSpace(containerID), id)
}

// Write refuses bytes the destination holds already, as storecopy wants.
func (b fileBytesBlobs) Write(ctx context.Context, containerID, id string, r io.Reader) (int64, error) {
	if rc, err := b.fb.Open(ctx, blobSpace(containerID), id); err == nil {
		rc.Close()
		return 0, fmt.Errorf("%s: %w", id, iofs.ErrExist)
	} else if !errors.Is(err, iofs.ErrNotExist) {
		return 0, err
	}
	return b.fb.Write(ctx, blobSpace(containerID), id, r)
}

// filesDir is the side's file bytes directory: the flag, else FILE.files
// for a bbolt side ("" for Postgres without the flag).
func filesDir(s storeSide, flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if s.kind == "bbolt" {
		return s.path + ".files"
	}
	return ""
}

// openSide opens one store: the bbolt file (refused while a server holds
// it), or Postgres (checked as serve checks it).
func (a *app) openSide(ctx context.Context, s storeSide, dsnFile string, log *slog.Logger) (store.Driver, error) {
	if s.kind == "postgres" {
		return a.openPostgres(ctx, dsnFile, log)
	}
	st, err := store.Open(s.path, store.Options{Logger: log})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w: stop the server that holds %s first (migrate-store copies a stopped server's file)", err, s.path)
	}
	return st, err
}

// copyFailed removes a bbolt destination the copy created (and the bytes
// it wrote beside it); a Postgres destination holds part of the copy,
// which the operator must empty before trying again.
func (a *app) copyFailed(to storeSide, created bool, opt storecopy.Options, closeDst func() error, err error) error {
	if to.kind == "bbolt" && created {
		closeDst()
		os.Remove(to.path)
		if d, ok := opt.DstBlobs.(storecopy.Dir); ok {
			os.RemoveAll(string(d))
		}
		return fmt.Errorf("copy failed; %s removed: %w", to.path, err)
	}
	return fmt.Errorf("copy failed; the Postgres database now holds part of the copy: drop and recreate it (dropdb, createdb) before running again: %w", err)
}

func summary(st storecopy.Stats) string {
	s := fmt.Sprintf("%d objects (%d assistants, %d threads, %d messages, %d runs, %d steps, %d files, %d vector stores, %d vector store files, %d conversations, %d items, %d responses, %d response items, %d containers, %d container files)",
		st.Objects(), st.Assistants, st.Threads, st.Messages, st.Runs, st.Steps, st.Files, st.VectorStores, st.VectorStoreFiles,
		st.Conversations, st.ConversationItems, st.Responses, st.ResponseItems, st.Containers, st.ContainerFiles)
	if st.Blobs > 0 {
		s += fmt.Sprintf(" and %d files' bytes (%d bytes)", st.Blobs, st.BlobBytes)
	}
	return s
}

// sync1 makes close safe to call twice.
func sync1(close func() error) func() error {
	done := false
	return func() error {
		if done {
			return nil
		}
		done = true
		return close()
	}
}
