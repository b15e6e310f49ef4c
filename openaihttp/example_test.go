package openaihttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/hearth-go/hearth/engine"
	"github.com/hearth-go/hearth/llm/scripted"
	"github.com/hearth-go/hearth/openaihttp"
)

// Serve an engine over the OpenAI API; any SDK pointed at <url>/v1 works.
// A real server wraps the handler in an http.Server (see cmd/hearth) and
// calls Drain before Shutdown.
func ExampleNewHandler() {
	dir, _ := os.MkdirTemp("", "hearth-example")
	defer os.RemoveAll(dir)
	eng, err := engine.Open(context.Background(), engine.Config{Path: filepath.Join(dir, "hearth.db"), Model: scripted.Echo()})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()
	h := openaihttp.NewHandler(eng, openaihttp.Options{Keys: []string{"sk-local"}})
	srv := httptest.NewServer(h) // loopback
	defer srv.Close()
	defer h.Drain()

	req, _ := http.NewRequest("POST", srv.URL+"/v1/assistants", strings.NewReader(`{"model":"llama3.2","name":"Math Tutor"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sk-local")
	req.Header.Set("OpenAI-Beta", "assistants=v2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct{ Object, Name, Model string }
	json.NewDecoder(resp.Body).Decode(&a)
	fmt.Println(resp.StatusCode, a.Object, a.Name, a.Model)
	// Output: 200 assistant Math Tutor llama3.2
}
