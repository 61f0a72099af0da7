#!/usr/bin/env bash
# kafka_clients.sh: real Kafka clients against the codec of src/kafka/, through the test-only
# broker tests/integ/kafka_loopback.c (in memory, 127.0.0.1, an ephemeral port).
#
#   kcat (librdkafka 2.0.2): metadata; produce and consume with every codec (none, gzip, snappy,
#   lz4, zstd), keys and headers compared message by message; acks=0 produce (no response);
#   a partition fetch limit far below one batch (whole batches, at least one per fetch);
#   a consumer group that commits, resumes from its committed offset and sees only new messages.
#   kafka-python 2.0.2 (Debian's python3-kafka, a second implementation): CreateTopics,
#   DescribeConfigs, produce with gzip to 3 partitions, a consumer group, DeleteTopics.
#
# The broker counts the requests it could not decode; the test fails unless that is 0.
# Every client run has a time limit; the broker stops on SIGTERM (or after 300 s) and is waited.
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=build/test/integ/kafka_loopback
PY=/usr/bin/python3 # Debian's python3, where python3-kafka is installed
[ -x "$BIN" ] || make -s integ
tmp=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    wait "$pid" || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

"$BIN" --seconds 300 >"$tmp/broker.out" 2>"$tmp/broker.err" &
pid=$!
for _ in $(seq 50); do
  grep -q '^port ' "$tmp/broker.out" 2>/dev/null && break
  sleep 0.1
done
port=$(awk '/^port /{print $2}' "$tmp/broker.out")
[ -n "$port" ] || { echo "kafka_loopback did not start"; cat "$tmp/broker.err"; exit 1; }
broker="127.0.0.1:$port"
kc() { timeout 30 kcat -b "$broker" "$@"; }
fail() {
  echo "FAIL: $*"
  cat "$tmp/broker.err"
  exit 1
}

echo "== every codec: produce 200 keyed messages with a header, consume them back"
for codec in none gzip snappy lz4 zstd; do
  seq 0 199 | awk -v c="$codec" '{printf "key-%d:value-%d-%s-%s\n", $1, $1, c, "abcdefghij"}' \
    >"$tmp/in-$codec"
  kc -P -t "t-$codec" -K : -H "codec=$codec" -z "$codec" -X linger.ms=20 <"$tmp/in-$codec"
  kc -C -t "t-$codec" -o beginning -e -f '%k:%s|%h|%o\n' >"$tmp/out-$codec" 2>/dev/null
  awk -v c="$codec" '{printf "%s|codec=%s|%d\n", $0, c, NR - 1}' "$tmp/in-$codec" >"$tmp/want-$codec"
  diff -q "$tmp/want-$codec" "$tmp/out-$codec" >/dev/null || fail "codec $codec: consumed differs"
  echo "ok: $codec (200 messages)"
done

echo "== metadata lists the topics"
kc -L >"$tmp/meta"
for codec in none gzip snappy lz4 zstd; do
  grep -q "topic \"t-$codec\" with 1 partitions" "$tmp/meta" || fail "metadata lacks t-$codec"
done
echo "ok: metadata"

echo "== acks=0: no response is due, the messages are stored"
seq 0 49 | kc -P -t t-acks0 -X acks=0
for _ in $(seq 50); do # nothing tells when the last one is stored: up to 5 s
  n=$(kc -C -t t-acks0 -o beginning -e -f '%s\n' 2>/dev/null | wc -l)
  [ "$n" -eq 50 ] && break
  sleep 0.1
done
[ "$n" -eq 50 ] || fail "acks=0: consumed $n of 50"
echo "ok: acks=0 (50 messages)"

echo "== a fetch limit below one batch still returns whole batches"
n=$(kc -C -t t-none -o beginning -e -X fetch.message.max.bytes=100 -f '%s\n' 2>/dev/null | wc -l)
[ "$n" -eq 200 ] || fail "small fetch limit: consumed $n of 200"
echo "ok: fetch limit 100 bytes (200 messages)"

echo "== a consumer group commits and resumes"
grp() { kc -G g1 -X auto.offset.reset=earliest -e -f '%o\n' t-gzip 2>/dev/null; }
n=$(grp | wc -l)
[ "$n" -eq 200 ] || fail "group, first run: $n of 200"
n=$(grp | wc -l)
[ "$n" -eq 0 ] || fail "group, second run: $n messages after the commit"
seq 1 7 | kc -P -t t-gzip -z gzip
got=$(grp | tr '\n' ' ')
[ "$got" = "200 201 202 203 204 205 206 " ] || fail "group, third run: offsets $got"
echo "ok: group (200, then 0, then offsets 200-206)"

echo "== kafka-python: admin, produce, group consume"
"$PY" - "$broker" <<'EOF' || fail "kafka-python"
import sys
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

b = sys.argv[1]
admin = KafkaAdminClient(bootstrap_servers=b, request_timeout_ms=10000)
r = admin.create_topics([NewTopic("py", 3, 1)])
assert r.topic_errors == [("py", 0, None)], r
r = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "py")])
entries = {e[0]: e[1] for e in r[0].resources[0][4]}
assert entries.get("retention.ms") == "604800000", entries
p = KafkaProducer(bootstrap_servers=b, compression_type="gzip", linger_ms=20)
for i in range(30):
    p.send("py", key=b"k%d" % i, value=b"v%d" % i, partition=i % 3, headers=[("h", b"x")])
p.flush()
p.close()
c = KafkaConsumer("py", bootstrap_servers=b, group_id="pyg", auto_offset_reset="earliest",
                  consumer_timeout_ms=5000)
# Up to the 30 messages (or 5 s of silence), not 5 s after them: the end offsets and a last short
# poll show that nothing more is there.
got = []
for m in c:
    got.append((m.partition, m.offset, m.key, m.value, tuple(m.headers)))
    if len(got) == 30:
        break
got.sort()
assert not c.poll(timeout_ms=300), "more than 30 messages"
parts = [TopicPartition("py", p) for p in range(3)]
end_offsets = c.end_offsets(parts)
c.close()
want = sorted((i % 3, i // 3, b"k%d" % i, b"v%d" % i, (("h", b"x"),)) for i in range(30))
assert got == want, got[:5]
assert [end_offsets[tp] for tp in parts] == [10, 10, 10], end_offsets
r = admin.delete_topics(["py"])
assert r.topic_error_codes == [("py", 0)], r
assert "py" not in admin.list_topics()
admin.close()
print("ok: kafka-python (create, describe, 30 messages in 3 partitions, delete)")
EOF

kill -TERM "$pid"
wait "$pid"
pid=""
summary=$(grep '^kafka_loopback:' "$tmp/broker.out")
echo "$summary"
echo "$summary" | grep -q ' malformed 0 ' || fail "requests the codec could not decode"
