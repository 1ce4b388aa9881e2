# bench/cpu_quiet.sh: sourced by the benchmark drivers (run_kernels.sh, run_conv.sh). A
# 2-thread timing on this shared machine means little while other processes hold a CPU:
# these helpers measure that load and wait for it to pass.

# CPUs kept busy by other processes: /proc/stat sampled across a sleep of this script's.
cpu_busy() {
  local -a a b
  read -r -a a </proc/stat
  sleep "${1:-0.5}"
  read -r -a b </proc/stat
  local i d busy=0 total=0
  for i in 1 2 3 4 5 6 7 8; do # user nice system idle iowait irq softirq steal
    d=$((b[i] - a[i]))
    total=$((total + d))
    if ((i != 4 && i != 5)); then busy=$((busy + d)); fi
  done
  awk -v b="$busy" -v t="$total" -v n="$(nproc)" 'BEGIN { printf "%.2f", (t > 0 ? b / t * n : 0) }'
}

# Waits up to 10 s for the other processes to use less than a quarter of a CPU; prints
# what they used last.
wait_quiet() {
  local busy
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    busy=$(cpu_busy 1)
    if awk -v b="$busy" 'BEGIN { exit !(b < 0.25) }'; then break; fi
  done
  echo "$busy"
}
