#!/bin/bash
# one.sh PID PORT N C P -- <redis-benchmark command args or -t test>
# prints rps, server CPU us/req (user/sys), server util, client CPU us/req, client util
pid=$1; port=$2; N=$3; C=$4; P=$5; shift 6
rt() { local s=0; for f in /proc/$pid/task/*/schedstat; do s=$((s+$(cut -d' ' -f1 $f))); done; echo $s; }
ut() { awk '{print $14, $15}' /proc/$pid/stat; }
r0=$(rt); read u0 s0 <<<"$(ut)"; t0=$(date +%s.%N)
out=$( { /usr/bin/time -f "BT %U %S %e" taskset -c 0 $WRAP redis-benchmark -p $port -c $C -n $N -P $P --csv "$@"; } 2>&1 )
t1=$(date +%s.%N); r1=$(rt); read u1 s1 <<<"$(ut)"
line=$(echo "$out" | grep '^"' | grep -v '^"test"' | tail -1)
rps=$(echo "$line" | cut -d'"' -f4)
bt=$(echo "$out" | grep '^BT')
err=$(echo "$out" | grep -ci error)
awk -v r0=$r0 -v r1=$r1 -v t0=$t0 -v t1=$t1 -v N=$N -v rps=$rps -v bt="$bt" -v du=$((u1-u0)) -v ds=$((s1-s0)) -v err=$err 'BEGIN{split(bt,b," "); el=t1-t0; cpu=(r1-r0)/1e9; us=cpu*1e6/N; f=(du+ds)>0?du/(du+ds):0;
 printf "rps %8.0f  srv %.2f us/req (%.2fu %.2fs) util %3.0f%%  client %.2f us/req (%.2fu %.2fs) util %3.0f%% errlines %d\n", rps, us, us*f, us*(1-f), 100*cpu/el, (b[2]+b[3])*1e6/N, b[2]*1e6/N, b[3]*1e6/N, 100*(b[2]+b[3])/b[4], err}'
