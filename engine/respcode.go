package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/codeinterp"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/store"
)

// The code_interpreter tool of the Responses API. Its Python runs in a
// container (the Containers API): the one the tool names, or, for
// container {type: "auto"}, one made for the response at its first call.
// A container is one sandbox session, so variables and /mnt/data persist
// between the calls and responses that use it, and one container's are
// never another's. Each call is a code_interpreter_call output item, its
// code streamed as response.code_interpreter_call_code.delta and the
// call's progress as response.code_interpreter_call.in_progress /
// interpreting / completed; files the code writes under /mnt/data become
// container files, and the answer's links to them container_file_citation
// annotations. Outputs (logs, images) are kept with the item, for the
// model's later turns, and shown only when include asks for
// code_interpreter_call.outputs.

// respCode is a response's code interpreter state.
type respCode struct {
	// container is the container made for an auto tool, "" until then.
	container string
	// items maps a streamed call's index to its item's id (output indexes
	// move when refused calls are dropped).
	items map[int]string
	// written maps each /mnt/data path the response's code wrote to its
	// container file, for citations.
	written map[string]apitype.ContainerFile
}

func (x *responseRun) codeState() *respCode {
	if x.code == nil {
		x.code = &respCode{items: map[int]string{}, written: map[string]apitype.ContainerFile{}}
	}
	return x.code
}

// codeToolOf is the response's code_interpreter tool and its index.
func codeToolOf(r *apitype.Response) (*apitype.ResponseTool, int) {
	for i := range r.Tools {
		if r.Tools[i].Type == apitype.ToolTypeCodeInterpreter {
			return &r.Tools[i], i
		}
	}
	return nil, -1
}

// isCodeCall reports whether a call of the model's is the response's
// code_interpreter tool.
func (x *responseRun) isCodeCall(name string) bool {
	t, _ := codeToolOf(x.resp)
	return name == codeInterpreterTool.Name && t != nil
}

// withCodeFiles gives the code_interpreter tool a description for
// Responses naming the files its container holds (or an auto container
// will), so the model can open them: the hosted model is told the same.
func (x *responseRun) withCodeFiles(tools []llm.Tool) []llm.Tool {
	t, _ := codeToolOf(x.resp)
	i := slices.IndexFunc(tools, func(lt llm.Tool) bool { return lt.Name == codeInterpreterTool.Name })
	if t == nil || i < 0 {
		return tools
	}
	var paths []string
	_ = x.e.store.View(x.ctx, func(tx store.Tx) error {
		switch c := t.Container; {
		case c != nil && c.ID != "":
			files, err := tx.ContainerFiles(c.ID)
			for _, f := range files {
				paths = append(paths, f.Path)
			}
			return err
		case c != nil && c.Auto != nil:
			taken := map[string]bool{}
			for _, id := range c.Auto.FileIDs {
				if f, err := tx.GetFile(id); err == nil {
					paths = append(paths, containerPath(id, f.Filename, taken))
				}
			}
		}
		return nil
	})
	lt := tools[i]
	lt.Description = "Run Python 3 code in a sandbox and get back what it prints. Files are in /mnt/data; files the code writes there can be linked as sandbox:/mnt/data/<name>. State persists between calls in this container."
	if len(paths) > 0 {
		const max = 50
		more := ""
		if len(paths) > max {
			paths, more = paths[:max], fmt.Sprintf(" and %d more", len(paths)-max)
		}
		lt.Description += " Files available: " + strings.Join(paths, ", ") + more + "."
	}
	out := slices.Clone(tools)
	out[i] = lt
	return out
}

// checkCodeTools refuses, before anything is written, a code_interpreter
// tool that cannot run: no sandbox configured, an unknown or expired
// container, auto files the store does not hold.
func (e *Engine) checkCodeTools(tx store.Tx, tools []apitype.ResponseTool) error {
	for i, t := range tools {
		if t.Type != apitype.ToolTypeCodeInterpreter {
			continue
		}
		if e.cfg.CodeInterpreter == nil {
			return &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Code: apitype.CodeUnsupported, Status: 400,
				Param: fmt.Sprintf("tools[%d].type", i), Message: "The code_interpreter tool is not available: this Hearth has no code interpreter sandbox (engine.Config.CodeInterpreter)."}
		}
		param := fmt.Sprintf("tools[%d].container", i)
		c := t.Container
		switch {
		case c == nil:
		case c.Auto != nil:
			for j, id := range c.Auto.FileIDs {
				if _, err := tx.GetFile(id); err != nil {
					return &apitype.Error{Type: apitype.ErrorTypeInvalidRequest, Status: 400, Param: fmt.Sprintf("%s.file_ids[%d]", param, j),
						Message: fmt.Sprintf("No file found with id '%s'.", id)}
				}
			}
		default:
			got, err := tx.GetContainer(c.ID)
			if err != nil {
				if ae := (*apitype.Error)(nil); errors.As(err, &ae) {
					cp := *ae
					cp.Param = param
					return &cp
				}
				return err
			}
			if got.Status == apitype.ContainerExpired || e.now() >= got.ExpiresAt() {
				return apitype.ContainerExpiredError(param, got.ID)
			}
		}
	}
	return nil
}

// codeDelta streams a code_interpreter call being written: its item is
// added at the first piece, then its code as it grows. It reports whether
// the delta was the code interpreter's.
func (x *responseRun) codeDelta(d llm.ToolCallDelta) bool {
	st := x.codeState()
	id, open := st.items[d.Index]
	if !open && !x.isCodeCall(d.Name) {
		return false
	}
	idx := x.outputIndex(id)
	if !open {
		x.closeMessage("completed")
		idx = x.openCodeItem()
		st.items[d.Index] = x.resp.Output[idx].ID()
		x.streamed[d.Index] = &streamedCall{}
	}
	sc := x.streamed[d.Index]
	sc.args.WriteString(d.ArgumentsDelta)
	x.sendCode(idx, sc, partialString(sc.args.String(), "code"))
	return true
}

// openCodeItem adds a code_interpreter_call in progress to the output.
func (x *responseRun) openCodeItem() int {
	it := &apitype.CodeInterpreterCallItem{ID: x.e.newID(store.PrefixCodeInterpreterCall), Code: new(string), Status: apitype.ItemInProgress}
	if t, _ := codeToolOf(x.resp); t != nil && t.Container != nil && t.Container.ID != "" {
		it.ContainerID = t.Container.ID
	} else if x.code != nil {
		it.ContainerID = x.code.container
	}
	idx := len(x.resp.Output)
	x.resp.Output = append(x.resp.Output, apitype.ItemOf(it))
	added := cloneItem(x.resp.Output[idx])
	x.log.publish(
		apitype.ResponseStreamEvent{Type: apitype.EventOutputItemAdded, OutputIndex: idx, Item: &added},
		apitype.ResponseStreamEvent{Type: apitype.EventCodeInterpreterInProgress, ItemID: it.ID, OutputIndex: idx})
	return idx
}

// sendCode publishes the part of code not yet sent as a code delta.
func (x *responseRun) sendCode(idx int, sc *streamedCall, code string) {
	it := x.resp.Output[idx].CodeInterpreterCall
	if len(code) <= sc.sent || !strings.HasPrefix(code, codeOf(it)) {
		return
	}
	delta := code[sc.sent:]
	*it.Code = code
	sc.sent = len(code)
	x.log.publish(apitype.ResponseStreamEvent{Type: apitype.EventCodeInterpreterCodeDelta, ItemID: it.ID, OutputIndex: idx, Delta: delta})
}

// outputIndex is the output index of the item with this id, -1 if none.
func (x *responseRun) outputIndex(id string) int {
	if id == "" {
		return -1
	}
	return slices.IndexFunc(x.resp.Output, func(it apitype.Item) bool { return it.ID() == id })
}

func codeOf(c *apitype.CodeInterpreterCallItem) string {
	if c.Code == nil {
		return ""
	}
	return *c.Code
}

// runCodeCall runs one whole code_interpreter call of the reply (index i
// among the reply's calls) in its container, as its output item.
func (x *responseRun) runCodeCall(i int, call llm.ToolCall) error {
	st := x.codeState()
	id, ok := st.items[i]
	idx := x.outputIndex(id)
	sc := x.streamed[i]
	if !ok || idx < 0 {
		idx = x.openCodeItem()
		sc = &streamedCall{}
	}
	delete(st.items, i)
	delete(x.streamed, i)
	code := decodeArgs(call.Arguments, "code")
	it := x.resp.Output[idx].CodeInterpreterCall
	if code != codeOf(it) {
		if strings.HasPrefix(code, codeOf(it)) {
			x.sendCode(idx, sc, code)
		} else {
			*it.Code = code // what streamed was not the call's code after all
		}
	}
	x.log.publish(
		apitype.ResponseStreamEvent{Type: apitype.EventCodeInterpreterCodeDone, ItemID: it.ID, OutputIndex: idx, Code: code},
		apitype.ResponseStreamEvent{Type: apitype.EventCodeInterpreterInterpreting, ItemID: it.ID, OutputIndex: idx})
	it.Status = apitype.ItemInterpreting
	outputs, status, err := x.execCode(it, code)
	if err != nil {
		return err
	}
	it.Outputs, it.Status = outputs, status
	done := cloneItem(x.resp.Output[idx])
	x.log.publish(
		apitype.ResponseStreamEvent{Type: apitype.EventCodeInterpreterCompleted, ItemID: it.ID, OutputIndex: idx},
		apitype.ResponseStreamEvent{Type: apitype.EventOutputItemDone, OutputIndex: idx, Item: &done})
	x.builtinCalls++
	return nil
}

// execCode runs code in the call's container and returns the call's
// outputs and status. Failures the model can act on (an expired
// container, a sandbox error) are outputs with status failed; only the
// response's own end (cancel, close) is an error.
func (x *responseRun) execCode(it *apitype.CodeInterpreterCallItem, code string) ([]apitype.CodeInterpreterCallOutput, string, error) {
	e := x.e
	fail := func(msg string) ([]apitype.CodeInterpreterCallOutput, string, error) {
		return []apitype.CodeInterpreterCallOutput{{Type: "logs", Logs: msg}}, apitype.ItemFailed, nil
	}
	cid, err := x.callContainer()
	if err != nil {
		if x.ctx.Err() != nil {
			return nil, "", x.ctx.Err()
		}
		return fail("error: " + errText(err))
	}
	it.ContainerID = cid
	if _, err := e.touchContainer(x.ctx, cid, ""); err != nil {
		if errors.Is(err, errContainerOverdue) {
			_, _ = e.expireContainer(context.WithoutCancel(x.ctx), cid) // takes the lock
			err = apitype.ContainerExpiredError("", cid)
		}
		return fail("error: " + errText(err))
	}
	defer e.Containers.lock(cid)()
	sess, m, err := e.containerSession(x.ctx, cid)
	if err != nil {
		if x.ctx.Err() != nil {
			return nil, "", x.ctx.Err()
		}
		return fail("error: the code interpreter sandbox is unavailable: " + err.Error())
	}
	res, err := sess.Exec(x.ctx, code)
	if x.ctx.Err() != nil {
		return nil, "", x.ctx.Err() // cancelled or closing: the call ends incomplete
	}
	if err != nil {
		return fail("error: the sandbox failed: " + err.Error())
	}
	logs := res.Logs()
	images, note, err := x.keepWritten(cid, m, res.Files)
	if err != nil {
		return nil, "", err
	}
	logs += note
	var outs []apitype.CodeInterpreterCallOutput
	if logs != "" || len(images) == 0 {
		outs = append(outs, apitype.CodeInterpreterCallOutput{Type: "logs", Logs: logs})
	}
	for _, f := range images {
		outs = append(outs, apitype.CodeInterpreterCallOutput{Type: "image", URL: containerFileURL(f)})
	}
	return outs, apitype.ItemCompleted, nil
}

// containerFileURL is where a container file's bytes are served.
func containerFileURL(f apitype.ContainerFile) string {
	return "/v1/containers/" + f.ContainerID + "/files/" + f.ID + "/content"
}

func errText(err error) string {
	if ae := (*apitype.Error)(nil); errors.As(err, &ae) {
		return ae.Message
	}
	return err.Error()
}

// callContainer is the container a call runs in: the tool's; or, for an
// auto tool, as the hosted API does, the active container of the newest
// code_interpreter_call in the response's context (its input, then the
// conversation or previous_response_id chain), else one made now. An auto
// tool's files the container lacks are copied in.
func (x *responseRun) callContainer() (string, error) {
	t, i := codeToolOf(x.resp)
	if t != nil && t.Container != nil && t.Container.ID != "" {
		return t.Container.ID, nil
	}
	st := x.codeState()
	if st.container != "" {
		return st.container, nil
	}
	p := apitype.ContainerCreateParams{Name: "auto " + x.resp.ID}
	if t != nil && t.Container != nil && t.Container.Auto != nil {
		p.FileIDs = t.Container.Auto.FileIDs
		if t.Container.Auto.MemoryLimit != nil {
			p.MemoryLimit = *t.Container.Auto.MemoryLimit
		}
	}
	ctx := context.WithoutCancel(x.ctx)
	if id := x.contextContainer(); id != "" {
		if err := x.addAutoFiles(ctx, id, p.FileIDs); err == nil {
			st.container = id
			return id, nil
		} else if !errors.Is(err, apitype.ErrNotFound) {
			return "", err
		}
	}
	c, err := x.e.createContainer(ctx, p, fmt.Sprintf("tools[%d].container.file_ids", i))
	if err != nil {
		return "", err
	}
	st.container = c.ID
	return c.ID, nil
}

// maxContainerLookback bounds how many history items an auto tool looks
// through for an earlier call's container.
const maxContainerLookback = 1000

// contextContainer is the container of the newest code_interpreter_call in
// the response's context that is still active, "" if none.
func (x *responseRun) contextContainer() string {
	found := ""
	e := x.e
	_ = e.store.View(x.ctx, func(tx store.Tx) error {
		active := func(id string) bool {
			c, err := tx.GetContainer(id)
			return err == nil && c.Status == apitype.ContainerActive && e.now() < c.ExpiresAt()
		}
		for i := len(x.input) - 1; i >= 0; i-- {
			if c := x.input[i].CodeInterpreterCall; c != nil && c.ContainerID != "" {
				if active(c.ContainerID) {
					found = c.ContainerID
				}
				return nil
			}
		}
		seen := 0
		look := func(it *apitype.Item, _ int) (bool, error) {
			seen++
			if c := it.CodeInterpreterCall; c != nil && c.ContainerID != "" {
				if active(c.ContainerID) {
					found = c.ContainerID
				}
				return false, nil
			}
			return seen < maxContainerLookback, nil
		}
		switch r := x.resp; {
		case r.Conversation != nil:
			return tx.EachConversationItem(r.Conversation.ID, true, look)
		case r.PreviousResponseID != nil:
			return tx.ResponseHistory(*r.PreviousResponseID, look)
		}
		return nil
	})
	return found
}

// addAutoFiles copies into a reused container the auto tool's files it does
// not hold yet (by name under /mnt/data).
func (x *responseRun) addAutoFiles(ctx context.Context, containerID string, fileIDs []string) error {
	if len(fileIDs) == 0 {
		return nil
	}
	e := x.e
	var have []apitype.ContainerFile
	var srcs []*apitype.File
	if err := e.store.View(ctx, func(tx store.Tx) (err error) {
		if have, err = tx.ContainerFiles(containerID); err != nil {
			return err
		}
		for _, id := range fileIDs {
			f, err := tx.GetFile(id)
			if err != nil {
				return err
			}
			srcs = append(srcs, f)
		}
		return nil
	}); err != nil {
		return err
	}
	paths := map[string]bool{}
	for _, f := range have {
		paths[f.Path] = true
	}
	for _, f := range srcs {
		if paths["/mnt/data/"+f.Filename] {
			continue
		}
		if _, err := e.Containers.Files.Create(ctx, containerID, apitype.ContainerFileCreateParams{FileID: f.ID}); err != nil {
			return err
		}
	}
	return nil
}

// keepWritten makes the files an exec wrote or changed under /mnt/data
// container files (a changed file gets a new id, its old record and bytes
// go), in one transaction that also records the container's activity; it
// returns the images among them and a note for the model of what was kept
// and what was not. The caps are the Assistants code interpreter's:
// MaxCodeOutputFiles/Bytes per response, MaxThreadCodeOutputFiles/Bytes per
// container.
func (x *responseRun) keepWritten(cid string, m *mounted, written []codeinterp.OutputFile) ([]apitype.ContainerFile, string, error) {
	e := x.e
	if len(written) == 0 {
		return nil, "", nil
	}
	ctx := context.WithoutCancel(x.ctx)
	var have []apitype.ContainerFile
	if err := e.store.View(ctx, func(tx store.Tx) (err error) {
		have, err = tx.ContainerFiles(cid)
		return err
	}); err != nil {
		return nil, "", err
	}
	byPath := map[string]apitype.ContainerFile{}
	var ownFiles int
	var ownBytes int64
	for _, f := range have {
		byPath[f.Path] = f
		if f.Source == apitype.ContainerFileAssistant {
			ownFiles++
			ownBytes += f.Bytes
		}
	}
	var made []apitype.ContainerFile
	var replaced []apitype.ContainerFile
	var kept, dropped, droppedContainer []string
	defer func() {
		for _, f := range made {
			e.removeBytes(ctx, SpaceContainers, f.ID) // emptied once committed
		}
	}()
	for _, w := range written {
		if x.outFiles+1 > e.cfg.MaxCodeOutputFiles || x.outBytes+w.Size > e.cfg.MaxCodeOutputBytes {
			dropped = append(dropped, w.Path)
			continue
		}
		if ownFiles+1 > e.cfg.MaxThreadCodeOutputFiles || ownBytes+w.Size > e.cfg.MaxThreadCodeOutputBytes {
			droppedContainer = append(droppedContainer, w.Path)
			continue
		}
		if w.Open == nil {
			continue
		}
		rc, err := w.Open()
		if err != nil {
			e.log.Warn("keep a file the code wrote", "container", cid, "file", w.Path, "err", err)
			continue
		}
		f := apitype.ContainerFile{ID: e.newID(store.PrefixContainerFile), Object: apitype.ObjectContainerFile, ContainerID: cid,
			CreatedAt: e.now(), Path: w.Path, Source: apitype.ContainerFileAssistant}
		f.Bytes, err = e.writeBytes(ctx, SpaceContainers, f.ID, rc, e.cfg.MaxFileBytes)
		rc.Close()
		if err != nil {
			e.log.Warn("keep a file the code wrote", "container", cid, "file", w.Path, "err", err)
			continue
		}
		if old, ok := byPath[w.Path]; ok {
			replaced = append(replaced, old)
		}
		made = append(made, f)
		kept = append(kept, w.Path)
		x.outFiles++
		x.outBytes += f.Bytes
		ownFiles++
		ownBytes += f.Bytes
	}
	err := e.store.Update(ctx, func(tx store.Tx) error {
		c, err := tx.GetContainer(cid)
		if err != nil {
			return err
		}
		for _, old := range replaced {
			if err := tx.DeleteContainerFile(cid, old.ID); err != nil && !errors.Is(err, apitype.ErrNotFound) {
				return err
			}
		}
		for i := range made {
			if err := tx.PutContainerFile(&made[i]); err != nil {
				return err
			}
		}
		if c.Status == apitype.ContainerActive {
			c.LastActiveAt = e.now()
			return tx.PutContainer(c)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	var images []apitype.ContainerFile
	for _, old := range replaced {
		e.removeBytes(ctx, SpaceContainers, old.ID)
		delete(m.files, old.ID)
	}
	for _, f := range made {
		m.files[f.ID] = strings.TrimPrefix(f.Path, "/mnt/data/")
		x.codeState().written[f.Path] = f
		for _, w := range written {
			if w.Path == f.Path && w.IsImage {
				images = append(images, f)
			}
		}
	}
	made = nil
	var note strings.Builder
	if len(kept) > 0 {
		fmt.Fprintf(&note, "[Files written: %s. Link them as sandbox:/mnt/data/<name>.]\n", strings.Join(kept, ", "))
	}
	for _, lim := range []struct {
		what  string
		files int
		bytes int64
		paths []string
	}{
		{"response", e.cfg.MaxCodeOutputFiles, e.cfg.MaxCodeOutputBytes, dropped},
		{"container", e.cfg.MaxThreadCodeOutputFiles, e.cfg.MaxThreadCodeOutputBytes, droppedContainer},
	} {
		if len(lim.paths) > 0 {
			fmt.Fprintf(&note, "[sandbox: not kept as container files, because this %s reached its limit of %d output files or %d bytes of them: %s. "+
				"They stay in /mnt/data for later code but cannot be linked.]\n", lim.what, lim.files, lim.bytes, strings.Join(lim.paths, ", "))
		}
	}
	return images, note.String(), nil
}

// containerCitations are the container_file_citation annotations of text:
// its sandbox:/mnt/data/… links (or bare /mnt/data/… paths) to files the
// response's code wrote, indexed in characters over the link.
func (x *responseRun) containerCitations(text string) []apitype.OutputAnnotation {
	if x.code == nil || len(x.code.written) == 0 || !strings.Contains(text, "/mnt/data/") {
		return nil
	}
	var out []apitype.OutputAnnotation
	for _, loc := range mntPathRE.FindAllStringIndex(text, -1) {
		link := strings.TrimRight(text[loc[0]:loc[1]], ".,;:")
		f, ok := x.code.written[strings.TrimPrefix(link, "sandbox:")]
		if !ok {
			continue
		}
		start := utf8.RuneCountInString(text[:loc[0]])
		out = append(out, apitype.OutputAnnotation{Type: apitype.AnnotationContainerFileCitation, ContainerID: f.ContainerID, FileID: f.ID,
			Filename: f.Path[strings.LastIndexByte(f.Path, '/')+1:], StartIndex: start, EndIndex: start + utf8.RuneCountInString(link)})
	}
	return out
}

var mntPathRE = regexp.MustCompile(`(?:sandbox:)?/mnt/data/[^\s)\]"'>]+`)

// dropOpenCode removes the code calls a refused reply streamed but never
// made whole.
func (x *responseRun) dropOpenCode() {
	if x.code == nil || len(x.code.items) == 0 {
		return
	}
	drop := map[string]bool{}
	for i, id := range x.code.items {
		drop[id] = true
		delete(x.streamed, i)
	}
	x.code.items = map[int]string{}
	x.resp.Output = slices.DeleteFunc(x.resp.Output, func(it apitype.Item) bool { return it.CodeInterpreterCall != nil && drop[it.ID()] })
}

// endCode marks the code calls a response ended during as incomplete.
func endCode(r *apitype.Response) {
	for i := range r.Output {
		if c := r.Output[i].CodeInterpreterCall; c != nil && (c.Status == apitype.ItemInProgress || c.Status == apitype.ItemInterpreting) {
			c.Status = apitype.ItemIncomplete
		}
	}
}

// codeCallText is what the model reads back of a call: its logs.
func codeCallText(c *apitype.CodeInterpreterCallItem) string {
	var b strings.Builder
	for _, o := range c.Outputs {
		switch o.Type {
		case "logs":
			b.WriteString(o.Logs)
		case "image":
			fmt.Fprintf(&b, "[image: %s]\n", o.URL)
		}
	}
	if b.Len() == 0 {
		if c.Status == apitype.ItemIncomplete {
			return "(the code did not finish)"
		}
		return "(the code ran and printed nothing)"
	}
	return b.String()
}

// codeCallMessages are a code_interpreter_call as the model's call and the
// tool's answer (text: the outputs, as fitted).
func codeCallMessages(c *apitype.CodeInterpreterCallItem, text string) []llm.Message {
	code := ""
	if c.Code != nil {
		code = *c.Code
	}
	args, _ := json.Marshal(map[string]string{"code": code})
	return []llm.Message{
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: c.ID, Name: codeInterpreterTool.Name, Arguments: args}}},
		{Role: llm.RoleTool, ToolCallID: c.ID, ToolName: codeInterpreterTool.Name, Content: text},
	}
}

// replayCodeCall publishes the events that rebuild a stored call, in the
// order the executor sent them.
func replayCodeCall(l *respLog, i int, c *apitype.CodeInterpreterCallItem) {
	added := *c
	added.Status, added.Code, added.Outputs = apitype.ItemInProgress, new(string), nil
	ai, done := apitype.ItemOf(&added), apitype.ItemOf(c)
	code := codeOf(c)
	l.publish(apitype.ResponseStreamEvent{Type: apitype.EventOutputItemAdded, OutputIndex: i, Item: &ai},
		apitype.ResponseStreamEvent{Type: apitype.EventCodeInterpreterInProgress, ItemID: c.ID, OutputIndex: i},
		apitype.ResponseStreamEvent{Type: apitype.EventCodeInterpreterCodeDelta, ItemID: c.ID, OutputIndex: i, Delta: code},
		apitype.ResponseStreamEvent{Type: apitype.EventCodeInterpreterCodeDone, ItemID: c.ID, OutputIndex: i, Code: code},
		apitype.ResponseStreamEvent{Type: apitype.EventCodeInterpreterInterpreting, ItemID: c.ID, OutputIndex: i},
		apitype.ResponseStreamEvent{Type: apitype.EventCodeInterpreterCompleted, ItemID: c.ID, OutputIndex: i},
		apitype.ResponseStreamEvent{Type: apitype.EventOutputItemDone, OutputIndex: i, Item: &done})
}
