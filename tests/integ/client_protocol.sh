#!/usr/bin/env bash
# client_protocol.sh: the native protocol at the byte level (tests/integ/integ_frames.c) against a
# node with small limits: malformed frames, every limit, idempotent retries, credit.
source "$(dirname "$0")/lib/client.sh"

start_node --frame-bytes-max 1M --inflight-max 8 --reads-max 4 --connections-max 16 \
  --idempotence-window 5
"$INTEG/integ_frames" --server "127.0.0.1:$port" --frame-bytes-max 1048576 --inflight-max 8 \
  --reads-max 4 --connections-max 16 --window 5 || fail "integ_frames found problems"
kill -0 "$node_pid" || fail "the node died"
grep -q 'event:exit' "$work/node.log" && fail "a child of the node exited"
echo "client_protocol: ok"
