package postgres_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/internal/pgtest"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/postgres"
	"github.com/hearth-go/hearth/store/pgstore"
)

// terminateAll ends every other session on the database — what a failover
// or a restarted server does to a replica's connections.
func terminateAll(t *testing.T, dsn string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A replica whose connections are all cut while a run is in flight (its
// model call held) goes on: the run ends, completed or failed with a
// last_error saying why, its stream ends, and the thread takes a new run.
func TestConnectionsLostMidRun(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := t.Context()
	hold := scripted.NewHold()
	model := scripted.New(scripted.Turn{Text: "before the cut, ", Hold: hold}, scripted.Turn{Text: "after it."})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := postgres.Open(ctx, dsn, postgres.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cfg := engine.Config{Model: model, Logger: log}
	r.Configure(&cfg)
	e, err := engine.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "scripted"})
	if err != nil {
		t.Fatal(err)
	}
	th, err := e.Threads.Create(ctx, apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{
		{Role: apitype.RoleUser, Content: apitype.TextInput("hello")}}})
	if err != nil {
		t.Fatal(err)
	}
	stream := e.Runs.CreateStream(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	var names []string
	var last apitype.Event
	done := make(chan error, 1)
	go func() {
		for ev, err := range stream {
			if err != nil {
				done <- err
				return
			}
			names, last = append(names, string(ev.Event)), ev
		}
		done <- nil
	}()
	if err := hold.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	n := terminateAll(t, dsn)
	t.Logf("terminated %d sessions mid-run", n)
	hold.Release()
	if err := <-done; err != nil {
		t.Fatalf("stream: %v (events %v)", err, names)
	}
	if last.Run == nil {
		t.Fatalf("the stream ended on %v, not on the run", names)
	}
	runID := last.Run.ID
	end, err := e.Runs.Wait(ctx, th.ID, runID)
	if err != nil {
		t.Fatal(err)
	}
	switch end.Status {
	case apitype.RunCompleted:
	case apitype.RunFailed:
		if end.LastError == nil || end.LastError.Message == "" {
			t.Fatalf("failed without a last_error")
		}
		t.Logf("the run failed: %s", end.LastError.Message)
	default:
		t.Fatalf("the run ended %s", end.Status)
	}
	t.Logf("events %v", names)

	// The replica works on: a new run on the thread completes.
	model.Add(scripted.Turn{Text: "again."})
	run, err := e.Runs.Create(ctx, th.ID, apitype.RunCreateParams{AssistantID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if end, err := e.Runs.Wait(ctx, th.ID, run.ID); err != nil || end.Status != apitype.RunCompleted {
		t.Fatalf("the next run: %v %v", end, err)
	}
}

// Postgres down at start and a DSN that is wrong are clear errors that do
// not repeat the password.
func TestOpenFaults(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name, dsn string
		want      error
	}{
		{"down", "postgres://hearth:s3cret-pw@127.0.0.1:1/hearth?connect_timeout=2", pgstore.ErrUnreachable},
		{"not a DSN", "postgres://hearth:s3cret-pw@[::1/hearth", pgstore.ErrBadDSN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := postgres.Open(ctx, tc.dsn, postgres.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if msg := err.Error(); strings.Contains(msg, "s3cret-pw") {
				t.Fatalf("the error repeats the password: %s", msg)
			}
		})
	}
}
