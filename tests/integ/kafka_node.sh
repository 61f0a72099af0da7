#!/usr/bin/env bash
# kafka_node.sh: Kafka clients against a real `strom node` (two gateways, free loopback ports, a
# temporary data directory), unchanged but for the bootstrap address:
#
#   kcat (librdkafka): produce and consume with every codec (keys, headers compared), acks=0, a
#     partition fetch limit below one batch, a consumer group (-G) that commits and resumes;
#   tests/integ/kafka_group.c (librdkafka): 100,000 messages with acks=all from an idempotent
#     producer, consumed by a group of three members of which one leaves half-way: none lost;
#   kafka-python (Debian's): CreateTopics, DescribeConfigs, DeleteTopics (refused: strom keeps
#     streams), a producer and a group consumer that commits; the node is restarted and a second
#     run resumes from the committed offsets; the group's stream shows the commits (strom read);
#   kafkajs (npm, tests/kafkajs/): producer and a consumer group of two;
#   crossing over: kcat produces, `strom read` shows the same payloads, keys, headers and
#     timestamps; `strom append` writes, kafka-python consumes the same;
#   bad input and idempotence (tests/integ/kafka_raw.py): bad CRC, oversize batch, unknown topic
#     with auto-creation off, a malformed request; a retried idempotent batch is stored once.
#
# Every client has a time limit; the node is stopped with SIGTERM (trap) and waited for.
set -euo pipefail
cd "$(dirname "$0")/../.."

STROM=${STROM:-build/strom} # STROM=build/asan/strom runs the node with ASan and UBSan
GROUP_BIN=build/test/integ/kafka_group
PY=/usr/bin/python3 # Debian's python3, where python3-kafka is installed
[ -x "$STROM" ] && [ -x "$GROUP_BIN" ] || make -s all integ
[ -d tests/kafkajs/node_modules/kafkajs ] || (cd tests/kafkajs && npm install --no-audit --no-fund --loglevel=error >/dev/null)

tmp=$(mktemp -d)
node_pid=""
cleanup() {
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid"
    wait "$node_pid" || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
kport=$(free_port)
broker="127.0.0.1:$kport"
server="127.0.0.1:$port"

fail() {
  echo "FAIL: $*"
  tail -n 20 "$tmp/node.log" || true
  [ -z "${KEEP_LOG:-}" ] || cp "$tmp/node.log" "$KEEP_LOG"
  exit 1
}

# start [FLAGS...]: a node on the test's data directory; waits for its readiness line.
start() {
  "$STROM" node --data "$tmp/data" --listen "$server" --kafka "$broker" --gateways 2 \
    --fsync interval --frame-bytes-max 4M --log-bytes 64M --request-bytes 32M "$@" 2>>"$tmp/node.log" &
  node_pid=$!
  for _ in $(seq 200); do
    [ "$(grep -c '^strom.node.ready ' "$tmp/node.log")" -ge "$starts" ] && return 0
    kill -0 "$node_pid" 2>/dev/null || fail "the node exited before it was ready"
    sleep 0.1
  done
  fail "the node was not ready within 20 s"
}

stop() {
  kill -TERM "$node_pid"
  wait "$node_pid" || fail "the node did not stop cleanly"
  node_pid=""
}

starts=1
start
kc() { timeout 60 kcat -b "$broker" "$@"; }

echo "== kcat: every codec, keyed messages with a header"
for codec in none gzip snappy lz4 zstd; do
  seq 0 199 | awk -v c="$codec" '{printf "key-%d:value-%d-%s-%s\n", $1, $1, c, "abcdefghij"}' \
    >"$tmp/in-$codec"
  kc -P -t "t-$codec" -K : -H "codec=$codec" -z "$codec" -X linger.ms=20 <"$tmp/in-$codec"
  kc -C -t "t-$codec" -o beginning -e -f '%k:%s|%h|%o\n' >"$tmp/out-$codec" 2>/dev/null
  awk -v c="$codec" '{printf "%s|codec=%s|%d\n", $0, c, NR - 1}' "$tmp/in-$codec" >"$tmp/want-$codec"
  diff -q "$tmp/want-$codec" "$tmp/out-$codec" >/dev/null || fail "codec $codec: consumed differs"
  echo "ok: $codec (200 messages)"
done

echo "== kcat: metadata, acks=0, a fetch limit below one batch"
kc -L >"$tmp/meta"
for codec in none gzip snappy lz4 zstd; do
  grep -q "topic \"t-$codec\" with 1 partitions" "$tmp/meta" || fail "metadata lacks t-$codec"
done
seq 0 49 | kc -P -t t-acks0 -X acks=0
for _ in $(seq 50); do
  n=$(kc -C -t t-acks0 -o beginning -e -f '%s\n' 2>/dev/null | wc -l)
  [ "$n" -eq 50 ] && break
  sleep 0.1
done
[ "$n" -eq 50 ] || fail "acks=0: consumed $n of 50"
n=$(kc -C -t t-none -o beginning -e -X fetch.message.max.bytes=100 -f '%s\n' 2>/dev/null | wc -l)
[ "$n" -eq 200 ] || fail "small fetch limit: consumed $n of 200"
echo "ok: metadata, acks=0 (50 messages), fetch limit 100 bytes (200 messages)"

echo "== kcat -G: a consumer group commits and resumes"
grp() { kc -G kg -X auto.offset.reset=earliest -e -f '%o\n' t-gzip 2>/dev/null; }
n=$(grp | wc -l)
[ "$n" -eq 200 ] || fail "group, first run: $n of 200"
n=$(grp | wc -l)
[ "$n" -eq 0 ] || fail "group, second run: $n messages after the commit"
seq 1 7 | kc -P -t t-gzip -z gzip
got=$(grp | tr '\n' ' ')
[ "$got" = "200 201 202 203 204 205 206 " ] || fail "group, third run: offsets $got"
"$STROM" read /sys/groups/kg --server "$server" >"$tmp/kg.ssim"
grep -q '^kafka.offset  topic:t-gzip  partition:0  offset:207 ' "$tmp/kg.ssim" ||
  fail "strom read /sys/groups/kg shows no commit of offset 207"
echo "ok: group (200, then 0, then offsets 200-206; /sys/groups/kg holds the commits)"

echo "== crossing over: kcat produces, strom read reads"
printf 'ka:alpha\nkb:beta gamma\n:no key\n' >"$tmp/cross-in"
kc -P -t cross1 -K : -H "h1=x1" -H "h2=" <"$tmp/cross-in"
kc -C -t cross1 -o beginning -e -f '%o|%k|%s|%T\n' 2>/dev/null >"$tmp/cross-kcat"
"$STROM" read /cross1/0 --server "$server" --format ssim >"$tmp/cross-strom"
"$PY" - "$tmp/cross-kcat" "$tmp/cross-strom" <<'EOF' || fail "kcat -> strom read"
import sys
sys.path.insert(0, "")
kcat = [l.rstrip("\n").split("|") for l in open(sys.argv[1])]
def fields(line):
    # strom.msg  key:value pairs, values bare or double-quoted (no escapes in this test's data)
    out, rest = {}, line.strip().split("  ", 1)[1]
    while rest:
        key, rest = rest.split(":", 1)
        if rest.startswith('"'):
            value, rest = rest[1:].split('"', 1)
        else:
            value, _, rest = rest.partition(" ")
        out[key.strip()] = value
        rest = rest.strip()
    return out
strom = [fields(l) for l in open(sys.argv[2])]
assert len(kcat) == 3 and len(strom) == 3, (kcat, strom)
for k, s in zip(kcat, strom):
    assert s["offset"] == k[0], (k, s)
    assert s.get("key", "") == k[1], (k, s)
    assert s["payload"] == k[2], (k, s)
    assert int(s["client_ts"]) == int(k[3]) * 1000000, (k, s)
    assert s["header.0"] == "h1=x1" and s["header.1"] == "h2=", s
print("ok: 3 records: offsets, keys, payloads, headers and timestamps match")
EOF

echo "== crossing over: strom append writes, kafka-python reads"
"$STROM" append /cross2/0 --server "$server" --key-sep : --header "src=strom" --header "n=1" \
  "k0:first" "k1:second message" "third, no key" >/dev/null
"$STROM" read /cross2/0 --server "$server" --format ssim >"$tmp/cross2-strom"
"$PY" - "$broker" "$tmp/cross2-strom" <<'EOF' || fail "strom append -> kafka-python"
import re, sys
from kafka import KafkaConsumer, TopicPartition
c = KafkaConsumer(bootstrap_servers=sys.argv[1], auto_offset_reset="earliest",
                  consumer_timeout_ms=5000)
tp = TopicPartition("cross2", 0)
c.assign([tp])
# Up to the three messages (or 5 s of silence), not 5 s after them: the end offset and a last
# short poll show that nothing more is there.
got = []
for m in c:
    got.append(m)
    if len(got) == 3:
        break
assert c.end_offsets([tp])[tp] == 3, c.end_offsets([tp])
assert not c.poll(timeout_ms=300), "more than three messages"
c.close()
ts = [int(re.search(r" ts:(\d+) ", l).group(1)) // 1000000 for l in open(sys.argv[2])]
want = [(b"k0", b"first"), (b"k1", b"second message"), (None, b"third, no key")]
assert [(m.key, m.value) for m in got] == want, got
assert all(m.headers == [("src", b"strom"), ("n", b"1")] for m in got), got
assert [m.timestamp for m in got] == ts, ([m.timestamp for m in got], ts)
print("ok: 3 messages: keys, values, headers and timestamps match")
EOF

echo "== librdkafka: 100,000 messages acks=all, a group of three, one leaves half-way"
timeout 240 "$GROUP_BIN" "$broker" big big-group 100000 6 || fail "kafka_group"

echo "== kafkajs: producer and a consumer group of two"
timeout 120 node tests/kafkajs/kafkajs_test.js "$broker" kjs kjs-group 2000 || fail "kafkajs"

echo "== kafka-python: admin, producer, a group consumer that commits"
cat >"$tmp/py_group.py" <<'EOF'
import sys
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
b, run, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if run == "1":
    admin = KafkaAdminClient(bootstrap_servers=b, request_timeout_ms=10000)
    r = admin.create_topics([NewTopic("pyr", 3, 1)])
    assert r.topic_errors == [("pyr", 0, None)], r
    r = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "pyr")])
    entries = {e[0]: e[1] for e in r[0].resources[0][4]}
    assert entries.get("retention.ms") == "-1", entries
    try:
        admin.delete_topics(["pyr"])
        raise SystemExit("DeleteTopics succeeded")
    except Exception as e:
        assert "error_code=73" in str(e), e  # TOPIC_DELETION_DISABLED
    assert "pyr" in admin.list_topics()
    admin.close()
p = KafkaProducer(bootstrap_servers=b, compression_type="gzip", linger_ms=10, acks="all")
for i in range(first, first + count):
    p.send("pyr", key=b"k%d" % i, value=b"v%d" % i, partition=i % 3, headers=[("i", b"%d" % i)])
p.flush()
p.close()
c = KafkaConsumer("pyr", bootstrap_servers=b, group_id="pyg", auto_offset_reset="earliest",
                  enable_auto_commit=False, consumer_timeout_ms=8000)
# Up to count messages (or 8 s of silence), not 8 s after them: the end offsets and a last short
# poll show that nothing more is there.
got = []
for m in c:
    got.append(int(m.headers[0][1]))
    if len(got) == count:
        break
got.sort()
parts = [TopicPartition("pyr", p) for p in range(3)]
extra = c.poll(timeout_ms=300)
assert not extra, "more than %d messages: %s" % (count, extra)
c.commit()
committed = [c.committed(tp) for tp in parts]
end_offsets = c.end_offsets(parts)
c.close()
# run 1 reads everything; run 2 (after the restart) only what came after the commit
want = list(range(first, first + count)) if run == "2" else list(range(0, count))
assert got == want, (got[:5], len(got), want[:5], len(want))
ends = [len([i for i in range(first + count) if i % 3 == p]) for p in range(3)]
assert committed == ends, (committed, ends)
assert [end_offsets[tp] for tp in parts] == ends, (end_offsets, ends)
print("ok: kafka-python run %s: %d messages, committed %s" % (run, len(got), committed))
EOF
timeout 120 "$PY" "$tmp/py_group.py" "$broker" 1 0 90 || fail "kafka-python, first run"
"$STROM" read /sys/groups/pyg --server "$server" | grep -c '^kafka.commit ' >/dev/null ||
  fail "no commit in /sys/groups/pyg"

echo "== bad input"
for check in crc large malformed idempotence; do
  timeout 30 "$PY" tests/integ/kafka_raw.py "$broker" "$check" || fail "kafka_raw $check"
done

echo "== the node restarts (auto-creation off); the group resumes from its committed offsets"
stop
starts=2
start --auto-create false
timeout 120 "$PY" "$tmp/py_group.py" "$broker" 2 90 30 || fail "kafka-python, after the restart"
timeout 30 "$PY" tests/integ/kafka_raw.py "$broker" unknown || fail "kafka_raw unknown"
stop
# No process of the node died on the way: no assertion, no sanitizer report, no signal.
if grep -E 'assertion failed|AddressSanitizer|runtime error|signal:' "$tmp/node.log"; then
  fail "a process of the node failed (see above)"
fi
echo "ok: kafka_node"
