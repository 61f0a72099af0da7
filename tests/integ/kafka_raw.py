"""kafka_raw.py: hand-made Kafka requests against a strom node's Kafka port, for what the clients
never send: a batch with a bad CRC, an oversize batch, a produce to an unknown topic, and a
malformed request. Run by tests/integ/kafka_node.sh as:

    kafka_raw.py HOST:PORT CHECK

CHECK is crc (expects CORRUPT_MESSAGE, 2), large (MESSAGE_TOO_LARGE, 10), unknown
(UNKNOWN_TOPIC_OR_PARTITION, 3: the node runs with --auto-create false), malformed (the node
closes the connection), or idempotence (an idempotent batch sent twice is stored once and
answered with its first offsets; a gap in sequence gets OUT_OF_ORDER_SEQUENCE_NUMBER, 45). Prints "ok: CHECK" and exits 0, or says what it got and exits 1.
"""
import socket
import struct
import sys


def crc32c(data):
    # CRC-32C (Castagnoli), reflected, table-driven.
    table = crc32c.table
    if table is None:
        table = []
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            table.append(c)
        crc32c.table = table
    crc = 0xFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


crc32c.table = None


def varint(v):
    v = (v << 1) ^ (v >> 63)  # zig-zag
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def record_batch(values, bad_crc=False, producer=-1, sequence=-1):
    records = bytearray()
    for i, value in enumerate(values):
        body = b"\x00" + varint(0) + varint(i) + varint(-1) + varint(len(value)) + value + varint(0)
        records += varint(len(body)) + body
    epoch = 0 if producer >= 0 else -1
    after_crc = struct.pack(">hiqqqhii", 0, len(values) - 1, 0, 0, producer, epoch, sequence,
                            len(values))
    after_crc += bytes(records)
    crc = crc32c(after_crc) ^ (1 if bad_crc else 0)
    batch = struct.pack(">ibI", 0, 2, crc) + after_crc  # leader epoch, magic, crc
    return struct.pack(">qi", 0, len(batch)) + batch


def string(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def produce_v7(topic, batch, correlation=7):
    body = struct.pack(">h", -1)  # transactional_id: null
    body += struct.pack(">hi", -1, 5000)  # acks=all, timeout
    body += struct.pack(">i", 1) + string(topic)
    body += struct.pack(">i", 1) + struct.pack(">i", 0) + struct.pack(">i", len(batch)) + batch
    header = struct.pack(">hhi", 0, 7, correlation) + string("kafka_raw")
    msg = header + body
    return struct.pack(">i", len(msg)) + msg


def exchange(addr, frame):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(frame)
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
        if len(data) >= 4 and len(data) >= 4 + struct.unpack(">i", data[:4])[0]:
            break
    s.close()
    return data


def produce(addr, topic, batch):
    """Error code and base offset of the one partition of a Produce v7 response."""
    data = exchange(addr, produce_v7(topic, batch))
    # size, correlation, topics count, name, partitions count, index, error_code, base_offset
    assert len(data) >= 8, "no response"
    pos = 8
    (count,) = struct.unpack_from(">i", data, pos)
    pos += 4
    (name_len,) = struct.unpack_from(">h", data, pos)
    pos += 2 + name_len
    pos += 4  # partitions count
    (index, error, base) = struct.unpack_from(">ihq", data, pos)
    return error, base


def produce_error(addr, topic, batch):
    return produce(addr, topic, batch)[0]


def idempotence(addr):
    """A retried batch gets its first offsets back; a gap in sequence is refused."""
    pid = 987654321
    first = produce(addr, "raw-idem", record_batch([b"a", b"b", b"c"], producer=pid, sequence=0))
    again = produce(addr, "raw-idem", record_batch([b"a", b"b", b"c"], producer=pid, sequence=0))
    nxt = produce(addr, "raw-idem", record_batch([b"d"], producer=pid, sequence=3))
    gap = produce(addr, "raw-idem", record_batch([b"e"], producer=pid, sequence=9))
    got = (first, again, nxt, gap[0])
    want = ((0, 0), (0, 0), (0, 3), 45)  # 45: OUT_OF_ORDER_SEQUENCE_NUMBER
    return got, want


def main():
    addr, check = sys.argv[1], sys.argv[2]
    if check == "crc":
        got = produce_error(addr, "raw-crc", record_batch([b"a", b"b"], bad_crc=True))
        want = 2
    elif check == "large":
        got = produce_error(addr, "raw-large", record_batch([b"x" * (1100 * 1024)]))
        want = 10
    elif check == "unknown":
        got = produce_error(addr, "raw-unknown", record_batch([b"a"]))
        want = 3
    elif check == "idempotence":
        got, want = idempotence(addr)
    elif check == "malformed":
        # An array count far beyond the frame: the decoder refuses it and the node hangs up.
        body = struct.pack(">hhi", 3, 4, 9) + string("kafka_raw") + struct.pack(">i", 1 << 30)
        data = exchange(addr, struct.pack(">i", len(body)) + body)
        got, want = len(data), 0
    else:
        print("kafka_raw: unknown check", check)
        return 2
    if got != want:
        print("FAIL: kafka_raw %s: got %s, want %s" % (check, got, want))
        return 1
    print("ok: %s" % check)
    return 0


if __name__ == "__main__":
    sys.exit(main())
