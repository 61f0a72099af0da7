#!/usr/bin/env bash
# client_idem.sh: the edges of bounded idempotence on a real node (docs/node.md, Idempotence),
# with appends sent at the byte level by integ_frames append:
#   - the window survives a kill -9 of the sequencer: a retry inside it gets its first offset, one
#     older than it SEQUENCE_TOO_OLD, and the next batch lands right after;
#   - a retry (PROTO_FLAG_RETRY) from a producer the node forgot to make room (--producers-max)
#     gets SEQUENCE_TOO_OLD and is not applied again; a new batch of that producer is applied;
#   - after a kill -9 of the whole node, a retry of a batch older than what the node reads back
#     into the windows gets SEQUENCE_TOO_OLD, a retry of a recent one its first offset;
# and each stream holds exactly the messages applied once (strom read counts them).
source "$(dirname "$0")/lib/client.sh"

S=""
# app PATH PRODUCER SEQ [--retry]: the answer's "error:E base:B" part.
app() {
  "$INTEG/integ_frames" append --server "$S" --path "$1" --producer "$2" --seq "$3" "${@:4}" |
    sed -n 's/^integ.append  \(error:[A-Z_]*  base:[0-9]*\).*/\1/p'
}
# expect WHAT GOT WANTED
expect() { [ "$2" = "$3" ] || fail "$1: got '$2', wanted '$3'"; }
# count PATH: messages a read from 0 to the current end delivers.
count() { "$STROM" read "$1" --server "$S" | wc -l; }

start_node --fsync always --idempotence-window 5 --producers-max 16
S="127.0.0.1:$port"

# --- the window survives a restart of the sequencer
for k in 0 1 2 3 4 5 6; do
  expect "seq $k" "$(app /idem/a 1001 $k)" "error:OK  base:$k"
done
victim=$(child_pid sequencer)
kill -KILL "$victim"
wait_restart sequencer "$victim"
expect "retry of seq 6 after the sequencer's restart" "$(app /idem/a 1001 6 --retry)" \
  "error:OK  base:6"
expect "retry of seq 2" "$(app /idem/a 1001 2 --retry)" "error:OK  base:2"
expect "retry of seq 1 (older than the window of 5)" "$(app /idem/a 1001 1 --retry)" \
  "error:SEQUENCE_TOO_OLD  base:0"
expect "a gap" "$(app /idem/a 1001 9)" "error:OUT_OF_ORDER_SEQUENCE  base:0"
expect "seq 7" "$(app /idem/a 1001 7)" "error:OK  base:7"
expect "messages in /idem/a" "$(count /idem/a)" 8
echo "ok: the window survived kill -9 of the sequencer"

# --- a producer evicted from a full table (16 pairs)
expect "producer 2001 seq 0" "$(app /idem/b 2001 0)" "error:OK  base:0"
for p in $(seq 3001 3040); do
  expect "producer $p" "$(app /idem/b "$p" 0)" "error:OK  base:$((p - 3000))"
done
expect "a retry of the evicted producer's batch" "$(app /idem/b 2001 0 --retry)" \
  "error:SEQUENCE_TOO_OLD  base:0"
expect "messages in /idem/b after the refused retry" "$(count /idem/b)" 41
expect "a new batch of the evicted producer" "$(app /idem/b 2001 1)" "error:OK  base:41"
expect "its retry" "$(app /idem/b 2001 1 --retry)" "error:OK  base:41"
expect "a retry on a stream it creates is no retry" "$(app /idem/new 2001 4 --retry)" \
  "error:OK  base:0"
"$STROM" stat --server "$S" | grep -q '^strom.stat.sequencer ' || fail "no sequencer in strom stat"
echo "ok: a retry from an evicted producer is refused, not applied twice"

# --- a whole-node crash: the windows hold what the last 1024 messages of a stream say
expect "producer 4001 seq 0" "$(app /idem/c 4001 0)" "error:OK  base:0"
seq 1 1100 | "$STROM" append /idem/c --server "$S" >/dev/null || fail "filling /idem/c failed"
expect "producer 5001 seq 0" "$(app /idem/c 5001 0)" "error:OK  base:1101"
kill_node
start_node --fsync always --idempotence-window 5 --producers-max 16
expect "a retry 1101 messages back, after the crash" "$(app /idem/c 4001 0 --retry)" \
  "error:SEQUENCE_TOO_OLD  base:0"
expect "a recent retry after the crash" "$(app /idem/c 5001 0 --retry)" "error:OK  base:1101"
expect "messages in /idem/c" "$(count /idem/c)" 1102
expect "messages in /idem/a after the crash" "$(count /idem/a)" 8
echo "client_idem: ok"
