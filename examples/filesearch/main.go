// Filesearch uploads a few documents, puts them in a vector store, asks a
// question the assistant answers from them with file_search, and prints the
// answer with its citations resolved to file names — all offline.
//
//	go run ./examples/filesearch
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/examples/internal/backend"
	"github.com/hearth-go/hearth/llm/scripted"
)

var docs = map[string]string{
	"kettle-manual.md": "# Aurora kettle\n\n## Warranty\nThe Aurora kettle is guaranteed for two years from the date of purchase. " +
		"Keep the receipt: repairs under warranty need it.\n\n## Cleaning\nDescale the kettle every month with white vinegar.",
	"returns-policy.txt": "Returns are accepted within 30 days of delivery if the item is unused and in its original box. " +
		"Refunds go back to the original payment method within 14 days.",
	"shipping.html": "<html><body><h1>Shipping</h1><p>Orders over 50 euros ship free. Standard delivery takes 3 to 5 working days.</p>" +
		"<script>var tracking = 1;</script></body></html>",
}

var script = []scripted.Turn{
	{Calls: []scripted.Call{{Name: "file_search", Arguments: `{"query":"kettle warranty length"}`}}},
	{Match: scripted.HasToolResult, Text: "The Aurora kettle is guaranteed for two years from purchase【0:0†kettle-manual.md】; keep your receipt for repairs."},
}

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	b := backend.Pick(os.Stdout, script...)
	dir, err := os.MkdirTemp("", "hearth-filesearch")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	e, err := engine.Open(ctx, engine.Config{Path: filepath.Join(dir, "hearth.db"), Model: b.Model, Logger: backend.Logger()})
	if err != nil {
		return err
	}
	defer e.Close()

	var ids []string
	names := map[string]string{}
	for name, text := range docs {
		f, err := e.Files.Create(ctx, strings.NewReader(text), apitype.FileCreateParams{Filename: name, Purpose: apitype.PurposeAssistants})
		if err != nil {
			return err
		}
		ids, names[f.ID] = append(ids, f.ID), name
	}
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{Name: apitype.Ptr("Store policies"), FileIDs: ids})
	if err != nil {
		return err
	}
	if vs, err = e.VectorStores.Wait(ctx, vs.ID); err != nil {
		return err
	}
	fmt.Printf("vector store %s: %d files indexed, %d bytes\n", vs.Name, vs.FileCounts.Completed, vs.UsageBytes)

	a, err := e.Assistants.Create(ctx, apitype.AssistantCreateParams{Model: b.Name,
		Instructions:  apitype.Ptr("You answer customer questions from the store's documents. Cite your sources."),
		Tools:         []apitype.Tool{{Type: apitype.ToolTypeFileSearch}},
		ToolResources: &apitype.ToolResources{FileSearch: &apitype.FileSearchResources{VectorStoreIDs: []string{vs.ID}}}})
	if err != nil {
		return err
	}
	question := "How long is the kettle under warranty?"
	run, err := e.Runs.CreateThreadAndRunAndWait(ctx, apitype.ThreadAndRunCreateParams{AssistantID: a.ID,
		Thread: &apitype.ThreadCreateParams{Messages: []apitype.MessageCreateParams{{Role: apitype.RoleUser, Content: apitype.TextInput(question)}}}})
	if err != nil {
		return err
	}
	fmt.Println("user >", question)
	if err := backend.Ended(run); err != nil {
		return err
	}
	page, err := e.Messages.List(ctx, run.ThreadID, apitype.MessageListParams{RunID: run.ID})
	if err != nil {
		return err
	}
	for _, m := range page.Data {
		for _, c := range m.Content {
			if c.Text == nil {
				continue
			}
			// Replace each citation marker by a footnote number, as the
			// seed tutorial does.
			text := []rune(c.Text.Value)
			var out strings.Builder
			last := 0
			for i, ann := range c.Text.Annotations {
				out.WriteString(string(text[last:ann.StartIndex]))
				fmt.Fprintf(&out, "[%d]", i)
				last = ann.EndIndex
			}
			out.WriteString(string(text[last:]))
			fmt.Println("assistant >", out.String())
			for i, ann := range c.Text.Annotations {
				if ann.FileCitation != nil {
					fmt.Printf("  [%d] %s (%s)\n", i, names[ann.FileCitation.FileID], ann.FileCitation.FileID)
				}
			}
		}
	}
	return nil
}
