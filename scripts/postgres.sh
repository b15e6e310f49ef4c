#!/usr/bin/env bash
# A throwaway Postgres cluster for the tests (internal/pgtest reads
# HEARTH_TEST_POSTGRES_DSN). It uses Debian's server binaries, installing the
# `postgresql` package with apt-get when they are missing, and runs initdb in a
# temp dir as an unprivileged user (`postgres` when run as root: initdb refuses
# root). The server listens only on 127.0.0.1, on a free port, with its socket
# in the temp dir, and trades durability for speed (fsync off: a crash loses
# the cluster, which the tests throw away anyway).
#
#   eval "$(scripts/postgres.sh start)"    # prints export lines, nothing else
#   go test ./internal/pgtest/...
#   scripts/postgres.sh stop "$HEARTH_TEST_POSTGRES_DIR"
#
# `start DIR` reuses the cluster in DIR when it is running (so is idempotent;
# without DIR it reuses $HEARTH_TEST_POSTGRES_DIR); `stop DIR` stops the server
# by the PID in its postmaster.pid and removes DIR, and does nothing when DIR is
# gone. Diagnostics go to stderr; the DSN carries a random password, so print
# stdout nowhere a log keeps.
set -euo pipefail

marker=.hearth-postgres # in every dir this script made; stop removes no other

die() {
  echo "postgres.sh: $*" >&2
  exit 1
}

# pg_bin finds the newest Debian server binaries (or pg_config's, elsewhere).
pg_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir
    return 0
  fi
  return 1
}

install_postgres() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
    die "no Postgres server binaries, and apt-get (as root) is not there to install them: install Debian's postgresql"
  local start=$SECONDS
  # On Debian the package also creates (and, where services may start, starts)
  # its own `main` cluster on port 5432; this script never touches it.
  if ! { apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql; } >/dev/null 2>&1; then
    die "apt-get install postgresql failed"
  fi
  echo "postgres.sh: installed postgresql in $((SECONDS - start)) s" >&2
}

# as_owner runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# running prints the postmaster's PID when the server of DIR is up.
running() {
  local dir=$1 pid
  [ -f "$dir/data/postmaster.pid" ] || return 1
  pid=$(head -n 1 "$dir/data/postmaster.pid")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  # A stale PID file may name a PID reused by another process: the process
  # must be a postgres whose command line names this data dir.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/data" || return 1
  echo "$pid"
}

port_in_use() {
  (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
  local dir=${1:-${HEARTH_TEST_POSTGRES_DIR:-}}
  if [ -n "$dir" ] && [ -f "$dir/$marker" ] && running "$dir" >/dev/null && [ -f "$dir/env" ]; then
    cat "$dir/env"
    return 0
  fi
  local bin
  bin=$(pg_bin) || { install_postgres && bin=$(pg_bin); } || die "no initdb after installing postgresql"

  if [ -z "$dir" ]; then
    # /tmp, not $TMPDIR: the server's user must reach the dir, and root's
    # TMPDIR may sit under a home it cannot enter.
    dir=$(mktemp -d /tmp/hearth-postgres.XXXXXX)
  elif [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
    [ -f "$dir/$marker" ] || die "$dir exists and is not a cluster of this script"
    stop "$dir"
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  touch "$dir/$marker"
  # A start that fails midway leaves no server and no dir behind.
  trap 'stop "$dir" >/dev/null 2>&1 || true' EXIT
  chmod 700 "$dir"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "no postgres user (it comes with Debian's postgresql-common)"
    chown postgres: "$dir"
    runuser -u postgres -- test -w "$dir" || die "user postgres cannot write $dir"
  fi

  local password
  password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  # Only the server's user (and root) can open the socket dir, so the socket
  # trusts; TCP wants the password.
  (umask 077 && printf '%s\n' "$password" >"$dir/pwfile") # a builtin: not in any argv
  [ "$(id -u)" != 0 ] || chown postgres: "$dir/pwfile"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  rm -f "$dir/pwfile"

  local port attempt
  for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    port_in_use "$port" && { port= && continue; }
    # Test settings: no durability (the cluster is thrown away), enough
    # connections for parallel test packages each with a pool.
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -s start -o \
      "-c listen_addresses=127.0.0.1 -p $port -k '$dir' -c fsync=off -c synchronous_commit=off \
-c full_page_writes=off -c max_connections=200 -c shared_buffers=64MB" >/dev/null 2>&1; then
      break
    fi
    grep -qE 'could not bind|already in use' "$dir/server.log" 2>/dev/null || {
      tail -n 20 "$dir/server.log" >&2 2>/dev/null || true
      die "pg_ctl start failed (server log above)"
    }
    port=
  done
  [ -n "$port" ] || die "no free port after 5 attempts"
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 30 || die "server on 127.0.0.1:$port is not ready"

  # The tests' role owns the databases it creates (pgtest makes one per test).
  as_owner "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres >/dev/null <<SQL ||
CREATE ROLE hearth LOGIN CREATEDB PASSWORD '$password';
CREATE DATABASE hearth OWNER hearth;
SQL
    die "creating role hearth failed"

  (
    umask 077
    cat >"$dir/env" <<EOF
export HEARTH_TEST_POSTGRES_DSN='postgres://hearth:$password@127.0.0.1:$port/hearth?sslmode=disable'
export HEARTH_TEST_POSTGRES_DIR='$dir'
export HEARTH_TEST_POSTGRES_PID_FILE='$dir/data/postmaster.pid'
EOF
  )
  trap - EXIT
  cat "$dir/env"
}

stop() {
  local dir=${1:-${HEARTH_TEST_POSTGRES_DIR:-}}
  [ -n "$dir" ] || die "usage: postgres.sh stop DIR"
  [ -e "$dir" ] || return 0
  [ -f "$dir/$marker" ] || die "$dir is not a cluster of this script: not removing it"
  dir=$(cd "$dir" && pwd -P)
  local pid
  if pid=$(running "$dir"); then
    kill -INT "$pid" # fast shutdown: sessions are cut, nothing is kept anyway
    # The postmaster is not our child, so no wait(2): poll until it is gone or
    # a zombie (an init may reap late; kill -0 and tail --pid see a zombie as
    # alive), at most 30 s, then SIGKILL.
    local i state
    for ((i = 0; i < 600; i++)); do
      state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || break
      [ "$state" = Z ] && break
      sleep 0.05
    done
    [ "$i" -lt 600 ] || { running "$dir" >/dev/null && kill -KILL "$pid"; } || true
  fi
  rm -rf -- "$dir"
}

case ${1:-} in
start) start "${2:-}" ;;
stop) stop "${2:-}" ;;
*) die "usage: postgres.sh start [DIR] | stop [DIR]" ;;
esac
