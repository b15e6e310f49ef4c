package backend

import (
	"strings"
	"testing"
)

// The examples read hearth serve's names; the old ones still work and warn.
func TestPickEnvNames(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		warn bool
	}{
		{map[string]string{"HEARTH_DEFAULT_MODEL": "tiny", "HEARTH_MODEL_BACKEND": "scripted"}, false},
		{map[string]string{"HEARTH_MODEL": "tiny", "HEARTH_BACKEND": "scripted"}, true},
	} {
		var out strings.Builder
		c := pick(&out, func(k string) string { return tc.env[k] })
		if !c.Scripted || c.Name != "tiny" {
			t.Errorf("%v: %+v", tc.env, c)
		}
		for _, w := range []string{"HEARTH_MODEL is deprecated; rename it HEARTH_DEFAULT_MODEL", "HEARTH_BACKEND is deprecated; rename it HEARTH_MODEL_BACKEND"} {
			if strings.Contains(out.String(), w) != tc.warn {
				t.Errorf("%v: %q in %q: want %v", tc.env, w, out.String(), tc.warn)
			}
		}
	}
}
