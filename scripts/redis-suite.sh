#!/usr/bin/env bash
# Redis 7.0.15's own test suite (tests/ of Debian's redis source package) run against keyfork.
#
#   scripts/redis-suite.sh fetch [DIR]        download and unpack the source (apt's deb-src; needs root)
#   scripts/redis-suite.sh run DIR OUT UNIT.. run each unit (unit/type/list, integration/rdb, ...)
#                                             alone; one log per unit in OUT, OUT/summary lists
#                                             "<unit> ok=N err=N exception=N"; exit 1 if any failed
#                                             (UNIT may be a file listing units, as
#                                             test/redis-suite-units.txt; REDIS_SUITE_RERUN=1
#                                             reruns a failing unit once)
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
  # runtest empties tests/tmp when it starts: runs in one source directory take turns.
  exec 7>"$src/.redis-suite.lock"; flock 7
  rm -f "$src/src/redis-server"   # may be a link to a checkout's main.js: never write through it
  if [ -n "${REDIS_SUITE_SERVER:-}" ]; then
    # The reference itself: which failures are the suite's own in this environment.
    printf '#!/bin/sh\nexec %s "$@"\n' "$REDIS_SUITE_SERVER" > "$src/src/redis-server"
  else
    [ -f "$repo/dist/src/main.js" ] || { echo "redis-suite: build first (npm run build)" >&2; exit 2; }
    # A link, as a user drops keyfork in for redis-server: the process title shows the name it
    # was run by, as Redis's shows its argv[0] (unit/other checks it ends in /redis-server).
    chmod +x "$repo/dist/src/main.js"
    ln -s "$repo/dist/src/main.js" "$src/src/redis-server"
  fi
  chmod +x "$src/src/redis-server"
  for tool in redis-cli redis-benchmark redis-check-aof redis-check-rdb; do ln -sf "/usr/bin/$tool" "$src/src/$tool"; done
  run_unit() {
    (cd "$src" && timeout 900 ./runtest --clients 1 --timeout 120 --baseport "$baseport" --portcount 1000 \
      --single "$1" > "$2" 2>&1) || true
  }
  # Failures are printed twice (as they happen and in the final list): count the first.
  # -a: a log may hold a NUL (a process title the suite read back), and grep would then count
  # nothing in it.
  counts() {
    echo "ok=$(grep -ac '\[.*ok.*\]:' "$1") err=$(grep -av '^\*\*\*' "$1" | grep -ac '\[.*\(err\|TIMEOUT\).*\]:') exception=$(grep -ac '\[.*exception.*\]:' "$1")"
  }
  passed() { grep -aq 'All tests passed without errors' "$1"; }
  # Two runs at once need their own ports (the suite's own listener sits just below them).
  baseport="${REDIS_SUITE_BASEPORT:-21111}"
  mkdir -p "$out"; : > "$out/summary"
  failed=0
  units=("$@")
  # A file of unit names (one per line, # comments) stands for its units.
  if [ "${#units[@]}" -eq 1 ] && [ -f "${units[0]}" ]; then mapfile -t units < <(grep -v '^\s*\(#\|$\)' "${units[0]}"); fi
  for unit in "${units[@]}"; do
    log="$out/$(echo "$unit" | tr / _).log"
    run_unit "$unit" "$log"; result="$(counts "$log")"
    # One rerun of a failing unit (timing-sensitive tests on a loaded machine): a pass then is
    # reported as a flake, with the first run's failure.
    if ! passed "$log" && [ -n "${REDIS_SUITE_RERUN:-}" ]; then
      mv "$log" "$log.first"
      run_unit "$unit" "$log"
      if passed "$log"; then
        echo "$unit $(counts "$log") flake: first run $result: $(grep -h -m1 '^\*\*\* ' "$log.first" | cut -c1-160)" | tee -a "$out/summary"
        continue
      fi
      result="$(counts "$log")"
    fi
    echo "$unit $result" | tee -a "$out/summary"
    passed "$log" || failed=1
  done
  exit $failed
  ;;
*)
  sed -n '2,/^set -euo/p' "$0" | grep '^#' >&2; exit 2
  ;;
esac
