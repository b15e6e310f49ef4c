package ollama_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/hearth-go/hearth/llm"
	"github.com/hearth-go/hearth/llm/ollama"
)

// A chat against the local Ollama ($OLLAMA_HOST or 127.0.0.1:11434),
// printing the reply as it streams.
func ExampleClient_Chat() {
	c, err := ollama.New(ollama.Config{})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Ping(ctx); errors.Is(err, llm.ErrUnreachable) {
		log.Fatalf("start Ollama first: %v", err)
	}
	req := &llm.Request{
		Model:    "llama3.2",
		Messages: []llm.Message{{Role: llm.RoleUser, Content: "Why is the sky blue? One sentence."}},
	}
	for chunk, err := range c.Chat(ctx, req) {
		if err != nil {
			log.Fatal(err) // e.g. llm.ErrModelNotFound: "pull it with `ollama pull llama3.2`"
		}
		fmt.Print(chunk.Text)
		if chunk.Usage != nil {
			fmt.Printf("\n[%s, %d prompt + %d completion tokens]\n", chunk.FinishReason, chunk.Usage.PromptTokens, chunk.Usage.CompletionTokens)
		}
	}
}

// Embeddings for file search, in batches, with nomic-embed-text.
func ExampleClient_Embed() {
	c, err := ollama.New(ollama.Config{EmbedModel: "nomic-embed-text"})
	if err != nil {
		log.Fatal(err)
	}
	vecs, err := c.Embed(context.Background(), []string{"first chunk", "second chunk"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(vecs), "vectors")
}
