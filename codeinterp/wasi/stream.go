package wasi

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"strconv"
	"sync"
)

// The interpreter's stdout reaches the host as records written by the Go side
// of the guest (the child process, or the in-process goroutine), never by the
// guest itself:
//
//	'D' len bytes  bytes the guest wrote to fd 1 (its prints, the driver's reply)
//	'Q' len note   /mnt/data refused a write, and why
//	'I' 0          the guest is waiting for the next request
//
// Everything guest code can write arrives inside a D record, so it cannot
// fake a Q or an I. An exec ends at the I that follows its request, and its
// reply is the driver's frame that ends the D bytes before that I: code that
// writes a copy of the frame (the driver's marker can be read from its stack
// frame) only adds bytes to its own stdout, because the driver's real frame
// always comes after the code returns and is what the host takes.
const (
	recData  = 'D'
	recNote  = 'Q'
	recIdle  = 'I'
	recHdrSz = 5
)

// recordWriter frames the guest's output; guest calls are sequential, the
// mutex only guards against a late write racing a kill.
type recordWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (r *recordWriter) record(kind byte, p []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var hdr [recHdrSz]byte
	hdr[0] = kind
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(p)))
	if _, err := r.w.Write(hdr[:]); err != nil {
		return err
	}
	if len(p) == 0 {
		return nil
	}
	_, err := r.w.Write(p)
	return err
}

// guestStdout is the guest's fd 1: each write becomes a D record, preceded
// by a Q record when /mnt/data refused a write since the last one.
type guestStdout struct {
	rw *recordWriter
	q  *quota
}

func (g *guestStdout) flushNote() error {
	if hit := g.q.takeHit(); hit != "" {
		return g.rw.record(recNote, []byte(hit))
	}
	return nil
}

func (g *guestStdout) Write(p []byte) (int, error) {
	if err := g.flushNote(); err != nil {
		return 0, err
	}
	for rest := p; len(rest) > 0; {
		n := min(len(rest), 1<<20)
		if err := g.rw.record(recData, rest[:n]); err != nil {
			return 0, err
		}
		rest = rest[n:]
	}
	return len(p), nil
}

// requestReader is the guest's fd 0. It follows the request framing
// ("<n>\n" + n bytes) so it knows when a whole request has been read; a read
// past that point means the guest is waiting for the next one, and it says
// so with an I record. It also rescans /mnt/data's usage when a request
// arrives, so files the host wrote between execs are counted.
type requestReader struct {
	r      io.Reader
	out    *guestStdout
	rescan func()

	hdr      []byte // digits of the header being read
	body     int    // bytes of the current request still to come
	inBody   bool
	idleSent bool
}

func (r *requestReader) atBoundary() bool { return !r.inBody && len(r.hdr) == 0 }

func (r *requestReader) Read(p []byte) (int, error) {
	if r.atBoundary() && !r.idleSent {
		r.out.flushNote()
		if err := r.out.rw.record(recIdle, nil); err != nil {
			return 0, err
		}
		r.idleSent = true
	}
	n, err := r.r.Read(p)
	if n > 0 {
		r.idleSent = false
		r.rescan()
		r.consume(p[:n])
	}
	return n, err
}

func (r *requestReader) consume(b []byte) {
	for len(b) > 0 {
		if r.inBody {
			k := min(r.body, len(b))
			r.body -= k
			b = b[k:]
			if r.body == 0 {
				r.inBody = false
			}
			continue
		}
		c := b[0]
		b = b[1:]
		if c != '\n' {
			if len(r.hdr) < 20 {
				r.hdr = append(r.hdr, c)
			}
			continue
		}
		n, _ := strconv.Atoi(string(r.hdr))
		r.hdr = r.hdr[:0]
		if n > 0 {
			r.body, r.inBody = n, true
		}
	}
}

// execOutput gathers one exec's D bytes in bounded memory: the first maxRaw
// bytes (what the model may see of raw fd-1 output) and a tail long enough
// to hold the driver's reply frame.
type execOutput struct {
	maxRaw  int
	maxTail int
	head    []byte
	tail    []byte
	total   int64
	notes   []string
}

func (o *execOutput) add(p []byte) {
	if room := o.maxRaw - len(o.head); room > 0 {
		o.head = append(o.head, p[:min(room, len(p))]...)
	}
	o.total += int64(len(p))
	o.tail = append(o.tail, p...)
	if len(o.tail) > 2*o.maxTail {
		o.tail = append(o.tail[:0], o.tail[len(o.tail)-o.maxTail:]...)
	}
}

// reply finds the driver's frame that ends the output, and returns the raw
// bytes before it (capped), how many raw bytes were dropped, and its payload.
func (o *execOutput) reply(marker []byte) (raw []byte, dropped int64, payload []byte, ok bool) {
	base := o.total - int64(len(o.tail))
	end := len(o.tail)
	for end > 0 {
		i := bytes.LastIndex(o.tail[:end], marker)
		if i < 0 {
			break
		}
		rest := o.tail[i+len(marker):]
		if nl := bytes.IndexByte(rest, '\n'); nl > 0 && nl <= 20 {
			n, err := strconv.Atoi(string(rest[:nl]))
			if err == nil && n >= 0 && nl+1+n == len(rest) {
				start := base + int64(i)
				keep := min(int64(len(o.head)), start)
				return o.head[:keep], start - keep, rest[nl+1:], true
			}
		}
		end = i
	}
	keep := min(int64(len(o.head)), o.total)
	return o.head[:keep], o.total - keep, nil, false
}

// readRecords owns the interpreter's stdout until it ends, sending a frame
// for each I record. maxRaw caps the raw output kept per exec.
func (p *proc) readRecords(r io.Reader, token string, maxRaw int64) {
	defer close(p.frames)
	marker := []byte(markerPrefix + token + " ")
	// The driver caps each text at maxRaw characters; JSON may spend up to
	// 12 bytes on one.
	newOutput := func() *execOutput {
		return &execOutput{maxRaw: int(maxRaw), maxTail: int(3*12*maxRaw) + 1<<20}
	}
	out := newOutput()
	br := bufio.NewReaderSize(r, 64<<10)
	var hdr [recHdrSz]byte
	buf := make([]byte, 64<<10)
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			io.Copy(io.Discard, br)
			return
		}
		n := int(binary.BigEndian.Uint32(hdr[1:]))
		switch hdr[0] {
		case recIdle:
			raw, dropped, payload, ok := out.reply(marker)
			p.frames <- frame{raw: raw, dropped: dropped, payload: payload, replied: ok, notes: out.notes}
			out = newOutput()
			continue
		case recData, recNote:
		default: // not our guest side talking
			io.Copy(io.Discard, br)
			return
		}
		if hdr[0] == recNote {
			note := make([]byte, min(n, 4096))
			if _, err := io.ReadFull(br, note); err != nil {
				return
			}
			br.Discard(n - len(note))
			out.notes = append(out.notes, string(note))
			continue
		}
		for n > 0 {
			k, err := br.Read(buf[:min(n, len(buf))])
			out.add(buf[:k])
			n -= k
			if err != nil {
				return
			}
		}
	}
}
