package apitype

import "strings"

// Clone returns a deep copy of m that shares no memory with it, string bytes
// included, so a message lent by store.Tx.ScanMessages (whose strings point
// into the read transaction's memory) can be kept after the scan. nil and
// empty slices and maps stay as they were: they differ on the wire.
func (m *Message) Clone() *Message {
	if m == nil {
		return nil
	}
	c := *m
	c.IncompleteDetails = clonePtr(m.IncompleteDetails)
	c.CompletedAt = clonePtr(m.CompletedAt)
	c.IncompleteAt = clonePtr(m.IncompleteAt)
	c.AssistantID = clonePtr(m.AssistantID)
	c.RunID = clonePtr(m.RunID)
	if m.Content != nil {
		c.Content = make([]MessageContent, len(m.Content))
		for i, p := range m.Content {
			p.Index = clonePtr(p.Index)
			p.ImageFile = clonePtr(p.ImageFile)
			p.ImageURL = clonePtr(p.ImageURL)
			p.Refusal = clonePtr(p.Refusal)
			if p.Text != nil {
				t := *p.Text
				if t.Annotations != nil {
					t.Annotations = make([]Annotation, len(p.Text.Annotations))
					for j, a := range p.Text.Annotations {
						a.Index = clonePtr(a.Index)
						a.FileCitation = clonePtr(a.FileCitation)
						a.FilePath = clonePtr(a.FilePath)
						t.Annotations[j] = a
					}
				}
				p.Text = &t
			}
			c.Content[i] = p
		}
	}
	if m.Attachments != nil {
		c.Attachments = make([]Attachment, len(m.Attachments))
		for i, a := range m.Attachments {
			if a.Tools != nil {
				a.Tools = append(make([]AttachmentTool, 0, len(a.Tools)), a.Tools...)
			}
			c.Attachments[i] = a
		}
	}
	// The structure is new; now give every string its own bytes, all in
	// one buffer sized by a first pass.
	var sc stringCopier
	c.eachString(sc.count)
	for k, v := range m.Metadata {
		sc.n += len(k) + len(v)
	}
	sc.b.Grow(sc.n)
	c.eachString(sc.copy)
	if m.Metadata != nil {
		c.Metadata = make(Metadata, len(m.Metadata))
		for k, v := range m.Metadata {
			c.Metadata[sc.str(k)] = sc.str(v)
		}
	}
	return &c
}

// eachString calls fn with every string field of m outside Metadata.
func (m *Message) eachString(fn func(*string)) {
	fn(&m.ID)
	fn(&m.Object)
	fn(&m.ThreadID)
	fn((*string)(&m.Status))
	fn((*string)(&m.Role))
	if m.IncompleteDetails != nil {
		fn(&m.IncompleteDetails.Reason)
	}
	if m.AssistantID != nil {
		fn(m.AssistantID)
	}
	if m.RunID != nil {
		fn(m.RunID)
	}
	for i := range m.Content {
		p := &m.Content[i]
		fn(&p.Type)
		if p.Text != nil {
			fn(&p.Text.Value)
			for j := range p.Text.Annotations {
				a := &p.Text.Annotations[j]
				fn(&a.Type)
				fn(&a.Text)
				if a.FileCitation != nil {
					fn(&a.FileCitation.FileID)
					fn(&a.FileCitation.Quote)
				}
				if a.FilePath != nil {
					fn(&a.FilePath.FileID)
				}
			}
		}
		if p.ImageFile != nil {
			fn(&p.ImageFile.FileID)
			fn(&p.ImageFile.Detail)
		}
		if p.ImageURL != nil {
			fn(&p.ImageURL.URL)
			fn(&p.ImageURL.Detail)
		}
		if p.Refusal != nil {
			fn(p.Refusal)
		}
	}
	for i := range m.Attachments {
		a := &m.Attachments[i]
		fn(&a.FileID)
		for j := range a.Tools {
			fn((*string)(&a.Tools[j].Type))
		}
	}
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// stringCopier copies strings into one buffer: count sizes it, copy and str
// fill it. A strings.Builder never rewrites bytes it has written, so each
// copy stays as it was whatever comes after.
type stringCopier struct {
	n int
	b strings.Builder
}

func (sc *stringCopier) count(s *string) { sc.n += len(*s) }

func (sc *stringCopier) copy(s *string) { *s = sc.str(*s) }

func (sc *stringCopier) str(s string) string {
	if s == "" {
		return ""
	}
	off := sc.b.Len()
	sc.b.WriteString(s)
	return sc.b.String()[off:]
}
