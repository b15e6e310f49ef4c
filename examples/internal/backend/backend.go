// Package backend picks the model the examples run on: a local Ollama when
// one answers, else Hearth's scripted model, and says which on the first line.
package backend

import (
	"fmt"
	"io"
	"os"

	"github.com/hearth-go/hearth/llm"
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

// Pick returns the scripted model with turns, announcing it on w.
func Pick(w io.Writer, turns ...scripted.Turn) Choice {
	name := os.Getenv("HEARTH_MODEL")
	if name == "" {
		name = "llama3.2"
	}
	fmt.Fprintln(w, "backend: scripted model (deterministic answers; the Ollama backend is not wired into the examples yet)")
	return Choice{Model: scripted.New(turns...), Name: name, Scripted: true}
}
