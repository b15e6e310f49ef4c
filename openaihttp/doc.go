// Package openaihttp serves a Hearth engine over the OpenAI Assistants v2 HTTP
// API, so that existing SDK clients (openai-go, the npm and Python openai
// packages, go-openai) work against it unchanged.
//
// NewHandler answers every /v1 endpoint of the reference with the hosted API's
// decoding rules, error envelopes, list parameters and Server-Sent Events;
// authentication, body limits and timeouts are part of the handler so that a
// plain http.Server around it is safe to run.
package openaihttp
