#!/usr/bin/env bash
# client_roundtrip.sh: the strom client subcommands against a real node: append (arguments and
# stdin lines), read (raw and ssim, --from/--to), create, streams, stat, /sys/cmd; errors that say
# what to do, with their exit codes; and the same data after a restart of the node.
source "$(dirname "$0")/lib/client.sh"

start_node
S="--server 127.0.0.1:$port"

out=$($STROM append /rt/a $S one two three) || fail "append of arguments"
[ "$out" = "strom.append  stream:/rt/a  count:3  first:0  last:2" ] || fail "append said: $out"
out=$(seq 1 5000 | $STROM append /rt/a $S --ack 1 --no-sync) || fail "append of stdin"
[ "$out" = "strom.append  stream:/rt/a  count:5000  first:3  last:5002" ] || fail "stdin: $out"
out=$(printf 'no newline at the end' | $STROM append /rt/a $S) || fail "append of a last line"
[ "$out" = "strom.append  stream:/rt/a  count:1  first:5003  last:5003" ] || fail "last: $out"

$STROM read /rt/a $S >"$work/all" || fail "read"
[ "$(wc -l <"$work/all")" -eq 5004 ] || fail "read gave $(wc -l <"$work/all") lines, not 5004"
[ "$(head -n 3 "$work/all" | tr '\n' ' ')" = "one two three " ] || fail "first lines differ"
diff <(sed -n '4,5003p' "$work/all") <(seq 1 5000) >/dev/null || fail "the stdin lines differ"
[ "$(tail -n 1 "$work/all")" = "no newline at the end" ] || fail "the last line differs"

out=$($STROM read /rt/a $S --from 1 --to 3 --format ssim) || fail "read --format ssim"
echo "$out" | grep -q '^strom.msg  stream:/rt/a  offset:1  ts:[0-9]*  payload:two$' ||
  fail "ssim line of offset 1: $out"
[ "$(echo "$out" | wc -l)" -eq 2 ] || fail "--from 1 --to 3 gave: $out"
$STROM append /rt/q $S 'with "quotes" and space' >/dev/null || fail "append with quotes"
$STROM read /rt/q $S --format ssim | grep -q "payload:'with \"quotes\" and space'" ||
  fail "ssim quoting: $($STROM read /rt/q $S --format ssim)"

out=$($STROM create /rt/new $S) || fail "create"
echo "$out" | grep -q '^strom.create  stream:/rt/new  id:[0-9]*  created:true$' || fail "$out"
out=$($STROM create /rt/new $S) || fail "create again"
echo "$out" | grep -q 'created:false$' || fail "create again said: $out"
$STROM streams $S >"$work/streams" || fail "streams"
grep -q '^strom.stream  path:/rt/a  id:[0-9]*  first:0  next:5004  durable:5004  bytes:[0-9]*$' \
  "$work/streams" || fail "streams: $(cat "$work/streams")"
grep -q 'path:/rt/new ' "$work/streams" || fail "streams lacks /rt/new"
# /sys/cmd (id 0) comes first, with the create records it holds (creates and auto-creates: at
# least /rt/new's).
head -n 1 "$work/streams" | grep -q '^strom.stream  path:/sys/cmd  id:0  first:0  next:[1-9][0-9]*  durable:[1-9][0-9]*  bytes:[1-9][0-9]*$' ||
  fail "streams does not start with /sys/cmd: $(head -n 2 "$work/streams")"
[ "$(grep -c 'path:/sys/cmd ' "$work/streams")" -eq 1 ] || fail "/sys/cmd listed more than once"
$STROM streams $S --prefix /sys/ | grep -q '^strom.stream  path:/sys/cmd  id:0 ' ||
  fail "streams --prefix /sys/ lacks /sys/cmd"
$STROM streams $S --prefix /rt/n | grep -q 'path:/rt/new ' || fail "streams --prefix"
$STROM streams $S --prefix /rt/n | grep -q 'path:/rt/a ' && fail "--prefix did not filter"
$STROM streams $S --prefix /rt/n | grep -q 'path:/sys/cmd ' && fail "--prefix did not filter /sys/cmd"
$STROM stat $S | grep -q '^strom\.' || fail "stat printed no ssim"
$STROM read /sys/cmd $S | grep -q '/rt/new' || fail "/sys/cmd lacks the create of /rt/new"

# Errors: a message on stderr that says what to do, and the exit code.
$STROM append 'bad path' $S x 2>"$work/err"
[ $? -eq 2 ] || fail "a bad path is a usage error (2)"
grep -q 'is not a stream path' "$work/err" || fail "bad path said: $(cat "$work/err")"
$STROM read /rt/a --server 127.0.0.1:1 2>"$work/err"
[ $? -eq 1 ] || fail "no node is exit 1"
grep -q "is a node running there" "$work/err" || fail "no node said: $(cat "$work/err")"
$STROM read /rt/none $S 2>"$work/err"
[ $? -eq 1 ] || fail "a missing stream is exit 1"
grep -q "NO_STREAM" "$work/err" || fail "missing stream said: $(cat "$work/err")"
$STROM read /rt/a $S --format xml 2>/dev/null
[ $? -eq 2 ] || fail "--format xml is a usage error"
$STROM read /rt/a $S --from 5 --to 2 2>"$work/err"
[ $? -eq 2 ] || fail "--to below --from is a usage error"
grep -q -- "--to is the offset to stop before" "$work/err" || fail "--to below --from said: $(cat "$work/err")"
[ -z "$($STROM read /rt/a $S --from 5 --to 5)" ] || fail "--from 5 --to 5 printed something"
$STROM append /sys/cmd $S x 2>"$work/err"
[ $? -eq 1 ] || fail "an append to /sys/cmd is exit 1"
grep -q "cannot be appended to" "$work/err" || fail "append to /sys/cmd said: $(cat "$work/err")"
$STROM append /rt/a $S --ack 0 x 2>/dev/null
[ $? -eq 2 ] || fail "--ack 0 is a usage error"

$STROM streams $S >"$work/streams.before" || fail "streams before the restart"
grep -q 'path:/rt/a .* bytes:0$' "$work/streams.before" && fail "/rt/a holds 0 bytes"
stop_node
start_node
# The streams' offsets and byte counts are rebuilt from the stores.
$STROM streams $S >"$work/streams.after" || fail "streams after the restart"
diff "$work/streams.before" "$work/streams.after" >&2 || fail "strom streams changed with a restart"
$STROM read /sys/cmd $S | grep -q '^strom.stream_created  id:[0-9]*  path:/rt/new  ts:[0-9]*$' ||
  fail "/sys/cmd after a restart: $($STROM read /sys/cmd $S)"
[ "$($STROM read /rt/a $S | wc -l)" -eq 5004 ] || fail "after a restart /rt/a is not whole"
$STROM read /rt/a $S | cmp -s - "$work/all" || fail "after a restart /rt/a differs"
out=$($STROM append /rt/a $S after) || fail "append after restart"
[ "$out" = "strom.append  stream:/rt/a  count:1  first:5004  last:5004" ] || fail "$out"

# Auto-create off (config): an append to a new path is refused with what to do, create works.
stop_node
start_node --auto-create false
$STROM append /rt/off $S x 2>"$work/err"
[ $? -eq 1 ] || fail "an append to a new stream with auto-create off is exit 1"
grep -q "NO_STREAM" "$work/err" && grep -q "strom create" "$work/err" ||
  fail "auto-create off said: $(cat "$work/err")"
$STROM streams $S | grep -q 'path:/rt/off ' && fail "auto-create off created /rt/off"
# A refused append of MESSAGE arguments names the whole path (255 bytes) and counts no lines.
long="/rt/$(printf 'p%.0s' $(seq 1 251))"
$STROM append "$long" $S x 2>"$work/err"
[ $? -eq 1 ] || fail "an append to a new 255-byte path with auto-create off is exit 1"
grep -q "append to $long failed: no such stream (NO_STREAM); create it" "$work/err" ||
  fail "the long path's error said: $(cat "$work/err")"
$STROM create /rt/off $S >/dev/null || fail "create with auto-create off"
out=$($STROM append /rt/off $S x) || fail "append after create"
[ "$out" = "strom.append  stream:/rt/off  count:1  first:0  last:0" ] || fail "$out"

# A node with small frames: strom append cuts its batches to the node's frame_bytes_max (from the
# hello answer), so lines that fit one by one all go in, also with a --header on every message.
stop_node
start_node --frame-bytes-max 64K
long=$(printf 'x%.0s' $(seq 1 100))
out=$(seq 1 20000 | sed "s/\$/-$long/" | $STROM append /rt/small $S --ack 1 --no-sync) ||
  fail "append of 20000 lines of 100 bytes to a node with 64 KiB frames: $out"
[ "$out" = "strom.append  stream:/rt/small  count:20000  first:0  last:19999" ] || fail "$out"
value=$(printf 'v%.0s' $(seq 1 2000))
out=$(seq 1 300 | $STROM append /rt/small $S --header "h=$value") ||
  fail "append with a 2000-byte header to a node with 64 KiB frames: $out"
[ "$out" = "strom.append  stream:/rt/small  count:300  first:20000  last:20299" ] || fail "$out"
[ "$($STROM read /rt/small $S | wc -l)" -eq 20300 ] || fail "/rt/small is not whole"
# The client refuses what the node would ('.' and '..' segments), as a usage error.
$STROM append /rt/../x $S x 2>"$work/err"
[ $? -eq 2 ] || fail "a '..' segment is a usage error (2)"
grep -q 'is not a stream path' "$work/err" || fail "'..' said: $(cat "$work/err")"
echo "client_roundtrip: ok"
