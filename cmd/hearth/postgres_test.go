package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearth-go/hearth/internal/pgtest"
)

// A port nobody listens on: one the kernel gave a listener, now closed.
func deadPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// serveFault runs serve --store postgres with env and args until it
// returns, which it must do with an error, having written nothing: no
// database file, no files directory.
func serveFault(t *testing.T, env map[string]string, args ...string) error {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "h.db")
	var logs syncBuffer
	a := &app{stdout: &logs, stderr: &logs, getenv: func(k string) string { return env[k] }}
	err := a.run(context.Background(), append([]string{"serve", "--store", "postgres", "--db", db, "--addr", "127.0.0.1:0",
		"--model-backend", "scripted", "--code-interpreter", "off"}, args...))
	if err == nil {
		t.Fatal("serve started")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "dsn") {
			t.Errorf("serve left %s behind after failing: %v", e.Name(), err)
		}
	}
	return err
}

// Each way the Postgres store can be misconfigured or missing is its own
// clear error and exit code, before anything is written, and no message
// carries the password.
func TestServePostgresFaults(t *testing.T) {
	const secret = "s3cr3t-pw"
	down := fmt.Sprintf("postgres://hearth:%s@127.0.0.1:%d/hearth?sslmode=disable", secret, deadPort(t))
	dsnFile := filepath.Join(t.TempDir(), "dsn")
	if err := os.WriteFile(dsnFile, []byte("# the DSN\n"+down+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		says string
	}{
		{"no DSN", nil, nil, 2, "HEARTH_POSTGRES_DSN"},
		{"DSN twice", map[string]string{"HEARTH_POSTGRES_DSN": down}, []string{"--postgres-dsn-file", dsnFile}, 2, "both set"},
		{"DSN that does not parse", map[string]string{"HEARTH_POSTGRES_DSN": "postgres://hearth:" + secret + "@[::1"}, nil, 2, "does not parse"},
		{"Postgres down (env)", map[string]string{"HEARTH_POSTGRES_DSN": down}, nil, 3, "not reachable"},
		{"Postgres down (file)", nil, []string{"--postgres-dsn-file", dsnFile}, 3, "not reachable"},
		{"empty DSN file", nil, []string{"--postgres-dsn-file", os.DevNull}, 1, "holds no DSN"},
		{"unknown store", nil, []string{"--store", "mysql"}, 2, "--store must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := serveFault(t, tc.env, tc.args...)
			if got := exitCode(err); got != tc.code || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("exit %d, %v; want exit %d saying %q", got, err, tc.code, tc.says)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the error carries the password: %v", err)
			}
			t.Log(err)
		})
	}
}

// Against the real cluster: a wrong password and a database that does not
// exist are told apart, neither echoing the password.
func TestServePostgresRefused(t *testing.T) {
	dsn := pgtest.DSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := u.User.Password()
	wrong := *u
	wrong.User = url.UserPassword(u.User.Username(), pw+"-wrong")
	missing := *u
	missing.Path = "/hearth_no_such_database"
	for _, tc := range []struct {
		name, dsn, says, secret string
	}{
		{"wrong password", wrong.String(), "refused the login", pw + "-wrong"},
		{"missing database", missing.String(), "does not exist", pw},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := serveFault(t, map[string]string{"HEARTH_POSTGRES_DSN": tc.dsn})
			if exitCode(err) != 1 || !strings.Contains(err.Error(), tc.says) || strings.Contains(err.Error(), tc.secret) {
				t.Fatalf("exit %d: %v; want exit 1 saying %q without the password", exitCode(err), err, tc.says)
			}
			t.Log(err)
		})
	}
}

// serve --store postgres on the real cluster keeps what it is given in
// Postgres: a second server on the same database, with a new local index
// file, serves it.
func TestServePostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	dsnFile := filepath.Join(t.TempDir(), "dsn")
	if err := os.WriteFile(dsnFile, []byte(dsn+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HEARTH_DB": filepath.Join(t.TempDir(), "index.db"), "HEARTH_STORE": "postgres", "HEARTH_POSTGRES_DSN_FILE": dsnFile}
	srv := startServe(t, env, "--model-backend", "scripted")
	code, body := do(t, "POST", srv.url+"/v1/assistants", "", `{"model":"m","name":"kept in postgres"}`)
	if code != 200 {
		t.Fatalf("create assistant: %d %s", code, body)
	}
	if code, body = do(t, "POST", srv.url+"/v1/threads/runs", "", `{"assistant_id":"`+jsonField(body, "id")+`","thread":{"messages":[{"role":"user","content":"hi"}]}}`); code != 200 {
		t.Fatalf("create thread and run: %d %s", code, body)
	}
	thread := jsonField(body, "thread_id")
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	if logs := srv.logs.String(); !strings.Contains(logs, "store=postgres") || strings.Contains(logs, dsn) {
		t.Fatalf("the log does not name the store, or names the DSN:\n%s", logs)
	}
	env["HEARTH_DB"] = filepath.Join(t.TempDir(), "other-index.db")
	srv = startServe(t, env, "--model-backend", "scripted")
	code, body = do(t, "GET", srv.url+"/v1/assistants", "", "")
	if code != 200 || !strings.Contains(body, "kept in postgres") {
		t.Fatalf("the assistant is not in Postgres: %d %s", code, body)
	}
	if code, body = do(t, "GET", srv.url+"/v1/threads/"+thread+"/messages", "", ""); code != 200 || !strings.Contains(body, `"hi"`) {
		t.Fatalf("the thread's messages: %d %s", code, body)
	}
}
