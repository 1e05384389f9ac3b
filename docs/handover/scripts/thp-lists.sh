#!/bin/bash
# thp-lists.sh REPO: 400k lists of 10 elements, then 3 BGSAVEs; the parent's AnonHugePages after each, and each save's child time
repo=$1; rm -rf /tmp/exp/lc; mkdir -p /tmp/exp/lc
(cd $repo && setsid node dist/src/main.js --port 7301 --save '' --dir /tmp/exp/lc > /tmp/exp/lc.log 2>&1 &); sleep 1.5
P=$(pgrep -f "keyfork-server.*7301")
python3 -c "
import sys
out=sys.stdout
for i in range(400000):
    out.write('*12\r\n\$5\r\nRPUSH\r\n\$%d\r\nlist:%d\r\n' % (len('list:%d'%i), i) + ''.join('\$%d\r\n%s\r\n' % (len('element-%d'%j), 'element-%d'%j) for j in range(10)))
" | redis-cli -p 7301 --pipe | tail -1; sleep 1
echo "loaded: $(grep AnonHugePages /proc/$P/smaps_rollup)"
for r in 1 2 3; do
  redis-cli -p 7301 bgsave >/dev/null; sleep 0.2
  while redis-cli -p 7301 info persistence | grep -q "rdb_bgsave_in_progress:1"; do sleep 0.05; done; sleep 0.5
  echo "after save $r: $(grep AnonHugePages /proc/$P/smaps_rollup)"
done
grep -E "Background saving started|DB saved" /tmp/exp/lc.log | awk '{print $5}' | paste - -
redis-cli -p 7301 shutdown nosave >/dev/null 2>&1
