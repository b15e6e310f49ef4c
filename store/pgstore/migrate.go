package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one version of the schema: migrations/NNNN_name.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// ErrSchemaTooNew is returned by Migrate for a database a newer build has
// migrated past the versions this one knows: it must not write to it.
var ErrSchemaTooNew = errors.New("pgstore: the database's schema is newer than this build of Hearth")

// migrationLock is the advisory lock key Migrate holds in each of its
// transactions ("hearth" and 1).
const migrationLock int64 = 0x6865_6172_7468_0001

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".sql")
		num, label, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("pgstore: migration %s is not named NNNN_name.sql", name)
		}
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: label, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("pgstore: migration %d is missing (found %d)", i+1, m.Version)
		}
	}
	return out, nil
}

// Beginner is what Migrate runs its transactions on: a *pgx.Conn or a
// *pgxpool.Pool.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Migrate applies the migrations newer than the database's schema, each
// in one transaction that holds an advisory lock, so replicas starting
// together apply each exactly once and a migration killed midway leaves
// the version before it. It returns the versions it applied (none when the
// schema is current), or ErrSchemaTooNew.
func Migrate(ctx context.Context, db Beginner) ([]int, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	var applied []int
	for _, m := range ms {
		did, err := migrate(ctx, db, m, ms[len(ms)-1].Version)
		if err != nil {
			return applied, err
		}
		if did {
			applied = append(applied, m.Version)
		}
	}
	return applied, nil
}

func migrate(ctx context.Context, db Beginner, m Migration, newest int) (bool, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(ctx) // after Commit, a no-op
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS hearth_schema (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return false, err
	}
	var current int
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM hearth_schema").Scan(&current); err != nil {
		return false, err
	}
	switch {
	case current > newest:
		return false, fmt.Errorf("%w: it is at version %d, this build knows up to %d", ErrSchemaTooNew, current, newest)
	case current >= m.Version:
		return false, tx.Commit(ctx)
	}
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("pgstore: migration %d (%s): %w", m.Version, m.Name, err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO hearth_schema (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
		return false, err
	}
	return true, tx.Commit(ctx)
}
