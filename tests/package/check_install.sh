#!/usr/bin/env bash
# Checks that an installed taskpool is usable from another project:
#   1. cmake --install BUILD_DIR into a temporary prefix;
#   2. configure + build CONSUMER_DIR with -DCMAKE_PREFIX_PATH=<prefix>, i.e.
#      find_package(taskpool) and taskpool::client from the install only;
#   3. run the consumer against a socket nobody listens on: it must exit 1
#      and report DAEMON_NOT_RUNNING (links, loads, and fails cleanly);
#   4. run it, and a plugin built with it, against the installed taskpoold;
#   5. with --examples-dir: build examples/ the same way, start
#      taskpoold with the typed example plugin and check resize_client's
#      output (typed call, map, start hook once per worker) and the error
#      for a payload that is not the plugin's request type.
#
# Usage: check_install.sh --build-dir DIR --consumer-dir DIR
#          [--examples-dir DIR] [--cmake CMAKE] [--generator GEN]
#          [--cxx COMPILER] [--cxx-flags FLAGS] [--keep]
set -euo pipefail

build_dir="" consumer_dir="" examples_dir="" cmake_bin="cmake" generator="" cxx="" cxx_flags=""
keep=0
while (($#)); do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --consumer-dir) consumer_dir="$2"; shift 2 ;;
    --examples-dir) examples_dir="$2"; shift 2 ;;
    --cmake) cmake_bin="$2"; shift 2 ;;
    --generator) generator="$2"; shift 2 ;;
    --cxx) cxx="$2"; shift 2 ;;
    --cxx-flags) cxx_flags="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "check_install.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
if [[ -z "$build_dir" || -z "$consumer_dir" ]]; then
  echo "check_install.sh: --build-dir and --consumer-dir are required" >&2
  exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/taskpool-package.XXXXXX")"
daemon_pid=""
stop_daemon() {
  [[ -n "$daemon_pid" ]] || return 0
  kill -TERM "$daemon_pid" 2>/dev/null || true
  wait "$daemon_pid" 2>/dev/null || true
  daemon_pid=""
}
cleanup() {
  if ((keep)); then echo "kept $work"; else rm -rf "$work"; fi
}
trap 'stop_daemon; cleanup' EXIT

prefix="$work/prefix"
step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

step "install $build_dir into $prefix"
"$cmake_bin" --install "$build_dir" --prefix "$prefix" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log" >&2; fail "cmake --install failed"; }
config="$(find "$prefix" -name taskpoolConfig.cmake -print -quit)"
[[ -n "$config" ]] || fail "no taskpoolConfig.cmake under $prefix"
echo "   $config"

# build_out_of_tree NAME SOURCE_DIR: configures SOURCE_DIR into
# $work/NAME-build against the installed package only, and builds it.
build_out_of_tree() {
  local name="$1" source_dir="$2" binary_dir="$work/$1-build"
  step "configure $name against the installed package"
  local configure_args=(-S "$source_dir" -B "$binary_dir"
    -DCMAKE_PREFIX_PATH="$prefix"
    # Only the prefix may satisfy find_package, never this build tree.
    -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
    -DCMAKE_FIND_PACKAGE_NO_SYSTEM_PACKAGE_REGISTRY=ON)
  [[ -n "$generator" ]] && configure_args+=(-G "$generator")
  [[ -n "$cxx" ]] && configure_args+=(-DCMAKE_CXX_COMPILER="$cxx")
  if [[ -n "$cxx_flags" ]]; then
    configure_args+=(-DCMAKE_CXX_FLAGS="$cxx_flags"
      -DCMAKE_EXE_LINKER_FLAGS="$cxx_flags"
      -DCMAKE_MODULE_LINKER_FLAGS="$cxx_flags")
  fi
  "$cmake_bin" "${configure_args[@]}" >"$work/$name-configure.log" 2>&1 ||
    { cat "$work/$name-configure.log" >&2; fail "$name configure failed"; }
  local found_dir
  found_dir="$(sed -n 's/^taskpool_DIR:PATH=//p' "$binary_dir/CMakeCache.txt")"
  case "$found_dir" in
    "$prefix"/*) echo "   taskpool_DIR=$found_dir" ;;
    *) fail "$name: find_package(taskpool) found '$found_dir', not the install in $prefix" ;;
  esac

  step "build $name"
  "$cmake_bin" --build "$binary_dir" >"$work/$name-build.log" 2>&1 ||
    { cat "$work/$name-build.log" >&2; fail "$name build failed"; }
}

# start_daemon PLUGIN: the installed taskpoold with 2 workers and PLUGIN on
# $socket, logging to $work/daemon.log; returns once it answers a ping.
socket="$work/taskpoold.sock"
start_daemon() {
  [[ -f "$1" ]] || fail "no plugin at $1"
  "$prefix/sbin/taskpoold" --socket "$socket" --workers 2 --plugin "$1" \
    2>"$work/daemon.log" &
  daemon_pid=$!
  for _ in $(seq 100); do
    [[ -S "$socket" ]] && "$prefix/bin/taskpool" --socket "$socket" ping >/dev/null 2>&1 && return
    sleep 0.1
  done
  cat "$work/daemon.log" >&2
  fail "the installed taskpoold did not answer within 10 s"
}

build_out_of_tree consumer "$consumer_dir"
consumer="$work/consumer-build/consumer"
[[ -x "$consumer" ]] || fail "no consumer binary at $consumer"

step "run the consumer with no daemon listening"
# A socket path in an empty directory: connect() gets ENOENT, which the
# client must report as DAEMON_NOT_RUNNING, not hang or crash.
status=0
TASKPOOL_SOCKET="$work/nobody-listens.sock" timeout 60 "$consumer" \
  >"$work/run.out" 2>"$work/run.err" || status=$?
echo "   exit $status; stderr: $(head -c 300 "$work/run.err")"
[[ $status -eq 1 ]] || {
  cat "$work/run.out" "$work/run.err" >&2
  fail "consumer exited $status, want 1"
}
grep -q DAEMON_NOT_RUNNING "$work/run.err" ||
  fail "consumer's error does not mention DAEMON_NOT_RUNNING"

step "run the consumer against the installed taskpoold"
start_daemon "$work/consumer-build/libconsumer_plugin.so"
status=0
TASKPOOL_SOCKET="$socket" timeout 60 "$consumer" >"$work/run.out" 2>"$work/run.err" || status=$?
reversed="$("$prefix/bin/taskpool" --socket "$socket" call consumer_reverse abc 2>&1)" || true
stop_daemon
[[ "$reversed" == "cba" ]] || {
  cat "$work/daemon.log" >&2
  fail "plugin built against the installed package: got '$reversed', want 'cba'"
}
cat "$work/run.out"
[[ $status -eq 0 ]] || {
  cat "$work/run.err" "$work/daemon.log" >&2
  fail "consumer exited $status against a running daemon, want 0"
}
[[ "$(grep -c ' (worker [0-9]*)$' "$work/run.out")" -eq 3 ]] ||
  fail "consumer did not print three results with worker pids"
grep -q '^true (worker' "$work/run.out" || fail "454577 should be prime"

if [[ -n "$examples_dir" ]]; then
  build_out_of_tree examples "$examples_dir"
  step "run the typed example (resize_client) against the installed taskpoold"
  start_daemon "$work/examples-build/resize/libresize_plugin.so"
  status=0
  TASKPOOL_SOCKET="$socket" timeout 60 "$work/examples-build/resize/resize_client" \
    >"$work/example.out" 2>"$work/example.err" || status=$?
  bad_status=0
  "$prefix/bin/taskpool" --socket "$socket" call resize "not a ResizeRequest" \
    >/dev/null 2>"$work/bad-payload.err" || bad_status=$?
  stop_daemon
  head -3 "$work/example.out"; tail -1 "$work/example.out"
  [[ $status -eq 0 ]] || {
    cat "$work/example.out" "$work/example.err" "$work/daemon.log" >&2
    fail "resize_client exited $status, want 0"
  }
  grep -qx 'call: 1920x1080 -> 256x144 (worker [0-9]*)' "$work/example.out" ||
    fail "the typed call<> did not print 1920x1080 -> 256x144"
  [[ "$(grep -c '^map: [0-9]*x[0-9]* -> [0-9]*x[0-9]* (worker [0-9]*)$' "$work/example.out")" -eq 32 ]] ||
    fail "the typed map<> did not print 32 results"
  grep -qx 'map: 3200x2400 -> 256x192 (worker [0-9]*)' "$work/example.out" ||
    fail "map<> computed a wrong size for 3200x2400"
  grep -qx 'start hook ran once in each of [12] workers' "$work/example.out" ||
    fail "resize_client did not confirm the start hook ran once per worker"
  echo "   bad payload: exit $bad_status; $(head -c 200 "$work/bad-payload.err")"
  [[ $bad_status -eq 1 ]] || fail "taskpool call with a bad payload exited $bad_status, want 1"
  grep -q 'payload is not a valid example.ResizeRequest' "$work/bad-payload.err" ||
    fail "the bad payload's error does not name example.ResizeRequest"
fi

echo "PASS: installed package builds and links a consumer that runs tasks, and a plugin${examples_dir:+, and the examples (typed call, map, start hook once per worker)}"
