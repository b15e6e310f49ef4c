package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The README's flag table lists every serve flag with the environment
// variable that really sets it, and no flag that does not exist.
func TestReadmeFlagTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	rowRe := regexp.MustCompile("^\\| `--([a-z0-9-]+)` \\|")
	for _, line := range strings.Split(string(readme), "\n") {
		if m := rowRe.FindStringSubmatch(line); m != nil {
			rows[m[1]] = line
		}
	}
	none := &app{stderr: io.Discard, getenv: func(string) string { return "" }}
	fs, _, _, err := none.serveFlags()
	if err != nil {
		t.Fatal(err)
	}
	envRe := regexp.MustCompile(`\benv ([A-Z][A-Z0-9_]+)`)
	fs.VisitAll(func(f *flag.Flag) {
		row, ok := rows[f.Name]
		delete(rows, f.Name)
		if !ok {
			t.Errorf("README.md's flag table has no row for --%s", f.Name)
		}
		m := envRe.FindStringSubmatch(f.Usage)
		if m == nil {
			t.Errorf("--%s names no env variable in its usage: %q", f.Name, f.Usage)
			return
		}
		env := m[1]
		if ok && !strings.Contains(row, "`"+env+"`") {
			t.Errorf("README.md's row for --%s does not name %s: %s", f.Name, env, row)
		}
		// The variable named really sets the flag's value.
		val := "gpt-x=local-y"
		if g, ok := f.Value.(flag.Getter); ok {
			switch g.Get().(type) {
			case time.Duration:
				val = "7s"
			case int:
				val = "7"
			}
		}
		set := &app{stderr: io.Discard, getenv: func(k string) string {
			if k == env {
				return val
			}
			return ""
		}}
		fs2, _, _, err := set.serveFlags()
		if err != nil {
			t.Fatal(err)
		}
		if got := fs2.Lookup(f.Name).DefValue; got == f.DefValue {
			t.Errorf("%s=%s leaves --%s at %q", env, val, f.Name, got)
		}
	})
	for name := range rows {
		t.Errorf("README.md's flag table lists --%s, which serve does not have", name)
	}
}

// HEARTH_MODEL and HEARTH_API_KEY, the old names, still set the default
// model and the keys, with a warning; the new names need none.
func TestServeDeprecatedEnv(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		warn bool
	}{
		{map[string]string{"HEARTH_DEFAULT_MODEL": "tiny", "HEARTH_API_KEYS": "sk-a"}, false},
		{map[string]string{"HEARTH_MODEL": "tiny", "HEARTH_API_KEY": "sk-a"}, true},
	} {
		tc.env["HEARTH_DB"] = filepath.Join(t.TempDir(), "h.db")
		srv := startServe(t, tc.env, "--model-backend", "scripted")
		if code, _ := do(t, "GET", srv.url+"/v1/assistants", "", ""); code != 401 {
			t.Errorf("%v: no key: %d", tc.env, code)
		}
		if code, body := do(t, "POST", srv.url+"/v1/assistants", "sk-a", `{}`); code != 200 || !strings.Contains(body, `"model":"tiny"`) {
			t.Errorf("%v: assistant without a model: %d %s", tc.env, code, body)
		}
		logs := srv.logs.String()
		for _, old := range []string{"env=HEARTH_MODEL use=HEARTH_DEFAULT_MODEL", "env=HEARTH_API_KEY use=HEARTH_API_KEYS"} {
			if strings.Contains(logs, old) != tc.warn {
				t.Errorf("%v: warning %q in the log is %v:\n%s", tc.env, old, !tc.warn, logs)
			}
		}
		srv.stop()
	}
}

func TestBackupHelpExitsZero(t *testing.T) {
	var out syncBuffer
	a := &app{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	if err := a.run(context.Background(), []string{"backup", "-h"}); err != nil || strings.Contains(out.String(), "help requested") {
		t.Fatalf("backup -h: %v\n%s", err, out.String())
	}
}

type envMap map[string]string

func (m envMap) get(k string) string { return m[k] }

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"auto": 0, "": 0, "1048576": 1 << 20, "512MiB": 512 << 20, "4GiB": 4 << 30, "2G": 2 << 30, "64 K": 64 << 10, "100B": 100} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"-1GiB", "0", "lots", "1.5GiB", "9999999999TiB", "GiB"} {
		if _, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q) took it", in)
		}
	}
}

// --sandbox-memory reaches the sandbox: a 1 GiB budget leaves room for one
// full session, and serve says so when it starts.
func TestServeSandboxMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the WASI sandbox")
	}
	env := map[string]string{"HEARTH_DB": filepath.Join(t.TempDir(), "h.db")}
	cache := filepath.Join(os.TempDir(), "hearth-test-codeinterp-cache")
	srv := startServe(t, env, "--model-backend", "scripted", "--code-interpreter", "wasi", "--cache-dir", cache, "--sandbox-memory", "1GiB")
	srv.stop()
	if logs := srv.logs.String(); !strings.Contains(logs, "sessions limited by the host memory budget") || !strings.Contains(logs, `budget="1 GiB"`) {
		t.Fatalf("the budget did not reach the sandbox:\n%s", logs)
	}
	a := &app{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	if err := a.run(context.Background(), []string{"serve", "--sandbox-memory", "lots"}); !errors.Is(err, errUsage) {
		t.Fatalf("a bad size: %v", err)
	}
}
