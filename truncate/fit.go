package truncate

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
)

// Strategy types, as the API's truncation_strategy.
const (
	Auto         = "auto"
	LastMessages = "last_messages"
)

// Strategy chooses which messages may enter the prompt.
type Strategy struct {
	// Type is Auto ("" means Auto) or LastMessages.
	Type string
	// LastMessages is N for LastMessages: only the newest N items are
	// candidates, then still fitted to the budget.
	LastMessages int
}

// Budget is what the prompt may spend. Available = ContextWindow −
// ReservedOutput − Margin − Fixed, and at most MaxPromptTokens − Fixed when
// MaxPromptTokens is set.
type Budget struct {
	ContextWindow   int
	ReservedOutput  int
	Margin          int
	MaxPromptTokens int
	// Fixed is what the instructions and tool definitions take.
	Fixed int
}

// Available is the tokens left for messages.
func (b Budget) Available() int {
	a := b.ContextWindow - b.ReservedOutput - b.Margin - b.Fixed
	if b.MaxPromptTokens > 0 {
		a = min(a, b.MaxPromptTokens-b.Fixed)
	}
	return a
}

// Item is one candidate prompt message.
type Item struct {
	ID   string
	Role string // user, assistant, tool or system
	Text string
	// Images is how many images the message carries.
	Images int
	// Tokens is the cached count (CountMessage); 0 means count Text now.
	Tokens int
	// Group links items kept or dropped together: an assistant message that
	// calls tools and the tool outputs answering it share a Group.
	Group string
	// ToolOutput marks a tool's output: the first content to be shortened.
	ToolOutput bool
	// History marks an item that is history though it is newer than the
	// newest user message: an earlier run's output. It is not part of the
	// current turn, so it is dropped oldest first like any older message
	// and a thread answered run after run without a new user message still
	// fits.
	History bool
	// Shortened is set on items Fit cut to head and tail.
	Shortened bool
	// Ref is the caller's own handle on the item (its stored message, say),
	// carried through untouched.
	Ref any
}

// Result is the chosen prompt.
type Result struct {
	// Kept are the items in the prompt, oldest first, with shortened text
	// where Shortened is set.
	Kept []Item
	// Dropped counts the items Fit read and left out. Items past the last
	// one read are left out too; the caller knows how many there were.
	Dropped int
	// Shortened counts kept items cut to head and tail.
	Shortened int
	// Tokens is the kept items' estimated tokens.
	Tokens int
	// Complete is true when every item fitted whole: nothing was left out.
	Complete bool
}

// ErrDoesNotFit is returned when even the minimum prompt — the fixed parts
// and the current turn — cannot fit.
var ErrDoesNotFit = errors.New("truncate: the prompt does not fit the context window")

// Fitter fits items to a budget. Its zero value uses Default() and the
// documented defaults.
type Fitter struct {
	// Enc counts and shortens text; nil means Default().
	Enc *Encoding
	// ToolOutputCap is the size old tool outputs are cut to once the thread
	// no longer fits whole (default 512 tokens).
	ToolOutputCap int
	// LongMessage is the size above which an old message may be cut to
	// head and tail rather than dropped (default 1024 tokens).
	LongMessage int
	// MinShortened is the least a shortened item keeps (default 128 tokens).
	MinShortened int
}

// Fit chooses the prompt's messages with the zero Fitter.
func Fit(ctx context.Context, items iter.Seq2[Item, error], b Budget, s Strategy) (Result, error) {
	var f Fitter
	return f.Fit(ctx, items, b, s)
}

// Fit chooses which items enter the prompt. items must yield newest first;
// Fit stops pulling once the budget is spent, so its cost follows what it
// keeps, not the thread's length.
//
// Order of importance, most important first:
//  1. the fixed parts (instructions, tool definitions: Budget.Fixed);
//  2. the newest user message and everything after it but History items (the
//     current turn, with its tool calls and outputs), never dropped;
//  3. newer messages before older ones;
//  4. within what is kept, old tool outputs, then long old messages, are
//     cut to their head and tail with a visible marker before any message
//     is dropped;
//  5. whole messages are dropped oldest first.
//
// History items newer than the newest user message compete with the older
// messages under 3–5, newest first. A tool call is never separated from its
// outputs (items sharing a Group). When the minimum of 1–2 cannot fit, Fit returns ErrDoesNotFit with the
// numbers instead of an overflowing prompt.
func (f *Fitter) Fit(ctx context.Context, items iter.Seq2[Item, error], b Budget, s Strategy) (Result, error) {
	if err := f.init(); err != nil {
		return Result{}, err
	}
	st := fitState{f: f, b: b, avail: b.Available(), limit: -1}
	// Room for what the budget can hold at ~32 tokens a message, so keeping
	// thousands of messages does not regrow (and re-copy) the slice.
	st.kept = make([]Item, 0, min(max(st.avail/32, 16), 8192))
	if s.Type == LastMessages {
		st.limit = max(s.LastMessages, 1)
	}
	// Items arrive pushed, newest first; groups are assembled as they come
	// and each complete group is decided at once. Pushing (rather than
	// iter.Pull) costs no coroutine switch per item.
	cur := make([]Item, 0, 8) // reused: keep copies what it keeps
	done := false
	read := 0
	for it, err := range items {
		if err != nil {
			return Result{}, err
		}
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		read++
		if it.Tokens <= 0 {
			it.Tokens = f.Enc.CountMessage(it.Text, it.Images)
		}
		if len(cur) > 0 && (it.Group == "" || it.Group != cur[0].Group) {
			if done, err = st.add(cur); err != nil {
				return Result{}, err
			}
			cur = cur[:0]
			if done {
				break
			}
		}
		cur = append(cur, it)
		if it.Group == "" {
			if done, err = st.add(cur); err != nil {
				return Result{}, err
			}
			cur = cur[:0]
			if done {
				break
			}
		}
	}
	if !done && len(cur) > 0 {
		var err error
		if done, err = st.add(cur); err != nil {
			return Result{}, err
		}
	}
	if !done {
		var err error
		if done, err = st.closeTurn(); err != nil {
			return Result{}, err
		}
	}
	return f.result(st.merged(), read, !st.truncating && !done), nil
}

// fitState is Fit's progress through the groups, newest first.
type fitState struct {
	f          *Fitter
	b          Budget
	avail      int
	limit      int
	kept       []Item // newest first: the current turn, then older groups
	turnLen    int    // how many of kept are the current turn, once closed
	turnClosed bool   // the current turn has been checked against the budget
	used       int
	count      int
	truncating bool
	// History groups met inside the current turn wait in deferred until the
	// turn is closed; those kept stay there, merged into kept at the end.
	deferred []Item
	spans    []span // in deferred, newest first
}

// span is a history group in fitState.deferred: [from, to), to go before
// kept[at] (newest first).
type span struct {
	at, from, to int
	kept         bool
}

// add decides one group; it reports whether Fit is done.
func (st *fitState) add(g []Item) (bool, error) {
	if !st.turnClosed {
		// Phase 1: the current turn, up to and including the newest user
		// message; history inside it waits for the turn's own cost.
		if slices.ContainsFunc(g, func(it Item) bool { return it.History }) &&
			!slices.ContainsFunc(g, func(it Item) bool { return it.Role == "user" }) {
			from := len(st.deferred)
			st.deferred = append(st.deferred, g...)
			st.spans = append(st.spans, span{at: len(st.kept), from: from, to: len(st.deferred)})
			return false, nil
		}
		st.keep(g)
		if !slices.ContainsFunc(g, func(it Item) bool { return it.Role == "user" }) {
			return false, nil
		}
		return st.closeTurn()
	}
	keep, done := st.decide(g)
	if keep {
		st.keep(g)
	}
	return done, nil
}

// decide says whether an older group is kept (shortening it in place if it
// must) and whether Fit is done.
func (st *fitState) decide(g []Item) (keep, done bool) {
	f := st.f
	// Phase 2: older groups, whole while everything fits.
	if st.limit >= 0 && st.count+len(g) > st.limit && st.count > 0 {
		st.truncating = true
		return false, true
	}
	c := cost(g)
	if !st.truncating && st.used+c <= st.avail {
		return true, false
	}
	if !st.truncating {
		// The thread no longer fits whole: cap the old tool outputs already
		// kept before anything is dropped.
		st.truncating = true
		capped := func(items []Item) {
			for i := range items {
				if it := &items[i]; it.ToolOutput && it.Tokens > f.ToolOutputCap {
					st.used -= it.Tokens
					f.shorten(it, f.ToolOutputCap)
					st.used += it.Tokens
				}
			}
		}
		capped(st.kept[st.turnLen:])
		for _, s := range st.spans {
			if s.kept {
				capped(st.deferred[s.from:s.to])
			}
		}
	}
	for i := range g {
		if it := &g[i]; it.ToolOutput && it.Tokens > f.ToolOutputCap {
			f.shorten(it, f.ToolOutputCap)
		}
	}
	if c = cost(g); st.used+c <= st.avail {
		return true, false
	}
	// Last chance for this group: cut its long parts to what is left.
	return f.fitGroup(g, st.avail-st.used), true
}

func (st *fitState) keep(g []Item) {
	st.kept = append(st.kept, g...)
	st.used += cost(g)
	st.count += len(g)
}

// closeTurn checks the current turn against the budget, shortening its tool
// outputs if it must (the turn is never dropped), then decides the history
// met inside it, newest first. It reports whether Fit is done.
func (st *fitState) closeTurn() (bool, error) {
	if st.turnClosed {
		return false, nil
	}
	st.turnClosed = true
	st.turnLen = len(st.kept) // without a user message, everything but history is the turn
	if err := st.fitTurn(); err != nil {
		return true, err
	}
	for i := range st.spans {
		s := &st.spans[i]
		keep, done := st.decide(st.deferred[s.from:s.to])
		if keep {
			s.kept = true
			st.used += cost(st.deferred[s.from:s.to])
			st.count += s.to - s.from
		}
		if done {
			return true, nil
		}
	}
	return st.limit >= 0 && st.count >= st.limit, nil
}

// merged is kept with the kept history groups back in their places.
func (st *fitState) merged() []Item {
	if len(st.spans) == 0 {
		return st.kept
	}
	n := len(st.kept)
	for _, s := range st.spans {
		if s.kept {
			n += s.to - s.from
		}
	}
	out := make([]Item, 0, n)
	at := 0
	for _, s := range st.spans {
		if s.kept {
			out = append(out, st.kept[at:s.at]...)
			at = s.at
			out = append(out, st.deferred[s.from:s.to]...)
		}
	}
	return append(out, st.kept[at:]...)
}

func (st *fitState) fitTurn() error {
	if st.used <= st.avail {
		return nil
	}
	f := st.f
	for i := range st.kept {
		if it := &st.kept[i]; it.ToolOutput && it.Tokens > f.MinShortened {
			st.used -= it.Tokens
			f.shorten(it, max(f.MinShortened, it.Tokens-(st.used+it.Tokens-st.avail)))
			st.used += it.Tokens
		}
	}
	if st.used > st.avail {
		b := st.b
		return fmt.Errorf("%w: the current turn (the newest user message and what follows it, but earlier runs' outputs) needs %d tokens, but only %d are left of the %d-token context after %d reserved for the reply, %d margin and %d for instructions and tools",
			ErrDoesNotFit, st.used, max(st.avail, 0), b.ContextWindow, b.ReservedOutput, b.Margin, b.Fixed)
	}
	return nil
}

// fitGroup shortens g's long items so the group costs at most room.
func (f *Fitter) fitGroup(g []Item, room int) bool {
	var long []int
	fixed := 0
	for i, it := range g {
		if it.ToolOutput || it.Tokens > f.LongMessage {
			long = append(long, i)
		} else {
			fixed += it.Tokens
		}
	}
	if len(long) == 0 {
		return false
	}
	share := (room - fixed) / len(long)
	if share < f.MinShortened {
		return false
	}
	for _, i := range long {
		if g[i].Tokens > share {
			f.shorten(&g[i], share)
		}
	}
	return cost(g) <= room
}

// shorten cuts it to about target tokens: two thirds head, one third tail,
// and a marker saying how much was left out.
func (f *Fitter) shorten(it *Item, target int) {
	toks := f.Enc.Encode(it.Text)
	keep := target - MessageOverhead - it.Images*ImageTokens - 16 // the marker's own tokens
	if keep <= 0 || len(toks) <= keep {
		return
	}
	head := keep * 2 / 3
	tail := keep - head
	it.Text = f.Enc.Decode(toks[:head]) +
		fmt.Sprintf("\n[… %d tokens left out here by Hearth's truncation …]\n", len(toks)-keep) +
		f.Enc.Decode(toks[len(toks)-tail:])
	it.Tokens = f.Enc.CountMessage(it.Text, it.Images)
	it.Shortened = true
}

func (f *Fitter) init() error {
	if f.Enc == nil {
		enc, err := Default()
		if err != nil {
			return err
		}
		f.Enc = enc
	}
	if f.ToolOutputCap <= 0 {
		f.ToolOutputCap = 512
	}
	if f.LongMessage <= 0 {
		f.LongMessage = 1024
	}
	if f.MinShortened <= 0 {
		f.MinShortened = 128
	}
	return nil
}

func (f *Fitter) result(kept []Item, read int, complete bool) Result {
	slices.Reverse(kept) // owned by this call: oldest first, in place
	r := Result{Kept: kept}
	for _, it := range kept {
		r.Tokens += it.Tokens
		if it.Shortened {
			r.Shortened++
		}
	}
	r.Dropped = read - len(r.Kept)
	r.Complete = complete && r.Dropped == 0 && r.Shortened == 0
	return r
}

func cost(g []Item) int {
	n := 0
	for _, it := range g {
		n += it.Tokens
	}
	return n
}
