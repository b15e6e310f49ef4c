package wasi

import (
	"os"
	"strings"
	"testing"
)

type corpusCase struct {
	name, code, stdout, stderr, errLine string
}

// loadCorpus parses testdata/corpus.txt: "### name", the code, then
// "--- stdout", optional "--- stderr" and "--- error" (the traceback's last line).
func loadCorpus(t *testing.T) []corpusCase {
	b, err := os.ReadFile("testdata/corpus.txt")
	if err != nil {
		t.Fatal(err)
	}
	var cases []corpusCase
	for _, block := range strings.Split(string(b), "### ")[1:] {
		name, rest, _ := strings.Cut(block, "\n")
		c := corpusCase{name: name}
		parts := strings.Split(rest, "\n--- ")
		c.code = parts[0] + "\n"
		for i, p := range parts[1:] {
			kind, body, _ := strings.Cut(p, "\n")
			if body != "" && i < len(parts)-2 {
				body += "\n" // the separator ate the section's last newline
			}
			switch kind {
			case "stdout":
				c.stdout = body
			case "stderr":
				c.stderr = body
			case "error":
				c.errLine = strings.TrimSpace(body)
			}
		}
		cases = append(cases, c)
	}
	return cases
}

var corpusFixtures = map[string]string{
	"sales.csv":   "date,region,amount\n2024-01-03,north,120.50\n2024-01-04,south,80.00\n2024-01-09,north,42.25\n2024-02-11,east,310.10\n2024-02-15,south,19.99\n",
	"people.json": `[{"name": "Ann", "age": 34}, {"name": "Bob", "age": 27}, {"name": "Cyd", "age": 30}]`,
}

// TestCorpus runs snippets of the kind models write, in order, in one session
// (so later snippets see earlier state, like a notebook), and reports the rate.
func TestCorpus(t *testing.T) {
	cases := loadCorpus(t)
	if len(cases) < 60 {
		t.Fatalf("corpus has %d snippets, want >= 60", len(cases))
	}
	sess := session(t, shared)
	for name, data := range corpusFixtures {
		if err := sess.WriteFile(name, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	pass := 0
	for _, c := range cases {
		r := mustExec(t, sess, c.code)
		ok := true
		if r.Stdout != c.stdout {
			t.Errorf("%s: stdout\n got %q\nwant %q", c.name, r.Stdout, c.stdout)
			ok = false
		}
		if r.Stderr != c.stderr {
			t.Errorf("%s: stderr\n got %q\nwant %q", c.name, r.Stderr, c.stderr)
			ok = false
		}
		if c.errLine == "" && r.Error != "" {
			t.Errorf("%s: unexpected error:\n%s", c.name, r.Error)
			ok = false
		}
		if c.errLine != "" && !strings.Contains(r.Error, c.errLine) {
			t.Errorf("%s: error\n got %q\nwant it to contain %q", c.name, r.Error, c.errLine)
			ok = false
		}
		if c.errLine != "" && !strings.Contains(r.Error, "Traceback") && !strings.HasPrefix(c.errLine, "SyntaxError") {
			t.Errorf("%s: error has no traceback: %q", c.name, r.Error)
			ok = false
		}
		if ok {
			pass++
		}
	}
	t.Logf("corpus: %d/%d snippets passed (%.1f%%)", pass, len(cases), 100*float64(pass)/float64(len(cases)))
}
