#!/usr/bin/env bash
# profile.sh: where a strom node spends its time under one workload of the peer suite
# (docs/bench.md, "Where the time goes"). `make bench-profile` runs it.
#
# It starts a strom node on 127.0.0.1 (a free port, a temporary store, the --fsync policy of the
# workload's durability row, as scripts/bench-peers.sh does), reads the pid of each of its
# processes from the node's log (supervisor, commit, sequencer, gateway), samples all of them with
# `perf record` (cpu-clock, kernel call chains) while build/strom-bench runs the workload against
# the node, stops everything it started, and prints per role:
#   - its CPU use (samples over the recording time, in % of one CPU);
#   - the share of its samples in user code, in system calls (futex, epoll, and the other calls
#     by name), and in the kernel outside a system call (interrupts, page faults);
#   - its top symbols by self time;
#   - its context switches per message sent: voluntary (it slept and was woken) and involuntary
#     (it was preempted: the CPU was wanted elsewhere), from /proc/PID/status before and after.
# The same figures go to OUT/profile.ssim as ssim records (profile.node, profile.role,
# profile.syscall, profile.symbol, profile.ctxsw); the raw samples stay in OUT/perf.data for `perf report -i`.
#
#   scripts/profile.sh [--workload NAME] [--row memory|disk] [--quick] [--top N] [--freq HZ]
#   scripts/profile.sh --report [--top N]     (the summary of the last recording again)
#
# Defaults: --workload latency --row memory --top 8 --freq 999. Environment: STROM (the strom
# binary whose node is profiled, default build/strom), OUT (default build/profile).
# Needs perf (Debian linux-perf, installed by scripts/deps.sh) and the right to sample the
# node's processes (root, or kernel.perf_event_paranoid <= 1).
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/proc.sh

workload=latency row=memory quick=0 top=8 freq=999 report_only=0
while [ $# -gt 0 ]; do
  case $1 in
    --workload) workload=${2:?}; shift 2 ;;
    --row) row=${2:?}; shift 2 ;;
    --quick) quick=1; shift ;;
    --top) top=${2:?}; shift 2 ;;
    --freq) freq=${2:?}; shift 2 ;;
    --report) report_only=1; shift ;;
    *) echo "usage: scripts/profile.sh [--workload NAME] [--row memory|disk] [--quick] [--top N] [--freq HZ] [--report]" >&2; exit 2 ;;
  esac
done
case $row in memory | disk) ;; *) echo "profile: --row must be memory or disk" >&2; exit 2 ;; esac

bench=build/strom-bench
strom=${STROM:-build/strom}
out=${OUT:-build/profile}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/strom-profile.XXXXXX")
node_pid="" perf_pid=""

# Stops what this script started (perf first, so that it writes its file; then the node: TERM,
# KILL after 5 s) and removes the node's temporary store.
cleanup() {
  proc_stop "$perf_pid" INT
  proc_stop "$node_pid" TERM
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_node: starts the node for the row; sets node_pid and port; waits for its ready record.
start_node() {
  local fsync=interval i
  [ "$row" = disk ] && fsync=always
  port=$($bench free-port) || return 1
  "$strom" node --data "$scratch/data" --listen "127.0.0.1:$port" --fsync "$fsync" --kafka off \
    >"$scratch/node.log" 2>&1 &
  node_pid=$!
  for i in $(seq 300); do
    grep -q '^strom.node.ready ' "$scratch/node.log" && return 0
    kill -0 "$node_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "profile: the node did not become ready:" >&2
  tail -n 20 "$scratch/node.log" >&2
  return 1
}

# roles: "pid role" for the supervisor and each child the node's log says it started.
roles() {
  echo "$node_pid supervisor"
  sed -n 's/^strom\.node\.child .* child:\([a-z]*\) .*child_pid:\([0-9]*\) .*event:started.*/\2 \1/p' \
    "$scratch/node.log"
}

# analyse ROLES SECONDS: reads `perf script` output on stdin; prints the ssim records.
# A sample is a header line ("pid") then its call chain, leaf first, one frame per line
# ("addr symbol (dso)"). A sample in the kernel under do_syscall_64 is in a system call, named
# by the kernel's entry function below do_syscall_64 (__x64_sys_NAME, __do_sys_NAME, __sys_NAME,
# ksys_NAME) or else by the libc wrapper that made the call (write, sendmsg; `syscall` for calls
# made through syscall(2), such as futex where the kernel's entry was inlined away). A sample
# under __schedule is a context switch (the cost of sleeping and waking, and of preemption).
analyse() {
  awk -v roles="$1" -v seconds="$2" -v freq="$freq" '
    BEGIN {
      n = split(roles, r, "\n")
      for (i = 1; i <= n; i++) { split(r[i], f, " "); role_of[f[1]] = f[2] }
    }
    function call_name(   i, name, entry) {
      entry = 0
      for (i = 1; i <= depth; i++) {
        if (sym[i] ~ /^(do_syscall_64|entry_SYSCALL_64)/) { entry = i; break }
      }
      if (entry == 0) return ""
      for (i = entry - 1; i >= 1; i--) {
        name = sym[i]
        if (sub(/^(__x64_sys_|__do_sys_|__se_sys_|___sys_|__sys_|ksys_)/, "", name)) return norm(name)
      }
      for (i = entry + 1; i <= depth; i++) {
        if (dso[i] ~ /kernel/) continue
        name = sym[i]
        if (name == "[unknown]") break
        gsub(/^(__GI___libc_|__libc_|__GI___|__GI_|___|__)/, "", name)
        return norm(name)
      }
      return "unknown"
    }
    # a[role, key] without creating it
    function count(a, role, key) { return ((role, key) in a) ? a[role, key] : 0 }
    function norm(name) {
      sub(/_nocancel$/, "", name)
      if (name ~ /^epoll/) return "epoll"
      if (name ~ /^futex/) return "futex"
      return name
    }
    function flush(   role, kind, call, i, switched) {
      if (pid == "" || !(pid in role_of)) { pid = ""; return }
      role = role_of[pid]
      samples[role]++
      call = call_name()
      switched = 0
      for (i = 1; i <= depth; i++) if (sym[i] == "__schedule") switched = 1
      if (dso[1] !~ /kernel/) kind = "user"
      else if (call != "") kind = "syscall"
      else kind = "kernel"
      kinds[role, kind]++
      if (kind == "syscall") calls[role, call]++
      if (switched) switches[role]++
      leaf = dso[1]; sub(/.*\//, "", leaf)
      syms[role, sym[1] " (" leaf ")"]++
      pid = ""
    }
    /^[^\t]/ { flush(); pid = $1; depth = 0; next }
    /^\t/ {
      if (pid == "") next
      depth++
      dso[depth] = $NF; gsub(/[()]/, "", dso[depth])
      sym[depth] = $2
      for (i = 3; i < NF; i++) sym[depth] = sym[depth] " " $i
      next
    }
    END {
      flush()
      for (role in samples) total += samples[role]
      printf "profile.node  samples:%d  cpu_pct:%.1f\n", total, 100 * total / (freq * seconds)
      for (role in samples) {
        s = samples[role]
        printf "profile.role  role:%s  samples:%d  cpu_pct:%.1f  user_pct:%.1f  syscall_pct:%.1f  futex_pct:%.1f  epoll_pct:%.1f  kernel_other_pct:%.1f  switch_pct:%.1f\n",
          role, s, 100 * s / (freq * seconds), 100 * kinds[role, "user"] / s,
          100 * kinds[role, "syscall"] / s, 100 * count(calls, role, "futex") / s,
          100 * count(calls, role, "epoll") / s, 100 * kinds[role, "kernel"] / s, 100 * switches[role] / s
        for (k in calls) {
          split(k, p, SUBSEP)
          if (p[1] == role) printf "profile.syscall  role:%s  call:%s  pct:%.1f\n", role, p[2], 100 * calls[k] / s
        }
        for (k in syms) {
          split(k, p, SUBSEP)
          if (p[1] == role) printf "profile.symbol  role:%s  pct:%.1f  symbol:\"%s\"\n", role, 100 * syms[k] / s, p[2]
        }
      }
    }'
}

# summary: the human-readable view of the ssim records on stdin: per role, by CPU use, its
# shares, its system calls and its top symbols; first the node's CPU use in all.
summary() {
  awk -v top="$top" '
    function field(key,   i, v) {
      for (i = 2; i <= NF; i++) {
        if (index($i, key ":") == 1) { v = substr($i, length(key) + 2); gsub(/"/, "", v); return v }
      }
      return ""
    }
    $1 == "profile.role" {
      role = field("role"); roles[++n] = role; cpu[role] = field("cpu_pct")
      head[role] = sprintf("== %s: %s %% of one CPU (%s samples); user %s %%, system calls %s %% (futex %s %%, epoll %s %%), kernel outside calls %s %%; under a context switch %s %%",
        role, cpu[role], field("samples"), field("user_pct"), field("syscall_pct"), field("futex_pct"),
        field("epoll_pct"), field("kernel_other_pct"), field("switch_pct"))
    }
    $1 == "bench.run" { sent = field("sent") }
    $1 == "profile.ctxsw" { role = field("role"); vol[role] += field("voluntary"); invol[role] += field("involuntary") }
    $1 == "profile.node" { printf "== the node in all: %s %% of one CPU (%s samples)\n", field("cpu_pct"), field("samples") }
    $1 == "profile.syscall" { role = field("role"); c = ++nc[role]; cname[role, c] = field("call"); cpct[role, c] = field("pct") }
    $1 == "profile.symbol" {
      role = field("role"); c = ++ns[role]; spct[role, c] = field("pct")
      line = $0; sub(/.*symbol:"/, "", line); sub(/"$/, "", line); sname[role, c] = line
    }
    # prints the k largest of pct[role, 1..count] with their names, largest first
    function largest(pct, names, role, count, k, sep, fmt,   i, j, best, done, out) {
      split("", done)
      for (i = 1; i <= k && i <= count; i++) {
        best = 0
        for (j = 1; j <= count; j++) if (!(j in done) && (best == 0 || pct[role, j] + 0 > pct[role, best] + 0)) best = j
        done[best] = 1
        printf fmt, pct[role, best], names[role, best]
      }
    }
    END {
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (cpu[roles[j]] + 0 > cpu[roles[i]] + 0) { t = roles[i]; roles[i] = roles[j]; roles[j] = t }
      for (i = 1; i <= n; i++) {
        role = roles[i]
        print head[role]
        if (sent > 0) printf "   context switches per message sent: %.2f voluntary (slept, was woken), %.3f involuntary (preempted)\n", vol[role] / sent, invol[role] / sent
        printf "   system calls:"
        largest(cpct, cname, role, nc[role], 6, "", "  %s %% %s")
        printf "\n   top symbols (self):\n"
        largest(spct, sname, role, ns[role], top, "", "   %6.1f %%  %s\n")
      }
    }'
}

# ctxsw ROLES: "pid role voluntary nonvoluntary" context switches so far, per process.
ctxsw() {
  local p r
  while read -r p r; do
    echo "$p $r $(awk '/^voluntary_ctxt_switches/ { v = $2 } /^nonvoluntary_ctxt_switches/ { n = $2 } END { print v + 0, n + 0 }' "/proc/$p/status" 2>/dev/null)"
  done <<<"$1"
}

# record: starts the node, samples its processes while strom-bench runs the workload, stops perf;
# writes the profile.env and profile.pid records to OUT/profile.ssim.
record() {
  start_node || return 1
  local role_list pids
  role_list=$(roles)
  pids=$(awk '{ print $1 }' <<<"$role_list" | paste -sd, -)
  perf record -F "$freq" -g -p "$pids" -o "$out/perf.data" >"$scratch/perf.log" 2>&1 &
  perf_pid=$!
  sleep 0.5
  kill -0 "$perf_pid" 2>/dev/null || { cat "$scratch/perf.log" >&2; return 1; }
  local args=(run --system strom --server "127.0.0.1:$port" --workload "$workload" --row "$row")
  [ $quick -eq 1 ] && args+=(--quick)
  local t0 t1 rc before after
  before=$(ctxsw "$role_list")
  t0=$(date +%s.%N)
  "$bench" "${args[@]}" >"$scratch/run.out" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  after=$(ctxsw "$role_list")
  proc_stop "$perf_pid" INT
  perf_pid=""
  grep -av '^bench\.run ' "$scratch/run.out"
  [ $rc -eq 0 ] || { echo "profile: strom-bench failed ($rc)" >&2; return 1; }
  {
    echo "profile.env  date:$(date -u +%Y-%m-%dT%H:%M:%SZ)  commit:$(git rev-parse --short HEAD 2>/dev/null || echo none)  workload:$workload  row:$row  quick:$quick  freq_hz:$freq  seconds:$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a + 0.5 }')  load:\"$(cut -d' ' -f1-3 /proc/loadavg)\""
    while read -r p r; do echo "profile.pid  pid:$p  role:$r"; done <<<"$role_list"
    grep -a '^bench\.run ' "$scratch/run.out"
    awk 'NR == FNR { v[$1] = $3; n[$1] = $4; next }
         { printf "profile.ctxsw  pid:%s  role:%s  voluntary:%d  involuntary:%d\n", $1, $2, $3 - v[$1], $4 - n[$1] }' \
      <(echo "$before") <(echo "$after")
  } >"$out/profile.ssim"
}

# report: analyses OUT/perf.data with the records record wrote; appends the figures to
# OUT/profile.ssim and prints the summary.
report() {
  local env role_list seconds
  env=$(grep '^profile.env ' "$out/profile.ssim") || { echo "profile: no $out/profile.ssim" >&2; return 1; }
  seconds=$(sed 's/.*seconds:\([0-9.]*\).*/\1/' <<<"$env")
  freq=$(sed 's/.*freq_hz:\([0-9]*\).*/\1/' <<<"$env")
  role_list=$(sed -n 's/^profile.pid  pid:\([0-9]*\)  role:\([a-z]*\)$/\1 \2/p' "$out/profile.ssim")
  grep -v '^profile\.\(node\|role\|syscall\|symbol\) ' "$out/profile.ssim" >"$scratch/head.ssim"
  {
    cat "$scratch/head.ssim"
    perf script -i "$out/perf.data" -F pid,ip,sym,dso 2>/dev/null | analyse "$role_list" "$seconds"
  } >"$out/profile.ssim"
  echo
  echo "profile: strom node, $(sed 's/.*workload:\([^ ]*\)  row:\([a-z]*\).*/workload \1, \2 row/' <<<"$env"), $seconds s sampled at $freq Hz (cpu-clock), load average $(sed 's/.*load:"\([^"]*\)".*/\1/' <<<"$env") at the end"
  summary <"$out/profile.ssim"
  echo
  echo "profile: records in $out/profile.ssim; samples in $out/perf.data (perf report -i $out/perf.data)"
}

main() {
  command -v perf >/dev/null || { echo "profile: perf is missing (scripts/deps.sh installs linux-perf)" >&2; return 1; }
  mkdir -p "$out"
  if [ $report_only -eq 0 ]; then
    make -s -j2 "$bench" >/dev/null || return 1
    if [ -z "${STROM:-}" ]; then make -s -j2 build/strom >/dev/null || return 1; fi
    record || return 1
  fi
  report
}

main
