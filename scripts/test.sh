#!/usr/bin/env bash
# Builds taskpool twice and runs the whole test suite on each build:
#   build/       RelWithDebInfo (-O2, line-table debug info)
#   build-asan/  the same with AddressSanitizer + UBSan
# then fuzzes the frame parser for 60 s (scripts/fuzz.sh, build-fuzz/).
# Exits non-zero if any step fails; prints a summary either way.
set -euo pipefail

cd "$(dirname "$0")/.."
root="$(pwd)"
jobs="${TASKPOOL_TEST_JOBS:-2}"

./scripts/install-deps.sh

declare -A result=()
order=()

# ctest's "100% tests passed, 0 tests failed out of 42" line.
summary_line() {
  grep -Eo '[0-9]+% tests passed.*' "$1" | tail -1 || true
}

# The names of the tests that failed in DIR's last ctest run, each on
# a line of its own, so that the summary at the end says which (CI shows
# only the end of the log).
failed_tests() {
  local list="$1/Testing/Temporary/LastTestsFailed.log" test
  [[ -f "$list" ]] || return 0
  while IFS=: read -r _ test; do
    printf '\n      failed: %s' "$test"
    failure_lines "$1" "$test"
  done <"$list"
}

# The lines that say why TEST failed (gtest's failures with what follows
# them, sanitizer reports), from DIR's last ctest log: at most 24, indented.
failure_lines() {
  local log="$1/Testing/Temporary/LastTest.log"
  [[ -f "$log" ]] || return 0
  awk -v test="$2" '
    /^[0-9]+\/[0-9]+ Testing: / { inside = ($3 == test); next }
    !inside { next }
    /: Failure$|ERROR: AddressSanitizer|runtime error:|ThreadSanitizer|Timeout|Subprocess aborted/ {
      shown = 6
    }
    shown > 0 && printed < 24 { printf "\n        %s", $0; --shown; ++printed }
  ' "$log"
}

# run_suite NAME DIR OPT [CMAKE ARGS...]: configure, build and test one tree
# at optimization level OPT. Returns non-zero (without exiting the script) if
# any step fails, so the other tree still gets built and tested.
run_suite() {
  local name="$1" dir="$2" opt="$3"
  shift 3
  order+=("$name")
  echo
  echo "=== $name: configure $dir"
  # Compiling is most of this script's time, so for these clean builds:
  # -g1 (line tables only) is enough for sanitizer and crash backtraces and
  # compiles about 15% faster than full debug info; unity sources compile
  # the headers and inline code shared by a target's files once per batch
  # instead of once per file; the tests share one precompiled header.
  local flags="$opt -g1 -DNDEBUG"
  if ! cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$flags" \
      -DCMAKE_C_FLAGS_RELWITHDEBINFO="$flags" \
      -DCMAKE_UNITY_BUILD=ON -DTASKPOOL_PRECOMPILE_HEADERS=ON "$@"; then
    result[$name]="configure FAILED"
    return 1
  fi
  echo "=== $name: build"
  # SUITE_TARGETS (words) limits the build; SUITE_TESTS (a ctest regex)
  # the tests run, for a tree that covers one part of the code.
  local targets=()
  [[ -n "${SUITE_TARGETS:-}" ]] && targets=(--target ${SUITE_TARGETS})
  if ! cmake --build "$dir" -j "$jobs" "${targets[@]}"; then
    result[$name]="build FAILED"
    return 1
  fi
  echo "=== $name: test"
  local log="$dir/ctest-summary.log"
  local selection=()
  [[ -n "${SUITE_TESTS:-}" ]] && selection=(-R "${SUITE_TESTS}")
  if ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$jobs" "${selection[@]}" \
      2>&1 | tee "$log"; then
    result[$name]="passed: $(summary_line "$log")"
    return 0
  fi
  result[$name]="tests FAILED: $(summary_line "$log")$(failed_tests "$dir")"
  return 1
}

status=0
run_suite "release" build -O2 || status=1
# The sanitizers should stop on the first error and say where; leaks in the
# tests count too. -O1 is the level the AddressSanitizer documentation
# recommends; instrumented code compiles about a third faster than at -O2.
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}" \
UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
  run_suite "asan+ubsan" build-asan -O1 -DTASKPOOL_SANITIZE=ON || status=1

# The client library's threads (reader, callers, callbacks) under
# ThreadSanitizer: the library, the daemon it talks to, and the tests that
# drive the library, against the fake daemon and the real one.
TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}" \
SUITE_TARGETS="client_test client_library_test typed_call_test map_outputs_test taskpoold" \
SUITE_TESTS='^(ConnectTest|SubmitTest|StreamTest|FailureTest|AsioTest|InFlightLimitTest|BacklogTest|FullBudgetTest|ReadRoleTest|SpinTest|ClientLibraryTest|ClientBacklogTest|ClientLibraryWithoutDaemon|TypedCallTest|MapOutputsTest)\.' \
  run_suite "tsan" build-tsan -O1 -DTASKPOOL_SANITIZE=thread -DTASKPOOL_PYTHON=OFF || status=1

# The frame parser under libFuzzer for a bounded time (clang build).
order+=("fuzz")
if ./scripts/fuzz.sh; then
  result[fuzz]="passed: no findings in ${FUZZ_SECONDS:-60} s"
else
  result[fuzz]="FAILED (see above)"
  status=1
fi

echo
echo "=== summary"
for name in "${order[@]}"; do
  printf '  %-12s %s\n' "$name" "${result[$name]}"
done
if ((status == 0)); then
  echo "ALL PASSED"
else
  echo "FAILED" >&2
fi
exit "$status"
