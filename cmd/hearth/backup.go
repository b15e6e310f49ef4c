package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hearth-go/hearth/store"
)

// backup writes a consistent, compacted copy of a database to OUT, one of
// two ways:
//
//   - --db FILE: compacts the file (store.CompactFile) straight into OUT.
//     It takes the file's lock, so this is for a stopped server; against a
//     running one it fails at once and says to use --server.
//   - --server URL: asks the running server (GET /admin/backup, with the
//     key from HEARTH_API_KEYS, the first if several) for the copy, which it makes in one read
//     transaction while it keeps serving; the copy lands in OUT.partial, is
//     synced and checked (bbolt's consistency check), then compacted into
//     OUT.
//
// Either way OUT appears whole or not at all (written beside it and
// renamed), holds only live data with full pages, and is checked. OUT must
// not exist.
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
	src := *db
	if *server != "" {
		src = out + ".partial"
		defer os.Remove(src)
		n, err := backupFromServer(ctx, *server, a.serverKey(), src)
		if err != nil {
			return err
		}
		if err := checkCopy(src); err != nil {
			return fmt.Errorf("the copy is not a consistent database: %w", err)
		}
		fmt.Fprintf(a.stdout, "backup: %d bytes received from %s\n", n, *server)
	}
	st, err := store.CompactFile(ctx, src, out, 500*time.Millisecond)
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%s is held by a running server: back it up through the server with --server URL (HEARTH_API_KEYS for its key)", src)
	}
	if err != nil {
		return err
	}
	if err := checkCopy(out); err != nil {
		os.Remove(out)
		return fmt.Errorf("the compacted copy is not a consistent database: %w", err)
	}
	fmt.Fprintf(a.stdout, "backup: %d bytes written to %s (compacted from %d in %s)\n", st.After, out, st.Before, st.Took.Round(time.Millisecond))
	return nil
}

// compact rewrites a database holding only its live data, giving deleted
// space back: offline (--db FILE, which no process may hold; into OUT, or
// in place without OUT) or through a running server (--server URL, POST
// /admin/compact: the server swaps in the compacted file without stopping).
func (a *app) compact(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("compact", flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	db := fs.String("db", "", "database file of a stopped server (env HEARTH_DB)")
	server := fs.String("server", "", "URL of a running server to compact online (key in HEARTH_API_KEYS)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 1 || *server != "" && (fs.NArg() > 0 || *db != "") {
		return fmt.Errorf("%w: hearth compact [--db FILE] [OUT] | hearth compact --server URL", errUsage)
	}
	if *server != "" {
		return a.compactServer(ctx, *server)
	}
	if *db == "" {
		*db = a.env("HEARTH_DB", "hearth.db")
	}
	out := fs.Arg(0)
	st, err := store.CompactFile(ctx, *db, out, 500*time.Millisecond)
	if err != nil {
		return err
	}
	if out == "" {
		out = *db
	}
	fmt.Fprintf(a.stdout, "compact: %s %d -> %d bytes in %s\n", out, st.Before, st.After, st.Took.Round(time.Millisecond))
	return nil
}

// serverKey is the key backup and compact send to a server: the first of
// HEARTH_API_KEYS (or the deprecated HEARTH_API_KEY, with a warning).
func (a *app) serverKey() string {
	key, _, _ := strings.Cut(a.env("HEARTH_API_KEYS", ""), ",")
	for _, d := range a.takeDeprecated() {
		fmt.Fprintf(a.stderr, "hearth: warning: %s is deprecated; rename it %s\n", d.old, d.now)
	}
	return strings.TrimSpace(key)
}

func (a *app) compactServer(ctx context.Context, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/admin/compact", nil)
	if err != nil {
		return err
	}
	if key := a.serverKey(); key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("server answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	fmt.Fprintf(a.stdout, "compact: %s\n", strings.TrimSpace(string(b)))
	return nil
}

// backupFromServer streams the server's copy into path, synced.
func backupFromServer(ctx context.Context, base, key, path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
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
	n, err := io.Copy(f, resp.Body)
	if err != nil {
		return n, err
	}
	return n, f.Sync()
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
