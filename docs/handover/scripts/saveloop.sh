# saveloop.sh ROUNDS PORT...: BGSAVE on each port in turn; prints ms from BGSAVE to the end seen by polling
rounds=$1; shift
for r in $(seq 1 $rounds); do for p in "$@"; do
  t0=$(date +%s%N); redis-cli -p $p bgsave >/dev/null
  while redis-cli -p $p info persistence | grep -q "rdb_bgsave_in_progress:1"; do sleep 0.02; done
  echo "round $r port $p $(( ($(date +%s%N)-t0)/1000000 )) ms load $(cut -d' ' -f1 /proc/loadavg)"; sleep 1
done; done
