package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
)

// searchDocuments searches two manuals with the file_search tool: the
// vector store files carry attributes, the tool's filter keeps the search
// to the kettle's manual, include shows the results, and the answer's
// marker becomes a file_citation annotation.
func searchDocuments(ctx context.Context, e *engine.Engine, model string, w io.Writer) error {
	vs, err := e.VectorStores.Create(ctx, apitype.VectorStoreCreateParams{Name: apitype.Ptr("manuals")})
	if err != nil {
		return err
	}
	for _, m := range []struct{ name, product, text string }{
		{"kettle.md", "kettle", "# Kettle\n\nThe warranty covers the kettle for two years from the date of purchase. Descale it monthly."},
		{"toaster.md", "toaster", "# Toaster\n\nThe warranty covers the toaster for one year. Empty the crumb tray weekly."},
	} {
		f, err := e.Files.Create(ctx, strings.NewReader(m.text), apitype.FileCreateParams{Filename: m.name, Purpose: apitype.PurposeAssistants})
		if err != nil {
			return err
		}
		if _, err := e.VectorStores.CreateFile(ctx, vs.ID, apitype.VectorStoreFileCreateParams{FileID: f.ID,
			Attributes: map[string]any{"product": m.product}}); err != nil {
			return err
		}
	}
	if _, err := e.VectorStores.Wait(ctx, vs.ID); err != nil {
		return err
	}
	r, err := e.Responses.Create(ctx, &apitype.ResponseCreateParams{Model: model,
		Input:   apitype.TextResponseInput("How long is the kettle's warranty? Cite the manual."),
		Include: []string{apitype.IncludeFileSearchResults},
		Tools: []apitype.ResponseTool{{Type: apitype.ToolTypeFileSearch, VectorStoreIDs: []string{vs.ID},
			Filters: &apitype.Filter{Type: apitype.FilterEq, Key: "product", Value: "kettle"}}}})
	if err != nil {
		return err
	}
	for _, it := range r.Output {
		if c := it.FileSearchCall; c != nil {
			for _, res := range c.Results {
				fmt.Fprintf(w, "found in %s (%v, score %.2f)\n", res.Filename, res.Attributes["product"], res.Score)
			}
		}
	}
	fmt.Fprintf(w, "manuals: %s\n", r.OutputText())
	for _, it := range r.Output {
		if m := it.Message; m != nil {
			for _, a := range m.Content[0].Annotations {
				fmt.Fprintf(w, "cited %s (%s)\n", a.Filename, a.Type)
			}
		}
	}
	return nil
}
