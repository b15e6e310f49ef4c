package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// backup writes a consistent copy of a database to OUT, one of two ways:
//
//   - --db FILE: opens the file read-only (a shared lock) and copies it in one
//     read transaction. bbolt's lock is exclusive while a server holds the
//     file, so this is for a stopped server; against a running one it fails
//     at once and says to use --server.
//   - --server URL: asks the running server (GET /admin/backup, with the
//     key from HEARTH_API_KEYS, the first if several) for the copy, which it makes in one read
//     transaction while it keeps serving.
//
// Either way the copy goes to OUT.partial, is synced and checked (bbolt's
// consistency check), and only then renamed to OUT. OUT must not exist.
func (a *app) backup(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	db := fs.String("db", "", "database file of a stopped server (env HEARTH_DB)")
	server := fs.String("server", a.env("HEARTH_SERVER", ""), "URL of a running server, e.g. http://127.0.0.1:8080 (env HEARTH_SERVER; key in HEARTH_API_KEYS, the first if several)")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil // -h printed the flags: asked for, not an error
	} else if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: hearth backup [--db FILE | --server URL] OUT", errUsage)
	}
	out := fs.Arg(0)
	if *db == "" && *server == "" {
		*db = a.env("HEARTH_DB", "hearth.db")
	}
	if *db != "" && *server != "" {
		return fmt.Errorf("%w: give --db or --server, not both", errUsage)
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s exists; backup never overwrites", out)
	}
	tmp := out + ".partial"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	var n int64
	if *server != "" {
		key, _, _ := strings.Cut(a.env("HEARTH_API_KEYS", ""), ",")
		for _, d := range a.takeDeprecated() {
			fmt.Fprintf(a.stderr, "hearth: warning: %s is deprecated; rename it %s\n", d.old, d.now)
		}
		n, err = backupFromServer(ctx, *server, strings.TrimSpace(key), f)
	} else {
		n, err = backupFromFile(*db, f)
	}
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := checkCopy(tmp); err != nil {
		return fmt.Errorf("the copy is not a consistent database: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	ok = true
	if d, err := os.Open(filepath.Dir(out)); err == nil {
		d.Sync()
		d.Close()
	}
	fmt.Fprintf(a.stdout, "backup: %d bytes written to %s\n", n, out)
	return nil
}

func backupFromFile(path string, w io.Writer) (int64, error) {
	if _, err := os.Stat(path); err != nil {
		return 0, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 500 * time.Millisecond})
	if errors.Is(err, berrors.ErrTimeout) {
		return 0, fmt.Errorf("%s is held by a running server: back it up through the server with --server URL (HEARTH_API_KEYS for its key)", path)
	}
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int64
	err = db.View(func(tx *bolt.Tx) error {
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

func backupFromServer(ctx context.Context, base, key string, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/admin/backup", nil)
	if err != nil {
		return 0, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, fmt.Errorf("server answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return io.Copy(w, resp.Body)
}

// checkCopy opens the copy read-only and runs bbolt's consistency check.
func checkCopy(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}
