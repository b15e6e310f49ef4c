// Package playground is the browser page `hearth serve` offers at /playground/:
// an Assistants Playground (assistants, threads, streamed chat, tool calls, the
// run inspector, vector store uploads) written in plain HTML, CSS and
// JavaScript and embedded in the binary.
//
// The page talks only to the server's own /v1 API, the surface the SDKs use,
// with a strict Content-Security-Policy; openaihttp mounts Handler behind its
// origin and Host checks.
package playground
