#!/usr/bin/env bash
# client_kill_child.sh: kill -9 of each child of a node (sequencer, gateway, commit) while
# clients append with sync acks; the supervisor restarts it, the clients reconnect and retry, and
# afterwards every acknowledged message is at its acknowledged offset, no id is there twice and
# no offset is missing. Then the same check after a clean restart of the whole node.
source "$(dirname "$0")/lib/client.sh"

start_node --fsync always
S="127.0.0.1:$port"
roles=(sequencer gateway commit)
count=20000

acked_lines() { [ "$(cat "$1" 2>/dev/null | wc -l)" -ge "$2" ]; }

# kill_under_load ROLE PATH: two loaders append to PATH, ROLE is killed meanwhile, then the check.
kill_under_load() {
  local role=$1 path=$2 k
  for k in 0 1; do
    "$INTEG/integ_load" --server "$S" --path "$path" --count $count --batch 8 \
      --id-base $((k * count)) --acked "$work/acked.$role.$k" --timeout-s 120 \
      2>"$work/load.$role.$k.err" &
    eval "load_$k=\$!"
    bg_pids+=("$!")
  done
  wait_for 60 acked_lines "$work/acked.$role.0" 300 || fail "$role: no load before the kill"
  victim=$(child_pid "$role")
  [ -n "$victim" ] || fail "no $role in the log"
  kill -KILL "$victim"
  at_kill=$(($(cat "$work/acked.$role.0" "$work/acked.$role.1" | wc -l)))
  [ "$at_kill" -lt $((2 * count)) ] || fail "$role: the load was over before the kill"
  wait_restart "$role" "$victim"
  echo "killed $role $victim with $at_kill of $((2 * count)) acked; restarted as $(child_pid "$role")"
  wait "$load_0" || fail "$role: a loader failed: $(cat "$work/load.$role.0.err")"
  wait "$load_1" || fail "$role: a loader failed: $(cat "$work/load.$role.1.err")"
  "$INTEG/integ_check" --server "$S" --path "$path" --acked "$work/acked.$role.0" \
    --acked "$work/acked.$role.1" --expect-count $((2 * count)) ||
    fail "$role: the stream does not hold what was acknowledged"
}

for role in "${roles[@]}"; do
  kill_under_load "$role" "/kill/$role"
done

# Byte counts kept across the kills equal those a fresh start counts from the stores.
"$STROM" streams --server "$S" --prefix /kill/ >"$work/streams.before" || fail "strom streams"
stop_node
start_node
"$STROM" streams --server "$S" --prefix /kill/ >"$work/streams.after" || fail "strom streams"
diff "$work/streams.before" "$work/streams.after" ||
  fail "strom streams after the kills differs from what a restart counts"
for role in "${roles[@]}"; do
  "$INTEG/integ_check" --server "$S" --path "/kill/$role" --acked "$work/acked.$role.0" \
    --acked "$work/acked.$role.1" --expect-count $((2 * count)) ||
    fail "$role: after a restart the stream does not hold what was acknowledged"
done

# With --fsync never the sync acknowledgement comes before any fdatasync: a killed commit still
# loses nothing that was acknowledged (its file keeps what it wrote; the node log the rest).
# The load is ten times longer here: without syncs it was over before the kill (make test, load 4).
stop_node
start_node --fsync never
S="127.0.0.1:$port"
count=200000
kill_under_load commit /kill/never-commit
echo "client_kill_child: ok"
