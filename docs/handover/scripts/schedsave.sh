# schedsave.sh PORT: one BGSAVE under perf sched; the save's wall time and its threads' wait/run
p=$1
(perf sched record -o ${EXP:-/tmp/exp}/ps$p.data -- sleep 9 >/dev/null 2>&1 &); sleep 0.2
redis-cli -p $p bgsave >/dev/null; sleep 9.5
dir=${EXP:-/tmp/exp}/k$p
s=$(grep "Background saving started" $dir/log | tail -1 | awk '{print $5}'); e=$(grep "terminated with success" $dir/log | tail -1 | awk '{print $5}')
child=$(grep "DB saved on disk" $dir/log | tail -1 | cut -d: -f1)
echo "port $p save $s -> $e"
perf sched timehist -i ${EXP:-/tmp/exp}/ps$p.data 2>/dev/null | awk -v c="$child" '$3 ~ ("rdb-save|node\\[" c "\\]") {w[$3]+=$4; d[$3]+=$5; r[$3]+=$6} END {for (k in w) printf "  %s wait %.0f ms schdelay %.0f ms run %.0f ms\n", k, w[k], d[k], r[k]}'
