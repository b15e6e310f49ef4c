package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/internal/pgtest"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/store"
	"github.com/jackc/pgx/v5"
)

// migrateSource is a stopped server's bbolt file holding an assistant, a
// thread with a completed run, an uploaded file, a conversation, a
// response and a container file.
func migrateSource(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "src.db")
	e, err := engine.Open(ctx, engine.Config{Path: path, Model: scripted.Echo(), NoSync: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: "m", Name: apitype.Ptr("migrated")})
	must(a, err)
	must(e.Runs.CreateThreadAndRunAndWait(ctx, apitype.ThreadAndRunCreateParams{AssistantID: a.ID,
		Thread: &apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: apitype.RoleUser, Content: apitype.TextInput("hi")}}}}))
	must(e.Files.Create(ctx, strings.NewReader("file bytes"), apitype.FileCreateParams{Purpose: "assistants", Filename: "f.txt"}))
	must(e.Conversations.Create(ctx, apitype.ConversationCreateParams{Items: []apitype.Item{apitype.ItemOf(&apitype.MessageItem{
		Type: apitype.ItemMessage, Role: apitype.RoleUser, Content: []apitype.ContentPart{apitype.InputText("hello")}})}}))
	must(e.Responses.Create(ctx, &apitype.ResponseCreateParams{Model: "m", Input: apitype.TextResponseInput("question")}))
	c, err := e.Containers.Create(ctx, apitype.ContainerCreateParams{Name: "box"})
	must(c, err)
	must(e.Containers.Files.Upload(ctx, c.ID, strings.NewReader("x = 1\n"), "x.py"))
	return path
}

func migrate(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out syncBuffer
	a := &app{stdout: &out, stderr: &out, getenv: func(k string) string { return env[k] }}
	err := a.run(context.Background(), append([]string{"migrate-store"}, args...))
	return out.String(), err
}

// bbolt → Postgres → bbolt: each copy verified, and the round trip's file
// compared with the original, bytes included (in Postgres, the bytes are
// in the database, as hearth serve --store postgres reads them).
func TestMigrateStorePostgresRoundTrip(t *testing.T) {
	src := migrateSource(t)
	dsn := pgtest.DSN(t)
	env := map[string]string{"HEARTH_POSTGRES_DSN": dsn}
	out, err := migrate(t, env, "bbolt:"+src, "postgres")
	if err != nil || !strings.Contains(out, "verified") {
		t.Fatalf("bbolt → postgres: %v\n%s", err, out)
	}
	t.Log(out)
	back := filepath.Join(t.TempDir(), "back.db")
	var rows int
	if err := pgx.BeginFunc(context.Background(), mustConn(t, dsn), func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM file_chunks) + (SELECT count(*) FROM container_file_chunks)`).Scan(&rows)
	}); err != nil || rows != 2 {
		t.Fatalf("the file and the container file in Postgres: %d rows, %v", rows, err)
	}
	if out, err = migrate(t, env, "postgres", "bbolt:"+back); err != nil || !strings.Contains(out, "verified") {
		t.Fatalf("postgres → bbolt: %v\n%s", err, out)
	}
	if out, err = migrate(t, nil, "--verify-only", "bbolt:"+src, "bbolt:"+back); err != nil || !strings.Contains(out, "exactly what the source holds") {
		t.Fatalf("the round trip differs from the original: %v\n%s", err, out)
	}
	// A second copy into the same database is refused: it is not empty.
	if out, err = migrate(t, env, "bbolt:"+src, "postgres"); err == nil || !strings.Contains(err.Error(), "already holds objects") {
		t.Fatalf("a copy into a non-empty database: %v\n%s", err, out)
	}
}

func mustConn(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// What migrate-store refuses, each before writing anything.
func TestMigrateStoreRefuses(t *testing.T) {
	src := migrateSource(t)
	dir := t.TempDir()
	exists := filepath.Join(dir, "exists.db")
	if err := os.WriteFile(exists, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	held, err := store.Open(src, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, lockedErr := migrate(t, nil, "bbolt:"+src, "bbolt:"+filepath.Join(dir, "a.db"))
	held.Close()
	for _, tc := range []struct {
		name string
		err  error
		code int
		says string
	}{
		{"a source a server holds", lockedErr, 1, "stop the server"},
	} {
		if tc.err == nil || exitCode(tc.err) != tc.code || !strings.Contains(tc.err.Error(), tc.says) {
			t.Errorf("%s: exit %d, %v; want %d saying %q", tc.name, exitCode(tc.err), tc.err, tc.code, tc.says)
		}
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"no source", []string{"bbolt:" + filepath.Join(dir, "none.db"), "bbolt:" + filepath.Join(dir, "b.db")}, 1, "no such file"},
		{"an existing destination", []string{"bbolt:" + src, "bbolt:" + exists}, 1, "writes only into a new file"},
		{"the same file", []string{"bbolt:" + src, "bbolt:" + src}, 2, "same file"},
		{"postgres to postgres", []string{"postgres", "postgres"}, 2, "pg_dump"},
		{"not a store", []string{"sqlite:x", "postgres"}, 2, "not a store"},
		{"one argument", []string{"bbolt:" + src}, 2, "FROM TO"},
	} {
		_, err := migrate(t, nil, tc.args...)
		if err == nil || exitCode(err) != tc.code || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: exit %d, %v; want %d saying %q", tc.name, exitCode(err), err, tc.code, tc.says)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("refusals left files behind: %v", entries)
	}
}

// bbolt → bbolt runs without Postgres; --verify-only tells two different
// stores apart, naming the first difference.
func TestMigrateStoreBolt(t *testing.T) {
	src := migrateSource(t)
	dst := filepath.Join(t.TempDir(), "dst.db")
	out, err := migrate(t, nil, "bbolt:"+src, "bbolt:"+dst)
	if err != nil || !strings.Contains(out, "copied") || !strings.Contains(out, "verified") {
		t.Fatalf("%v\n%s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(dst+".files", firstFile(t, dst))); err != nil || string(b) != "file bytes" {
		t.Fatalf("the file's bytes: %q %v", b, err)
	}
	other := migrateSource(t)
	_, err = migrate(t, nil, "--verify-only", "bbolt:"+src, "bbolt:"+other)
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "differs from the source at assistant") {
		t.Fatalf("two different stores: %v", err)
	}
}

func firstFile(t *testing.T, path string) string {
	t.Helper()
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var id string
	err = s.View(context.Background(), func(tx store.Tx) error {
		p, err := tx.ListFiles(apitype.ListParams{Limit: 1}, "")
		if err == nil && len(p.Data) == 1 {
			id = p.Data[0].ID
		}
		return err
	})
	if err != nil || id == "" {
		t.Fatalf("no file: %v", err)
	}
	return id
}
