package engine

import (
	"fmt"
	"math"
	"regexp"
	"unicode/utf8"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// Limits of the reference, validated on every request.
const (
	MaxMetadataPairs     = 16
	MaxMetadataKey       = 64
	MaxMetadataValue     = 512
	MaxNameChars         = 256
	MaxDescriptionChars  = 512
	MaxInstructionsChars = 256_000
	MaxMessageChars      = 256_000
	MaxTools             = 128
	MaxCodeFiles         = 20
	MaxVectorStores      = 1
	MaxModelChars        = 256
	MaxAttachments       = 20
	MaxContentParts      = 64
	MaxInitialMessages   = 32
	MinTokenLimit        = 256
)

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

func checkText(param, s string, maxChars int, required bool) error {
	if !utf8.ValidString(s) {
		return apitype.Invalid(param, "'%s' is not valid UTF-8.", param)
	}
	if required && s == "" {
		return apitype.Invalid(param, "'%s' must not be empty.", param)
	}
	if n := utf8.RuneCountInString(s); n > maxChars {
		return apitype.Invalid(param, "'%s' is too long: %d characters, the maximum is %d.", param, n, maxChars)
	}
	return nil
}

func checkOptText(param string, s *string, maxChars int) error {
	if s == nil {
		return nil
	}
	return checkText(param, *s, maxChars, false)
}

func checkMetadata(param string, m apitype.Metadata) error {
	if len(m) > MaxMetadataPairs {
		return apitype.Invalid(param, "'%s' has %d pairs; the maximum is %d.", param, len(m), MaxMetadataPairs)
	}
	for k, v := range m {
		if k == "" || !utf8.ValidString(k) || utf8.RuneCountInString(k) > MaxMetadataKey {
			return apitype.Invalid(param, "'%s' key %q must be 1 to %d characters of valid UTF-8.", param, truncateForError(k), MaxMetadataKey)
		}
		if !utf8.ValidString(v) || utf8.RuneCountInString(v) > MaxMetadataValue {
			return apitype.Invalid(param+"."+k, "'%s.%s' must be at most %d characters of valid UTF-8.", param, truncateForError(k), MaxMetadataValue)
		}
	}
	return nil
}

// checkAttributes validates a vector store file's attributes as the hosted
// API did: at most 16 keys of up to 64 characters, each value a string of
// up to 512 characters, a number or a boolean.
func checkAttributes(param string, a map[string]any) error {
	if len(a) > MaxMetadataPairs {
		return apitype.Invalid(param, "'%s' has %d keys; the maximum is %d.", param, len(a), MaxMetadataPairs)
	}
	for k, v := range a {
		if k == "" || !utf8.ValidString(k) || utf8.RuneCountInString(k) > MaxMetadataKey {
			return apitype.Invalid(param, "'%s' key %q must be 1 to %d characters of valid UTF-8.", param, truncateForError(k), MaxMetadataKey)
		}
		switch v := apitype.NormalizeAttribute(v).(type) {
		case string:
			if !utf8.ValidString(v) || utf8.RuneCountInString(v) > MaxMetadataValue {
				return apitype.Invalid(param+"."+k, "'%s.%s' must be at most %d characters of valid UTF-8.", param, truncateForError(k), MaxMetadataValue)
			}
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return apitype.Invalid(param+"."+k, "'%s.%s' must be a finite number.", param, truncateForError(k))
			}
		case bool:
		default:
			return apitype.Invalid(param+"."+k, "'%s.%s' must be a string, a number or a boolean.", param, truncateForError(k))
		}
	}
	return nil
}

// normAttributes copies checked attributes with Go's integers as float64,
// the type they come back with from the store.
func normAttributes(a map[string]any) map[string]any {
	if a == nil {
		return nil
	}
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = apitype.NormalizeAttribute(v)
	}
	return out
}

func truncateForError(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func checkRange(param string, v *float64, lo, hi float64) error {
	if v != nil && !(*v >= lo && *v <= hi) {
		return apitype.Invalid(param, "'%s' must be between %g and %g, got %g.", param, lo, hi, *v)
	}
	return nil
}

func checkModel(param, model string) error {
	return checkText(param, model, MaxModelChars, true)
}

// checkTools validates a tool list and returns the function names it declares.
func checkTools(param string, tools []apitype.Tool) error {
	if len(tools) > MaxTools {
		return apitype.Invalid(param, "'%s' has %d tools; the maximum is %d.", param, len(tools), MaxTools)
	}
	seen := map[string]bool{}
	for i, t := range tools {
		p := fmt.Sprintf("%s[%d]", param, i)
		switch t.Type {
		case apitype.ToolTypeCodeInterpreter:
		case apitype.ToolTypeFileSearch:
			if fs := t.FileSearch; fs != nil {
				if fs.MaxNumResults != 0 && (fs.MaxNumResults < 1 || fs.MaxNumResults > 50) {
					return apitype.Invalid(p+".file_search.max_num_results", "'max_num_results' must be between 1 and 50, got %d.", fs.MaxNumResults)
				}
				if err := checkRanking(p+".file_search.ranking_options", fs.RankingOptions); err != nil {
					return err
				}
			}
		case apitype.ToolTypeFunction:
			f := t.Function
			if f == nil {
				return apitype.Invalid(p+".function", "a function tool needs 'function'.")
			}
			if !nameRE.MatchString(f.Name) {
				return apitype.Invalid(p+".function.name", "function name %q must match ^[a-zA-Z0-9_-]{1,64}$.", truncateForError(f.Name))
			}
			if seen[f.Name] {
				return apitype.Invalid(p+".function.name", "function %q is declared twice.", f.Name)
			}
			seen[f.Name] = true
			if err := checkText(p+".function.description", f.Description, MaxDescriptionChars*2, false); err != nil {
				return err
			}
			if len(f.Parameters) > 0 {
				if err := checkSchema(p+".function.parameters", f.Parameters); err != nil {
					return err
				}
			}
		case "":
			return apitype.Invalid(p+".type", "'type' is required.")
		default:
			return apitype.Invalid(p+".type", "unknown tool type %q; expected code_interpreter, file_search or function.", truncateForError(string(t.Type)))
		}
	}
	return nil
}

func checkRanking(param string, r *apitype.RankingOptions) error {
	if r == nil {
		return nil
	}
	switch r.Ranker {
	case "", apitype.RankerAuto, apitype.RankerDefault:
	default:
		return apitype.Invalid(param+".ranker", "'ranker' must be auto or default_2024_08_21, got %q.", truncateForError(r.Ranker))
	}
	if !(r.ScoreThreshold >= 0 && r.ScoreThreshold <= 1) {
		return apitype.Invalid(param+".score_threshold", "'score_threshold' must be between 0 and 1, got %g.", r.ScoreThreshold)
	}
	return nil
}

func checkResponseFormat(param string, f *apitype.ResponseFormat) error {
	if f == nil {
		return nil
	}
	switch f.Type {
	case "", apitype.ResponseFormatAuto, apitype.ResponseFormatText, apitype.ResponseFormatJSONObject:
		if f.JSONSchema != nil {
			return apitype.Invalid(param+".json_schema", "'json_schema' is only allowed with type json_schema.")
		}
	case apitype.ResponseFormatJSONSchema:
		js := f.JSONSchema
		if js == nil {
			return apitype.Invalid(param+".json_schema", "type json_schema needs 'json_schema'.")
		}
		if !nameRE.MatchString(js.Name) {
			return apitype.Invalid(param+".json_schema.name", "'name' must match ^[a-zA-Z0-9_-]{1,64}$.")
		}
		if len(js.Schema) > 0 {
			if err := checkSchema(param+".json_schema.schema", js.Schema); err != nil {
				return err
			}
		}
	default:
		return apitype.Invalid(param+".type", "unknown response_format type %q; expected auto, text, json_object or json_schema.", truncateForError(f.Type))
	}
	return nil
}

func checkToolResources(param string, r *apitype.ToolResources) error {
	if r == nil {
		return nil
	}
	if ci := r.CodeInterpreter; ci != nil {
		if len(ci.FileIDs) > MaxCodeFiles {
			return apitype.Invalid(param+".code_interpreter.file_ids", "at most %d files, got %d.", MaxCodeFiles, len(ci.FileIDs))
		}
		for i, id := range ci.FileIDs {
			if !store.ValidID(store.PrefixFile, id) {
				return apitype.Invalid(fmt.Sprintf("%s.code_interpreter.file_ids[%d]", param, i), "invalid file id %q.", truncateForError(id))
			}
		}
	}
	if fs := r.FileSearch; fs != nil {
		if len(fs.VectorStoreIDs) > MaxVectorStores {
			return apitype.Invalid(param+".file_search.vector_store_ids", "at most %d vector store, got %d.", MaxVectorStores, len(fs.VectorStoreIDs))
		}
		if len(fs.VectorStores) > MaxVectorStores {
			return apitype.Invalid(param+".file_search.vector_stores", "at most %d vector store, got %d.", MaxVectorStores, len(fs.VectorStores))
		}
		if len(fs.VectorStores) > 0 && len(fs.VectorStoreIDs) > 0 {
			return apitype.Invalid(param+".file_search", "give vector_store_ids or vector_stores, not both.")
		}
		for i, id := range fs.VectorStoreIDs {
			if !store.ValidID(store.PrefixVectorStore, id) {
				return apitype.Invalid(fmt.Sprintf("%s.file_search.vector_store_ids[%d]", param, i), "invalid vector store id %q.", truncateForError(id))
			}
		}
	}
	return nil
}

func checkMessage(param string, m *apitype.MessageCreateParams) error {
	switch m.Role {
	case apitype.RoleUser, apitype.RoleAssistant:
	case "":
		return apitype.Invalid(param+".role", "'role' is required (user or assistant).")
	default:
		return apitype.Invalid(param+".role", "'role' must be user or assistant, got %q.", truncateForError(string(m.Role)))
	}
	c := m.Content
	if c.Parts == nil {
		if err := checkText(param+".content", c.Text, MaxMessageChars, true); err != nil {
			return err
		}
	} else {
		if len(c.Parts) == 0 {
			return apitype.Invalid(param+".content", "'content' must not be an empty array.")
		}
		if len(c.Parts) > MaxContentParts {
			return apitype.Invalid(param+".content", "at most %d content parts, got %d.", MaxContentParts, len(c.Parts))
		}
		for i, p := range c.Parts {
			pp := fmt.Sprintf("%s.content[%d]", param, i)
			switch p.Type {
			case apitype.ContentText:
				if p.Text == nil {
					return apitype.Invalid(pp+".text", "a text part needs 'text'.")
				}
				if err := checkText(pp+".text", p.Text.Value, MaxMessageChars, true); err != nil {
					return err
				}
			case apitype.ContentImageFile:
				if p.ImageFile == nil || !store.ValidID(store.PrefixFile, p.ImageFile.FileID) {
					return apitype.Invalid(pp+".image_file.file_id", "an image_file part needs a valid 'file_id'.")
				}
				if err := checkDetail(pp+".image_file.detail", p.ImageFile.Detail); err != nil {
					return err
				}
			case apitype.ContentImageURL:
				if p.ImageURL == nil || p.ImageURL.URL == "" {
					return apitype.Invalid(pp+".image_url.url", "an image_url part needs 'url'.")
				}
				if err := checkText(pp+".image_url.url", p.ImageURL.URL, 20<<20, true); err != nil {
					return err
				}
				if err := checkDetail(pp+".image_url.detail", p.ImageURL.Detail); err != nil {
					return err
				}
			default:
				return apitype.Invalid(pp+".type", "content part type must be text, image_file or image_url, got %q.", truncateForError(p.Type))
			}
		}
	}
	if len(m.Attachments) > MaxAttachments {
		return apitype.Invalid(param+".attachments", "at most %d attachments, got %d.", MaxAttachments, len(m.Attachments))
	}
	for i, a := range m.Attachments {
		ap := fmt.Sprintf("%s.attachments[%d]", param, i)
		if !store.ValidID(store.PrefixFile, a.FileID) {
			return apitype.Invalid(ap+".file_id", "invalid file id %q.", truncateForError(a.FileID))
		}
		for j, t := range a.Tools {
			if t.Type != apitype.ToolTypeCodeInterpreter && t.Type != apitype.ToolTypeFileSearch {
				return apitype.Invalid(fmt.Sprintf("%s.tools[%d].type", ap, j), "attachment tool must be code_interpreter or file_search, got %q.", truncateForError(string(t.Type)))
			}
		}
	}
	return checkMetadata(param+".metadata", m.Metadata)
}

// checkDetail validates an image part's detail: auto, low or high.
func checkDetail(param, d string) error {
	switch d {
	case "", "auto", "low", "high":
		return nil
	}
	return apitype.Invalid(param, "'detail' must be auto, low or high, got %q.", truncateForError(d))
}

// checkList validates list params whose cursors are ids with prefix.
func checkList(p apitype.ListParams, prefix string) error {
	return checkListUpTo(p, prefix, apitype.MaxListLimit)
}

func checkListUpTo(p apitype.ListParams, prefix string, maxLimit int) error {
	if p.Limit < 0 || p.Limit > maxLimit {
		return apitype.Invalid("limit", "'limit' must be between 1 and %d, got %d.", maxLimit, p.Limit)
	}
	switch p.Order {
	case "", apitype.OrderAsc, apitype.OrderDesc:
	default:
		return apitype.Invalid("order", "'order' must be asc or desc, got %q.", truncateForError(p.Order))
	}
	if p.After != "" && !store.ValidID(prefix, p.After) {
		return apitype.Invalid("after", "'after' must be an id starting with %q, got %q.", prefix, truncateForError(p.After))
	}
	if p.Before != "" && !store.ValidID(prefix, p.Before) {
		return apitype.Invalid("before", "'before' must be an id starting with %q, got %q.", prefix, truncateForError(p.Before))
	}
	return nil
}

func checkTokenLimit(param string, v *int) error {
	if v != nil && *v < MinTokenLimit {
		return apitype.Invalid(param, "'%s' must be null or at least %d, got %d.", param, MinTokenLimit, *v)
	}
	return nil
}

func checkTruncation(param string, t *apitype.TruncationStrategy) error {
	if t == nil {
		return nil
	}
	switch t.Type {
	case apitype.TruncationAuto:
		if t.LastMessages != nil {
			return apitype.Invalid(param+".last_messages", "'last_messages' is only allowed with type last_messages.")
		}
	case apitype.TruncationLastMessages:
		if t.LastMessages == nil || *t.LastMessages < 1 {
			return apitype.Invalid(param+".last_messages", "'last_messages' must be at least 1.")
		}
	default:
		return apitype.Invalid(param+".type", "truncation_strategy type must be auto or last_messages, got %q.", truncateForError(t.Type))
	}
	return nil
}

func checkToolChoice(param string, c *apitype.ToolChoice, tools []apitype.Tool) error {
	if c == nil || c.Type == "" {
		return nil
	}
	switch c.Type {
	case apitype.ToolTypeFunction:
		if c.Function == nil || c.Function.Name == "" {
			return apitype.Invalid(param+".function.name", "a function tool_choice needs 'function.name'.")
		}
		for _, t := range tools {
			if t.Type == apitype.ToolTypeFunction && t.Function != nil && t.Function.Name == c.Function.Name {
				return nil
			}
		}
		return apitype.Invalid(param+".function.name", "tool_choice names function %q, which is not among the run's tools.", truncateForError(c.Function.Name))
	case apitype.ToolTypeCodeInterpreter, apitype.ToolTypeFileSearch:
		for _, t := range tools {
			if t.Type == c.Type {
				return nil
			}
		}
		return apitype.Invalid(param+".type", "tool_choice forces %s, which is not among the run's tools.", c.Type)
	default:
		return apitype.Invalid(param+".type", "tool_choice type must be function, code_interpreter or file_search, got %q.", truncateForError(string(c.Type)))
	}
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
