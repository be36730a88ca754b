#!/usr/bin/env bash
# The tutorial's prime workload through taskpool: builds build/, starts
# taskpoold with two workers on a private socket, maps is_prime over the
# tutorial's numbers (each result names the worker pid that computed it),
# shows the pool's status, and stops the daemon.
set -euo pipefail

cd "$(dirname "$0")/.."

./scripts/install-deps.sh

echo "=== building build/"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "${TASKPOOL_BUILD_JOBS:-2}" --target taskpoold taskpool

daemon=build/src/daemon/taskpoold
cli=build/src/cli/taskpool
for binary in "$daemon" "$cli"; do
  [[ -x "$binary" ]] || { echo "demo: $binary was not built" >&2; exit 1; }
done

workdir="$(mktemp -d "${TMPDIR:-/tmp}/taskpool-demo.XXXXXX")"
socket="$workdir/taskpoold.sock"
log="$workdir/taskpoold.log"
daemon_pid=""

# On any exit, successful or not: stop the daemon if it still runs, and
# remove the temporary directory (socket and log).
cleanup() {
  local status=$?
  if [[ -n "$daemon_pid" ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    # Give it the graceful-shutdown window, then make sure.
    for _ in $(seq 50); do
      kill -0 "$daemon_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  if ((status != 0)) && [[ -s "$log" ]]; then
    echo "--- daemon log (last 20 lines)" >&2
    tail -n 20 "$log" >&2
  fi
  rm -rf "$workdir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "=== starting taskpoold (2 workers) on $socket"
"$daemon" --socket "$socket" --workers 2 2>"$log" &
daemon_pid=$!

# Wait until the daemon answers, at most ~10 s; stop early if it died.
ready=0
for _ in $(seq 100); do
  if ! kill -0 "$daemon_pid" 2>/dev/null; then
    wait "$daemon_pid" && code=0 || code=$?
    daemon_pid=""
    echo "demo: taskpoold exited during start-up (status $code):" >&2
    cat "$log" >&2
    exit 1
  fi
  if "$cli" --socket "$socket" ping >/dev/null 2>&1; then
    ready=1
    break
  fi
  sleep 0.1
done
if ((!ready)); then
  echo "demo: taskpoold did not answer ping on $socket within 10 s" >&2
  exit 1
fi

echo
echo "=== taskpool map is_prime 222377 3334 2212 3345 23441 454577 341737 565633"
"$cli" --socket "$socket" map is_prime 222377 3334 2212 3345 23441 454577 341737 565633

echo
echo "=== taskpool status"
"$cli" --socket "$socket" status

echo
echo "=== stopping taskpoold (SIGTERM)"
kill -TERM "$daemon_pid"
# Bounded: a daemon that ignores SIGTERM is a failure, not a hang (the trap
# then kills it).
for _ in $(seq 100); do
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$daemon_pid" 2>/dev/null; then
  echo "demo: taskpoold still running 10 s after SIGTERM" >&2
  exit 1
fi
if wait "$daemon_pid"; then
  code=0
else
  code=$?
fi
daemon_pid=""
if ((code != 0)); then
  echo "demo: taskpoold exited with status $code after SIGTERM" >&2
  exit 1
fi
echo "taskpoold stopped cleanly"
