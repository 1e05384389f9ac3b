#!/bin/bash
# usage: forkrounds.sh <main.js|redis> <port> <keys> <rounds>
# Repeated BGSAVEs under writes (redis-benchmark SET to random existing keys, bounded count):
# fork time, CoW, child time, and huge pages of the server after each round.
MAIN=$1; PORT=$2; KEYS=$3; ROUNDS=$4
D=$(mktemp -d /tmp/fr.XXXX)
if [ "$MAIN" = redis ]; then redis-server --port $PORT --dir $D --save '' --enable-debug-command yes --logfile $D/log --daemonize no > /dev/null 2>&1 &
else node $MAIN --port $PORT --dir $D --save '' --enable-debug-command yes --logfile $D/log > $D/out 2>&1 & fi
PID=$!
for i in $(seq 100); do redis-cli -p $PORT ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p $PORT debug populate $KEYS key 100 > /dev/null
sleep 2
info() { redis-cli -p $PORT info persistence | tr -d '\r' | grep "^$1:" | cut -d: -f2; }
for r in $(seq $ROUNDS); do
  timeout 60 redis-benchmark -p $PORT -t set -r $KEYS -n 150000 -d 100 -c 4 -q > /dev/null 2>&1 &
  W=$!
  sleep 0.5
  redis-cli -p $PORT bgsave > /dev/null
  while [ "$(info rdb_bgsave_in_progress)" = 1 ]; do sleep 0.05; done
  wait $W
  thp=$(grep AnonHugePages /proc/$PID/smaps_rollup | awk '{print $2}')
  echo "round $r fork_us $(redis-cli -p $PORT info stats | tr -d '\r' | grep ^latest_fork_usec | cut -d: -f2) cow_MB $(( $(info rdb_last_cow_size) / 1048576 )) child_s $(info rdb_last_bgsave_time_sec) thp_MB $((thp/1024)) rss_MB $(( $(grep VmRSS /proc/$PID/status | awk '{print $2}') / 1024 ))"
  sleep 1
done
grep -E 'copy-on-write|saved on disk' $D/log | tail -4
kill $PID; wait $PID 2>/dev/null; rm -rf $D
