#!/usr/bin/env bash
# run-test-file.sh <test.js> <tap-file>
#
# Runs one test file with `node --test` (spec to stdout, TAP to <tap-file>) under a watchdog.
# A file still running after KERNEL_MATRIX_FILE_TIMEOUT seconds (default 300; the slowest file
# takes under 90 s under TCG) is killed after the kernel stacks of its processes' threads and the
# kernel log's tail are printed: a hang in a guest then names its file and where it waits, and
# the files after it still run. Exits with node's status, or 124 after a kill.
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: run-test-file.sh <test.js> <tap-file>" >&2; exit 2; }
file="$1" tap="$2" limit="${KERNEL_MATRIX_FILE_TIMEOUT:-300}"

set -m # the file's processes get a process group of their own, to inspect and kill together
node --test --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" "$file" &
pid=$!
deadline=$((SECONDS + limit))
while kill -0 "$pid" 2>/dev/null; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "run-test-file: $file still running after ${limit}s; kernel stacks of its threads:"
    # Identical stacks (a thread pool waiting on its futex) are printed once, with a count.
    declare -A count=() first=()
    for p in $(pgrep -g "$pid"); do
      for t in /proc/"$p"/task/*; do
        block="$(cat "$t/comm" 2>/dev/null) (state $(awk '/^State:/ { print $2 }' "$t/status" 2>/dev/null))"$'\n'"$(cat "$t/stack" 2>/dev/null)"
        count[$block]=$(( ${count[$block]:-0} + 1 ))
        first[$block]="${first[$block]:-pid $p tid ${t##*/}}"
      done
    done
    for block in "${!count[@]}"; do
      echo "--- ${count[$block]} thread(s), first ${first[$block]}: $block"
    done
    echo "run-test-file: kernel log tail:"
    dmesg 2>/dev/null | tail -n 40
    kill -KILL -- -"$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    exit 124
  fi
  sleep 1
done
wait "$pid"
