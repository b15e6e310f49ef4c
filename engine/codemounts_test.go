package engine

import (
	"context"
	"fmt"
	"testing"

	"github.com/hearth-go/hearth/codeinterp"
)

type idSession struct{ id string }

func (s *idSession) ID() string { return s.id }
func (s *idSession) Exec(context.Context, string) (*codeinterp.Result, error) {
	return &codeinterp.Result{}, nil
}
func (s *idSession) WriteFile(string, []byte) error  { return nil }
func (s *idSession) ReadFile(string) ([]byte, error) { return nil, nil }
func (s *idSession) Close() error                    { return nil }

// Every thread that used the interpreter once must not stay in memory
// forever: the record is bounded and keeps the sessions in use.
func TestCodeMountsBounded(t *testing.T) {
	var c codeMounts
	hot := &idSession{"hot"}
	m, _ := c.get(hot)
	m.files["file-1"] = "a.csv"
	for i := range 3 * maxCodeMounts {
		c.get(&idSession{fmt.Sprintf("thread_%d", i)})
		if i%100 == 0 {
			c.get(hot)
		}
	}
	if n := c.len(); n > maxCodeMounts {
		t.Fatalf("codeMounts holds %d sessions, want at most %d", n, maxCodeMounts)
	}
	if m, fresh := c.get(hot); m.files["file-1"] != "a.csv" || fresh != "" {
		got := m.files["file-1"]
		t.Fatalf("the session in use lost its mounts: %q", got)
	}
}
