// Package extract turns an uploaded file's bytes into plain text for
// indexing: plain text, Markdown, source code, JSON, CSV, HTML and PDF.
// It judges the type by filename and content (uploads arrive as
// application/octet-stream) and returns ErrUnsupported for anything else.
package extract
