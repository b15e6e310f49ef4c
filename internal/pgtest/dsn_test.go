package pgtest

import (
	"strings"
	"testing"
)

func TestWithDatabase(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://u:secret@127.0.0.1:5/hearth?sslmode=disable", "postgres://u:secret@127.0.0.1:5/x?sslmode=disable"},
		{"postgresql://u@127.0.0.1:5", "postgresql://u@127.0.0.1:5/x"},
		{"host=127.0.0.1 port=5 user=u dbname=hearth", "host=127.0.0.1 port=5 user=u dbname=hearth dbname=x"},
	} {
		got, err := withDatabase(tc.in, "x")
		if err != nil || got != tc.want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"postgres://u:secret@[::1", "host='secret"} {
		if _, err := withDatabase(bad, "x"); err == nil || strings.Contains(err.Error(), "secret") {
			t.Errorf("withDatabase(%q): error %v; want one without the password", bad, err)
		}
	}
}
