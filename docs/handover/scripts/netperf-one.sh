#!/bin/bash
# one.sh PID PORT TEST P N C  -> rps, server cpu us/req, server util, bench util, server vcsw/req, ivcsw/req
pid=$1; port=$2; t=$3; P=$4; N=$5; C=${6:-50}
cpu() { awk '{print $14+$15}' /proc/$pid/stat; }
sw() { awk '/^voluntary_ctxt_switches/{v=$2} /^nonvoluntary_ctxt_switches/{n=$2} END{print v, n}' /proc/$pid/status; }
rt() { local s=0; for f in /proc/$pid/task/*/schedstat; do s=$((s+$(cut -d' ' -f1 $f))); done; echo $s; }
r0=$(rt); read v0 n0 <<<"$(sw)"; t0=$(date +%s.%N)
out=$( { /usr/bin/time -f "BT %U %S %e" taskset -c 0 redis-benchmark -p $port -c $C -n $N -P $P -t $t --csv; } 2>&1 )
t1=$(date +%s.%N); r1=$(rt); read v1 n1 <<<"$(sw)"
rps=$(echo "$out" | grep -v '^"test"' | grep '^"' | head -1 | cut -d'"' -f4)
p50=$(echo "$out" | grep -v '^"test"' | grep '^"' | head -1 | cut -d'"' -f10)
bt=$(echo "$out" | grep '^BT')
awk -v r0=$r0 -v r1=$r1 -v t0=$t0 -v t1=$t1 -v N=$N -v rps=$rps -v p50=$p50 -v bt="$bt" -v v=$((v1-v0)) -v n=$((n1-n0)) -v t=$t 'BEGIN{split(bt,b," "); el=t1-t0; cpu=(r1-r0)/1e9;
 printf "%-12s rps %9.0f p50 %s  srv %.2f us/req util %.0f%%  bench util %.0f%% (%.2f us/req)  vcsw/req %.3f ivcsw/req %.3f\n", t, rps, p50, cpu*1e6/N, 100*cpu/el, 100*(b[2]+b[3])/b[4], (b[2]+b[3])*1e6/N, v/N, n/N}'
