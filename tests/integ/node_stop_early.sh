#!/usr/bin/env bash
# node_stop_early.sh: a SIGTERM (or SIGINT) sent right after `strom node` is spawned (0, 10, 50 and
# 200 ms after), while it may still be creating its shared memory at the default sizes or starting
# its children (a start takes tens of milliseconds: the 0 and 10 ms stops land in it), stops the node
# with exit code 0, a strom.node.stopped clean:true line and no process left; and every message
# appended and acked between those stops is still there after the last restart. The durations are
# printed, not asserted (the machine is shared).
# shellcheck source=lib/stop.sh
source "$(dirname "$0")/lib/stop.sh"
# shellcheck source=lib/client.sh
source "$(dirname "$0")/lib/client.sh"

ms() { date +%s%3N; }

port=$(free_port)
server="127.0.0.1:$port"

# spawn: a node with the default shared-memory sizes.
spawn() {
  : >"$work/node.log"
  "$STROM" node --data "$work/data" --listen "$server" --kafka off 2>"$work/node.log" &
  node_pid=$!
}

# stop SIGNAL: sends it and waits (bounded: 60 s) for a clean exit 0 with no child left.
stop() {
  local t0 children
  children=$(pgrep -P "$node_pid" | tr '\n' ' ')
  t0=$(ms)
  kill "-$1" "$node_pid"
  for _ in $(seq 1 1200); do
    kill -0 "$node_pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$node_pid" 2>/dev/null && fail "node still running 60 s after SIG$1"
  node_reaped "$1" "$work/node.log" "$children"
  local ready=no
  grep -q '^strom.node.ready ' "$work/node.log" && ready=yes
  echo "SIG$1 $2: stopped in $(($(ms) - t0)) ms, exit 0, clean, was ready: $ready"
}

appended=0
for delay in 0 0.01 0.05 0.2; do
  for sig in TERM INT; do
    spawn
    sleep "$delay"
    stop "$sig" "${delay}s after spawn"
    # Then a node that gets one acked append and is stopped right after it.
    spawn
    wait_for 60 node_ready || fail "no strom.node.ready line within 60 s"
    "$STROM" append /early --server "$server" "m$appended" >/dev/null ||
      fail "append m$appended failed"
    appended=$((appended + 1))
    stop TERM "right after an append"
  done
done
spawn
wait_for 60 node_ready || fail "no strom.node.ready line within 60 s"
"$STROM" read /early --server "$server" --format raw >"$work/read" || fail "read failed"
stop TERM "after the read"
expected=$(for i in $(seq 0 $((appended - 1))); do echo "m$i"; done)
[ "$(cat "$work/read")" = "$expected" ] ||
  fail "read back '$(tr '\n' ' ' <"$work/read")', expected '$(echo $expected)'"
echo "PASS: $appended acked messages there after $appended early stops and $((appended + 1)) restarts"
