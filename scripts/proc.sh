# proc.sh: shell functions shared by the benchmark scripts (scripts/bench-peers.sh,
# scripts/profile.sh), which source it. Each stops only processes its caller started.

# proc_stop PID SIGNAL: sends SIGNAL to PID (a child of this shell), waits up to 5 s for it to
# end, then kills it; reaps it either way. Nothing when PID is empty or already gone.
proc_stop() {
  local pid=$1 sig=$2
  [ -n "$pid" ] || return 0
  kill "-$sig" "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}
