package main

import (
	"context"
	"log/slog"

	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/store/pgstore"
)

// openPGStore opens the Postgres driver (its schema migrated).
func openPGStore(ctx context.Context, dsn string, log *slog.Logger) (store.Driver, error) {
	return pgstore.Open(ctx, dsn, pgstore.Options{Logger: log})
}
