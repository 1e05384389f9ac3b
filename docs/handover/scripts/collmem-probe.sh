#!/bin/bash
# probe.sh keys per cmd : addon and used_memory growth per element in keyfork
set -e
PORT=${PORT:-7391}
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../../.."  # the repository root
node dist/src/main.js --port $PORT --bind 127.0.0.1 --save '' --appendonly no --dir /tmp/collmem > /tmp/collmem/kf.log 2>&1 &
pid=$!
for i in $(seq 1 50); do redis-cli -p $PORT ping >/dev/null 2>&1 && break; sleep 0.2; done
info() { redis-cli -p $PORT info memory | tr -d '\r' | grep -E "^$1:" | cut -d: -f2; }
[ -n "$PURGE_FIRST" ] && { redis-cli -p $PORT memory purge >/dev/null; sleep 1.5; }
redis-cli -p $PORT info memory | tr -d "\r" > /tmp/collmem/before.txt; a0=$(info keyfork_used_memory_addon); u0=$(info used_memory)
node "$here/collmem-gen.js" $1 $2 $3 | redis-cli -p $PORT --pipe >/dev/null
sleep ${WAIT:-2.5}
redis-cli -p $PORT info memory | tr -d "\r" > /tmp/collmem/after.txt; a1=$(info keyfork_used_memory_addon); u1=$(info used_memory)
n=$(( $1 * $2 ))
echo "addon/elem $(echo "scale=2; ($a1-$a0)/$n" | bc)  used/elem $(echo "scale=2; ($u1-$u0)/$n" | bc)"
redis-cli -p $PORT memory usage k:0
redis-cli -p $PORT memory purge >/dev/null; sleep 1.5; echo "after purge: used $(info used_memory) addon $(info keyfork_used_memory_addon)"; echo "before: used $u0 addon $a0"
kill $pid; wait $pid 2>/dev/null || true
