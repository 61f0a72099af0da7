# client.sh: shared by the integration tests that start nodes (tests/integ/client_*.sh, node_stop_early.sh); sourced, not run.
#
# Starts nodes on 127.0.0.1 with a free port and a temporary data directory, finds their children
# in the node's log, and stops everything it started when the script exits, also on failure (an
# EXIT trap): the node by its pid (its children die with it), and every pid in bg_pids.
#
# Provides: work (temporary folder), port, node_pid, STROM, INTEG (helper programs), bg_pids,
# fail, free_port, start_node [ARGS...], stop_node, kill_node, child_pid ROLE,
# wait_restart ROLE OLD_PID, wait_for SECONDS COMMAND...
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
STROM=${STROM:-build/strom}
INTEG=${INTEG:-build/test/integ}
work=$(mktemp -d)
node_pid=""
bg_pids=()
port=""

client_cleanup() {
  for p in "${bg_pids[@]}"; do
    kill -KILL "$p" 2>/dev/null
  done
  if [ -n "$node_pid" ]; then
    kill -KILL "$node_pid" 2>/dev/null
    wait "$node_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap client_cleanup EXIT

fail() {
  echo "FAIL: $*"
  echo "--- node log (last 40 lines):"
  tail -n 40 "$work/node.log" 2>/dev/null
  exit 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds; fails after SECONDS.
wait_for() {
  local secs=$1
  shift
  local i
  for ((i = 0; i < secs * 10; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

node_ready() {
  kill -0 "$node_pid" 2>/dev/null || fail "the node exited at start"
  grep -q '^strom.node.ready ' "$work/node.log" 2>/dev/null
}

# start_node [ARGS...]: a node on $work/data (kept across restarts) and $port; waits for ready.
start_node() {
  [ -n "$port" ] || port=$(free_port)
  : >"$work/node.log"
  "$STROM" node --data "$work/data" --listen "127.0.0.1:$port" --kafka off --frame-bytes-max 1M \
    --log-bytes 16M --request-bytes 8M --streams-max 4096 --paths-bytes 1M "$@" 2>>"$work/node.log" &
  node_pid=$!
  wait_for 30 node_ready || fail "the node was not ready within 30 s"
}

# stop_node: SIGTERM, at most 10 s, then it must be gone.
stop_node() {
  kill -TERM "$node_pid"
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$node_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$node_pid" 2>/dev/null && fail "the node did not stop within 10 s of SIGTERM"
  wait "$node_pid" 2>/dev/null
  node_pid=""
}

# kill_node: kill -9 of the supervisor; its children follow (they die with their parent).
kill_node() {
  local children
  children=$(pgrep -P "$node_pid" | tr '\n' ' ')
  kill -KILL "$node_pid"
  wait "$node_pid" 2>/dev/null
  node_pid=""
  local c
  for c in $children; do
    wait_for 10 bash -c "! kill -0 $c 2>/dev/null" || fail "child $c outlived its supervisor"
  done
}

# child_pid ROLE: the pid of the running child of that role (sequencer, gateway, commit).
child_pid() {
  grep "^strom.node.child .*child:$1 .*event:started" "$work/node.log" | tail -n 1 |
    sed -n 's/.*child_pid:\([0-9]*\).*/\1/p'
}

# wait_restart ROLE OLD_PID: waits (20 s) until the supervisor has started a new child of ROLE.
wait_restart() {
  wait_for 20 bash -c "p=\$(grep '^strom.node.child .*child:$1 .*event:started' '$work/node.log' \
    | tail -n 1 | sed -n 's/.*child_pid:\([0-9]*\).*/\1/p'); [ -n \"\$p\" ] && [ \"\$p\" != $2 ]" ||
    fail "no new $1 within 20 s of killing $2"
}
