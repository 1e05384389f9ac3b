#!/usr/bin/env bash
# Redis 7.0.15's own test suite (tests/ of Debian's redis source package) run against keyfork.
#
#   scripts/redis-suite.sh fetch [DIR]        download and unpack the source (apt's deb-src; needs root)
#   scripts/redis-suite.sh run DIR OUT UNIT.. run each unit (unit/type/list, integration/rdb, ...)
#                                             alone; one log per unit in OUT, OUT/summary lists
#                                             "<unit> ok=N err=N exception=N"; exit 1 if any failed
#
# The suite starts `src/redis-server <config>` itself; `run` points that name at this checkout's
# dist/src/main.js (build first) and the other src/ tools at Debian's redis-tools, so units that
# restart servers, reload files or start replicas test keyfork too. Only loopback traffic.
# REDIS_SUITE_BASEPORT (default 21111) moves the 1000 ports a run uses, for runs side by side;
# REDIS_SUITE_SERVER=/usr/bin/redis-server runs the suite against the reference instead.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cmd="${1:-}"; shift || true

case "$cmd" in
fetch)
  dir="${1:-$repo/.cache/redis-suite}"
  mkdir -p "$dir"; cd "$dir"
  if [ ! -d redis-7.0.15/tests ]; then
    list="$(mktemp)"; echo "deb-src http://deb.debian.org/debian bookworm main" > "$list"
    apt_opts=(-o "Dir::Etc::SourceList=$list" -o Dir::Etc::SourceParts=/dev/null)
    apt-get "${apt_opts[@]}" update -qq
    apt-get "${apt_opts[@]}" source --download-only -qq redis 2>/dev/null
    rm -f "$list"
    [ -f redis_7.0.15.orig.tar.gz ] || { echo "redis-suite: bookworm's redis source is not 7.0.15: $(ls redis_*)" >&2; exit 1; }
    tar xzf redis_7.0.15.orig.tar.gz
  fi
  echo "$dir/redis-7.0.15"
  ;;
run)
  src="$1"; out="$2"; shift 2
  if [ -n "${REDIS_SUITE_SERVER:-}" ]; then
    # The reference itself: which failures are the suite's own in this environment.
    printf '#!/bin/sh\nexec %s "$@"\n' "$REDIS_SUITE_SERVER" > "$src/src/redis-server"
  else
    [ -f "$repo/dist/src/main.js" ] || { echo "redis-suite: build first (npm run build)" >&2; exit 2; }
    printf '#!/bin/sh\nexec node %s/dist/src/main.js "$@"\n' "$repo" > "$src/src/redis-server"
  fi
  chmod +x "$src/src/redis-server"
  for tool in redis-cli redis-benchmark redis-check-aof redis-check-rdb; do ln -sf "/usr/bin/$tool" "$src/src/$tool"; done
  # Two runs at once need their own ports (the suite's own listener sits just below them).
  baseport="${REDIS_SUITE_BASEPORT:-21111}"
  mkdir -p "$out"; : > "$out/summary"
  failed=0
  for unit in "$@"; do
    log="$out/$(echo "$unit" | tr / _).log"
    (cd "$src" && timeout 900 ./runtest --clients 1 --timeout 120 --baseport "$baseport" --portcount 1000 \
      --single "$unit" > "$log" 2>&1) || true
    # Failures are printed twice (as they happen and in the final list): count the first.
    ok=$(grep -c '\[.*ok.*\]:' "$log" || true)
    err=$(grep -v '^\*\*\*' "$log" | grep -c '\[.*\(err\|TIMEOUT\).*\]:' || true)
    exc=$(grep -c '\[.*exception.*\]:' "$log" || true)
    grep -q 'All tests passed without errors' "$log" || [ "$err$exc" != 00 ] || exc=1
    echo "$unit ok=$ok err=$err exception=$exc" | tee -a "$out/summary"
    [ "$err$exc" = 00 ] || failed=1
  done
  exit $failed
  ;;
*)
  sed -n 2,11p "$0" >&2; exit 2
  ;;
esac
