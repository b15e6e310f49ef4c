package openaihttp

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/hearth-go/hearth/apitype"
)

// The Conversations API.

func (h *Handler) conversationRoutes(route func(string, int64, endpoint), jsonLimit int64) {
	route("POST /v1/conversations", jsonLimit, h.createConversation)
	route("GET /v1/conversations/{conversation_id}", 0, h.getConversation)
	route("POST /v1/conversations/{conversation_id}", jsonLimit, h.updateConversation)
	route("DELETE /v1/conversations/{conversation_id}", 0, h.deleteConversation)
	route("POST /v1/conversations/{conversation_id}/items", jsonLimit, h.createConversationItems)
	route("GET /v1/conversations/{conversation_id}/items", 0, h.listConversationItems)
	route("GET /v1/conversations/{conversation_id}/items/{item_id}", 0, h.getConversationItem)
	route("DELETE /v1/conversations/{conversation_id}/items/{item_id}", 0, h.deleteConversationItem)
	// A Hearth extension, the bridge from Assistants: a thread carried into
	// a new conversation (engine.Conversations.FromThread).
	route("POST /v1/threads/{thread_id}/conversation", 0, h.threadToConversation)
}

func (h *Handler) threadToConversation(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.eng.Conversations.FromThread(r.Context(), r.PathValue("thread_id"))
}

// decodeStrictBody reads a JSON body into one of apitype's strict request
// types, whose decoders name the exact parameter at fault with the API's
// code; their *apitype.Error is returned as it is. An empty body is {}.
func decodeStrictBody(r *http.Request, limit int64, dst json.Unmarshaler) error {
	b, err := readBody(r, limit)
	if err != nil {
		return err
	}
	if len(b) == 0 {
		b = []byte("{}")
	} else if err := checkJSONType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	if !json.Valid(b) {
		return errBadJSON("invalid JSON")
	}
	if err := dst.UnmarshalJSON(b); err != nil {
		if ae := (*apitype.Error)(nil); errors.As(err, &ae) {
			return ae
		}
		return apitype.Invalid("", "Invalid request: %s.", trimErr(err))
	}
	return nil
}

func (h *Handler) createConversation(w http.ResponseWriter, r *http.Request) (any, error) {
	var p apitype.ConversationCreateParams
	if err := decodeStrictBody(r, h.opts.MaxBodyBytes, &p); err != nil {
		return nil, err
	}
	return h.eng.Conversations.Create(r.Context(), p)
}

func (h *Handler) getConversation(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.eng.Conversations.Retrieve(r.Context(), r.PathValue("conversation_id"))
}

func (h *Handler) updateConversation(w http.ResponseWriter, r *http.Request) (any, error) {
	var p apitype.ConversationUpdateParams
	if err := decodeStrictBody(r, h.opts.MaxBodyBytes, &p); err != nil {
		return nil, err
	}
	return h.eng.Conversations.Update(r.Context(), r.PathValue("conversation_id"), p)
}

func (h *Handler) deleteConversation(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.eng.Conversations.Delete(r.Context(), r.PathValue("conversation_id"))
}

func (h *Handler) createConversationItems(w http.ResponseWriter, r *http.Request) (any, error) {
	var p apitype.ConversationItemCreateParams
	if err := decodeStrictBody(r, h.opts.MaxBodyBytes, &p); err != nil {
		return nil, err
	}
	p.Include = queryArray(r, "include")
	return h.eng.Conversations.Items.Create(r.Context(), r.PathValue("conversation_id"), p)
}

func (h *Handler) listConversationItems(w http.ResponseWriter, r *http.Request) (any, error) {
	p, err := listParams(r)
	if err != nil {
		return nil, err
	}
	// include[] asks for tool call details Hearth's items always carry or
	// refuses; it is checked, and changes nothing else.
	if err := apitype.CheckInclude("include", queryArray(r, "include")); err != nil {
		return nil, err
	}
	return h.eng.Conversations.Items.List(r.Context(), r.PathValue("conversation_id"), p)
}

func (h *Handler) getConversationItem(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := apitype.CheckInclude("include", queryArray(r, "include")); err != nil {
		return nil, err
	}
	return h.eng.Conversations.Items.Retrieve(r.Context(), r.PathValue("conversation_id"), r.PathValue("item_id"))
}

func (h *Handler) deleteConversationItem(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.eng.Conversations.Items.Delete(r.Context(), r.PathValue("conversation_id"), r.PathValue("item_id"))
}
