#!/usr/bin/env bash
# node_start_stop.sh: `strom node` on a fresh data directory and a free loopback port logs its
# readiness, runs its children (commit, sequencer, gateway), stops within 5 s of SIGTERM with exit
# code 0 and leaves no process behind; then starts again on the same directory, and a SIGINT
# stops it the same way.
set -uo pipefail
# shellcheck source=lib/stop.sh
source "$(dirname "$0")/lib/stop.sh"
cd "$(dirname "$0")/../.."
STROM=${STROM:-build/strom}
work=$(mktemp -d)
node_pid=""

cleanup() {
  [ -n "$node_pid" ] && kill -KILL "$node_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  echo "--- node log:"
  cat "$work/log" 2>/dev/null
  exit 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start [ARGS...]: runs a node in the background and waits (at most 20 s) for its readiness line.
start() {
  : >"$work/log"
  "$STROM" node --data "$work/data" --listen "127.0.0.1:$port" --kafka off --frame-bytes-max 1M \
    --log-bytes 8M --request-bytes 8M --streams-max 4096 --paths-bytes 1M "$@" 2>"$work/log" &
  node_pid=$!
  for _ in $(seq 1 200); do
    grep -q '^strom.node.ready ' "$work/log" && return 0
    kill -0 "$node_pid" 2>/dev/null || fail "node exited before it was ready"
    sleep 0.1
  done
  fail "no strom.node.ready line within 20 s"
}

# stop SIGNAL: sends the signal and checks the exit (code 0, within 5 s, no child left).
stop() {
  local children
  children=$(pgrep -P "$node_pid" | tr '\n' ' ')
  [ "$(echo "$children" | wc -w)" -eq 3 ] || fail "expected 3 children, found '$children'"
  local t0=$SECONDS
  kill "-$1" "$node_pid"
  local waited=0
  while kill -0 "$node_pid" 2>/dev/null; do
    sleep 0.05
    waited=$((waited + 1))
    [ $waited -le 100 ] || fail "node still running 5 s after SIG$1"
  done
  node_reaped "$1" "$work/log" "$children"
  echo "stopped by SIG$1 in $((SECONDS - t0)) s, exit 0, children gone: $children"
}

port=$(free_port)
start
grep -q "^strom.node.ready .*port:$port" "$work/log" || fail "ready line without the port"
# A second node on the same directory, or on the same port, refuses to start and says what to do.
"$STROM" node --data "$work/data" --listen "127.0.0.1:$(free_port)" --kafka off \
  --log-bytes 8M --request-bytes 8M --frame-bytes-max 1M 2>"$work/second"
[ $? -eq 1 ] || fail "a second node on the same directory did not exit 1"
grep -q '^strom.node.error .*what:"another node runs on this data directory" .*fix:"stop that node, or pass another --data DIR"' \
  "$work/second" || fail "second node on the directory said: $(cat "$work/second")"
"$STROM" node --data "$work/data2" --listen "127.0.0.1:$port" --kafka off \
  --log-bytes 8M --request-bytes 8M --frame-bytes-max 1M 2>"$work/second"
[ $? -eq 1 ] || fail "a second node on the same port did not exit 1"
grep -q '^strom.node.error .*what:"listen port in use" .*fix:".*--listen HOST:PORT"' "$work/second" ||
  fail "second node on the port said: $(cat "$work/second")"
stop TERM
start
stop INT

# A child that dies is started again after a back-off that doubles (10, 20, 40 ms), and the log
# says why it ended and when it comes back.
gateway_pid() {
  grep '^strom.node.child .*child:gateway .*event:started' "$work/log" | tail -n 1 |
    sed -n 's/.*child_pid:\([0-9]*\).*/\1/p'
}
start
for want in 10 20 40; do
  victim=$(gateway_pid)
  kill -KILL "$victim"
  for _ in $(seq 1 100); do
    [ "$(gateway_pid)" != "$victim" ] && break
    sleep 0.1
  done
  [ "$(gateway_pid)" != "$victim" ] || fail "the gateway $victim was not started again"
  grep -q "^strom.node.child .*child:gateway .*child_pid:$victim  event:exit  signal:9  restart_in_ms:$want$" \
    "$work/log" || fail "no exit line with signal:9 and restart_in_ms:$want for $victim"
done
stop TERM
echo "a killed child: its exit logged with the signal, restarted after 10, 20, 40 ms"

# A stop syncs what the commits hold: appends acknowledged at ack 1 and not yet synced (the sync
# interval is 10 s) are all there after a SIGTERM and a start.
S="--server 127.0.0.1:$port"
start --fsync interval --fsync-us 10000000 --fsync-bytes 1G
out=$(seq 1 20000 | "$STROM" append /stop/a $S --ack 1 --no-sync) || fail "append: $out"
[ "$out" = "strom.append  stream:/stop/a  count:20000  first:0  last:19999" ] || fail "$out"
stop TERM
start
[ "$("$STROM" read /stop/a $S | wc -l)" -eq 20000 ] ||
  fail "after a SIGTERM only $("$STROM" read /stop/a $S | wc -l) of 20000 ack-1 messages are there"
"$STROM" read /stop/a $S | cmp -s - <(seq 1 20000) || fail "the messages differ after the stop"
stop TERM

# The same under fsync always, where ack-1 groups nobody waits for are synced lazily (1 ms after
# their first batch): a stop right after the appends still finds them all.
start
out=$(seq 1 20000 | "$STROM" append /stop/b $S --ack 1 --no-sync) || fail "append: $out"
stop TERM
start
[ "$("$STROM" read /stop/b $S | wc -l)" -eq 20000 ] ||
  fail "fsync always: after a SIGTERM only $("$STROM" read /stop/b $S | wc -l) of 20000 are there"
stop TERM

# --pin-cpu N puts the sequencer and the gateway on CPU N only; the commit stays free.
start --pin-cpu 0
cpus_of() { taskset -pc "$1" | sed 's/.*: //'; }
for role in sequencer gateway commit; do
  pid=$(grep "^strom.node.child .*child:$role .*event:started" "$work/log" | tail -n 1 |
    sed -n 's/.*child_pid:\([0-9]*\).*/\1/p')
  got=$(cpus_of "$pid")
  if [ "$role" = commit ]; then
    [ "$got" = "$(cpus_of "$node_pid")" ] || fail "the commit runs on $got, the node on $(cpus_of "$node_pid")"
  else
    [ "$got" = 0 ] || fail "--pin-cpu 0: the $role runs on $got"
  fi
done
stop TERM
echo "--pin-cpu 0: the sequencer and the gateway on CPU 0, the commit where the node runs"

# The same under load: a SIGTERM while a producer appends at ack 1 stops the node within 5 s, and
# every message acknowledged before is there after a start.
start --fsync interval --fsync-us 10000000 --fsync-bytes 1G
INTEG=${INTEG:-build/test/integ}
"$INTEG/integ_load" --server "127.0.0.1:$port" --path /stop/load --count 2000000 --batch 64 \
  --ack 1 --acked "$work/acked" --timeout-s 60 2>"$work/load.err" &
load_pid=$!
for _ in $(seq 1 300); do
  [ "$(wc -l <"$work/acked" 2>/dev/null || echo 0)" -ge 5000 ] && break
  sleep 0.1
done
[ "$(wc -l <"$work/acked")" -ge 5000 ] || fail "no load: $(cat "$work/load.err")"
stop TERM
kill -KILL "$load_pid" 2>/dev/null
wait "$load_pid" 2>/dev/null
start
"$INTEG/integ_check" --server "127.0.0.1:$port" --path /stop/load --acked "$work/acked" ||
  fail "after a SIGTERM under load an ack-1 acknowledged message is missing"
echo "stopped under load with $(wc -l <"$work/acked") messages acknowledged at ack 1, all there"
stop TERM
echo "node_start_stop: ok"
