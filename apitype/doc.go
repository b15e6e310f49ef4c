// Package apitype holds the wire-faithful types of the Assistants API (v2)
// and of the Responses and Conversations APIs: objects, request parameters,
// enums, streaming events, pages and errors.
//
// Every type marshals to exactly the JSON the hosted API produced, so the
// engine, the HTTP server and clients share one vocabulary. It imports nothing
// of Hearth and sits at the bottom of the dependency graph. Responses and
// Conversations requests decode strictly, as that API does (unknown fields
// are refused); responses.go lists which fields are used, echoed or refused.
package apitype
