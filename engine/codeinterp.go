package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/codeinterp"
	"github.com/hearth-go/hearth/store"
)

// codeMounts remembers which files each live sandbox session already has,
// so a thread's files are copied in once per session, not once per exec.
// It holds at most maxCodeMounts sessions, forgetting the least recently
// used: a forgotten session only has its files copied in again (WriteFile
// overwrites), while an unbounded map would grow by every thread that ever
// used the interpreter.
type codeMounts struct {
	mu       sync.Mutex
	sessions map[string]*mounted
	tick     uint64
}

// maxCodeMounts is well above how many sandbox sessions run at once.
const maxCodeMounts = 1024

// get returns the record for sess, starting a fresh one when the session is
// new or was restarted, and evicts the least recently used past the bound.
// fresh says why a record was started: "start", "reset" (the sandbox
// replaced the session: evicted or restarted), or "" for a known session.
func (c *codeMounts) get(sess codeinterp.Session) (m *mounted, fresh string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick++
	m = c.sessions[sess.ID()]
	if m == nil || m.sess != sess { // new, or restarted/evicted since
		fresh = "start"
		if m != nil {
			fresh = "reset"
		}
		m = &mounted{sess: sess, files: map[string]string{}}
		if c.sessions == nil {
			c.sessions = map[string]*mounted{}
		}
		c.sessions[sess.ID()] = m
	}
	m.used = c.tick
	if len(c.sessions) > maxCodeMounts {
		oldest, at := "", ^uint64(0)
		for id, o := range c.sessions {
			if o.used < at {
				oldest, at = id, o.used
			}
		}
		delete(c.sessions, oldest)
	}
	return m, fresh
}

// forget drops the record of a session that was closed.
func (c *codeMounts) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.sessions, id)
}

func (c *codeMounts) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sessions)
}

type mounted struct {
	sess  codeinterp.Session
	files map[string]string // file id → name under /mnt/data
	used  uint64            // codeMounts.tick when last used
}

// codeFileIDs lists the files the code interpreter sees in a run: the
// assistant's and the thread's code_interpreter file_ids.
func codeFileIDs(a *apitype.Assistant, t *apitype.Thread) []string {
	var ids []string
	seen := map[string]bool{}
	for _, r := range []*apitype.ToolResources{assistantResources(a), threadResources(t)} {
		if r == nil || r.CodeInterpreter == nil {
			continue
		}
		for _, id := range r.CodeInterpreter.FileIDs {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// runCode is the built-in code_interpreter tool: the thread's sandbox
// session (Python state kept between calls, like a notebook) runs the code
// with the run's files under /mnt/data; files the code writes there become
// Files (purpose assistants_output), images become image outputs.
func (x *runner) runCode(ctx context.Context, call *ToolCall) (*ToolResult, error) {
	e := x.e
	code := decodeArgs(call.Arguments, "code")
	sess, err := e.cfg.CodeInterpreter.Session(ctx, call.Thread.ID)
	if err != nil {
		msg := "error: the code interpreter sandbox is unavailable: " + err.Error()
		return &ToolResult{Output: msg, Logs: msg}, nil
	}
	names, err := x.mountFiles(ctx, sess)
	if err != nil {
		msg := "error: could not put the thread's files in /mnt/data: " + err.Error()
		return &ToolResult{Output: msg, Logs: msg}, nil
	}
	res, err := sess.Exec(ctx, code)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := "error: the sandbox failed: " + err.Error()
		return &ToolResult{Output: msg, Logs: msg}, nil
	}
	out := &ToolResult{Logs: res.Logs()}
	if len(res.Files) > 0 && !x.threadLoaded {
		err := e.store.View(ctx, func(tx store.Tx) error {
			var err error
			x.threadFiles, x.threadBytes, err = tx.OutputFiles(x.run.ThreadID)
			return err
		})
		if err != nil {
			return nil, err
		}
		x.threadLoaded = true
	}
	var made, dropped, droppedThread []string
	for _, f := range res.Files {
		if _, mountedFile := names[f.Name]; mountedFile {
			continue // an input file the code rewrote stays an input
		}
		if x.outFiles+1 > e.cfg.MaxCodeOutputFiles || x.outBytes+f.Size > e.cfg.MaxCodeOutputBytes {
			dropped = append(dropped, f.Path)
			continue
		}
		if x.threadFiles+1 > e.cfg.MaxThreadCodeOutputFiles || x.threadBytes+f.Size > e.cfg.MaxThreadCodeOutputBytes {
			droppedThread = append(droppedThread, f.Path)
			continue
		}
		file, err := x.storeOutput(ctx, f)
		if err != nil {
			e.log.Warn("keep a file the code wrote", "run", x.run.ID, "file", f.Path, "err", err)
			continue
		}
		x.outFiles++
		x.outBytes += file.Bytes
		x.threadFiles++
		x.threadBytes += file.Bytes
		if f.IsImage {
			out.ImageFileIDs = append(out.ImageFileIDs, file.ID)
			x.images = append(x.images, file.ID)
		}
		x.sandboxFiles[f.Path] = file.ID
		made = append(made, fmt.Sprintf("%s (%s)", f.Path, file.ID))
	}
	out.Output = out.Logs
	if out.Output == "" {
		out.Output = "(the code ran and printed nothing)"
	}
	if len(made) > 0 {
		out.Output += "\nFiles written: " + strings.Join(made, ", ") + ". Link them as sandbox:/mnt/data/<name>."
	}
	for _, lim := range []struct {
		what  string
		files int
		bytes int64
		paths []string
		hint  string
	}{
		{"run", e.cfg.MaxCodeOutputFiles, e.cfg.MaxCodeOutputBytes, dropped, "write fewer or smaller files"},
		{"thread", e.cfg.MaxThreadCodeOutputFiles, e.cfg.MaxThreadCodeOutputBytes, droppedThread, "deleting earlier output files makes room"},
	} {
		if len(lim.paths) == 0 {
			continue
		}
		note := fmt.Sprintf("\n[sandbox: not kept, because this %s reached its limit of %d output files or %d bytes of them: %s. "+
			"They stay in /mnt/data for later code but cannot be linked; %s.]",
			lim.what, lim.files, lim.bytes, strings.Join(lim.paths, ", "), lim.hint)
		out.Output += note
		out.Logs += note
	}
	return out, nil
}

// storeOutput streams one file the code wrote into the store.
func (x *runner) storeOutput(ctx context.Context, f codeinterp.OutputFile) (*apitype.File, error) {
	if f.Open == nil {
		return nil, errors.New("the sandbox gave no way to read it")
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return x.e.storeFile(context.WithoutCancel(ctx), rc, f.Name, apitype.PurposeAssistantsOutput, x.run.ThreadID)
}

// mountFiles copies the run's code_interpreter files into the session once
// and returns name → file id of what /mnt/data holds.
func (x *runner) mountFiles(ctx context.Context, sess codeinterp.Session) (map[string]string, error) {
	e := x.e
	m, kind := e.mounts.get(sess)
	if kind != "" {
		e.log.LogAttrs(ctx, slog.LevelInfo, "code interpreter session "+kind, x.ids(slog.String("session", sess.ID()))...)
		e.obs.SessionEvent(ctx, SessionEvent{ThreadID: x.run.ThreadID, Kind: kind})
	}
	names := map[string]string{}
	for id, name := range m.files {
		names[name] = id
	}
	for _, id := range codeFileIDs(x.asst, x.thread) {
		if _, ok := m.files[id]; ok {
			continue
		}
		var f *apitype.File
		err := e.store.View(ctx, func(tx store.Tx) (err error) {
			f, err = tx.GetFile(id)
			return err
		})
		if errors.Is(err, apitype.ErrNotFound) {
			// Deleted since the thread or assistant named it: a session
			// that had it mounted keeps it, a fresh one (restarted, or on
			// another replica) goes without rather than fail the code.
			continue
		}
		if err != nil {
			return nil, err
		}
		data, err := e.readFile(ctx, id)
		if err != nil {
			return nil, err
		}
		name := f.Filename
		if _, taken := names[name]; taken || !safeName(name) {
			name = id + "-" + sanitize(name)
		}
		if err := sess.WriteFile(name, data); err != nil {
			return nil, err
		}
		m.files[id], names[name] = name, id
	}
	return names, nil
}

func safeName(n string) bool {
	return n != "" && n != "." && n != ".." && !strings.ContainsAny(n, "/\\\x00") && utf8.ValidString(n) && len(n) <= 200
}

func sanitize(n string) string {
	n = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, n)
	if len(n) > 150 {
		n = n[:150]
	}
	return strings.ToValidUTF8(n, "_")
}

// codeFilesNote tells the model which files the code interpreter has.
func (x *runner) codeFilesNote() string {
	if !x.hasTool(apitype.ToolTypeCodeInterpreter) {
		return ""
	}
	ids := codeFileIDs(x.asst, x.thread)
	if len(ids) == 0 {
		return ""
	}
	var names []string
	_ = x.e.store.View(x.ctx, func(tx store.Tx) error {
		for _, id := range ids {
			if f, err := tx.GetFile(id); err == nil {
				names = append(names, fmt.Sprintf("/mnt/data/%s (%s)", f.Filename, id))
			}
		}
		return nil
	})
	if len(names) == 0 {
		return ""
	}
	return "Files available to the code interpreter: " + strings.Join(names, ", ") + "."
}

var sandboxPathRE = regexp.MustCompile(`sandbox:/mnt/data/[^\s)\]"'>]+`)

// filePaths turns sandbox:/mnt/data/… links in text into file_path
// annotations for the files this run's code wrote.
func filePaths(text string, files map[string]string) []apitype.Annotation {
	var out []apitype.Annotation
	for _, loc := range sandboxPathRE.FindAllStringIndex(text, -1) {
		link := strings.TrimRight(text[loc[0]:loc[1]], ".,;:")
		id, ok := files[strings.TrimPrefix(link, "sandbox:")]
		if !ok {
			continue
		}
		start := utf8.RuneCountInString(text[:loc[0]])
		out = append(out, apitype.Annotation{Type: apitype.AnnotationFilePath, Text: link, StartIndex: start,
			EndIndex: start + utf8.RuneCountInString(link), FilePath: &apitype.FilePath{FileID: id}})
	}
	return out
}

// errNoSandbox is the answer when no sandbox is configured.
var errNoSandbox = errors.New("no code interpreter sandbox is configured (engine.Config.CodeInterpreter)")
