package pgstore_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// cluster is a Postgres server of the test's own (scripts/postgres.sh), to
// stop and start under a running store; the shared cluster is never
// stopped.
type cluster struct {
	dir, dsn, port string
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	script, err := filepath.Abs("../../scripts/postgres.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("/tmp", "hearth-pgstore-")
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(dir) // the script makes it, and refuses a dir it did not make
	out, err := exec.Command(script, "start", dir).Output()
	if err != nil {
		t.Fatalf("postgres.sh start: %v", err)
	}
	t.Cleanup(func() {
		if err := exec.Command(script, "stop", dir).Run(); err != nil {
			t.Errorf("postgres.sh stop: %v", err)
		}
	})
	m := regexp.MustCompile(`HEARTH_TEST_POSTGRES_DSN='([^']+)'`).FindSubmatch(out)
	if m == nil {
		t.Fatal("postgres.sh printed no DSN")
	}
	c := &cluster{dir: dir, dsn: string(m[1])}
	cfg, err := pgx.ParseConfig(c.dsn)
	if err != nil {
		t.Fatal("the DSN postgres.sh printed does not parse")
	}
	c.port = strings.TrimSpace(strings.Split(strings.Split(c.dsn, "@")[1], "/")[0][len(cfg.Host)+1:])
	return c
}

func (c *cluster) pgCtl(t *testing.T, args ...string) {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		t.Fatal("no pg_ctl")
	}
	cmd := append([]string{bins[len(bins)-1], "-D", c.dir + "/data", "-w", "-s"}, args...)
	if os.Getuid() == 0 {
		cmd = append([]string{"runuser", "-u", "postgres", "--"}, cmd...)
	}
	if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl %v: %v\n%s", args, err, out)
	}
}

func (c *cluster) stop(t *testing.T) { c.pgCtl(t, "stop", "-m", "fast") }

func (c *cluster) start(t *testing.T) {
	c.pgCtl(t, "-l", c.dir+"/server.log", "start", "-o",
		"-c listen_addresses=127.0.0.1 -p "+c.port+" -k '"+c.dir+"' -c fsync=off -c synchronous_commit=off -c full_page_writes=off")
}
