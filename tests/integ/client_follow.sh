#!/usr/bin/env bash
# client_follow.sh: `strom read --follow` delivers what is appended after it started, in order and
# once, at the sync level and at ack 1; --to ends a follow by itself; SIGTERM ends it with exit 0;
# a follow of a stream that does not exist yet waits until an append creates it.
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
# A follow of a stream that does not exist yet waits for it (one line on stderr says so) and
# prints what the first appends bring (they auto-create it); a read without --follow fails at once.
$STROM read /fo/later $S >/dev/null 2>"$work/absent.err" && fail "a read of a missing stream exited 0"
grep -q "does not exist.*--follow" "$work/absent.err" || fail "missing stream: $(cat "$work/absent.err")"
$STROM read /fo/later $S --follow >"$work/later.out" 2>"$work/later.err" &
later_pid=$!
bg_pids+=("$later_pid")
wait_for 10 grep -qs "waiting for it" "$work/later.err" || fail "no wait line: $(cat "$work/later.err")"
kill -0 "$later_pid" 2>/dev/null || fail "the follow of a missing stream ended: $(cat "$work/later.err")"
seq 1 5 | $STROM append /fo/later $S >/dev/null || fail "append to /fo/later"
$STROM append /fo/later $S six >/dev/null || fail "second append to /fo/later"
wait_for 20 lines "$work/later.out" 6 || fail "the waiting follower has $(wc -l <"$work/later.out")"
diff "$work/later.out" <(seq 1 5; echo six) >/dev/null || fail "the waiting follower's lines differ"
[ "$(grep -c "waiting for it" "$work/later.err")" -eq 1 ] || fail "more than one wait line"
kill -TERM "$later_pid"
wait_for 10 bash -c "! kill -0 $later_pid 2>/dev/null" || fail "SIGTERM did not end the follow"
wait "$later_pid" || fail "the waiting follower exited non-zero: $(cat "$work/later.err")"
echo "client_follow: ok"
