#!/usr/bin/env bash
# Checks the systemd units as installed: cmake --install BUILD_DIR into a
# temporary prefix, then `systemd-analyze verify` on taskpoold.service and
# taskpoold.socket there (which also checks that ExecStart names the
# installed, executable taskpoold).
#
# Usage: check_units.sh --build-dir DIR [--cmake CMAKE]
set -euo pipefail

build_dir="" cmake_bin="cmake"
while (($#)); do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --cmake) cmake_bin="$2"; shift 2 ;;
    *) echo "check_units.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -n "$build_dir" ]] || { echo "check_units.sh: --build-dir is required" >&2; exit 2; }
fail() { echo "FAIL: $*" >&2; exit 1; }

command -v systemd-analyze >/dev/null ||
  fail "systemd-analyze is missing: install the systemd package (scripts/install-deps.sh)"

work="$(mktemp -d "${TMPDIR:-/tmp}/taskpool-units.XXXXXX")"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

"$cmake_bin" --install "$build_dir" --prefix "$prefix" >"$work/install.log" ||
  { cat "$work/install.log"; fail "cmake --install"; }
units="$prefix/lib/systemd/system"
for unit in taskpoold.service taskpoold.socket; do
  [[ -f "$units/$unit" ]] || fail "$unit was not installed in $units"
done
grep -q "^ExecStart=$prefix/bin/taskpoold --socket /run/taskpool/taskpoold.sock" \
  "$units/taskpoold.service" || fail "ExecStart does not name $prefix/bin/taskpoold"
[[ -f "$prefix/lib/sysusers.d/taskpool.conf" ]] || fail "sysusers.d/taskpool.conf missing"

# Units refer to each other (Requires=taskpoold.socket): look there first.
if ! SYSTEMD_UNIT_PATH="$units:" systemd-analyze verify \
    "$units/taskpoold.service" "$units/taskpoold.socket" >"$work/verify.log" 2>&1; then
  cat "$work/verify.log"
  fail "systemd-analyze verify"
fi
# verify exits 0 on some warnings; any line about our units is a problem.
if grep -i "taskpoold\.\(service\|socket\)" "$work/verify.log"; then
  fail "systemd-analyze verify complained about the units"
fi
echo "OK: units installed in $units and verified"
