#!/usr/bin/env bash
# fork time of an (almost) empty server: keyfork vs redis-server, N BGSAVEs each.
# usage: forkcost.sh <keyfork main.js> [keys] [runs]
KF=${1:?main.js}; KEYS=${2:-0}; RUNS=${3:-5}
run() { # kind port
  local kind=$1 port=$2 dir=$(mktemp -d /tmp/saveperf/fork-$1-XXXX)
  if [ $kind = redis ]; then
    redis-server --port $port --bind 127.0.0.1 --dir $dir --logfile $dir/log --save '' --appendonly no --daemonize no --enable-debug-command yes & pid=$!
  else
    node $KF --port $port --bind 127.0.0.1 --dir $dir --logfile $dir/log --save '' --appendonly no --daemonize no --enable-debug-command yes & pid=$!
  fi
  for i in $(seq 100); do redis-cli -p $port ping >/dev/null 2>&1 && break; sleep 0.1; done
  [ $KEYS -gt 0 ] && redis-cli -p $port debug populate $KEYS key 100 >/dev/null
  local out=""
  for r in $(seq $RUNS); do
    redis-cli -p $port bgsave >/dev/null
    while [ "$(redis-cli -p $port info persistence | tr -d '\r' | grep rdb_bgsave_in_progress | cut -d: -f2)" = 1 ]; do sleep 0.02; done
    out="$out $(redis-cli -p $port info stats | tr -d '\r' | grep latest_fork_usec | cut -d: -f2)"
  done
  rss=$(awk '/VmRSS/{print $2}' /proc/$pid/status); vmas=$(wc -l < /proc/$pid/maps)
  echo "$kind keys=$KEYS fork_usec:$out rss_kb=$rss vmas=$vmas"
  redis-cli -p $port shutdown nosave >/dev/null 2>&1; wait $pid 2>/dev/null; rm -rf $dir
}
run redis 17901
run keyfork 17902
