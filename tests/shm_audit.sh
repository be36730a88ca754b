#!/usr/bin/env bash
# The test suite must leave no shared memory behind (issue 14, item 7):
#   shm_audit.sh record FILE   lists /dev/shm's taskpool objects into FILE
#   shm_audit.sh check FILE    fails, naming them, if any object not in
#                              FILE exists now
# ctest runs `record` before every test and `check` after all of them
# (FIXTURES_SETUP / FIXTURES_CLEANUP shm_audit).
set -euo pipefail
mode="$1" file="$2"
list() { find /dev/shm -maxdepth 1 -name 'taskpool-*' -printf '%f\n' 2>/dev/null | sort; }
case "$mode" in
  record) list >"$file"; echo "shm_audit: $(wc -l <"$file") taskpool objects before the suite" ;;
  check)
    # An object some live process still maps belongs to a daemon that is
    # running (another suite on this machine), not to a leak.
    left=""
    for name in $(comm -13 "$file" <(list)); do
      if ! grep -qsF "/dev/shm/$name" /proc/[0-9]*/maps; then left+="$name"$'\n'; fi
    done
    if [[ -n "$left" ]]; then
      echo "shm_audit: the suite left these shared-memory objects in /dev/shm:" >&2
      echo "$left" >&2
      exit 1
    fi
    echo "shm_audit: no shared memory left behind" ;;
  *) echo "usage: shm_audit.sh record|check FILE" >&2; exit 2 ;;
esac
