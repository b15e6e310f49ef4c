package openaihttp_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/conversations"
	"github.com/openai/openai-go/v3/responses"
)

// The bridge from Assistants and input files through openai-go v3, on the
// scripted model and the fake Ollama: an assistant as a response's prompt;
// a thread carried into a conversation (POST /v1/threads/{id}/conversation)
// and continued; input_file parts (uploaded and inline) reaching the model
// as text, and an input_image reaching a vision model.
func TestOpenAIGoResponseBridgeAndInputs(t *testing.T) {
	for _, b := range respBackends {
		t.Run(b.name, func(t *testing.T) {
			model, queue, lastUser := b.open(t)
			e := newEnv(t, model)
			ctx := context.Background()
			rs := &e.client.Responses

			a, err := e.client.Beta.Assistants.New(ctx, openai.BetaAssistantNewParams{Model: "llama3.2",
				Instructions: openai.String("You tutor {{subject}}.")})
			if err != nil {
				t.Fatal(err)
			}
			queue(respTurn{text: "x = 2"})
			r, err := rs.New(ctx, responses.ResponseNewParams{Input: respInput("Solve 2x = 4"),
				Prompt: responses.ResponsePromptParam{ID: a.ID, Variables: map[string]responses.ResponsePromptVariableUnionParam{
					"subject": {OfString: openai.String("math")}}}})
			if err != nil || r.Model != "llama3.2" || r.Instructions.OfString != "You tutor math." || r.Prompt.ID != a.ID || r.OutputText() != "x = 2" {
				t.Fatalf("prompt %v %v", r, err)
			}

			th, err := e.client.Beta.Threads.New(ctx, openai.BetaThreadNewParams{Messages: []openai.BetaThreadNewParamsMessage{
				{Role: "user", Content: openai.BetaThreadNewParamsMessageContentUnion{OfString: openai.String("Capital of France?")}},
				{Role: "assistant", Content: openai.BetaThreadNewParamsMessageContentUnion{OfString: openai.String("Paris.")}}}})
			if err != nil {
				t.Fatal(err)
			}
			var c conversations.Conversation
			if err := e.client.Post(ctx, "threads/"+th.ID+"/conversation", nil, &c); err != nil || !strings.HasPrefix(c.ID, "conv_") {
				t.Fatalf("to conversation %v %v", c, err)
			}
			queue(respTurn{text: "Rome."})
			if _, err := rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: respInput("And of Italy?"),
				Conversation: responses.ResponseNewParamsConversationUnion{OfString: openai.String(c.ID)}}); err != nil {
				t.Fatal(err)
			}
			page, err := e.client.Conversations.Items.List(ctx, c.ID, conversations.ItemListParams{Order: conversations.ItemListParamsOrderAsc})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range page.Data {
				got = append(got, it.Role+":"+it.AsMessage().Content[0].Text)
			}
			if strings.Join(got, "|") != "user:Capital of France?|assistant:Paris.|user:And of Italy?|assistant:Rome." {
				t.Fatalf("carried %q", got)
			}
			msgs, err := e.client.Beta.Threads.Messages.List(ctx, th.ID, openai.BetaThreadMessageListParams{})
			if err != nil || len(msgs.Data) != 2 {
				t.Fatalf("the thread changed: %v %v", msgs, err)
			}

			up, err := e.client.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader("The kettle warranty lasts two years."), "notes.txt", "text/plain"),
				Purpose: openai.FilePurposeUserData})
			if err != nil {
				t.Fatal(err)
			}
			inline := "data:text/plain;base64," + base64.StdEncoding.EncodeToString([]byte("Toasters brown bread."))
			queue(respTurn{text: "read"})
			if _, err := rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
				responses.ResponseInputItemParamOfInputMessage(responses.ResponseInputMessageContentListParam{
					{OfInputText: &responses.ResponseInputTextParam{Text: "Summarise:"}},
					{OfInputFile: &responses.ResponseInputFileParam{FileID: openai.String(up.ID)}},
					{OfInputFile: &responses.ResponseInputFileParam{FileData: openai.String(inline), Filename: openai.String("inline.txt")}},
				}, "user")}}}); err != nil {
				t.Fatal(err)
			}
			prompt := lastUser()
			if !strings.Contains(prompt, "The kettle warranty lasts two years.") || !strings.Contains(prompt, "Toasters brown bread.") {
				t.Fatalf("the model read %q", prompt)
			}
			png := "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
			queue(respTurn{text: "a pixel"})
			seen, err := rs.New(ctx, responses.ResponseNewParams{Model: "llava", Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
				responses.ResponseInputItemParamOfInputMessage(responses.ResponseInputMessageContentListParam{
					{OfInputText: &responses.ResponseInputTextParam{Text: "What is this?"}},
					{OfInputImage: &responses.ResponseInputImageParam{ImageURL: openai.String(png), Detail: responses.ResponseInputImageDetailLow}},
				}, "user")}}})
			if err != nil || seen.OutputText() != "a pixel" {
				t.Fatalf("image %v %v", seen, err)
			}
			var apiErr *openai.Error
			if _, err := rs.New(ctx, responses.ResponseNewParams{Model: "llama3.2", Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
				responses.ResponseInputItemParamOfInputMessage(responses.ResponseInputMessageContentListParam{
					{OfInputFile: &responses.ResponseInputFileParam{FileURL: openai.String("https://example.com/a.pdf")}},
				}, "user")}}}); err == nil || !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
				t.Fatalf("file_url: %v", err)
			}
		})
	}
}
