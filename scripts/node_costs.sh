#!/usr/bin/env bash
# node_costs.sh: what each process of bench_node's node does per message in one latency workload
# (docs/node.md, "Latency: where the time goes", session 6's table).
#
# It runs `build/bench/bench_node --only PART` (lat.ack1 or lat.sync: 10,000 messages a second),
# finds the node the benchmark started and its children (role from the node's log), waits until
# the workload runs (DELAY s after the node appears), and over the next SECS seconds reads, per
# child and summed over all its threads (a commit's io_uring workers count in the commit):
#   - CPU time (utime + stime) and context switches (voluntary + involuntary) from /proc;
#   - with perf, the system calls by name, msr:write_msr (on a VM each is an exit to the
#     hypervisor: the TSC deadline of a timer, the x2APIC ICR of an IPI) and context switches,
#     counted by `perf stat` attached to the child.
# Each figure is divided by the messages the workload sends in the window (10,000 x SECS; on a
# loaded machine a turn handles several, so per-message wake-ups fall below 1). Then the
# benchmark's own figures for PART (p50, p99, node_cpu, node_switches) as it printed them.
#
#   scripts/node_costs.sh [--part lat.ack1|lat.sync] [--secs N] [--delay N] [--no-perf]
#
# Defaults: --part lat.ack1 --secs 3 --delay 4.5 (the benchmark's baselines and warm-up take
# about 4 s). Environment: BENCH (default build/bench/bench_node, built by `make
# build/bench/bench_node`). perf needs root or kernel.perf_event_paranoid <= 1.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
. scripts/proc.sh

part=lat.ack1 secs=3 delay=4.5 use_perf=1
while [ $# -gt 0 ]; do
  case $1 in
    --part) part=${2:?}; shift 2 ;;
    --secs) secs=${2:?}; shift 2 ;;
    --delay) delay=${2:?}; shift 2 ;;
    --no-perf) use_perf=0; shift ;;
    *) echo "usage: scripts/node_costs.sh [--part lat.ack1|lat.sync] [--secs N] [--delay N] [--no-perf]" >&2; exit 2 ;;
  esac
done
case $part in lat.ack1 | lat.sync) ;; *) echo "node_costs: --part must be lat.ack1 or lat.sync" >&2; exit 2 ;; esac
command -v perf >/dev/null || use_perf=0

bench=${BENCH:-build/bench/bench_node}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/strom-node-costs.XXXXXX")
bench_pid=""
cleanup() {
  proc_stop "$bench_pid" TERM
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# snap PID: "cpu_ticks switches" summed over the threads of PID.
snap() {
  local t cpu=0 sw=0 u s v n
  for t in /proc/"$1"/task/*; do
    read -r u s < <(awk '{print $14, $15}' "$t/stat" 2>/dev/null) || continue
    v=$(awk '/^voluntary_ctxt_switches/{print $2}' "$t/status" 2>/dev/null)
    n=$(awk '/^nonvoluntary_ctxt_switches/{print $2}' "$t/status" 2>/dev/null)
    cpu=$((cpu + ${u:-0} + ${s:-0}))
    sw=$((sw + ${v:-0} + ${n:-0}))
  done
  echo "$cpu $sw"
}

"$bench" --only "$part" >"$scratch/bench.out" 2>&1 &
bench_pid=$!
node=""
for _ in $(seq 300); do
  node=$(pgrep -P "$bench_pid" -f 'strom node' | head -n 1)
  [ -n "$node" ] && break
  sleep 0.1
done
[ -n "$node" ] || { echo "node_costs: the benchmark started no node" >&2; exit 1; }
sleep "$delay"
log=$(readlink "/proc/$node/fd/2")
kids=$(cat "/proc/$node/task/$node/children")
declare -A before role
for k in $kids; do
  role[$k]=$(grep "child_pid:$k " "$log" | grep -o 'child:[a-z]*' | head -n 1)
  before[$k]=$(snap "$k")
done
events="-e context-switches -e msr:write_msr"
for sc in read write poll ppoll epoll_pwait2 epoll_wait epoll_ctl futex sendmsg sendto recvfrom \
  readv writev pwrite64 pwritev io_uring_enter getpid fdatasync ftruncate clock_nanosleep; do
  events="$events -e syscalls:sys_enter_$sc"
done
if [ "$use_perf" = 1 ]; then
  stats=()
  for k in $kids; do
    # shellcheck disable=SC2086
    perf stat -x, $events -p "$k" -- sleep "$secs" 2>"$scratch/stat.$k" >/dev/null &
    stats+=($!)
  done
  wait "${stats[@]}"
else
  sleep "$secs"
fi
msgs=$((10000 * secs))
hz=$(getconf CLK_TCK)
echo "node_costs  part:$part  secs:$secs  msgs:$msgs  load:$(cut -d' ' -f1 /proc/loadavg)"
for k in $kids; do
  read -r c0 s0 <<<"${before[$k]}"
  read -r c1 s1 < <(snap "$k")
  printf '%-16s pid %-7s cpu %6.1f us/msg  switches %5.2f /msg\n' "${role[$k]:-child}" "$k" \
    "$(echo "($c1 - $c0) * 1000000 / $hz / $msgs" | bc -l)" "$(echo "($s1 - $s0) / $msgs" | bc -l)"
  if [ -s "$scratch/stat.$k" ]; then
    awk -F, -v m="$msgs" '$1 ~ /^[0-9]+$/ && $1 > 0 {sub("syscalls:sys_enter_", "", $3); printf "    %s %.3f", $3, $1 / m} END {print ""}' "$scratch/stat.$k"
  fi
done
wait "$bench_pid"
bench_pid=""
grep -E "^bench.result  name:$part\.(p50|p99|node_cpu|node_switches|lost) " "$scratch/bench.out"
