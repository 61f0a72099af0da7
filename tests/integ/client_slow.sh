#!/usr/bin/env bash
# client_slow.sh: slow subscribers (one that takes nothing, one that never reads its socket) cost
# the gateway bounded memory and do not hold back a producer or a fast subscriber
# (tests/integ/integ_slow.c).
source "$(dirname "$0")/lib/client.sh"

start_node --fsync never
gw=$(child_pid gateway)
"$INTEG/integ_slow" --server "127.0.0.1:$port" --gateway-pid "$gw" --count 80000 \
  --rss-growth-max-mib 48 || fail "integ_slow failed"
[ "$(child_pid gateway)" = "$gw" ] || fail "the gateway restarted"
echo "client_slow: ok"
