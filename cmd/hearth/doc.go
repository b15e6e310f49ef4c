// Command hearth serves the OpenAI Assistants API (v2) over HTTP from one
// local bbolt file (with a browser Playground at /playground/), chats with
// it in the terminal, and backs that file up while it is in use.
//
//	hearth serve  [--db hearth.db] [--addr 127.0.0.1:8080] [--model-backend scripted|ollama] …
//	hearth chat   [--server URL | --db FILE] [--assistant ID | --model M --tools …] [--thread ID] [--functions FILE]
//	hearth assistants ls | threads ls | files ls | files upload FILE...   [--json]
//	hearth backup [--db FILE | --server URL] OUT
//	hearth version
//
// Every flag of serve has an environment variable (HEARTH_DB, HEARTH_ADDR,
// HEARTH_MODEL_BACKEND, HEARTH_OLLAMA_URL, HEARTH_DEFAULT_MODEL,
// HEARTH_API_KEYS_FILE, HEARTH_LOG_FORMAT, HEARTH_LOG_LEVEL); API keys come
// from HEARTH_API_KEYS (comma-separated) or a keys file, never from flags.
// Without keys the server listens on loopback only.
package main
