package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hearth-go/hearth/llm"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; by
// default it comes from the module's build info.
var version = ""

func main() {
	a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	stopOn := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if len(os.Args) > 1 && os.Args[1] == "chat" {
		// chat reads Ctrl-C itself: the first cancels the run, the next leaves.
		intr := make(chan os.Signal, 4)
		signal.Notify(intr, os.Interrupt)
		a.interrupts = intr
		stopOn = []os.Signal{syscall.SIGTERM}
	}
	ctx, stop := signal.NotifyContext(context.Background(), stopOn...)
	defer stop()
	if err := a.run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "hearth:", err)
		os.Exit(exitCode(err))
	}
}

// exitCode is 2 for a command line to fix, 3 for a store that is down (a
// supervisor may retry), 1 for anything else.
func exitCode(err error) int {
	switch {
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, errStoreDown):
		return 3
	}
	return 1
}

var errUsage = errors.New("usage")

// app is the command with its environment, so tests run it in-process.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// interrupts delivers Ctrl-C to hearth chat (nil: none arrive).
	interrupts <-chan os.Signal
	getenv     func(string) string
	// listening, when set, is told the server's address once it accepts.
	listening func(addr string)
	// model, when set, replaces the --model-backend choice (tests).
	model llm.Model
	// deprecated lists the old environment names env read, to warn of.
	deprecated []renamedEnv
}

// renamedEnv is an environment variable read under its deprecated name.
type renamedEnv struct{ old, now string }

// deprecatedEnv maps each environment variable to the old name still read
// in its place (with a warning): serve, backup and the examples once used
// different names for the same setting.
var deprecatedEnv = map[string]string{
	"HEARTH_DEFAULT_MODEL": "HEARTH_MODEL",
	"HEARTH_API_KEYS":      "HEARTH_API_KEY",
}

const usage = `Hearth serves the OpenAI Assistants API (v2) from one local file.

Usage:
  hearth serve   [flags]        serve /v1 over HTTP (see hearth serve -h)
  hearth backup  [flags] OUT    write a consistent, compacted copy of the database to OUT
  hearth compact [flags] [OUT]  give deleted space back: compact the database (in place, or into OUT)
  hearth migrate-store [flags] FROM TO
                                copy a whole store between bbolt:FILE and postgres, then compare every object
  hearth chat    [flags]        chat with an assistant in the terminal (a server's, or --db in-process)
  hearth assistants ls          list assistants (--json for JSON)
  hearth threads ls             list threads
  hearth threads to-conversation THREAD_ID...
                                carry threads into conversations (Responses API)
  hearth files upload FILE...   upload files (--vector-store ID adds them to one)
  hearth version                print the version
`

func (a *app) run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usage)
		return fmt.Errorf("%w: no command", errUsage)
	}
	switch args[0] {
	case "serve":
		return a.serve(ctx, args[1:])
	case "backup":
		return a.backup(ctx, args[1:])
	case "compact":
		return a.compact(ctx, args[1:])
	case "migrate-store":
		return a.migrateStore(ctx, args[1:])
	case "chat":
		return a.chat(ctx, args[1:])
	case "assistants", "threads", "files":
		return a.manage(ctx, args[0], args[1:])
	case "version", "--version", "-version":
		fmt.Fprintln(a.stdout, versionLine())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(a.stdout, usage)
		return nil
	}
	fmt.Fprint(a.stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

// envDuration returns the environment variable name as a duration, or def
// (also when it does not parse: the flag's own parsing is not involved).
func (a *app) envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(a.getenv(name)); err == nil {
		return d
	}
	return def
}

// env returns the environment variable name (or its deprecated old name,
// noting it for a warning), or def.
func (a *app) env(name, def string) string {
	if v := a.getenv(name); v != "" {
		return v
	}
	if old, ok := deprecatedEnv[name]; ok {
		if v := a.getenv(old); v != "" {
			a.deprecated = append(a.deprecated, renamedEnv{old: old, now: name})
			return v
		}
	}
	return def
}

// takeDeprecated returns the deprecated names env read since the last call.
func (a *app) takeDeprecated() []renamedEnv {
	d := a.deprecated
	a.deprecated = nil
	return d
}
