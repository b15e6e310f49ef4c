package main

import (
	"context"
	"fmt"
	"io"

	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/filesearch"
	"github.com/hearth-go/hearth/store"
	"github.com/hearth-go/hearth/store/pgfiles"
	"github.com/hearth-go/hearth/store/pgstore"
)

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
