#!/usr/bin/env bash
# The test suite must leave no shared memory behind (issue 14, item 7):
#   shm_audit.sh record FILE   lists /dev/shm's taskpool objects into FILE
#   shm_audit.sh check FILE    fails, naming them, if any object not in
#                              FILE exists now and belongs to no live daemon
# ctest runs `record` before every test and `check` after all of them
# (FIXTURES_SETUP / FIXTURES_CLEANUP shm_audit).
#
# A daemon's queue has no name; what it keeps in /dev/shm is its instance
# mark, taskpool-<32 hex>, which it holds an flock on while any of its
# processes lives, and its blobs, <mark>.<32 hex> (src/shmq/layout.md).
set -euo pipefail
mode="$1" file="$2"
list() { find /dev/shm -maxdepth 1 -name 'taskpool-*' -printf '%f\n' 2>/dev/null | sort; }
# Whether the mark /dev/shm/$1 is locked by a live daemon. Opened with `<`,
# which never creates the file as `flock FILE` would.
mark_is_live() {
  local fd
  { exec {fd}<"/dev/shm/$1"; } 2>/dev/null || return 1
  if flock -n "$fd"; then exec {fd}<&-; return 1; fi
  exec {fd}<&-
}
belongs_to_live_daemon() {
  local name="$1"
  if [[ "$name" =~ ^(taskpool-[0-9a-f]{32})(\.[0-9a-f]{32})?$ ]]; then
    mark_is_live "${BASH_REMATCH[1]}"
  else
    # Older versions' named segments: live while some process maps them.
    grep -qsF "/dev/shm/$name" /proc/[0-9]*/maps
  fi
}
case "$mode" in
  record) list >"$file"; echo "shm_audit: $(wc -l <"$file") taskpool objects before the suite" ;;
  check)
    left=""
    for name in $(comm -13 "$file" <(list)); do
      if ! belongs_to_live_daemon "$name"; then left+="$name"$'\n'; fi
    done
    if [[ -n "$left" ]]; then
      echo "shm_audit: the suite left these shared-memory objects in /dev/shm:" >&2
      echo "$left" >&2
      exit 1
    fi
    echo "shm_audit: no shared memory left behind" ;;
  *) echo "usage: shm_audit.sh record|check FILE" >&2; exit 2 ;;
esac
