#!/usr/bin/env bash
# Checks that an installed taskpool is usable from another project:
#   1. cmake --install BUILD_DIR into a temporary prefix;
#   2. configure + build CONSUMER_DIR with -DCMAKE_PREFIX_PATH=<prefix>, i.e.
#      find_package(taskpool) and taskpool::client from the install only;
#   3. run the consumer against a socket nobody listens on: it must exit 1
#      and report DAEMON_NOT_RUNNING (links, loads, and fails cleanly).
#
# Usage: check_install.sh --build-dir DIR --consumer-dir DIR [--cmake CMAKE]
#          [--generator GEN] [--cxx COMPILER] [--cxx-flags FLAGS] [--keep]
set -euo pipefail

build_dir="" consumer_dir="" cmake_bin="cmake" generator="" cxx="" cxx_flags=""
keep=0
while (($#)); do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --consumer-dir) consumer_dir="$2"; shift 2 ;;
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
cleanup() {
  if ((keep)); then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

prefix="$work/prefix"
step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

step "install $build_dir into $prefix"
"$cmake_bin" --install "$build_dir" --prefix "$prefix" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log" >&2; fail "cmake --install failed"; }
config="$(find "$prefix" -name taskpoolConfig.cmake -print -quit)"
[[ -n "$config" ]] || fail "no taskpoolConfig.cmake under $prefix"
echo "   $config"

step "configure the consumer against the installed package"
configure_args=(-S "$consumer_dir" -B "$work/consumer-build"
  -DCMAKE_PREFIX_PATH="$prefix"
  # Only the prefix may satisfy find_package, never this build tree.
  -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
  -DCMAKE_FIND_PACKAGE_NO_SYSTEM_PACKAGE_REGISTRY=ON)
[[ -n "$generator" ]] && configure_args+=(-G "$generator")
[[ -n "$cxx" ]] && configure_args+=(-DCMAKE_CXX_COMPILER="$cxx")
if [[ -n "$cxx_flags" ]]; then
  configure_args+=(-DCMAKE_CXX_FLAGS="$cxx_flags"
    -DCMAKE_EXE_LINKER_FLAGS="$cxx_flags")
fi
"$cmake_bin" "${configure_args[@]}" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log" >&2; fail "consumer configure failed"; }
found_dir="$(sed -n 's/^taskpool_DIR:PATH=//p' "$work/consumer-build/CMakeCache.txt")"
case "$found_dir" in
  "$prefix"/*) echo "   taskpool_DIR=$found_dir" ;;
  *) fail "find_package(taskpool) found '$found_dir', not the install in $prefix" ;;
esac

step "build the consumer"
"$cmake_bin" --build "$work/consumer-build" >"$work/build.log" 2>&1 ||
  { cat "$work/build.log" >&2; fail "consumer build failed"; }
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
socket="$work/taskpoold.sock"
plugin="$work/consumer-build/libconsumer_plugin.so"
[[ -f "$plugin" ]] || fail "no consumer plugin at $plugin"
"$prefix/bin/taskpoold" --socket "$socket" --workers 2 --plugin "$plugin" \
  2>"$work/daemon.log" &
daemon_pid=$!
stop_daemon() { kill -TERM "$daemon_pid" 2>/dev/null; wait "$daemon_pid" 2>/dev/null || true; }
for _ in $(seq 100); do
  [[ -S "$socket" ]] && "$prefix/bin/taskpool" --socket "$socket" ping >/dev/null 2>&1 && break
  sleep 0.1
done
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

echo "PASS: installed package builds and links a consumer that runs tasks, and a plugin"
