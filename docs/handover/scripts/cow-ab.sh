#!/bin/bash
# A/B: alternating base (main) and new builds, same bench code (this worktree's).
# usage: ab.sh ROUNDS <save.js flags...>
rounds=$1; shift
cd "$(dirname "$0")/../../.."
for r in $(seq 1 $rounds); do
  for b in base new; do
    if [ $b = base ]; then main=/tmp/cow-base/dist/src/main.js; else main=$PWD/dist/src/main.js; fi
    echo "=== round $r $b $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"
    timeout 600 node dist/bench/save.js --keyfork-main $main --no-redis --no-report "$@" 2>&1 | grep -E "keys/s|copied|fork|BGSAVE.*\|" | grep -v "^\s*keyfork BGSAVE [0-9]"
  done
done
