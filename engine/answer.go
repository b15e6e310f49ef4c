package engine

import (
	"strings"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/store"
)

// appendText streams a text delta, opening the message (and its step) on
// the first one.
func (x *runner) appendText(delta string) error {
	if x.toolStep != nil {
		// Text after tool calls in one reply: keep it with the next message.
		x.e.log.Debug("text after tool calls", "run", x.run.ID)
	}
	if x.msg == nil {
		if err := x.openMessage(); err != nil {
			return err
		}
	}
	x.text.WriteString(delta)
	x.out.publish(apitype.Event{Event: apitype.EventMessageDelta, MessageDelta: &apitype.MessageDeltaEvent{
		ID: x.msg.ID, Object: apitype.ObjectMessageDelta,
		Delta: apitype.MessageDelta{Content: []apitype.MessageContent{{Index: apitype.Ptr(0), Type: apitype.ContentText,
			Text: &apitype.TextContent{Value: delta, Annotations: x.newCitations(delta)}}}},
	}})
	return nil
}

// newCitations are the citations whose marker the delta just appended
// completes, numbered on from those already sent, as the hosted API put
// each in the delta that carried its marker. They are computed as the
// finished message's are, so the streamed ones are exactly its citations.
func (x *runner) newCitations(delta string) []apitype.Annotation {
	out := []apitype.Annotation{}
	if !strings.Contains(delta, "】") || !x.hasTool(apitype.ToolTypeFileSearch) {
		return out
	}
	searches, err := x.searchesSoFar()
	if err != nil || len(searches) == 0 {
		return out
	}
	all := citations(x.text.String(), searches)
	for _, a := range all[min(x.cited, len(all)):] {
		a.Index = apitype.Ptr(x.cited)
		x.cited++
		out = append(out, a)
	}
	return out
}

func (x *runner) openMessage() error {
	e := x.e
	now := e.now()
	m := &apitype.Message{ID: e.newID(store.PrefixMessage), Object: apitype.ObjectMessage, CreatedAt: now,
		ThreadID: x.run.ThreadID, Status: apitype.MessageInProgress, Role: apitype.RoleAssistant,
		Content: []apitype.MessageContent{}, AssistantID: apitype.Ptr(x.run.AssistantID), RunID: apitype.Ptr(x.run.ID),
		Attachments: []apitype.Attachment{}, Metadata: apitype.Metadata{}}
	s := x.newStep(apitype.StepDetails{Type: apitype.StepMessageCreation, MessageCreation: &apitype.MessageCreation{MessageID: m.ID}})
	// Committed in the background: the reply keeps streaming in while it
	// syncs, and its deltas go out right after the message's creation.
	threadID, runID := x.run.ThreadID, x.run.ID
	x.async(func(tx store.Tx) ([]apitype.Event, error) {
		r, err := tx.GetRun(threadID, runID)
		if err != nil {
			return nil, err
		}
		if r.Status != apitype.RunInProgress {
			return nil, errRunMoved
		}
		if err := tx.PutStep(s); err != nil {
			return nil, err
		}
		if err := tx.PutMessage(m, 0); err != nil {
			return nil, err
		}
		return []apitype.Event{
			{Event: apitype.EventRunStepCreated, Step: s},
			{Event: apitype.EventRunStepInProgress, Step: s},
			{Event: apitype.EventMessageCreated, Message: m},
			{Event: apitype.EventMessageInProgress, Message: m},
		}, nil
	}, func() { x.msg, x.msgStep = nil, nil })
	x.msg, x.msgStep = m, s
	x.text.Reset()
	x.cited = 0
	return nil
}

func (x *runner) newStep(d apitype.StepDetails) *apitype.RunStep {
	return &apitype.RunStep{ID: x.e.newID(store.PrefixStep), Object: apitype.ObjectRunStep, CreatedAt: x.e.now(),
		AssistantID: x.run.AssistantID, ThreadID: x.run.ThreadID, RunID: x.run.ID, Type: d.Type,
		Status: apitype.StepInProgress, StepDetails: d, Metadata: orMeta(x.truncation)}
}

// finalMessage fills the open message with its text and status.
func (x *runner) finalMessage(status apitype.MessageStatus, reason string, now int64) *apitype.Message {
	m := *x.msg
	m.Content = []apitype.MessageContent{textPart(x.text.String())}
	if x.hasTool(apitype.ToolTypeFileSearch) {
		if searches, err := x.searchesSoFar(); err == nil && len(searches) > 0 {
			m.Content[0].Text.Annotations = citations(x.text.String(), searches)
		}
	}
	if len(x.sandboxFiles) > 0 {
		m.Content[0].Text.Annotations = append(m.Content[0].Text.Annotations, filePaths(x.text.String(), x.sandboxFiles)...)
	}
	if status == apitype.MessageCompleted {
		for _, id := range x.images {
			m.Content = append(m.Content, apitype.MessageContent{Type: apitype.ContentImageFile, ImageFile: &apitype.ImageFile{FileID: id}})
		}
		x.images = nil
	}
	m.Status = status
	if status == apitype.MessageCompleted {
		m.CompletedAt = &now
	} else {
		m.IncompleteAt = &now
		m.IncompleteDetails = &apitype.IncompleteDetails{Reason: reason}
	}
	return &m
}

// closing is the open message as it will be stored, made before its write:
// the write's transaction then counts no tokens (it runs on the committer,
// which every writer waits for), and a write that is retried stores the
// same message.
type closing struct {
	m      *apitype.Message
	tokens int
	now    int64
}

func (x *runner) closing(status apitype.MessageStatus, reason string) closing {
	now := x.e.now()
	m := x.finalMessage(status, reason, now)
	return closing{m: m, tokens: x.e.countTokens(m), now: now}
}

// closeMessage completes (or leaves incomplete) the open message and its
// step, if one is open; the call's usage goes on that step.
func (x *runner) closeMessage(status apitype.MessageStatus, reason string) error {
	if x.msg == nil {
		return nil
	}
	c := x.closing(status, reason)
	err := x.write(func(tx store.Tx, r *apitype.Run) ([]apitype.Event, error) {
		return x.closeMessageTx(tx, r, c)
	})
	if err == nil {
		x.msg, x.msgStep = nil, nil
	}
	return err
}

func (x *runner) closeMessageTx(tx store.Tx, r *apitype.Run, c closing) ([]apitype.Event, error) {
	s := *x.msgStep
	s.Status, s.CompletedAt = apitype.StepCompleted, &c.now
	if x.toolStep == nil {
		s.Usage = usageOf(x.pending)
		r.Usage = addUsage(r.Usage, x.pending)
	}
	if err := tx.PutMessage(c.m, c.tokens); err != nil {
		return nil, err
	}
	if err := tx.PutStep(&s); err != nil {
		return nil, err
	}
	ev := apitype.EventMessageCompleted
	if c.m.Status != apitype.MessageCompleted {
		ev = apitype.EventMessageIncomplete
	}
	return []apitype.Event{{Event: ev, Message: c.m}, {Event: apitype.EventRunStepCompleted, Step: &s}}, nil
}

// complete writes the final message, its step and the completed run in one
// transaction.
func (x *runner) complete() error {
	if x.msg == nil {
		// An empty reply still gets its message_creation step and (empty)
		// message, as every completed run has on the hosted API.
		if err := x.openMessage(); err != nil {
			return err
		}
	}
	var c *closing
	if x.msg != nil {
		cl := x.closing(apitype.MessageCompleted, "")
		c = &cl
	}
	return x.write(func(tx store.Tx, r *apitype.Run) ([]apitype.Event, error) {
		var events []apitype.Event
		if c != nil {
			evs, err := x.closeMessageTx(tx, r, *c)
			if err != nil {
				return nil, err
			}
			events = evs
		} else {
			r.Usage = addUsage(r.Usage, x.pending)
		}
		now := x.e.now()
		r.Status, r.CompletedAt, r.ExpiresAt = apitype.RunCompleted, &now, nil
		if r.Usage == nil {
			r.Usage = &apitype.Usage{}
		}
		return append(events, apitype.Event{Event: apitype.EventRunCompleted, Run: r}), nil
	})
}

// assistantsRun is the Assistants API's runAPI: the reply becomes a
// message on the thread (with its message_creation step), tool calls a
// tool_calls step, and the run requires_action or is completed.
type assistantsRun struct{ *runner }

var _ runAPI = assistantsRun{}

func (a assistantsRun) policy() turnState {
	return turnState{toolChoice: a.run.ToolChoice, parallelToolCalls: a.run.ParallelToolCalls, formatProblem: a.checkFormat}
}
func (a assistantsRun) text(delta string) error             { return a.appendText(delta) }
func (a assistantsRun) callDelta(d llm.ToolCallDelta) error { return a.streamCall(d) }

// thinking is dropped: the Assistants API has no place for reasoning.
func (a assistantsRun) thinking(string) error { return nil }

// retry keeps the answer so far as a message of its own: completed when
// tool_choice was missed, incomplete when its format was wrong.
func (a assistantsRun) retry(badFormat bool) error {
	if badFormat {
		return a.closeMessage(apitype.MessageIncomplete, apitype.IncompleteRunFailed)
	}
	return a.closeMessage(apitype.MessageCompleted, "")
}
