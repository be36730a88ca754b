#!/usr/bin/env bash
# Builds taskpool's Debian packages into build-deb/:
#   taskpool             taskpoold, the taskpool CLI, the systemd units, the
#                        sysusers entry, /etc/taskpool/taskpoold.conf, man
#                        pages, the .proto files
#   libtaskpool-client0  the shared client library (libtaskpool_client.so.0)
#   libtaskpool-dev      headers, static library, CMake package, taskpool.pc
# (and their -dbgsym packages), then runs lintian on them, which must report
# no errors. Install them with `sudo apt-get install ./build-deb/*.deb`.
#
# Installs what the build needs with apt-get (through sudo when not root)
# unless it is there already. The tree is copied, as it is in the working
# directory (uncommitted changes included), to OUT/src/taskpool-VERSION and
# built there by dpkg-buildpackage, so the checkout stays clean. With ccache
# installed the compiler runs through it, on a fixed path, so a rebuild
# reuses the objects of the previous one.
#
# Usage: scripts/package.sh [--out DIR] [--jobs N] [--no-lintian]
#   --out DIR      where the packages go (default: build-deb)
#   --jobs N       parallel compile jobs (default: $TASKPOOL_BUILD_JOBS, else 2)
#   --no-lintian   skip lintian
set -euo pipefail

cd "$(dirname "$0")/.."
root="$(pwd)"
out="build-deb"
jobs="${TASKPOOL_BUILD_JOBS:-2}"
lintian=1
while (($#)); do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --no-lintian) lintian=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "package.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"
say() { echo "package.sh: $*"; }
fail() { echo "package.sh: $*" >&2; exit 1; }

sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || fail "need root to install build dependencies, and sudo is missing"
  sudo=(sudo)
fi
apt_get() {
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@"
}

# The packaging tools, then debian/control's Build-Depends.
tools=(dpkg-dev debhelper)
((lintian)) && tools+=(lintian)
missing=()
for package in "${tools[@]}"; do
  state="$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)"
  [[ "$state" == "install ok installed" ]] || missing+=("$package")
done
updated=0
if ((${#missing[@]})); then
  say "installing ${missing[*]}"
  apt_get update && updated=1
  apt_get install -y --no-install-recommends "${missing[@]}"
fi
if ! dpkg-checkbuilddeps 2>/dev/null; then
  say "installing the build dependencies of debian/control"
  ((updated)) || apt_get update
  apt_get build-dep -y --no-install-recommends "$root"
fi

version="$(dpkg-parsechangelog -l debian/changelog -S Version)"
src="$out/src/taskpool-$version"
say "copying the tree to $src"
rm -rf "$out/src"
mkdir -p "$src"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Tracked and new files as they are now, minus what .gitignore keeps out
  # (build trees); a tracked file deleted in the working tree is skipped.
  git -C "$root" ls-files -z --cached --others --exclude-standard |
    tar -C "$root" --null -T - --ignore-failed-read -cf - 2>/dev/null |
    tar -C "$src" -xf -
else
  tar -C "$root" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$src" -xf -
fi

export DEB_BUILD_OPTIONS="parallel=$jobs nocheck${DEB_BUILD_OPTIONS:+ $DEB_BUILD_OPTIONS}"
# debhelper gives its build steps a HOME of their own, so name the cache
# (and do without one that cannot be written).
if command -v ccache >/dev/null &&
    CCACHE_DIR="$(ccache --get-config cache_dir)" &&
    mkdir -p "$CCACHE_DIR" 2>/dev/null && [[ -w "$CCACHE_DIR" ]]; then
  export TASKPOOL_DEB_LAUNCHER=ccache CCACHE_DIR
  say "compiling through ccache ($CCACHE_DIR)"
fi

rm -f "$out"/*.deb "$out"/*.ddeb "$out"/*.changes "$out"/*.buildinfo "$out"/lintian.log
say "dpkg-buildpackage -b (DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS)"
start=$SECONDS
(cd "$src" && dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1 || {
  tail -40 "$out/build.log" >&2
  fail "dpkg-buildpackage failed; the whole log is $out/build.log"
}
mv "$out"/src/*.deb "$out"/src/*.changes "$out"/src/*.buildinfo "$out"/
mv "$out"/src/*.ddeb "$out"/ 2>/dev/null || true
say "built in $((SECONDS - start)) s (log: $out/build.log):"
for deb in "$out"/*.deb; do echo "  $deb"; done

if ((lintian)); then
  changes=("$out"/*.changes)
  say "lintian ${changes[0]}"
  # Errors fail; warnings and the rest are printed for a human to judge.
  status=0
  lintian --fail-on error --display-info "${changes[0]}" >"$out/lintian.log" 2>&1 || status=$?
  cat "$out/lintian.log"
  ((status == 0)) || fail "lintian reported errors (exit $status); see $out/lintian.log"
  say "lintian: no errors"
fi
