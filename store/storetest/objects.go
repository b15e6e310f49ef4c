package storetest

import (
	"fmt"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// Objects as the engine makes them, with enough fields set that a driver
// dropping one is seen.

func (s *suite) assistant() *apitype.Assistant {
	return &apitype.Assistant{ID: s.id(store.PrefixAssistant), Object: apitype.ObjectAssistant, CreatedAt: s.now,
		Name: ptr("helper"), Model: "scripted", Instructions: ptr("be brief"), Tools: []apitype.Tool{},
		Metadata: apitype.Metadata{"k": "v"}, Temperature: ptr(0.5)}
}

func (s *suite) thread() *apitype.Thread {
	return &apitype.Thread{ID: s.id(store.PrefixThread), Object: apitype.ObjectThread, CreatedAt: s.now,
		Metadata: apitype.Metadata{"topic": "tests"}}
}

func (s *suite) message(threadID, text string) *apitype.Message {
	return &apitype.Message{ID: s.id(store.PrefixMessage), Object: apitype.ObjectMessage, CreatedAt: s.now,
		ThreadID: threadID, Status: apitype.MessageCompleted, Role: apitype.RoleUser,
		Content: []apitype.MessageContent{{Type: apitype.ContentText,
			Text: &apitype.TextContent{Value: text, Annotations: []apitype.Annotation{}}}},
		Attachments: []apitype.Attachment{}, Metadata: apitype.Metadata{}}
}

func (s *suite) run(threadID string, status apitype.RunStatus) *apitype.Run {
	return &apitype.Run{ID: s.id(store.PrefixRun), Object: apitype.ObjectRun, CreatedAt: s.now, ThreadID: threadID,
		AssistantID: "asst_x", Status: status, Model: "scripted", Instructions: "be brief", Tools: []apitype.Tool{},
		Metadata: apitype.Metadata{"n": "1"}}
}

func (s *suite) step(r *apitype.Run) *apitype.RunStep {
	return &apitype.RunStep{ID: s.id(store.PrefixStep), Object: apitype.ObjectRunStep, CreatedAt: s.now,
		AssistantID: r.AssistantID, ThreadID: r.ThreadID, RunID: r.ID, Type: apitype.StepMessageCreation,
		Status: apitype.StepCompleted, CompletedAt: ptr(s.now + 1),
		StepDetails: apitype.StepDetails{Type: apitype.StepMessageCreation, MessageCreation: &apitype.MessageCreation{MessageID: "msg_x"}}}
}

func (s *suite) file(purpose string, size int64) *apitype.File {
	return &apitype.File{ID: s.id(store.PrefixFile), Object: apitype.ObjectFile, Bytes: size, CreatedAt: s.now,
		Filename: "notes.txt", Purpose: purpose, Status: "processed"}
}

func (s *suite) vectorStore() *apitype.VectorStore {
	return &apitype.VectorStore{ID: s.id(store.PrefixVectorStore), Object: apitype.ObjectVectorStore, CreatedAt: s.now,
		Name: "docs", Status: "completed", LastActiveAt: ptr(s.now), Metadata: apitype.Metadata{"k": "v"}}
}

// vsFile attaches file fileID to vector store vsID.
func (s *suite) vsFile(vsID, fileID, status string) *apitype.VectorStoreFile {
	return &apitype.VectorStoreFile{ID: fileID, Object: apitype.ObjectVectorStoreFile, CreatedAt: s.now,
		VectorStoreID: vsID, Status: status, UsageBytes: 12, Attributes: map[string]any{"lang": "en"}}
}

func (s *suite) batch(vsID string) *apitype.VectorStoreFileBatch {
	return &apitype.VectorStoreFileBatch{ID: s.id(store.PrefixFileBatch), Object: apitype.ObjectFileBatch, CreatedAt: s.now,
		VectorStoreID: vsID, Status: "in_progress", FileCounts: apitype.FileCounts{InProgress: 2, Total: 2}}
}

func (s *suite) conversation() *apitype.Conversation {
	return &apitype.Conversation{ID: s.id(store.PrefixConversation), Object: apitype.ObjectConversation, CreatedAt: s.now,
		Metadata: apitype.Metadata{"k": "v"}}
}

// userItem is a plain text message item (what Lend* walks lend).
func userItem(id, text string) apitype.Item {
	return apitype.ItemOf(&apitype.MessageItem{ID: id, Type: apitype.ItemMessage, Role: apitype.RoleUser,
		Status: apitype.ItemCompleted, Content: []apitype.ContentPart{apitype.InputText(text)}})
}

func assistantItem(id, text string) apitype.Item {
	return apitype.ItemOf(&apitype.MessageItem{ID: id, Type: apitype.ItemMessage, Role: apitype.RoleAssistant,
		Status: apitype.ItemCompleted, Content: []apitype.ContentPart{apitype.OutputText(text)}})
}

// items are n items named <name>_<i>, mixing plain messages with items
// of other kinds, and their token counts (base+i).
func (s *suite) items(name string, n, base int) ([]apitype.Item, []int) {
	its, tokens := make([]apitype.Item, n), make([]int, n)
	for i := range n {
		id := fmt.Sprintf("msg_%s_%03d", name, i)
		switch i % 3 {
		case 0:
			its[i] = userItem(id, fmt.Sprintf("%s says %d", name, i))
		case 1:
			its[i] = assistantItem(id, fmt.Sprintf("%s answers %d", name, i))
		default:
			its[i] = apitype.ItemOf(&apitype.FunctionCallOutputItem{ID: fmt.Sprintf("fco_%s_%03d", name, i), CallID: "call_1",
				Output: apitype.FunctionCallOutput{Text: "sunny"}, Status: apitype.ItemCompleted})
		}
		tokens[i] = base + i
	}
	return its, tokens
}

func (s *suite) response(status apitype.ResponseStatus, prev string) *apitype.Response {
	r := apitype.NewResponse(s.id(store.PrefixResponse), s.now, &apitype.ResponseCreateParams{Model: "scripted"})
	r.Status = status
	r.Metadata = apitype.Metadata{"k": "v"}
	if prev != "" {
		r.PreviousResponseID = &prev
	}
	return &r
}

// container is an active container idle since lastActive, expiring after
// minutes.
func (s *suite) container(name string, lastActive int64, minutes int) *apitype.Container {
	return &apitype.Container{ID: s.id(store.PrefixContainer), Object: apitype.ObjectContainer, CreatedAt: lastActive,
		Status: apitype.ContainerActive, LastActiveAt: lastActive, Name: name, MemoryLimit: "1g",
		ExpiresAfter: apitype.ContainerExpiresAfter{Anchor: apitype.ContainerAnchorLastActive, Minutes: minutes},
		Network:      apitype.ContainerNetworkPolicy{Type: "disabled"}}
}

func (s *suite) containerFile(containerID, path string) *apitype.ContainerFile {
	return &apitype.ContainerFile{ID: s.id(store.PrefixContainerFile), Object: apitype.ObjectContainerFile,
		ContainerID: containerID, CreatedAt: s.now, Bytes: 42, Path: path, Source: apitype.ContainerFileUser}
}

func itemID(it *apitype.Item) string { return it.ID() }
