#!/usr/bin/env bash
# demo.sh: what `make demo` runs. Starts a node on a fresh data directory, replays the Beijing
# air-quality data into it with `strom demo` (12 streams /air/<station>, checked and summarised),
# stops the node, starts it again on the same directory and checks the data once more.
#
# Environment: DATA (default ../shared/data/beijing-air, relative to the repository): the folder
# of the 12 PRSA_Data_*.csv files (UCI dataset 501, see the README). DEMO_DIR (default
# strom-data, the node's own default data directory): emptied first, but only when it is empty
# or was made by an earlier demo (it holds the marker file .strom-demo); any other directory is
# left alone and the demo stops. DEMO_ARGS: more `strom demo` flags.
set -uo pipefail
cd "$(dirname "$0")/.."

DATA=${DATA:-../shared/data/beijing-air}
DEMO_DIR=${DEMO_DIR:-strom-data}
NODE_LOG=build/demo-node.log
STROM=build/strom
node_pid=""

say() { echo "== $*"; }

stop_node() {
  [ -n "$node_pid" ] || return 0
  kill -TERM "$node_pid" 2>/dev/null
  for _ in $(seq 100); do
    kill -0 "$node_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$node_pid" 2>/dev/null; then
    echo "demo: the node did not stop within 10 s of SIGTERM; killing it" >&2
    kill -KILL "$node_pid" 2>/dev/null
  fi
  wait "$node_pid" 2>/dev/null
  node_pid=""
}
trap stop_node EXIT INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_node: starts `strom node` on DEMO_DIR and waits until it answers (at most 20 s).
start_node() {
  "$STROM" node --data "$DEMO_DIR" --listen "127.0.0.1:$port" --kafka "127.0.0.1:$kafka_port" \
    2>>"$NODE_LOG" &
  node_pid=$!
  for _ in $(seq 200); do
    if "$STROM" stat --server "127.0.0.1:$port" >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$node_pid" 2>/dev/null; then
      echo "demo: the node exited at start; its log is $NODE_LOG:" >&2
      tail -n 20 "$NODE_LOG" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "demo: the node did not answer on 127.0.0.1:$port within 20 s (log: $NODE_LOG)" >&2
  return 1
}

if [ ! -d "$DATA" ]; then
  echo "demo: no data folder $DATA. Get the Beijing Multi-Site Air-Quality data (UCI Machine" >&2
  echo "      Learning Repository, dataset 501) and run: make demo DATA=/path/to/its/csv/folder" >&2
  exit 1
fi

if [ -d "$DEMO_DIR" ] && [ -n "$(ls -A "$DEMO_DIR")" ] && [ ! -e "$DEMO_DIR/.strom-demo" ]; then
  echo "demo: $DEMO_DIR holds data that no demo wrote; move it away, or run" >&2
  echo "      make demo DEMO_DIR=another/folder" >&2
  exit 1
fi
port=$(free_port)
kafka_port=$(free_port)
mkdir -p build
rm -rf "$DEMO_DIR" "$NODE_LOG"
mkdir -p "$DEMO_DIR"
touch "$DEMO_DIR/.strom-demo"

say "starting a node on a fresh data directory $DEMO_DIR, 127.0.0.1:$port"
start_node || exit 1
say "replaying $DATA into 12 streams /air/<station>"
# shellcheck disable=SC2086
"$STROM" demo --data "$DATA" --server "127.0.0.1:$port" ${DEMO_ARGS:-} || exit 1
"$STROM" streams --server "127.0.0.1:$port" --prefix /air/ || exit 1
say "stopping the node (SIGTERM)"
stop_node

say "restarting the node on the same directory and checking the data again"
start_node || exit 1
"$STROM" demo --data "$DATA" --server "127.0.0.1:$port" --check-only ${DEMO_ARGS:-} || exit 1
stop_node
say "demo: ok (node log: $NODE_LOG)"
