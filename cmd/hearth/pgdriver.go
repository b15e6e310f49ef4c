package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/filesearch"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/store/pgfiles"
	"github.com/hearth-go/hearth/store/pgstore"
	"github.com/hearth-go/hearth/store/pgstore/pgevents"
	"github.com/hearth-go/hearth/store/pgstore/pgjobs"
)

// openPGStore opens the Postgres driver (its schema migrated).
func openPGStore(ctx context.Context, dsn string, log *slog.Logger) (store.Driver, error) {
	return pgstore.Open(ctx, dsn, pgstore.Options{Logger: log})
}

// pgEngine gives cfg everything else replicas on one Postgres database
// share besides the store: file bytes and the file search index in
// Postgres, the event bus (LISTEN/NOTIFY), and the job queue (River's
// schema migrated), so runs execute on any replica and a dead one's are
// rescued. close releases the bus.
func pgEngine(ctx context.Context, cfg *engine.Config, d store.Driver, embedder filesearch.Embedder, log *slog.Logger) (close func(), err error) {
	st, ok := d.(*pgstore.Store)
	if !ok {
		return nil, fmt.Errorf("%T is not the Postgres store", d)
	}
	cfg.Store, cfg.Path, cfg.FilesDir, cfg.Embedder = d, "", "", nil
	cfg.FileBytes = pgfiles.NewBytes(st.Pool(), pgfiles.BytesOptions{})
	if cfg.FileIndex, err = engine.NewFileIndexOn(pgfiles.NewIndexStorage(st.Pool()), embedder); err != nil {
		return nil, fmt.Errorf("file search index: %w", err)
	}
	if err := pgjobs.Migrate(ctx, st.Pool()); err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	if cfg.Jobs, err = pgjobs.New(st.Pool(), pgjobs.Options{Logger: log}); err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	bus, err := pgevents.Open(ctx, st.Pool(), pgevents.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("event bus: %w", err)
	}
	cfg.Events = bus.Runs()
	return func() { bus.Close() }, nil
}

// pgBytes is the Postgres store's file bytes (pgfiles), for migrate-store.
func pgBytes(d store.Driver) (engine.FileBytes, error) {
	st, ok := d.(*pgstore.Store)
	if !ok {
		return nil, fmt.Errorf("%T is not the Postgres store", d)
	}
	return pgfiles.NewBytes(st.Pool(), pgfiles.BytesOptions{}), nil
}

// fileBytesBlobs is an engine.FileBytes as storecopy's Blobs.
type fileBytesBlobs struct{ fb engine.FileBytes }

func space(containerID string) string {
	if containerID != "" {
		return engine.SpaceContainers
	}
	return engine.SpaceFiles
}

func (b fileBytesBlobs) Open(ctx context.Context, containerID, id string) (io.ReadCloser, error) {
	return b.fb.Open(ctx, space(containerID), id)
}

func (b fileBytesBlobs) Write(ctx context.Context, containerID, id string, r io.Reader) (int64, error) {
	return b.fb.Write(ctx, space(containerID), id, r)
}

// pgIndex is the Postgres store's file search index storage (pgfiles).
func pgIndex(d store.Driver) (filesearch.Storage, error) {
	st, ok := d.(*pgstore.Store)
	if !ok {
		return nil, fmt.Errorf("%T is not the Postgres store", d)
	}
	return pgfiles.NewIndexStorage(st.Pool()), nil
}
