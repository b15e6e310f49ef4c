package store

import (
	"crypto/rand"
	"encoding/binary"
	"io"
	"sync"
	"time"
)

// ID prefixes, as in the hosted API.
const (
	PrefixAssistant   = "asst_"
	PrefixThread      = "thread_"
	PrefixMessage     = "msg_"
	PrefixRun         = "run_"
	PrefixStep        = "step_"
	PrefixFile        = "file-"
	PrefixVectorStore = "vs_"
	PrefixFileBatch   = "vsfb_"
	PrefixToolCall    = "call_"
	// The Responses and Conversations APIs.
	PrefixResponse           = "resp_"
	PrefixConversation       = "conv_"
	PrefixFunctionCall       = "fc_"
	PrefixFunctionCallOutput = "fco_"
	PrefixReasoning          = "rs_"
	// Containers (the code interpreter on the Responses API).
	PrefixContainer           = "cntr_"
	PrefixContainerFile       = "cfile_"
	PrefixCodeInterpreterCall = "ci_"
)

// crockford is Crockford's base32 alphabet in lower case; its order is ASCII
// order, so encoded ids sort like the bytes they encode.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// IDGenerator makes sortable, time-ordered ids: 48 bits of milliseconds then
// 80 bits that are random for the first id of a millisecond and incremented
// for the next ones, so ids made by one generator are strictly increasing
// (as in ULID's monotonic mode). Lists are cursor seeks because of this order.
type IDGenerator struct {
	mu   sync.Mutex
	now  func() time.Time
	rand io.Reader
	last [16]byte
	ms   uint64
}

// NewIDGenerator returns a generator reading time from now (time.Now if nil)
// and randomness from r (crypto/rand if nil).
func NewIDGenerator(now func() time.Time, r io.Reader) *IDGenerator {
	if now == nil {
		now = time.Now
	}
	if r == nil {
		r = rand.Reader
	}
	return &IDGenerator{now: now, rand: r}
}

// New returns prefix followed by 26 base32 characters.
func (g *IDGenerator) New(prefix string) string {
	g.mu.Lock()
	ms := uint64(g.now().UnixMilli())
	var b [16]byte
	if ms <= g.ms {
		// Same millisecond, or the clock went back: keep order by incrementing.
		b = g.last
		for i := 15; i >= 6; i-- {
			b[i]++
			if b[i] != 0 {
				break
			}
		}
	} else {
		g.ms = ms
		binary.BigEndian.PutUint64(b[:8], ms<<16)
		if _, err := io.ReadFull(g.rand, b[6:]); err != nil {
			// A failing random source still yields unique ids from the counter.
			clear(b[6:])
		}
		b[6] &= 0x7f // leave room to increment without overflowing into the time
	}
	g.last = b
	g.mu.Unlock()
	return prefix + encode(b)
}

func encode(b [16]byte) string {
	// 128 bits → 26 characters of 5 bits (the first carries 3).
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	out := make([]byte, 26)
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out)
}

// ValidID reports whether id looks like an id with the prefix: the prefix, then
// 1–64 characters of [A-Za-z0-9_-]. It is a syntax check for cursors and path
// parameters, not an existence check.
func ValidID(prefix, id string) bool {
	if len(id) <= len(prefix) || len(id) > len(prefix)+64 || id[:len(prefix)] != prefix {
		return false
	}
	for _, c := range []byte(id[len(prefix):]) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
