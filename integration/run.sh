#!/usr/bin/env bash
# Hearth's opt-in integration tier: builds (or reuses) a real Ollama server,
# generates a tiny deterministic model, serves it on a loopback port and runs
# the integration tests against it. Offline; no model weights are downloaded.
#
# Usage: integration/run.sh [go test flags...]      e.g. integration/run.sh -run Tool
#
# Environment:
#   HEARTH_INTEGRATION_CACHE  where built binaries are cached
#                             (default ${XDG_CACHE_HOME:-$HOME/.cache}/hearth-integration)
#   HEARTH_OLLAMA_VERSION     Ollama module version to build (default v0.17.4)
#   HEARTH_INTEGRATION_KEEP=1 keep the work directory (models, server log)
set -euo pipefail

command -v go >/dev/null || { echo "[integration] go is not on PATH" >&2; exit 1; }
version=${HEARTH_OLLAMA_VERSION:-v0.17.4}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${HEARTH_INTEGRATION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hearth-integration}
bin_dir=$cache/ollama-$version-$(go env GOOS)-$(go env GOARCH)
bin=$bin_dir/ollama

work=$(mktemp -d "${TMPDIR:-/tmp}/hearth-integration.XXXXXX")
server_pid=
t_start=$SECONDS
t_phase=$SECONDS
timings=()
test_rc=0

log() { printf '[integration] %s\n' "$*" >&2; }

phase_done() { # name
	local d=$((SECONDS - t_phase))
	timings+=("$(printf '%-10s %4ds' "$1" "$d")")
	log "phase $1 done in ${d}s"
	t_phase=$SECONDS
}

stop_server() {
	if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
		# The server runs in its own session: signal the whole group so the
		# model runner child goes too.
		kill -TERM -- "-$server_pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL -- "-$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	server_pid=
}

cleanup() {
	local rc=$?
	stop_server
	if [[ ${HEARTH_INTEGRATION_KEEP:-} == 1 || $rc -ne 0 ]]; then
		log "work directory kept: $work (server log: $work/server.log)"
	else
		rm -rf "$work"
	fi
	if ((${#timings[@]})); then
		log "timings:"
		printf '  %s\n' "${timings[@]}" >&2
		log "total      $((SECONDS - t_start))s"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- prerequisites -----------------------------------------------------------
for tool in curl setsid; do
	command -v "$tool" >/dev/null || { log "$tool is not on PATH"; exit 1; }
done
if [[ ! -x $bin ]]; then
	missing=()
	command -v gcc >/dev/null || missing+=(gcc)
	command -v g++ >/dev/null || missing+=(g++)
	[[ -f /usr/include/nlohmann/json.hpp ]] || missing+=(nlohmann-json3-dev)
	[[ -f /usr/include/stb/stb_image.h ]] || missing+=(libstb-dev)
	if ((${#missing[@]})); then
		if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
			log "installing ${missing[*]}"
			apt-get install -y "${missing[@]}" >"$work/apt.log" 2>&1 ||
				{ apt-get update >>"$work/apt.log" 2>&1 && apt-get install -y "${missing[@]}" >>"$work/apt.log" 2>&1; } ||
				{ log "apt-get failed, see $work/apt.log"; exit 1; }
		else
			log "missing build prerequisites: ${missing[*]} (Debian: apt-get install -y ${missing[*]})"
			exit 1
		fi
	fi
fi
phase_done prereqs

# --- build (cached) ------------------------------------------------------------
if [[ -x $bin ]]; then
	log "reusing cached $bin"
else
	log "building github.com/ollama/ollama@$version (several minutes; cached in $bin_dir afterwards)"
	# v0.17.4's vendored llama.cpp includes miniaudio.h, which nobody ships:
	# a stub declaring what it references is enough (audio input unsupported).
	mkdir -p "$work/include/miniaudio" "$cache"
	cp "$root/integration/miniaudio_stub.h" "$work/include/miniaudio/miniaudio.h"
	tmp_bin=$(mktemp -d "$cache/build.XXXXXX")
	(
		cd "$work" # outside Hearth's module: install exactly the tagged module
		GOFLAGS=-buildvcs=false GOBIN=$tmp_bin CGO_ENABLED=1 \
			CGO_CPPFLAGS="-I$work/include ${CGO_CPPFLAGS:-}" \
			go install -ldflags="-s -w -X=github.com/ollama/ollama/version.Version=${version#v}" \
			"github.com/ollama/ollama@$version"
	) || { rm -rf "$tmp_bin"; log "building ollama failed"; exit 1; }
	rm -rf "$bin_dir"
	mv "$tmp_bin" "$bin_dir"
fi
log "ollama $("$bin" --version 2>&1 | grep -o 'version is .*' || true)"
phase_done build

# --- models --------------------------------------------------------------------
(cd "$root" && go run ./integration/tinymodel -o "$work/tiny.gguf")
(cd "$root" && go run ./integration/tinymodel -embed -o "$work/tiny-embed.gguf")
cp "$root"/integration/models/*.Modelfile "$work/"
phase_done generate

# --- server --------------------------------------------------------------------
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=
for _ in $(seq 50); do
	p=$((20000 + RANDOM % 40000))
	if port_free "$p"; then port=$p; break; fi
done
[[ -n $port ]] || { log "no free loopback port found"; exit 1; }

mkdir -p "$work/models" "$work/home"
# HOME is private so the server's key pair does not land in ~/.ollama.
server_env=(HOME="$work/home" OLLAMA_HOST="127.0.0.1:$port" OLLAMA_MODELS="$work/models"
	OLLAMA_NOPRUNE=1 OLLAMA_NUM_PARALLEL=1 OLLAMA_MAX_LOADED_MODELS=4)
env "${server_env[@]}" setsid "$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
url=http://127.0.0.1:$port
for i in $(seq 200); do
	if curl -fsS "$url/api/version" >/dev/null 2>&1; then break; fi
	kill -0 "$server_pid" 2>/dev/null || { log "ollama serve exited; log:"; tail -n 30 "$work/server.log" >&2; exit 1; }
	((i < 200)) || { log "ollama serve did not answer on $url"; exit 1; }
	sleep 0.1
done
log "ollama serving on $url (pid $server_pid)"
phase_done serve

for m in hearth-tiny hearth-tiny-tools hearth-tiny-loop hearth-tiny-embed; do
	env "${server_env[@]}" "$bin" create "$m" -f "$work/$m.Modelfile" >"$work/create-$m.log" 2>&1 ||
		{ log "ollama create $m failed:"; cat "$work/create-$m.log" >&2; exit 1; }
done
phase_done create

# --- tests ---------------------------------------------------------------------
(
	cd "$root"
	HEARTH_OLLAMA_URL=$url \
		HEARTH_OLLAMA_BIN=$bin \
		HEARTH_OLLAMA_MODELS=$work/models \
		HEARTH_OLLAMA_HOME=$work/home \
		HEARTH_TINY_MODEL=hearth-tiny \
		HEARTH_TINY_TOOLS_MODEL=hearth-tiny-tools \
		HEARTH_TINY_LOOP_MODEL=hearth-tiny-loop \
		HEARTH_TINY_EMBED_MODEL=hearth-tiny-embed \
		go test -tags integration -count=1 -v "$@" ./integration/...
) || test_rc=$?
phase_done test

stop_server
phase_done stop
if ((test_rc)); then
	log "integration tests FAILED"
	exit "$test_rc"
fi
log "all integration tests passed"
