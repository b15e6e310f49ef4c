package ollamatest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/ollama/ollama/api"
)

// RawChat is the least work that streams a chat reply: one POST of body to
// url + "/api/chat", a line reader and json.Unmarshal into api.ChatResponse.
// Benchmarks use it as the floor beside the real clients. It returns how
// many chunks carried text and how long the first took to arrive.
func RawChat(hc *http.Client, url string, body []byte) (chunks int, first time.Duration, err error) {
	start := time.Now()
	resp, err := hc.Post(url+"/api/chat", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for {
		line, rerr := br.ReadSlice('\n')
		if len(line) > 0 {
			var r api.ChatResponse
			if err := json.Unmarshal(line, &r); err != nil {
				return chunks, first, fmt.Errorf("ollamatest: decode chunk: %w", err)
			}
			if r.Message.Content != "" {
				if chunks == 0 {
					first = time.Since(start)
				}
				chunks++
			}
		}
		if rerr != nil {
			return chunks, first, nil
		}
	}
}
