# stop.sh: shared by the integration tests that stop a node with a signal (node_start_stop.sh,
# node_stop_early.sh); sourced, not run. Needs node_pid and fail from the script that sources it.

# node_reaped SIGNAL LOG CHILDREN: once the node (node_pid) has exited after SIGSIGNAL, checks its
# exit code 0, that none of the pids in CHILDREN still runs and that LOG holds the clean stop line;
# clears node_pid.
node_reaped() {
  wait "$node_pid"
  local rc=$?
  local c
  node_pid=""
  [ $rc -eq 0 ] || fail "exit code $rc after SIG$1"
  for c in $3; do
    kill -0 "$c" 2>/dev/null && fail "child $c still running after the node exited"
  done
  grep -q '^strom.node.stopped .*clean:true' "$2" || fail "no clean stop line after SIG$1"
}
