#!/bin/bash
# save-ab.sh BASE_REPO [ROUNDS] [save.js flags...]: keyfork's BGSAVE alone (no redis-server), a
# base build (another worktree with dist/ built) against this worktree's, alternating, with this
# worktree's bench code. Session 14 found the collections regression with:
#   docs/handover/scripts/save-ab.sh /work/wt/ab-base 2 --sizes 10k --mixed-sizes 4M --steps bgsave --repeats 3
base=$1; rounds=${2:-2}; shift 2
cd "$(dirname "$0")/../../.."
for r in $(seq 1 "$rounds"); do
  for b in base new; do
    if [ $b = base ]; then main=$base/dist/src/main.js; else main=$PWD/dist/src/main.js; fi
    echo "=== round $r $b $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"
    timeout 900 node dist/bench/save.js --keyfork-main "$main" --no-redis --no-report "$@" 2>&1 | grep -E "in the child|dataset"
  done
done
