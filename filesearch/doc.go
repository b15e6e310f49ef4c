// Package filesearch indexes documents for the file_search tool: it chunks
// text by tokens, embeds the chunks (an offline lexical embedder by default, or
// any llm.Embedder), keeps vectors in bbolt as the source of truth and answers
// hybrid vector + BM25 queries from in-memory chromem-go collections rebuilt
// from bbolt on first use.
//
// It also formats search results for the model with 【m:i†filename】 source
// markers and turns the markers in a model's answer into file_citation
// annotations; package filesearch/extract turns uploaded bytes into text.
package filesearch
