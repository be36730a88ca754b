#!/usr/bin/env bash
# Builds the Debian packages with scripts/package.sh, checks their contents
# and metadata, installs them on this machine with apt-get, checks the
# installed system, purges them and checks that nothing is left:
#   1. package.sh --out OUT (lintian included: no errors);
#   2. dpkg-deb -c / -I: each package holds what it should, the library
#      package is named for its SONAME, the conffiles list is the config
#      file and nothing else;
#   3. apt-get install ./OUT/*.deb; taskpoold --version, man -w, the
#      bash completion, the taskpool user, the units in the systemd directory and
#      systemd-analyze verify on them, the socket enabled, the config file
#      valid for the service's user, pkg-config --libs taskpool and a
#      program built with it, the packaged daemon serving a task;
#   4. apt-get purge: no file under /etc, /usr, /var/lib or /run that was
#      not there before, no /etc/taskpool, the user and group gone (unless
#      they existed before), no file owned by the user left.
#
# It changes the machine it runs on, so it needs root (CI machines are
# disposable and run it as root) and refuses to run where taskpool is
# installed already. On failure it still purges what it installed.
#
# Usage: check_deb.sh --source-dir DIR --out DIR [--jobs N]
set -euo pipefail

source_dir="" out="" jobs=2
while (($#)); do
  case "$1" in
    --source-dir) source_dir="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    *) echo "check_deb.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -n "$source_dir" && -n "$out" ]] ||
  { echo "check_deb.sh: --source-dir and --out are required" >&2; exit 2; }

step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# A command that fails where no check expected it ends the test too (set
# -e): say which, rather than end in silence.
trap 'echo "FAIL: line $LINENO: \`$BASH_COMMAND\` exited with $?" >&2' ERR

packages=(taskpool libtaskpool-client0 libtaskpool-dev python3-taskpool taskpool-dbgsym
  libtaskpool-client0-dbgsym)
installed_ours() {
  local package
  for package in "${packages[@]}"; do
    dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "$package" 2>/dev/null |
      awk '$1 != "un" && $1 != "pn" { print $2 }'
  done
}

if ((EUID != 0)); then
  fail "this test installs and purges Debian packages system-wide, so it must run as root" \
       "(CI runs it as root; elsewhere: sudo ctest --test-dir BUILD -R debian_packages," \
       "or leave it out with ctest -LE package)"
fi
if [[ -n "$(installed_ours)" ]]; then
  fail "taskpool packages are installed on this machine ($(installed_ours | tr '\n' ' '));" \
       "the test would purge them, so it stops here"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/taskpool-deb.XXXXXX")"
daemon_pid=""
purge() {
  local ours
  ours="$(installed_ours | tr '\n' ' ')"
  [[ -n "$ours" ]] || return 0
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get purge -y $ours >"$work/purge.log" 2>&1 ||
    { cat "$work/purge.log" >&2; return 1; }
}
cleanup() {
  local status=$?
  if [[ -n "$daemon_pid" ]]; then kill -TERM "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
  if ! purge; then echo "FAIL: apt-get purge after the test failed" >&2; status=1; fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

# --- 1. build -------------------------------------------------------------
step "build the packages: scripts/package.sh --out $out --jobs $jobs"
start=$SECONDS
"$source_dir/scripts/package.sh" --out "$out" --jobs "$jobs" >"$work/package.log" 2>&1 ||
  { cat "$work/package.log" >&2; fail "scripts/package.sh failed"; }
echo "   built and linted in $((SECONDS - start)) s"
version="$(dpkg-parsechangelog -l "$source_dir/debian/changelog" -S Version)"
arch="$(dpkg --print-architecture)"
multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH)"
# The Python package is the same on every architecture.
deb() {
  local package_arch="$arch"
  [[ "$1" == python3-* ]] && package_arch=all
  echo "$out/${1}_${version}_${package_arch}.deb"
}
for package in taskpool libtaskpool-client0 libtaskpool-dev python3-taskpool; do
  [[ -f "$(deb "$package")" ]] || fail "package.sh did not make $(deb "$package")"
done

step "lintian: no errors"
grep -v '^running with root privileges' "$out/lintian.log" | sed 's/^/   /' || true
if grep -q '^E: ' "$out/lintian.log"; then fail "lintian reported errors"; fi

# --- 2. contents and metadata ----------------------------------------------
step "contents (dpkg-deb -c)"
# contains PACKAGE PATH...: every PATH is in PACKAGE.
contains() {
  local package="$1" path
  shift
  dpkg-deb -c "$(deb "$package")" | awk '{ print $6 }' | sed 's|^\./|/|' >"$work/$package.list"
  for path in "$@"; do
    grep -qx -- "$path" "$work/$package.list" || fail "$package does not contain $path"
  done
}
# lacks PACKAGE REGEX: no path of PACKAGE matches REGEX.
lacks() {
  if grep -E -- "$2" "$work/$1.list"; then fail "$1 contains the above, matching $2"; fi
}
libdir="/usr/lib/$multiarch"
contains taskpool /usr/sbin/taskpoold /usr/bin/taskpool /usr/libexec/taskpool/taskpoold-cluster \
  /etc/taskpool/taskpoold.conf \
  /lib/systemd/system/taskpoold.service /lib/systemd/system/taskpoold.socket \
  /usr/lib/sysusers.d/taskpool.conf \
  /usr/share/man/man8/taskpoold.8.gz /usr/share/man/man1/taskpool.1.gz \
  /usr/share/man/man5/taskpoold.conf.5.gz \
  /usr/share/taskpool/proto/taskpool/v1/taskpool.proto \
  /usr/share/taskpool/proto/taskpool/v1/exec.proto \
  /usr/share/doc/taskpool/copyright \
  /usr/share/bash-completion/completions/taskpool \
  /usr/share/zsh/vendor-completions/_taskpool \
  /usr/share/fish/vendor_completions.d/taskpool.fish
lacks taskpool '^/usr/(include|lib/'"$multiarch"')/|\.so(\.|$)|^/usr/bin/taskpoold'
contains libtaskpool-client0 "$libdir/libtaskpool_client.so.0" \
  "$libdir/libtaskpool_client.so.${version%%-*}" /usr/share/doc/libtaskpool-client0/copyright
lacks libtaskpool-client0 '\.a$|/include/|/cmake/|\.pc$|/libtaskpool_client\.so$'
contains libtaskpool-dev /usr/include/taskpool/client.hpp /usr/include/taskpool/client_options.hpp \
  /usr/include/taskpool/status.hpp \
  /usr/include/taskpool/plugin.hpp /usr/include/taskpool/plugin_abi.hpp \
  /usr/include/taskpool/version.hpp \
  "$libdir/libtaskpool_client.so" "$libdir/libtaskpool_client.a" \
  "$libdir/cmake/taskpool/taskpoolConfig.cmake" "$libdir/cmake/taskpool/taskpoolTargets.cmake" \
  "$libdir/pkgconfig/taskpool.pc" /usr/share/doc/libtaskpool-dev/copyright
lacks libtaskpool-dev '\.so\.[0-9]'
contains python3-taskpool /usr/lib/python3/dist-packages/taskpool/__init__.py \
  /usr/lib/python3/dist-packages/taskpool/v1/taskpool_pb2.py \
  /usr/share/doc/python3-taskpool/copyright
echo "   taskpool: $(wc -l <"$work/taskpool.list") paths," \
     "libtaskpool-client0: $(wc -l <"$work/libtaskpool-client0.list")," \
     "libtaskpool-dev: $(wc -l <"$work/libtaskpool-dev.list")"

step "metadata (dpkg-deb -I)"
field() { dpkg-deb -f "$(deb "$1")" "$2"; }
dpkg-deb -I "$(deb taskpool)" | sed -n 's/^ \(Package\|Version\|Depends\):/   &/p'
dpkg-deb -x "$(deb libtaskpool-client0)" "$work/lib"
soname="$(objdump -p "$work/lib$libdir/libtaskpool_client.so.0" | awk '$1 == "SONAME" { print $2 }')"
[[ "$soname" == "libtaskpool_client.so.0" ]] || fail "the library's SONAME is '$soname'"
# Debian policy 8.1: the runtime package is named for the SONAME.
[[ "$(field libtaskpool-client0 Package)" == "libtaskpool-client0" ]] ||
  fail "the runtime library package is not named for $soname"
[[ "$(field libtaskpool-client0 Multi-Arch)" == "same" ]] || fail "libtaskpool-client0 is not Multi-Arch: same"
field libtaskpool-dev Depends | grep -q "libtaskpool-client0 (= $version)" ||
  fail "libtaskpool-dev does not depend on libtaskpool-client0 (= $version)"
field libtaskpool-dev Depends | grep -q "libprotobuf-dev" ||
  fail "libtaskpool-dev does not depend on libprotobuf-dev (its headers include protobuf's)"
# libnats3.4: taskpoold-cluster links it (shlibs), taskpoold does not.
for dependency in libssl3 libsystemd0 libnats3.4 'systemd | systemd-standalone-sysusers'; do
  field taskpool Depends | grep -q -- "$dependency" ||
    fail "taskpool does not depend on $dependency: $(field taskpool Depends)"
done
dpkg-deb -e "$(deb taskpool)" "$work/control"
[[ "$(cat "$work/control/conffiles")" == "/etc/taskpool/taskpoold.conf" ]] ||
  fail "conffiles should list /etc/taskpool/taskpoold.conf alone: $(cat "$work/control/conffiles")"
for script in postinst prerm postrm; do
  [[ -x "$work/control/$script" ]] || fail "taskpool has no $script"
done
grep -q 'systemd-sysusers.*taskpool.conf' "$work/control/postinst" ||
  fail "postinst does not create the user with systemd-sysusers"
grep -q "deb-systemd-helper enable 'taskpoold.socket'" "$work/control/postinst" ||
  fail "postinst does not enable taskpoold.socket"
if grep -q "deb-systemd-helper enable 'taskpoold.service'" "$work/control/postinst" &&
   ! grep -q "debian-installed 'taskpoold.service'" "$work/control/postinst"; then
  fail "postinst enables taskpoold.service itself; the socket starts it"
fi
echo "   conffiles: $(cat "$work/control/conffiles"); SONAME $soname"

# --- 3. install --------------------------------------------------------------
# What is on the machine before, to compare with after the purge. Package
# manager state and caches change with any install; they are not ours.
# find exits 1 when a file vanishes while it walks (other processes of the
# machine come and go in /run): that is no failure of ours.
snapshot() {
  { find /etc /usr /var/lib /run -xdev \
      \( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/lib/ucf \
         -o -path /run/user -o -path /run/lock -o -path /var/lib/systemd/timers \) -prune \
      -o -print 2>/dev/null || true; } | LC_ALL=C sort
}
snapshot >"$work/before.list"
user_before=0
getent passwd taskpool >/dev/null && user_before=1
group_before=0
getent group taskpool >/dev/null && group_before=1

step "apt-get install $out/*.deb"
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$out"/*.deb \
  >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; fail "apt-get install failed"; }
for package in taskpool libtaskpool-client0 libtaskpool-dev python3-taskpool; do
  [[ "$(dpkg-query -W -f='${Status}' "$package")" == "install ok installed" ]] ||
    fail "$package is not installed"
done

step "the installed system"
[[ "$(command -v taskpoold)" == /usr/sbin/taskpoold ]] || fail "taskpoold is not /usr/sbin/taskpoold"
[[ "$(taskpoold --version)" == "taskpoold ${version%%-*}" ]] ||
  fail "taskpoold --version says '$(taskpoold --version)', the package is $version" \
       "(do debian/changelog and project(VERSION) in CMakeLists.txt agree?)"
[[ "$(taskpool --version)" == "taskpool ${version%%-*}" ]] ||
  fail "taskpool --version says '$(taskpool --version)'"
echo "   $(taskpoold --version), $(taskpool --version)"
for page in taskpoold.8 taskpool.1 taskpoold.conf.5; do
  name="${page%.*}" section="${page##*.}"
  path="$(man -w "$section" "$name" 2>&1)" || fail "man -w $section $name: $path"
  [[ "$path" == "/usr/share/man/man$section/$page.gz" ]] || fail "man -w $section $name found $path"
done
echo "   man -w taskpoold: $(man -w taskpoold)"
passwd="$(getent passwd taskpool)" || fail "getent passwd taskpool: no taskpool user"
echo "   $passwd"
[[ "$(echo "$passwd" | cut -d: -f6)" == "/nonexistent" ]] ||
  fail "the taskpool user should have no home: $passwd"
getent group taskpool >/dev/null || fail "getent group taskpool: no taskpool group"
uid="$(echo "$passwd" | cut -d: -f3)"
((uid < 1000)) || fail "taskpool is not a system user (uid $uid)"

unitdir=""
for dir in /usr/lib/systemd/system /lib/systemd/system; do
  [[ -f "$dir/taskpoold.service" ]] && { unitdir="$dir"; break; }
done
[[ -n "$unitdir" ]] || fail "taskpoold.service is in neither /usr/lib/systemd/system nor /lib/systemd/system"
[[ -f "$unitdir/taskpoold.socket" ]] || fail "no $unitdir/taskpoold.socket"
echo "   units in $unitdir"
grep -qx 'ExecStart=/usr/sbin/taskpoold --config /etc/taskpool/taskpoold.conf' "$unitdir/taskpoold.service" ||
  fail "ExecStart is not /usr/sbin/taskpoold --config /etc/taskpool/taskpoold.conf"
systemd-analyze verify "$unitdir/taskpoold.service" "$unitdir/taskpoold.socket" >"$work/verify.log" 2>&1 ||
  { cat "$work/verify.log" >&2; fail "systemd-analyze verify"; }
if grep -i 'taskpoold\.\(service\|socket\)' "$work/verify.log"; then
  fail "systemd-analyze verify complained about the installed units"
fi
[[ -L /etc/systemd/system/sockets.target.wants/taskpoold.socket ]] ||
  fail "taskpoold.socket is not enabled (no sockets.target.wants link)"
[[ ! -e /etc/systemd/system/multi-user.target.wants/taskpoold.service ]] ||
  fail "taskpoold.service is enabled; the socket should start it"
# ExecStartPre's check, as the user the service runs as.
runuser -u taskpool -- /usr/sbin/taskpoold --test-config --config /etc/taskpool/taskpoold.conf \
  >"$work/test-config.log" 2>&1 ||
  { cat "$work/test-config.log" >&2; fail "the packaged config file does not pass --test-config as user taskpool"; }
echo "   $(cat "$work/test-config.log")"

# The completion bash-completion would load for `taskpool`.
complete="$(bash -c 'source /usr/share/bash-completion/completions/taskpool && complete -p taskpool' 2>&1)" ||
  fail "the packaged bash completion does not load: $complete"
echo "   bash: $complete"

libs="$(pkg-config --libs taskpool)" || fail "pkg-config --libs taskpool failed"
echo "   pkg-config --libs taskpool: $libs"
[[ " $libs " == *" -ltaskpool_client "* ]] || fail "pkg-config --libs taskpool lacks -ltaskpool_client"
cat >"$work/consumer.cc" <<'EOF'
#include <iostream>
#include <taskpool/client.hpp>
int main() {
  auto client = taskpool::Client::Connect();
  if (!client.ok()) {
    std::cerr << client.status().ToString() << "\n";
    return 3;
  }
  std::cout << (*client)->call("sha256", "abc").output << "\n";
  return 0;
}
EOF
# shellcheck disable=SC2046
g++ -std=c++20 -o "$work/consumer" "$work/consumer.cc" $(pkg-config --cflags --libs taskpool) \
  >"$work/compile.log" 2>&1 || { cat "$work/compile.log" >&2; fail "a program built with pkg-config taskpool does not compile"; }
loaded="$(ldd "$work/consumer" | awk '$1 == "libtaskpool_client.so.0" { print $3 }')"
[[ -n "$loaded" && "$(readlink -f "$loaded")" == "$(readlink -f "$libdir/libtaskpool_client.so.0")" ]] ||
  fail "the program does not load $libdir/libtaskpool_client.so.0 (ldd: '$loaded')"

# The packaged daemon serves a task to the program and to the CLI (sha256
# also loads libcrypto, which taskpoold opens itself). Its own socket: the
# config file's is systemd's.
socket="$work/taskpoold.sock"
taskpoold --config /etc/taskpool/taskpoold.conf --socket "$socket" --workers 1 \
  2>"$work/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do
  [[ -S "$socket" ]] && taskpool --socket "$socket" ping >/dev/null 2>&1 && break
  sleep 0.1
done
abc=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
got="$(TASKPOOL_SOCKET="$socket" "$work/consumer" 2>&1)" ||
  { cat "$work/daemon.log" >&2; fail "the program could not run a task on the packaged daemon: $got"; }
[[ "$got" == "$abc" ]] || fail "sha256 abc through the library gave '$got'"
got="$(taskpool --socket "$socket" call is_prime 454577 2>&1)" || fail "taskpool call: $got"
[[ "$got" == "true" ]] || fail "taskpool call is_prime 454577 gave '$got'"
got="$(cd / && /usr/bin/python3 -c 'import sys, taskpool
with taskpool.Client(sys.argv[1]) as client:
    print(client.apply("sha256", b"abc").decode())' "$socket" 2>&1)" ||
  fail "the packaged Python client could not run a task: $got"
[[ "$got" == "$abc" ]] || fail "sha256 abc through the Python client gave '$got'"
kill -TERM "$daemon_pid"
wait "$daemon_pid" || fail "the packaged taskpoold exited $? on SIGTERM"
daemon_pid=""
echo "   the packaged taskpoold served sha256 (library, Python) and is_prime (CLI)"

# --- 4. purge ----------------------------------------------------------------
step "apt-get purge"
purge || fail "apt-get purge failed"
[[ -z "$(installed_ours)" ]] || fail "still installed after the purge: $(installed_ours)"
snapshot >"$work/after.list"
if ! diff "$work/before.list" "$work/after.list" >"$work/left.diff"; then
  cat "$work/left.diff" >&2
  fail "the purge did not restore /etc, /usr, /var/lib and /run as they were (diff above: < gone, > left)"
fi
[[ ! -e /etc/taskpool ]] || fail "/etc/taskpool is left"
if ((user_before)); then
  getent passwd taskpool >/dev/null || fail "the purge deleted a taskpool user that existed before"
else
  ! getent passwd taskpool >/dev/null || fail "the taskpool user is left: $(getent passwd taskpool)"
  # Where the service's processes could have written.
  # find exits 1 when a file it listed vanishes before it looks (the other
  # tests come and go in /tmp and /dev/shm meanwhile), and head may end it
  # early: only what it prints counts.
  left="$({ find /etc /usr /var /run /tmp /dev/shm -xdev -uid "$uid" 2>/dev/null || true; } | head -5)"
  [[ -z "$left" ]] || fail "files owned by the deleted taskpool uid $uid are left: $left"
fi
if ((!group_before)); then
  ! getent group taskpool >/dev/null || fail "the taskpool group is left"
fi
echo "   nothing left: same files as before, no /etc/taskpool, no taskpool user or group"

echo "PASS: packages built (lintian: no errors), installed, working, and purged without a trace"
