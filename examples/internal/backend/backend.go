// Package backend picks the model the examples run on: a local Ollama when
// one answers, else Hearth's scripted model, and says which on the first line.
package backend

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/ollama"
	"github.com/hearth-go/hearth/llm/scripted"
)

// Choice is the model an example runs on.
type Choice struct {
	Model llm.Model
	// Name is the model name assistants are created with.
	Name string
	// Scripted is set when the answers come from the script.
	Scripted bool
}

// Pick returns Ollama (at $OLLAMA_HOST or the default address, model
// $HEARTH_DEFAULT_MODEL or llama3.2) when it answers within a second, else
// the scripted model playing turns; HEARTH_MODEL_BACKEND=scripted forces the
// script. The names are hearth serve's; the older HEARTH_MODEL and
// HEARTH_BACKEND still work, with a warning. It announces the choice on w.
func Pick(w io.Writer, turns ...scripted.Turn) Choice {
	return pick(w, os.Getenv, turns...)
}

// renamed maps each variable to its deprecated older name.
var renamed = map[string]string{"HEARTH_DEFAULT_MODEL": "HEARTH_MODEL", "HEARTH_MODEL_BACKEND": "HEARTH_BACKEND"}

func pick(w io.Writer, getenv func(string) string, turns ...scripted.Turn) Choice {
	env := func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		v := getenv(renamed[name])
		if v != "" {
			fmt.Fprintf(w, "warning: %s is deprecated; rename it %s\n", renamed[name], name)
		}
		return v
	}
	name := env("HEARTH_DEFAULT_MODEL")
	if name == "" {
		name = "llama3.2"
	}
	if env("HEARTH_MODEL_BACKEND") != "scripted" {
		if c, err := ollama.New(ollama.Config{Retries: -1}); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err = c.Ping(ctx)
			cancel()
			if err == nil {
				fmt.Fprintf(w, "backend: Ollama at %s, model %s (set HEARTH_DEFAULT_MODEL to change it)\n", c.URL(), name)
				return Choice{Model: c, Name: name}
			}
			fmt.Fprintf(w, "backend: scripted model (deterministic answers; no Ollama answered at %s)\n", c.URL())
			return Choice{Model: scripted.New(turns...), Name: name, Scripted: true}
		}
	}
	fmt.Fprintln(w, "backend: scripted model (deterministic answers; HEARTH_MODEL_BACKEND=scripted)")
	return Choice{Model: scripted.New(turns...), Name: name, Scripted: true}
}

// Ended returns nil for a completed run and otherwise an error with the
// run's status and last_error, so an example that hits a failed run (no
// model pulled, backend down) says why and exits non-zero.
func Ended(r *apitype.Run) error {
	if r.Status == apitype.RunCompleted {
		return nil
	}
	if r.LastError != nil {
		return fmt.Errorf("run %s %s: %s: %s", r.ID, r.Status, r.LastError.Code, r.LastError.Message)
	}
	if r.IncompleteDetails != nil {
		return fmt.Errorf("run %s %s: %s", r.ID, r.Status, r.IncompleteDetails.Reason)
	}
	return fmt.Errorf("run %s ended %s", r.ID, r.Status)
}

// Logger is the examples' engine logger: warnings and errors to stderr, so
// the engine's per-run info lines do not interleave with what an example
// prints.
func Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
