package ollama

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ollama/ollama/api"
)

// The chat stream is read here rather than by api.Client.Chat, over the same
// wire types, for two reasons measured or observed on v0.17.4: its scanner
// allocates an 8 MB buffer per call (most of a short reply's cost, see
// bench/ollama.md), and it reports a connection dropped mid-reply as a clean
// end, which would hide a cut stream behind a missing "done" line.

const (
	// maxLine bounds one NDJSON line, as Ollama's client does (8 MB).
	maxLine = 8 << 20
	// readBuf is the initial line buffer; replies' lines are ~200 bytes.
	readBuf = 4 << 10
)

// cutError is a stream that broke while being read.
type cutError struct{ err error }

func (e *cutError) Error() string { return "reading the reply stream: " + e.err.Error() }
func (e *cutError) Unwrap() error { return e.err }

// chatLine is one NDJSON line: a response, or an error Ollama reports after
// the stream started.
type chatLine struct {
	api.ChatResponse
	Error string `json:"error,omitempty"`
}

// postChat sends areq to /api/chat and calls fn for each streamed response.
// It returns nil at the end of the body (the caller checks for "done"), an
// api.StatusError for an HTTP error, a *cutError when reading fails midway,
// and fn's error when fn fails.
func (c *Client) postChat(ctx context.Context, areq *api.ChatRequest, fn func(api.ChatResponse) error) error {
	body, err := json.Marshal(areq)
	if err != nil {
		return fmt.Errorf("ollama: encoding the chat request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.chatURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/x-ndjson")
	hreq.Header.Set("User-Agent", "hearth")
	resp, err := c.cfg.HTTPClient.Do(hreq)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= http.StatusBadRequest {
		return statusError(resp)
	}
	return readChat(resp.Body, fn)
}

// readChat reads an NDJSON chat stream, calling fn for each response. It
// returns nil at the end of the stream, the error of an {"error": …} line,
// a *cutError when the stream breaks or holds a line that is not a response,
// and fn's error when fn fails.
func readChat(r io.Reader, fn func(api.ChatResponse) error) error {
	br := bufio.NewReaderSize(r, readBuf)
	var long []byte
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(line) > maxLine {
				return &cutError{fmt.Errorf("a reply line is longer than %d bytes", maxLine)}
			}
			long = append(long, line...)
			continue
		}
		if long != nil {
			line = append(long, line...)
			long = nil
		}
		if len(bytes.TrimSpace(line)) > 0 {
			var l chatLine
			if jerr := json.Unmarshal(line, &l); jerr != nil {
				if err != nil { // a partial last line: the stream broke mid-line
					return &cutError{err}
				}
				return &cutError{fmt.Errorf("undecodable reply line %.80q: %v", line, jerr)}
			}
			if l.Error != "" {
				return errors.New(l.Error)
			}
			if ferr := fn(l.ChatResponse); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &cutError{err}
		}
	}
}

// statusError reads an error body as Ollama's client does.
func statusError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	se := api.StatusError{StatusCode: resp.StatusCode, Status: resp.Status}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		se.ErrorMessage = e.Error
	} else {
		se.ErrorMessage = strings.TrimSpace(string(b))
	}
	return se
}
