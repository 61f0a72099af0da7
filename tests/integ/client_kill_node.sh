#!/usr/bin/env bash
# client_kill_node.sh: kill -9 of a whole node (the supervisor; its children die with it) while
# clients append with sync acks, then a restart on the same directory and port: the clients
# reconnect and retry, every acknowledged message is at its acknowledged offset, no id twice, no
# offset missing, and a second kill and restart change nothing of it.
source "$(dirname "$0")/lib/client.sh"

start_node --fsync always
S="127.0.0.1:$port"
count=30000

acked_lines() { [ "$(cat "$1" 2>/dev/null | wc -l)" -ge "$2" ]; }

for k in 0 1; do
  "$INTEG/integ_load" --server "$S" --path /crash/s --count $count --batch 8 \
    --id-base $((k * count)) --acked "$work/acked.$k" --timeout-s 120 2>"$work/load.$k.err" &
  eval "load_$k=\$!"
  bg_pids+=("$!")
done
wait_for 60 acked_lines "$work/acked.0" 300 || fail "no load before the kill"
kill_node
at_kill=$(($(cat "$work/acked.0" "$work/acked.1" | wc -l)))
[ "$at_kill" -lt $((2 * count)) ] || fail "the load was over before the kill"
echo "killed the node with $at_kill of $((2 * count)) acked"
start_node --fsync always
wait "$load_0" || fail "a loader failed: $(cat "$work/load.0.err")"
wait "$load_1" || fail "a loader failed: $(cat "$work/load.1.err")"
check() {
  "$INTEG/integ_check" --server "$S" --path /crash/s --acked "$work/acked.0" \
    --acked "$work/acked.1" --expect-count $((2 * count))
}
check || fail "the stream does not hold what was acknowledged"
kill_node
start_node
check || fail "after a second kill -9 the stream does not hold what was acknowledged"
echo "client_kill_node: ok"
