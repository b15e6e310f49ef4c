// Package truncate counts tokens and chooses which thread messages enter a
// model's prompt for a token budget, shortening the least important content
// before it drops whole messages, oldest first.
//
// It is what the engine uses for truncation_strategy, max_prompt_tokens and
// the model's context window, and it is usable alone: Fit takes any sequence
// of Items, newest first, and never touches stored messages.
package truncate
