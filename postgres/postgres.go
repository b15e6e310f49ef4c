package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/filesearch"
	"github.com/hearth-go/hearth/store/pgfiles"
	"github.com/hearth-go/hearth/store/pgstore"
	"github.com/hearth-go/hearth/store/pgstore/pgevents"
	"github.com/hearth-go/hearth/store/pgstore/pgjobs"
)

// Options configures Open. The zero value is usable; each field's default
// is its package's.
type Options struct {
	Logger *slog.Logger
	// MaxConns caps the replica's connection pool (pgstore.Options.MaxConns).
	MaxConns int32
	// RescueAfter is how long a run whose replica died waits before
	// another replica resumes it (pgjobs.Options.RescueAfter).
	RescueAfter time.Duration
	// Embedder embeds file search chunks and queries; nil keeps the
	// offline lexical embedder. Every replica must use the same one.
	Embedder filesearch.Embedder
	// Store, Jobs and Events tune the parts beyond the fields above.
	Store  pgstore.Options
	Jobs   pgjobs.Options
	Events pgevents.Options
	Bytes  pgfiles.BytesOptions
}

// Replica is what one process needs to be a replica: its parts share one
// connection pool (Store.Pool).
type Replica struct {
	Store  *pgstore.Store
	Jobs   *pgjobs.Jobs
	Events *pgevents.Bus
	Bytes  *pgfiles.Bytes
	Index  engine.FileIndex
}

// Open connects to the database dsn names, migrating its schema
// (pgstore.Open: its errors never carry the password) and River's
// (pgjobs.Migrate), and starts the
// event listener. Nothing runs jobs until an engine configured with
// Configure opens.
func Open(ctx context.Context, dsn string, opts Options) (*Replica, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	so := opts.Store
	so.Logger, so.MaxConns = pick(so.Logger, opts.Logger), pick(so.MaxConns, opts.MaxConns)
	st, err := pgstore.Open(ctx, dsn, so)
	if err != nil {
		return nil, err
	}
	r := &Replica{Store: st}
	if err := pgjobs.Migrate(ctx, st.Pool()); err != nil {
		r.Close()
		return nil, fmt.Errorf("postgres: job queue: %w", err)
	}
	jo := opts.Jobs
	jo.Logger = pick(jo.Logger, opts.Logger)
	if jo.RescueAfter == 0 {
		jo.RescueAfter = opts.RescueAfter
	}
	if r.Jobs, err = pgjobs.New(st.Pool(), jo); err != nil {
		r.Close()
		return nil, fmt.Errorf("postgres: job queue: %w", err)
	}
	eo := opts.Events
	eo.Logger = pick(eo.Logger, opts.Logger)
	if r.Events, err = pgevents.Open(ctx, st.Pool(), eo); err != nil {
		r.Close()
		return nil, fmt.Errorf("postgres: event bus: %w", err)
	}
	r.Bytes = pgfiles.NewBytes(st.Pool(), opts.Bytes)
	if r.Index, err = engine.NewFileIndexOn(pgfiles.NewIndexStorage(st.Pool()), opts.Embedder); err != nil {
		r.Close()
		return nil, fmt.Errorf("postgres: file search index: %w", err)
	}
	return r, nil
}

// Configure sets the fields of c that make an engine this replica: Store,
// Jobs, Events, FileBytes and FileIndex (c.Embedder must be unset: the
// index has Options.Embedder). The engine leaves them open when it closes;
// Close closes them.
func (r *Replica) Configure(c *engine.Config) {
	c.Store, c.Jobs, c.Events, c.FileBytes, c.FileIndex = r.Store, r.Jobs, r.Events.Runs(), r.Bytes, r.Index
}

// Close releases the replica's parts, the pool last. Close the engine
// first.
func (r *Replica) Close() error {
	var errs []error
	if c, ok := r.Index.(io.Closer); ok {
		errs = append(errs, c.Close())
	}
	if r.Events != nil {
		errs = append(errs, r.Events.Close())
	}
	if r.Store != nil {
		errs = append(errs, r.Store.Close())
	}
	return errors.Join(errs...)
}

func pick[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
