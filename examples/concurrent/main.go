// Concurrent starts three create-thread-and-runs at once and waits on all:
// each thread has its own run, and the engine's worker pool runs them side
// by side.
//
//	go run ./examples/concurrent
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/examples/internal/backend"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/scripted"
	"golang.org/x/sync/errgroup"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	b := backend.Pick(os.Stdout)
	if m, ok := b.Model.(*scripted.Model); ok {
		m.Fallback = func(r *llm.Request) scripted.Turn { return scripted.Turn{Text: "Answer to: " + scripted.LastUser(r)} }
	}
	dir, err := os.MkdirTemp("", "hearth-concurrent")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	e, err := engine.Open(ctx, engine.Config{Path: filepath.Join(dir, "hearth.db"), Model: b.Model, Logger: backend.Logger()})
	if err != nil {
		return err
	}
	defer e.Close()
	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: b.Name, Instructions: apitype.Ptr("Answer in one sentence.")})
	if err != nil {
		return err
	}
	questions := []string{"I need to solve the equation `3x + 11 = 14`. Can you help me?",
		"Could you explain linear algebra to me?", "I don't like math. What can I do?"}
	runs := make([]*apitype.Run, len(questions))
	var g errgroup.Group
	for i, q := range questions {
		g.Go(func() error {
			r, err := e.Runs.CreateThreadAndRunAndWait(ctx, apitype.ThreadAndRunCreateParams{AssistantID: a.ID,
				Thread: &apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: apitype.RoleUser, Content: apitype.TextInput(q)}}}})
			runs[i] = r
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	var failed []error
	for i, r := range runs {
		page, err := e.Messages.List(ctx, r.ThreadID, apitype.MessageListParams{RunID: r.ID})
		if err != nil {
			return err
		}
		fmt.Printf("# %s\n%s → run %s\n", questions[i], r.ThreadID, r.Status)
		for _, m := range page.Data {
			fmt.Printf("assistant > %s\n", m.Text())
		}
		if err := backend.Ended(r); err != nil {
			failed = append(failed, err)
		}
	}
	return errors.Join(failed...)
}
