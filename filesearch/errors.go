package filesearch

import "errors"

var (
	// ErrEmbedderMismatch: a vector store was indexed with another embedder
	// than the one offered; re-index it or configure its embedder.
	ErrEmbedderMismatch = errors.New("filesearch: vector store was indexed with a different embedder")
	// ErrStoreNotFound: no file was ever indexed in the vector store.
	ErrStoreNotFound = errors.New("filesearch: vector store has no index")
	// ErrEmptyQuery: the query has no text.
	ErrEmptyQuery = errors.New("filesearch: empty query")
)
