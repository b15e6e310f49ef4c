package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/store/pgstore"
	"github.com/hearth-go/hearth/store/pgstore/pgjobs"
)

// openPGStore opens the Postgres driver (its schema migrated).
func openPGStore(ctx context.Context, dsn string, log *slog.Logger) (store.Driver, error) {
	return pgstore.Open(ctx, dsn, pgstore.Options{Logger: log})
}

// pgJobs is the job queue replicas on one Postgres database share (River's
// schema migrated): runs and background responses execute on any replica,
// and a dead replica's are rescued by another.
func pgJobs(ctx context.Context, d store.Driver, log *slog.Logger) (engine.Jobs, error) {
	st, ok := d.(*pgstore.Store)
	if !ok {
		return nil, fmt.Errorf("job queue: %T is not the Postgres store", d)
	}
	if err := pgjobs.Migrate(ctx, st.Pool()); err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	return pgjobs.New(st.Pool(), pgjobs.Options{Logger: log})
}
