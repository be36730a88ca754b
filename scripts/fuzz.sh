#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/) and runs each for a
# bounded time (default 60 s; FUZZ_SECONDS overrides) over the committed
# corpus. New inputs go to a temporary directory, so the repository's
# corpus only changes on purpose. Exits non-zero on any finding.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"

./scripts/install-deps.sh

CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTASKPOOL_FUZZ=ON -DTASKPOOL_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz --target frame_fuzzer

scratch="$(mktemp -d "${TMPDIR:-/tmp}/taskpool-fuzz.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

echo "=== frame_fuzzer for ${seconds} s"
build-fuzz/tests/fuzz/frame_fuzzer -max_total_time="$seconds" -print_final_stats=1 \
  -artifact_prefix="$scratch/" "$scratch" tests/fuzz/corpus/frame
echo "frame_fuzzer: no findings in ${seconds} s"
