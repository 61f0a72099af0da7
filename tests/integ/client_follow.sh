#!/usr/bin/env bash
# client_follow.sh: `strom read --follow` delivers what is appended after it started, in order and
# once, at the sync level and at ack 1; --to ends a follow by itself; SIGTERM ends it with exit 0.
source "$(dirname "$0")/lib/client.sh"

start_node
S="--server 127.0.0.1:$port"
$STROM create /fo/s $S >/dev/null || fail "create"

lines() { [ "$(wc -l <"$1")" -ge "$2" ]; }

$STROM read /fo/s $S --follow >"$work/sync.out" 2>"$work/sync.err" &
sync_pid=$!
bg_pids+=("$sync_pid")
$STROM read /fo/s $S --follow --ack 1 --no-sync --format ssim >"$work/ack1.out" &
ack1_pid=$!
bg_pids+=("$ack1_pid")
$STROM read /fo/s $S --follow --from 100 --to 200 >"$work/to.out" &
to_pid=$!
bg_pids+=("$to_pid")
sleep 0.5 # the reads are open before the first append (they would still see it: from 0)

for i in $(seq 0 9); do
  seq $((i * 100)) $((i * 100 + 99)) | $STROM append /fo/s $S >/dev/null || fail "append $i"
done
wait_for 20 lines "$work/sync.out" 1000 || fail "the sync follower has $(wc -l <"$work/sync.out")"
wait_for 20 lines "$work/ack1.out" 1000 || fail "the ack-1 follower has $(wc -l <"$work/ack1.out")"
diff "$work/sync.out" <(seq 0 999) >/dev/null || fail "the sync follower's lines differ"
[ "$(sed -n 's/.*offset:\([0-9]*\) .*/\1/p' "$work/ack1.out" | tr '\n' ' ')" = \
  "$(seq 0 999 | tr '\n' ' ')" ] || fail "the ack-1 follower's offsets differ"

wait_for 20 bash -c "! kill -0 $to_pid 2>/dev/null" || fail "--to 200 did not end the follow"
wait "$to_pid" || fail "the --to follower exited non-zero"
diff "$work/to.out" <(seq 100 199) >/dev/null || fail "--from 100 --to 200 gave other lines"

kill -TERM "$sync_pid"
wait_for 10 bash -c "! kill -0 $sync_pid 2>/dev/null" || fail "SIGTERM did not end the follow"
wait "$sync_pid" || fail "a follow ended by SIGTERM exits non-zero: $(cat "$work/sync.err")"
kill -TERM "$ack1_pid"
wait "$ack1_pid"

# A follower that starts at the end sees only what comes after.
$STROM read /fo/s $S --follow --from 1000 >"$work/tail.out" &
tail_pid=$!
bg_pids+=("$tail_pid")
sleep 0.3
$STROM append /fo/s $S new >/dev/null || fail "append after"
wait_for 10 lines "$work/tail.out" 1 || fail "the tail follower got nothing"
[ "$(cat "$work/tail.out")" = "new" ] || fail "the tail follower got: $(cat "$work/tail.out")"
echo "client_follow: ok"
