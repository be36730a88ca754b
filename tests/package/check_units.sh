#!/usr/bin/env bash
# Checks the systemd units as installed: cmake --install BUILD_DIR into a
# temporary prefix, then `systemd-analyze verify` on taskpoold.service and
# taskpoold.socket there (which also checks that ExecStart names the
# installed, executable taskpoold), and the service's own rules: its
# settings come from the installed config file only, checked before each
# start, and a configuration error (exit 2) is not restarted.
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
service="$units/taskpoold.service"
config="$prefix/etc/taskpool/taskpoold.conf"
[[ -f "$config" ]] || fail "the config file was not installed at $config"
grep -qx "ExecStart=$prefix/sbin/taskpoold --config $config" "$service" ||
  fail "ExecStart is not '$prefix/sbin/taskpoold --config $config' alone"
grep -qx "ExecStartPre=$prefix/sbin/taskpoold --test-config --config $config" "$service" ||
  fail "no ExecStartPre running --test-config on $config"
grep -qx "RestartPreventExitStatus=2" "$service" || fail "no RestartPreventExitStatus=2"
for unit in taskpoold.service taskpoold.socket; do
  grep -q "^Documentation=man:taskpoold(8)" "$units/$unit" ||
    fail "$unit: Documentation= does not point at man:taskpoold(8)"
done
# What the unit's flags held moved into the config file.
for setting in "socket = /run/taskpool/taskpoold.sock" "allow-users = root" \
    "allow-groups = taskpool"; do
  grep -qx "$setting" "$config" || fail "$config does not set '$setting'"
done
[[ -f "$prefix/lib/sysusers.d/taskpool.conf" ]] || fail "sysusers.d/taskpool.conf missing"

# Units refer to each other (Requires=taskpoold.socket): look there first.
# verify also runs `man` on each Documentation=man: page, so the pages
# installed into the prefix must be found there.
if ! SYSTEMD_UNIT_PATH="$units:" MANPATH="$prefix/share/man:" systemd-analyze verify \
    "$units/taskpoold.service" "$units/taskpoold.socket" >"$work/verify.log" 2>&1; then
  cat "$work/verify.log"
  fail "systemd-analyze verify"
fi
# verify exits 0 on some warnings; any line about our units is a problem.
if grep -i "taskpoold\.\(service\|socket\)" "$work/verify.log"; then
  fail "systemd-analyze verify complained about the units"
fi
echo "OK: units installed in $units and verified"
