#!/usr/bin/env bash
# bench-peers.sh: strom beside its peers, measured in one run on this machine (docs/bench.md).
# `make bench` runs it after the micro-benchmarks; `make bench-quick` runs it alone with --quick.
#
# For every workload of bench/workloads.ssim (in file order) and every system, it starts a fresh
# server on 127.0.0.1 (a free port, a temporary store, the configuration of the workload's
# durability row), checks that the server runs with that configuration, runs build/strom-bench
# against it, and stops it. Then it prints the side-by-side table with strom's ratio to each peer
# and writes the results and the plots (gnuplot, PNG).
#
#   scripts/bench-peers.sh [--quick]
#
# Environment:
#   SYSTEMS   the systems to run, in table order (default: every one available of
#             "strom strom-kafka nats redis")
#   OUT       where the results go (default: bench/results, or build/bench-quick with --quick)
#   STROM     the strom binary whose node is measured (default: build/strom, built here)
#
# Durability rows (compared only within a row):
#   memory: strom ack 1 without sync; NATS JetStream file store with its default sync interval;
#           Redis appendonly yes, appendfsync everysec
#   disk:   strom sync; NATS JetStream sync_interval: always; Redis appendfsync always
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/proc.sh

quick=0
[ "${1:-}" = "--quick" ] && quick=1
out=${OUT:-$([ $quick -eq 1 ] && echo build/bench-quick || echo bench/results)}
work=build/bench-peers
bench=build/strom-bench
strom=${STROM:-build/strom}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/strom-bench.XXXXXX")
started=() # pids of the servers this script started and has not stopped yet

# Stops what this script started: TERM, then KILL after 5 s; removes the temporary stores.
cleanup() {
  for pid in "${started[@]}"; do
    stop_pid "$pid"
  done
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() {
  local pid=$1
  proc_stop "$pid" TERM
  local keep=()
  for p in "${started[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
  started=("${keep[@]}")
}

# wait_port PORT PID: until something listens on 127.0.0.1:PORT (10 s at most, and only while
# PID lives).
wait_port() {
  local port=$1 pid=$2 i
  for i in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# http_get PORT PATH: the body of an HTTP/1.0 GET on 127.0.0.1 (no curl needed).
http_get() {
  local port=$1 path=$2
  (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'GET %s HTTP/1.0\r\n\r\n' "$path" >&3 && cat <&3)
}

# --- the NATS server ---------------------------------------------------------------------------
# The disk row needs `sync_interval: always`, which nats-server accepts from 2.10 on; Debian 12
# ships 2.9.10. When the installed server refuses the option, this fetches Debian 13's package
# with apt-get download into build/peers (a private apt state there; the machine's apt
# configuration is not touched) and runs its binary from there.
nats_bin=""
find_nats_server() {
  local probe=$scratch/nats-probe.conf
  printf 'jetstream {\n  store_dir: "%s"\n  sync_interval: always\n}\n' "$scratch/probe" >"$probe"
  local b
  for b in nats-server build/peers/nats-server; do
    if command -v "$b" >/dev/null && "$b" -t -c "$probe" >/dev/null 2>&1; then
      nats_bin=$b
      return 0
    fi
  done
  echo "bench: $(nats-server --version 2>&1) lacks sync_interval; fetching Debian 13's nats-server"
  local apt=build/peers/apt
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
    >"$apt/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$PWD/$apt/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$PWD/$apt/lists" -o "Dir::Cache=$PWD/$apt/cache"
    -o "Dir::State::status=/dev/null" -o "APT::Sandbox::User=root")
  apt-get "${opts[@]}" update -qq >/dev/null &&
    (cd "$apt" && apt-get "${opts[@]}" download nats-server >/dev/null) &&
    dpkg-deb -x "$(ls "$apt"/nats-server_*.deb | tail -n 1)" "$apt/root" &&
    cp "$apt/root/usr/sbin/nats-server" build/peers/nats-server || return 1
  build/peers/nats-server -t -c "$probe" >/dev/null 2>&1 && nats_bin=build/peers/nats-server
}

# start_nats ROW: starts nats-server for ROW; sets port and pid. Checks /varz says what we meant.
start_nats() {
  local row=$1 dir=$scratch/nats.$RANDOM
  server_dir=$dir
  mkdir -p "$dir"
  port=$($bench free-port) && local mon=$($bench free-port) || return 1
  {
    echo "listen: 127.0.0.1:$port"
    echo "http: 127.0.0.1:$mon"
    echo "jetstream {"
    echo "  store_dir: \"$dir/js\""
    [ "$row" = disk ] && echo "  sync_interval: always"
    echo "}"
  } >"$dir/nats.conf"
  "$nats_bin" -c "$dir/nats.conf" >"$dir/log" 2>&1 &
  pid=$!
  started+=("$pid")
  wait_port "$port" "$pid" && wait_port "$mon" "$pid" || { cat "$dir/log"; return 1; }
  # /varz shows "sync_always": true only when set, and the sync interval (2 min by default).
  local varz sync
  varz=$(http_get "$mon" /varz)
  if grep -q '"sync_always": true' <<<"$varz"; then
    sync=always
  else
    sync="interval $(sed -n 's/.*"sync_interval": \([0-9]*\).*/\1/p' <<<"$varz" | head -n 1) ns"
  fi
  if ! grep -q "\"store_dir\": \"$dir/js" <<<"$varz" ||
    { [ "$row" = disk ] && [ "$sync" != always ]; } ||
    { [ "$row" = memory ] && [ "$sync" != "interval 120000000000 ns" ]; }; then
    echo "bench: nats-server does not run as configured for the $row row (it syncs: $sync)"
    return 1
  fi
  server_note="nats-server $(sed -n 's/.*"version": "\([^"]*\)".*/\1/p' <<<"$varz" | head -n 1), jetstream sync $sync"
}

# --- Redis ---------------------------------------------------------------------------------------
start_redis() {
  local row=$1 dir=$scratch/redis.$RANDOM fsync=everysec
  server_dir=$dir
  [ "$row" = disk ] && fsync=always
  mkdir -p "$dir"
  port=$($bench free-port) || return 1
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --appendonly yes \
    --appendfsync "$fsync" --save "" --daemonize no --protected-mode yes >"$dir/log" 2>&1 &
  pid=$!
  started+=("$pid")
  wait_port "$port" "$pid" || { cat "$dir/log"; return 1; }
  local got
  got=$(redis-cli -p "$port" CONFIG GET appendfsync | tail -n 1)/$(redis-cli -p "$port" CONFIG GET appendonly | tail -n 1)
  if [ "$got" != "$fsync/yes" ]; then
    echo "bench: redis-server runs appendfsync/appendonly $got, not $fsync/yes"
    return 1
  fi
  server_note="redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'), appendfsync $fsync"
}

# --- strom ---------------------------------------------------------------------------------------
# strom ack 1 without sync (memory row) or with sync (disk row) is the client's choice per append;
# the node syncs as its --fsync policy says: interval for the memory row, always for the disk row.
# start_strom ROW KAFKA: KAFKA 1 also opens the Kafka listener (kafka_port).
start_strom() {
  local row=$1 kafka=$2 dir=$scratch/strom.$RANDOM fsync=interval
  server_dir=$dir
  [ "$row" = disk ] && fsync=always
  mkdir -p "$dir"
  port=$($bench free-port) && kafka_port=$($bench free-port) || return 1
  local args=(node --data "$dir/data" --listen "127.0.0.1:$port" --fsync "$fsync")
  if [ "$kafka" = 1 ]; then args+=(--kafka "127.0.0.1:$kafka_port"); else args+=(--kafka off); fi
  "$strom" "${args[@]}" >"$dir/log" 2>&1 &
  pid=$!
  started+=("$pid")
  if ! wait_port "$port" "$pid" || { [ "$kafka" = 1 ] && ! wait_port "$kafka_port" "$pid"; }; then
    tail -n 20 "$dir/log"
    return 1
  fi
  server_note="strom node $(git rev-parse --short HEAD 2>/dev/null), fsync $fsync"
}

# strom_has_kafka: true when this strom node has a Kafka listener (its usage names --kafka). Asked
# of the binary rather than by starting a node, which costs seconds of the suite's budget; a node
# that then fails to start is reported by start_server and its runs are left out.
strom_has_kafka() {
  "$strom" node --help 2>&1 | grep -q -- '--kafka'
}

# The systems to run: SYSTEMS, or every one whose driver is compiled in (strom's when its binary
# is there; strom-kafka when its node has a Kafka listener).
available_systems() {
  local drivers
  drivers=$($bench systems)
  if [ -x "$strom" ]; then
    grep -qx strom <<<"$drivers" && echo strom
    grep -qx kafka <<<"$drivers" && strom_has_kafka && echo strom-kafka
  fi
  echo nats
  echo redis
}

# start_server SYSTEM ROW: starts SYSTEM's server for ROW; sets driver, port, pid, server_note.
start_server() {
  local system=$1 row=$2
  port="" pid="" server_note="" driver=""
  case $system in
    strom) driver=strom; start_strom "$row" 0 ;;
    strom-kafka) driver=kafka; start_strom "$row" 1 && port=$kafka_port ;;
    nats) driver=nats; start_nats "$row" ;;
    redis) driver=redis; start_redis "$row" ;;
    *) echo "bench: unknown system $system"; return 1 ;;
  esac
  local rc=$?
  if [ $rc -ne 0 ]; then
    echo "bench: $system did not start for the $row row"
    [ -n "$pid" ] && stop_pid "$pid"
    pid=""
    return 1
  fi
}

# stop_server_begin: asks the server started last to stop (TERM) without waiting for it: a strom
# node takes about 2 s to stop, which overlaps the next server's start. stop_server_end, called
# before the next run is measured, waits for it (KILL after 5 s) and removes its store (thousands
# of NATS stream directories take seconds to remove: better between runs than all at the end),
# so no run shares the machine with a server that is going away.
stopping_pid="" stopping_dir=""
stop_server_begin() {
  kill -TERM "$pid" 2>/dev/null
  stopping_pid=$pid stopping_dir=$server_dir
}
stop_server_end() {
  [ -n "$stopping_pid" ] || return 0
  stop_pid "$stopping_pid"
  rm -rf "$stopping_dir"
  stopping_pid="" stopping_dir=""
}

# run_workload SYSTEM WORKLOAD ROW: one run against the server started last. Appends to
# $work/runs.ssim.
# cpu_ticks PID: the CPU time (user and system, in clock ticks) used so far by PID and its
# children (a strom node's roles; NATS and Redis are one process with threads).
cpu_ticks() {
  local p total=0 t
  for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
    # utime and stime are fields 14 and 15; the command name (field 2) may hold spaces.
    t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }')
    total=$((total + ${t:-0}))
  done
  echo "$total"
}

# with_cpu TICKS: the bench.run lines on stdin, each with server_cpu_us_msg: the server's CPU
# time over the whole run (setup, warm-up, window and drain) per message acknowledged.
with_cpu() {
  local ticks=$1 hz
  hz=$(getconf CLK_TCK)
  awk -v ticks="$ticks" -v hz="$hz" '{
      acked = 0
      for (i = 2; i <= NF; i++) if ($i ~ /^acked:/) acked = substr($i, 7) + 0
      if (acked > 0) $0 = $0 sprintf("  server_cpu_us_msg:%.2f", ticks / hz * 1e6 / acked)
      print
    }'
}

run_workload() {
  local system=$1 workload=$2 row=$3 t0=$SECONDS cpu0
  local args=(run --system "$driver" --label "$system" --server "127.0.0.1:$port"
    --workload "$workload" --row "$row")
  if [ $quick -eq 1 ]; then args+=(--quick --setup-timeout-s 3); else args+=(--setup-timeout-s 10); fi
  echo "bench.server  system:$system  workload:$workload  row:$row  note:\"$server_note\"" >>"$work/runs.ssim"
  cpu0=$(cpu_ticks "$pid")
  "$bench" "${args[@]}" >"$work/run.out" 2>&1
  grep -a '^bench\.run ' "$work/run.out" | with_cpu $(($(cpu_ticks "$pid") - cpu0)) >>"$work/runs.ssim"
  grep -av '^bench\.run ' "$work/run.out"
  echo "bench.time  system:$system  workload:$workload  row:$row  seconds:$((SECONDS - t0))" >>"$work/runs.ssim"
}

# run_suite SYSTEMS: the standard suite starts a fresh server, with an empty store, for every run.
# The quick one starts one server per system and row and runs that row's workloads on it, one
# after the other (each on streams of its own): the servers' start-up (3 s for a strom node,
# which clears its shared memory) would otherwise take most of its two minutes.
run_suite() {
  local systems=$1 workload row system
  if [ $quick -eq 0 ]; then
    while read -r workload row; do
      for system in $systems; do
        start_server "$system" "$row"
        local started_ok=$?
        stop_server_end
        [ $started_ok -eq 0 ] || continue
        run_workload "$system" "$workload" "$row"
        stop_server_begin
      done
    done < <($bench list)
    stop_server_end
    return
  fi
  for system in $systems; do
    for row in memory disk; do
      grep -q " $row\$" <<<"$($bench list)" || continue
      start_server "$system" "$row"
      local started_ok=$?
      stop_server_end
      [ $started_ok -eq 0 ] || continue
      while read -r workload; do
        run_workload "$system" "$workload" "$row"
      done < <($bench list | awk -v row="$row" '$2 == row { print $1 }')
      stop_server_begin
    done
  done
  stop_server_end
}

# columns FILE: the numbers of the data columns (2...) that hold at least one value, so that a
# system that could not run a workload gets no empty bar set.
columns() {
  awk 'NR > 1 { for (i = 2; i <= NF; i++) if ($i != "-") seen[i] = 1 }
       END { for (i = 2; i <= 64; i++) if (i in seen) printf "%d ", i }' "$1"
}

# plot: one PNG per latency data file, one for throughput.
plot() {
  local f name title cols
  for f in "$work"/latency-*.dat; do
    [ -f "$f" ] || continue
    name=$(basename "$f" .dat)
    title=$(sed 's/^latency-//; s/-\(memory\|disk\)$/, \1 row/' <<<"$name")
    cols=$(columns "$f")
    [ -n "$cols" ] || continue
    gnuplot <<EOF || return 1
set terminal pngcairo size 900,520 font "sans,11"
set output "$out/$name.png"
set title "delivery latency, workload $title (from the scheduled send time)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [1:*]
set ylabel "microseconds (log scale)"
set format y "%.0f"
set xlabel "percentile"
set grid ytics
set key outside right top
set datafile missing "-"
plot for [c in "$cols"] "$f" using (column(int(c))):xtic(1) title columnheader(int(c)) linetype (int(c) - 1)
EOF
  done
  f=$work/throughput.dat
  cols=$(columns "$f")
  if [ -n "$cols" ]; then
    gnuplot <<EOF || return 1
set terminal pngcairo size 900,520 font "sans,11"
set output "$out/throughput.png"
set title "throughput at max rate, 4 producers, 1 KiB (delivered to the subscriber)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:*]
set ylabel "messages per second"
set xlabel "workload / durability row"
set grid ytics
set key outside right top
set datafile missing "-"
plot for [c in "$cols"] "$f" using (column(int(c))):xtic(1) title columnheader(int(c)) linetype (int(c) - 1)
EOF
  fi
}

main() {
  scripts/deps.sh || return 1
  make -s -j2 "$bench" >/dev/null || return 1
  [ -z "${STROM:-}" ] && make -s -j2 build/strom >/dev/null
  find_nats_server || { echo "bench: no nats-server with sync_interval"; return 1; }
  mkdir -p "$work" "$out"
  rm -f "$work"/*.dat "$work/runs.ssim"
  local systems=${SYSTEMS:-$(available_systems | tr '\n' ' ')}
  local t0=$SECONDS
  {
    echo "bench.env  date:$(date -u +%Y-%m-%dT%H:%M:%SZ)  quick:$quick  commit:$(git rev-parse --short HEAD 2>/dev/null || echo none)  cpus:$(nproc)  kernel:$(uname -r)"
    echo "bench.env  load_before:\"$(cut -d' ' -f1-3 /proc/loadavg)\"  systems:\"$systems\""
  } >"$work/runs.ssim"
  echo "bench: systems: $systems; workloads from bench/workloads.ssim$([ $quick -eq 1 ] && echo ', quick')"
  run_suite "$systems"
  echo "bench.env  load_after:\"$(cut -d' ' -f1-3 /proc/loadavg)\"  seconds:$((SECONDS - t0))" >>"$work/runs.ssim"
  "$bench" report --plots "$work" "$work/runs.ssim" >"$work/report.txt" || return 1
  grep -a '^bench\.' "$work/runs.ssim" >"$out/results.ssim"
  grep -a '^bench\.result ' "$work/report.txt" >>"$out/results.ssim"
  {
    echo "# strom beside its peers: $(sed -n 's/^bench.env  date:\([^ ]*\).*/\1/p' "$work/runs.ssim")," \
      "$(nproc) CPUs, load average $(sed -n 's/.*load_before:"\([^"]*\)".*/\1/p' "$work/runs.ssim") before," \
      "$(sed -n 's/.*load_after:"\([^"]*\)".*/\1/p' "$work/runs.ssim") after;" \
      "made by: make bench$([ $quick -eq 1 ] && echo -quick)"
    grep -av '^bench\.result ' "$work/report.txt"
  } >"$out/table.txt"
  cat "$work/report.txt"
  plot || echo "bench: gnuplot failed"
  echo
  echo "bench: $((SECONDS - t0)) s; results in $out (results.ssim, table.txt, *.png)"
}

main
