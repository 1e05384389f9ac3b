#!/bin/bash
# usage: heapcheck.sh <main.js> <port> <populate-count...>
MAIN=$1; PORT=$2; shift 2
D=$(mktemp -d /tmp/run.XXXX)
node $MAIN --port $PORT --dir $D --save '' --enable-debug-command yes --logfile $D/log > $D/out 2>&1 &
PID=$!
for i in $(seq 50); do redis-cli -p $PORT ping >/dev/null 2>&1 && break; sleep 0.1; done
for n in "$@"; do
  if [ "$n" = purge ]; then redis-cli -p $PORT flushall >/dev/null; redis-cli -p $PORT memory purge > /dev/null; sleep 1.2; continue; fi
  redis-cli -p $PORT debug populate $n key 100 > /dev/null; sleep 1.2
done
python3 $(dirname "$0")/thp-smaps.py $PID
grep -E 'AnonHugePages|^Rss' /proc/$PID/smaps_rollup
cat $D/out | tail -3; kill $PID; wait $PID 2>/dev/null; rm -rf $D
