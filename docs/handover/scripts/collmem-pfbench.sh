#!/bin/bash
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../../.."  # the repository root
node dist/src/main.js --port 7392 --bind 127.0.0.1 --save '' --appendonly no --dir /tmp/collmem > /tmp/collmem/kf2.log 2>&1 &
k=$!
redis-server --port 7393 --bind 127.0.0.1 --save '' --appendonly no --dir /tmp/collmem --daemonize no > /tmp/collmem/rs.log 2>&1 &
r=$!
for i in $(seq 1 50); do redis-cli -p 7392 ping >/dev/null 2>&1 && redis-cli -p 7393 ping >/dev/null 2>&1 && break; sleep 0.2; done
for round in 1 2; do
for port in 7392 7393; do
  a=$(redis-benchmark -p $port -n 200000 -r 20000 -P 16 -q PFADD hll:__rand_int__ m:__rand_int__ | tr '\r' '\n' | grep -o "[0-9.]* requests per second" | tail -1)
  b=$(redis-benchmark -p $port -n 200000 -r 1000000 -P 16 -q PFADD dense m:__rand_int__ | tr '\r' '\n' | grep -o "[0-9.]* requests per second" | tail -1)
  c=$(redis-benchmark -p $port -n 100000 -r 20000 -P 16 -q PFCOUNT hll:__rand_int__ | tr '\r' '\n' | grep -o "[0-9.]* requests per second" | tail -1)
  echo "round $round port $port sparse-PFADD: $a | dense-PFADD: $b | PFCOUNT: $c"
done
done
redis-cli -p 7392 object encoding hll:1; redis-cli -p 7392 pfcount hll:1 ; redis-cli -p 7393 pfcount hll:1
kill $k $r; wait 2>/dev/null
