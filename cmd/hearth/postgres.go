package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/filesearch"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/store/pgfiles"
)

// errStoreDown is a store that could not be reached (Postgres not running,
// not listening, or too slow to answer): main exits 3 for it, so a
// supervisor can tell "retry later" from a configuration to fix (1) or a
// command line to fix (2).
var errStoreDown = errors.New("the store is unreachable")

// pgConnectTimeout bounds each connection attempt when the DSN sets no
// connect_timeout: a Postgres that is down fails the start in seconds.
const pgConnectTimeout = 10 * time.Second

// postgresDSN returns the DSN from HEARTH_POSTGRES_DSN or from file (the
// first non-empty, non-# line), never from a flag's value: a DSN carries
// a password, and flags are in every user's process list.
func (a *app) postgresDSN(file string) (string, error) {
	env := strings.TrimSpace(a.getenv("HEARTH_POSTGRES_DSN"))
	switch {
	case env != "" && file != "":
		return "", fmt.Errorf("%w: HEARTH_POSTGRES_DSN and --postgres-dsn-file are both set; give one", errUsage)
	case env != "":
		return env, nil
	case file == "":
		return "", fmt.Errorf("%w: the Postgres store needs its DSN: set HEARTH_POSTGRES_DSN, or --postgres-dsn-file FILE (env HEARTH_POSTGRES_DSN_FILE) naming a file that holds it", errUsage)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("postgres DSN file: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			return line, nil
		}
	}
	return "", fmt.Errorf("postgres DSN file %s holds no DSN", file)
}

// checkPostgres connects once to the DSN's server and pings it, so that a
// wrong DSN, a refused login, a missing database or a server that is down
// is told apart, clearly, before anything is opened or written. Its errors
// never carry the DSN (nor, so, its password).
func checkPostgres(ctx context.Context, dsn string) error {
	pcfg, err := pgxpool.ParseConfig(dsn) // as the driver parses it: pool_max_conns and the like are the pool's
	if err != nil {
		// pgx's own message quotes the DSN (redacted best effort); ours
		// names only the variable.
		return fmt.Errorf("%w: the Postgres DSN does not parse: give a URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=…) or key=value pairs (host=… port=… user=… dbname=…)", errUsage)
	}
	cfg := pcfg.ConnConfig
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = pgConnectTimeout
	}
	where := fmt.Sprintf("Postgres at %s (user %q, database %q)", net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), cfg.User, cfg.Database)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		err = conn.Ping(ctx)
		conn.Close(context.WithoutCancel(ctx))
	}
	if err == nil {
		return nil
	}
	return explainPostgres(where, redact(err, cfg.Password))
}

// explainPostgres turns a failed connection into what to fix.
func explainPostgres(where string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "28P01", "28000": // invalid_password, invalid_authorization_specification
			return fmt.Errorf("%s refused the login: wrong user or password, or pg_hba.conf does not allow it (SQLSTATE %s: %s)", where, pe.Code, pe.Message)
		case "3D000": // invalid_catalog_name
			return fmt.Errorf("%s: the database does not exist; create it (createdb) or fix the DSN (SQLSTATE %s)", where, pe.Code)
		case "53300": // too_many_connections
			return fmt.Errorf("%w: %s has no connection slot left (max_connections; see docs/deploy.md on connection limits): %s", errStoreDown, where, pe.Message)
		case "57P03": // cannot_connect_now: starting up, shutting down, in recovery
			return fmt.Errorf("%w: %s is not accepting connections yet: %s", errStoreDown, where, pe.Message)
		}
		return fmt.Errorf("%s: %s (SQLSTATE %s)", where, pe.Message, pe.Code)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%w: %s is not reachable (is it running, and listening there?): %v", errStoreDown, where, err)
	}
	return fmt.Errorf("%s: %w", where, err)
}

// redact takes the password out of an error's message, whatever wraps it.
func redact(err error, password string) error {
	if err == nil || password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return redacted{msg: strings.ReplaceAll(err.Error(), password, "xxxxx"), err: err}
}

type redacted struct {
	msg string
	err error
}

func (r redacted) Error() string { return r.msg }
func (r redacted) Unwrap() error { return r.err }

// openPostgres reads the DSN, checks the server and opens the driver.
func (a *app) openPostgres(ctx context.Context, dsnFile string, log *slog.Logger) (store.Driver, error) {
	dsn, err := a.postgresDSN(dsnFile)
	if err != nil {
		return nil, err
	}
	if err := checkPostgres(ctx, dsn); err != nil {
		return nil, err
	}
	d, err := openPGStore(ctx, dsn, log)
	if err != nil {
		if cfg, perr := pgxpool.ParseConfig(dsn); perr == nil {
			err = redact(err, cfg.ConnConfig.Password)
		}
		return nil, fmt.Errorf("postgres store: %w", err)
	}
	return d, nil
}

// pooled is the Postgres driver's pool (pgstore.Store).
type pooled interface{ Pool() *pgxpool.Pool }

// sharedFiles gives an engine on the Postgres store what every replica
// must share besides the records: the files' bytes and the file search
// index, both in the same database (store/pgfiles).
func sharedFiles(cfg *engine.Config, driver store.Driver, embedder filesearch.Embedder) error {
	pg, ok := driver.(pooled)
	if !ok {
		return errors.New("postgres store: the driver has no pool for the file bytes and the search index")
	}
	ix, err := engine.NewFileIndexOn(pgfiles.NewIndexStorage(pg.Pool()), embedder)
	if err != nil {
		return fmt.Errorf("file search index: %w", err)
	}
	cfg.FileBytes, cfg.FileIndex = pgfiles.NewBytes(pg.Pool(), pgfiles.BytesOptions{}), ix
	return nil
}
