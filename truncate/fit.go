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
	// Shortened is set on items Fit cut to head and tail.
	Shortened bool
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

// ErrDoesNotFit is returned when even the minimum prompt — the fixed parts,
// the newest user message and what follows it — cannot fit.
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
//  2. the newest user message and everything after it (the current turn,
//     with its tool calls and outputs), never dropped;
//  3. newer messages before older ones;
//  4. within what is kept, old tool outputs, then long old messages, are
//     cut to their head and tail with a visible marker before any message
//     is dropped;
//  5. whole messages are dropped oldest first.
//
// A tool call is never separated from its outputs (items sharing a Group).
// When the minimum of 1–2 cannot fit, Fit returns ErrDoesNotFit with the
// numbers instead of an overflowing prompt.
func (f *Fitter) Fit(ctx context.Context, items iter.Seq2[Item, error], b Budget, s Strategy) (Result, error) {
	if err := f.init(); err != nil {
		return Result{}, err
	}
	avail := b.Available()
	limit := -1
	if s.Type == LastMessages {
		limit = max(s.LastMessages, 1)
	}
	next, stop := iter.Pull2(items)
	defer stop()
	var pending *Item
	read := 0
	// group pulls the next group of items (newest first).
	group := func() ([]Item, error) {
		var g []Item
		for {
			var it Item
			if pending != nil {
				it, pending = *pending, nil
			} else {
				var err error
				var ok bool
				it, err, ok = next()
				if err != nil {
					return nil, err
				}
				if !ok {
					return g, nil
				}
				read++
				if it.Tokens <= 0 {
					it.Tokens = f.Enc.CountMessage(it.Text, it.Images)
				}
			}
			if len(g) > 0 && (it.Group == "" || it.Group != g[0].Group) {
				pending = &it
				return g, nil
			}
			g = append(g, it)
			if it.Group == "" {
				return g, nil
			}
		}
	}

	// Phase 1: the current turn, up to and including the newest user message.
	var groups [][]Item
	turnEnd := -1
	for turnEnd < 0 {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		g, err := group()
		if err != nil {
			return Result{}, err
		}
		if len(g) == 0 {
			break
		}
		groups = append(groups, g)
		if slices.ContainsFunc(g, func(it Item) bool { return it.Role == "user" }) {
			turnEnd = len(groups) - 1
		}
	}
	if turnEnd < 0 {
		turnEnd = len(groups) - 1 // no user message at all: everything is the turn
	}
	used := 0
	for _, g := range groups {
		used += cost(g)
	}
	if used > avail {
		// Cut the turn's tool outputs before giving up.
		for gi := range groups {
			for i := range groups[gi] {
				if it := &groups[gi][i]; it.ToolOutput && it.Tokens > f.MinShortened {
					used -= it.Tokens
					f.shorten(it, max(f.MinShortened, it.Tokens-(used+it.Tokens-avail)))
					used += it.Tokens
				}
			}
		}
		if used > avail {
			return Result{}, fmt.Errorf("%w: the current turn (the newest user message and what follows it) needs %d tokens, but only %d are left of the %d-token context after %d reserved for the reply, %d margin and %d for instructions and tools",
				ErrDoesNotFit, used, max(avail, 0), b.ContextWindow, b.ReservedOutput, b.Margin, b.Fixed)
		}
	}
	kept := slices.Clone(groups)
	count := countItems(kept)
	if limit >= 0 && count >= limit {
		return f.result(kept, read, true), nil
	}

	// Phase 2: older groups, newest first, whole while everything fits.
	truncating := false
	for {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		g, err := group()
		if err != nil {
			return Result{}, err
		}
		if len(g) == 0 {
			return f.result(kept, read, !truncating), nil
		}
		if limit >= 0 && count+len(g) > limit && count > 0 {
			return f.result(kept, read, false), nil
		}
		c := cost(g)
		if !truncating && used+c <= avail {
			kept, used, count = append(kept, g), used+c, count+len(g)
			continue
		}
		if !truncating {
			// The thread no longer fits whole: cap the old tool outputs
			// already kept before anything is dropped.
			truncating = true
			for gi := turnEnd + 1; gi < len(kept); gi++ {
				for i := range kept[gi] {
					if it := &kept[gi][i]; it.ToolOutput && it.Tokens > f.ToolOutputCap {
						used -= it.Tokens
						f.shorten(it, f.ToolOutputCap)
						used += it.Tokens
					}
				}
			}
		}
		for i := range g {
			if it := &g[i]; it.ToolOutput && it.Tokens > f.ToolOutputCap {
				f.shorten(it, f.ToolOutputCap)
			}
		}
		if c = cost(g); used+c <= avail {
			kept, used, count = append(kept, g), used+c, count+len(g)
			continue
		}
		// Last chance for this group: cut its long parts to what is left.
		if f.fitGroup(g, avail-used) {
			kept = append(kept, g)
		}
		return f.result(kept, read, false), nil
	}
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

func (f *Fitter) result(groups [][]Item, read int, complete bool) Result {
	var r Result
	for gi := len(groups) - 1; gi >= 0; gi-- {
		g := groups[gi]
		for i := len(g) - 1; i >= 0; i-- {
			r.Kept = append(r.Kept, g[i])
			r.Tokens += g[i].Tokens
			if g[i].Shortened {
				r.Shortened++
			}
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

func countItems(groups [][]Item) int {
	n := 0
	for _, g := range groups {
		n += len(g)
	}
	return n
}
