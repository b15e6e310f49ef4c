package openaichattest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// RawChat is the least work that reads a streamed chat reply: one POST of
// body to base + "/chat/completions", a line reader, and json.Unmarshal of
// each data payload's delta content. Benchmarks use it as the floor. It
// returns how many chunks carried text.
func RawChat(hc *http.Client, base string, body []byte) (chunks int, err error) {
	resp, err := hc.Post(base+"/chat/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for {
		line, rerr := br.ReadSlice('\n')
		if d, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
			d = bytes.TrimSpace(d)
			if string(d) == "[DONE]" {
				return chunks, nil
			}
			var c struct {
				Choices []struct {
					Delta struct {
						Content string `json:"content"`
					} `json:"delta"`
				} `json:"choices"`
			}
			if err := json.Unmarshal(d, &c); err != nil {
				return chunks, fmt.Errorf("openaichattest: decode chunk: %w", err)
			}
			if len(c.Choices) > 0 && c.Choices[0].Delta.Content != "" {
				chunks++
			}
		}
		if rerr != nil {
			return chunks, fmt.Errorf("openaichattest: stream ended before [DONE]: %w", rerr)
		}
	}
}
