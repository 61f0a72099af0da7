#!/usr/bin/env bash
# client_conns.sh: 300 client connections at once, each appending and reading back, and all of
# them appending to one shared stream without an offset given twice (tests/integ/integ_conns.c).
source "$(dirname "$0")/lib/client.sh"

start_node
"$INTEG/integ_conns" --server "127.0.0.1:$port" --count 300 || fail "integ_conns failed"
"$STROM" read /conns/shared --server "127.0.0.1:$port" | sort | uniq -d | grep -q . &&
  fail "a message is twice in /conns/shared"
[ "$("$STROM" read /conns/shared --server "127.0.0.1:$port" | wc -l)" -eq 300 ] ||
  fail "/conns/shared does not hold 300 messages"
echo "client_conns: ok"
