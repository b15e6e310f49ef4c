package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hearth-go/hearth/apitype"
)

// manage is the small management verbs: `hearth assistants ls`, `hearth
// threads ls`, `hearth threads to-conversation THREAD_ID...` (the bridge to
// the Responses API), `hearth files ls` and `hearth files upload FILE...`,
// printed as a table or, with --json, as the API's objects.
func (a *app) manage(ctx context.Context, noun string, args []string) error {
	verbs := map[string][]string{"assistants": {"ls"}, "threads": {"ls", "to-conversation"}, "files": {"ls", "upload"}}
	if len(args) == 0 || !contains(verbs[noun], args[0]) {
		return fmt.Errorf("%w: hearth %s %s", errUsage, noun, strings.Join(verbs[noun], "|"))
	}
	verb := args[0]
	fs := flag.NewFlagSet(noun+" "+verb, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	cf := a.addClientFlags(fs)
	limit := fs.Int("limit", 100, "list at most this many, newest first")
	var store *string
	if verb == "upload" {
		store = fs.String("vector-store", "", "add the uploaded files to this vector store")
	}
	if err := fs.Parse(args[1:]); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if verb == "ls" && fs.NArg() > 0 || verb == "upload" && fs.NArg() == 0 {
		return fmt.Errorf("%w: hearth %s %s [flags]%s", errUsage, noun, verb, map[bool]string{true: " FILE...", false: ""}[verb == "upload"])
	}
	if verb == "to-conversation" && fs.NArg() == 0 {
		return fmt.Errorf("%w: hearth threads to-conversation [flags] THREAD_ID...", errUsage)
	}
	c, err := a.open(ctx, cf)
	if err != nil {
		return err
	}
	defer c.Close()
	tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	defer tw.Flush()
	list := func(path string, out any) error {
		return c.do(ctx, http.MethodGet, fmt.Sprintf("%s?order=desc&limit=%d", path, min(max(*limit, 1), apitype.MaxListLimit)), nil, out)
	}
	emit := func(v any, table func()) error {
		if cf.json {
			enc := json.NewEncoder(a.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(v)
		}
		table()
		return nil
	}
	switch noun + " " + verb {
	case "assistants ls":
		var page apitype.Page[apitype.Assistant]
		if err := list("/assistants", &page); err != nil {
			return err
		}
		return emit(page.Data, func() {
			fmt.Fprintln(tw, "ID\tNAME\tMODEL\tTOOLS\tCREATED")
			for _, as := range page.Data {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", as.ID, deref(as.Name), as.Model, toolList(as.Tools), stamp(as.CreatedAt))
			}
		})
	case "threads ls":
		var page apitype.Page[apitype.Thread]
		if err := list("/threads", &page); err != nil {
			return err
		}
		return emit(page.Data, func() {
			fmt.Fprintln(tw, "ID\tCREATED\tMETADATA")
			for _, t := range page.Data {
				var md []string
				for _, k := range sortedKeys(t.Metadata) {
					md = append(md, k+"="+t.Metadata[k])
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", t.ID, stamp(t.CreatedAt), strings.Join(md, ","))
			}
		})
	case "threads to-conversation":
		var convs []apitype.Conversation
		for _, id := range fs.Args() {
			var conv apitype.Conversation
			if err := c.do(ctx, http.MethodPost, "/threads/"+url.PathEscape(id)+"/conversation", nil, &conv); err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			convs = append(convs, conv)
		}
		return emit(convs, func() {
			fmt.Fprintln(tw, "THREAD\tCONVERSATION\tCREATED")
			for _, conv := range convs {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", conv.Metadata["hearth_thread_id"], conv.ID, stamp(conv.CreatedAt))
			}
		})
	case "files ls":
		var page apitype.Page[apitype.File]
		if err := list("/files", &page); err != nil {
			return err
		}
		return emit(page.Data, func() { fileTable(tw, page.Data, nil) })
	case "files upload":
		var files []apitype.File
		status := map[string]string{}
		for _, path := range fs.Args() {
			var f apitype.File
			if err := c.upload(ctx, path, &f); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			files = append(files, f)
			if *store != "" {
				var vf apitype.VectorStoreFile
				if err := c.do(ctx, http.MethodPost, "/vector_stores/"+url.PathEscape(*store)+"/files", map[string]string{"file_id": f.ID}, &vf); err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				status[f.ID] = string(vf.Status)
			}
		}
		return emit(files, func() { fileTable(tw, files, status) })
	}
	return nil
}

func fileTable(tw *tabwriter.Writer, files []apitype.File, status map[string]string) {
	head := "ID\tFILENAME\tBYTES\tPURPOSE\tCREATED"
	if status != nil && len(status) > 0 {
		head += "\tVECTOR STORE"
	}
	fmt.Fprintln(tw, head)
	for _, f := range files {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s", f.ID, f.Filename, f.Bytes, f.Purpose, stamp(f.CreatedAt))
		if len(status) > 0 {
			fmt.Fprintf(tw, "\t%s", status[f.ID])
		}
		fmt.Fprintln(tw)
	}
}

func toolList(ts []apitype.Tool) string {
	var out []string
	for _, t := range ts {
		if t.Function != nil {
			out = append(out, t.Function.Name+"()")
		} else {
			out = append(out, string(t.Type))
		}
	}
	return strings.Join(out, ",")
}

func stamp(unix int64) string { return time.Unix(unix, 0).UTC().Format("2006-01-02 15:04") }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
