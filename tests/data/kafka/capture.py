#!/usr/bin/env python3
"""capture.py: records the Kafka requests kcat (librdkafka) sends, as test vectors.

A test-only helper, run by hand when the vectors need refreshing (they are committed):

    python3 tests/data/kafka/capture.py tests/data/kafka

It listens on 127.0.0.1 (an ephemeral port), answers just enough of ApiVersions, Metadata and
Produce for kcat to produce a few messages, and writes each distinct request frame (header and
body, without the 4-byte size prefix) to <out>/<api>_v<version>[_<scenario>].bin. It runs kcat
once per scenario: metadata of all topics (-L), then producing the same messages uncompressed and
with each of gzip, snappy, lz4 and zstd. The responses are encoded here from the protocol guide
(kafka.apache.org/protocol), independently of strom's C codec, so the vectors test that codec
against a real client rather than against itself.

Every socket has a timeout and every kcat run a time limit; the server stops when the script ends.
"""
import os
import socket
import struct
import subprocess
import sys
import threading

API_NAMES = {0: "produce", 3: "metadata", 18: "api_versions"}
# What the capture broker advertises: strom's table (src/kafka/api.c).
ADVERTISED = [(0, 0, 7), (1, 4, 11), (2, 0, 2), (3, 0, 9), (8, 2, 7), (9, 1, 5), (10, 0, 2),
              (11, 0, 5), (12, 0, 3), (13, 0, 1), (14, 0, 3), (18, 0, 3), (19, 0, 4), (20, 0, 1),
              (22, 0, 1), (32, 0, 1)]
FLEXIBLE_FROM = {0: 9, 3: 9, 18: 3}
TOPIC = "t"
# The messages of every produce scenario: key, value (repetitive, so compression has work).
MESSAGES = [("k%d" % i, "value-%d-" % i + "abcdefgh" * 8) for i in range(20)]
SCENARIOS = ["none", "gzip", "snappy", "lz4", "zstd"]


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("truncated")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def i8(self):
        return struct.unpack(">b", self.take(1))[0]

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def uvarint(self):
        value, shift = 0, 0
        for _ in range(5):
            b = self.take(1)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
        raise ValueError("varint too long")

    def string(self, compact):
        n = self.uvarint() - 1 if compact else self.i16()
        return None if n < 0 else self.take(n).decode()

    def array_len(self, compact):
        return self.uvarint() - 1 if compact else self.i32()

    def tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())


def uvarint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def string(s, compact):
    if s is None:
        return uvarint(0) if compact else struct.pack(">h", -1)
    b = s.encode()
    return (uvarint(len(b) + 1) if compact else struct.pack(">h", len(b))) + b


def array_len(n, compact):
    return uvarint(n + 1) if compact else struct.pack(">i", n)


def i32s(values, compact):
    return array_len(len(values), compact) + b"".join(struct.pack(">i", v) for v in values)


def api_versions_body(version):
    flex = version >= 3
    body = struct.pack(">h", 0) + array_len(len(ADVERTISED), flex)
    for key, lo, hi in ADVERTISED:
        body += struct.pack(">hhh", key, lo, hi) + (uvarint(0) if flex else b"")
    if version >= 1:
        body += struct.pack(">i", 0)
    return body + (uvarint(0) if flex else b"")


def metadata_body(version, port, topics):
    flex = version >= FLEXIBLE_FROM[3]
    tag = uvarint(0) if flex else b""
    body = struct.pack(">i", 0) if version >= 3 else b""
    body += array_len(1, flex) + struct.pack(">i", 0) + string("127.0.0.1", flex)
    body += struct.pack(">i", port) + (string(None, flex) if version >= 1 else b"") + tag
    if version >= 2:
        body += string("capture", flex)
    if version >= 1:
        body += struct.pack(">i", 0)
    body += array_len(len(topics), flex)
    for name in topics:
        body += struct.pack(">h", 0) + string(name, flex) + (b"\x00" if version >= 1 else b"")
        body += array_len(1, flex) + struct.pack(">hii", 0, 0, 0)
        if version >= 7:
            body += struct.pack(">i", 0)
        body += i32s([0], flex) + i32s([0], flex) + (i32s([], flex) if version >= 5 else b"")
        body += tag
        body += struct.pack(">i", -2147483648) if version >= 8 else b""
        body += tag
    body += struct.pack(">i", -2147483648) if version >= 8 else b""
    return body + tag


def produce_parse(r, version):
    if version >= 3:
        r.string(False)
    acks = r.i16()
    r.i32()
    topics = []
    for _ in range(r.i32()):
        name = r.string(False)
        parts = []
        for _ in range(r.i32()):
            idx = r.i32()
            n = r.i32()
            if n > 0:
                r.take(n)
            parts.append(idx)
        topics.append((name, parts))
    return acks, topics


def produce_body(version, topics):
    body = array_len(len(topics), False)
    for name, parts in topics:
        body += string(name, False) + array_len(len(parts), False)
        for idx in parts:
            body += struct.pack(">ihq", idx, 0, 0)
            body += struct.pack(">q", -1) if version >= 2 else b""
            body += struct.pack(">q", 0) if version >= 5 else b""
    return body + (struct.pack(">i", 0) if version >= 1 else b"")


class Capture:
    def __init__(self, out_dir):
        self.out_dir, self.scenario, self.seen = out_dir, None, set()
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.stop = False

    def save(self, api, version, frame):
        name = "%s_v%d" % (API_NAMES.get(api, "api%d" % api), version)
        if api == 0 or (api == 3 and self.scenario == "list"):
            name += "_" + self.scenario
        with self.lock:
            if name in self.seen:
                return
            self.seen.add(name)
        with open(os.path.join(self.out_dir, name + ".bin"), "wb") as f:
            f.write(frame)

    def answer(self, frame):
        r = Reader(frame)
        api, version, corr = r.i16(), r.i16(), r.i32()
        r.string(False)
        flexible = version >= FLEXIBLE_FROM.get(api, 99)
        if flexible:
            r.tags()
        self.save(api, version, frame)
        header = struct.pack(">i", corr)
        if api == 18:
            return header + api_versions_body(version)
        if flexible:
            header += uvarint(0)
        if api == 3:
            n = r.array_len(flexible)
            topics = []
            for _ in range(max(n, 0)):
                topics.append(r.string(flexible))
                if flexible:
                    r.tags()
            return header + metadata_body(version, self.port, topics if n > 0 else [TOPIC])
        if api == 0:
            acks, topics = produce_parse(r, version)
            return None if acks == 0 else header + produce_body(version, topics)
        return None

    def serve_conn(self, conn):
        conn.settimeout(5)
        buf = b""
        try:
            while not self.stop:
                while len(buf) < 4 or len(buf) < 4 + struct.unpack(">i", buf[:4])[0]:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                size = struct.unpack(">i", buf[:4])[0]
                frame, buf = buf[4:4 + size], buf[4 + size:]
                resp = self.answer(frame)
                if resp is not None:
                    conn.sendall(struct.pack(">i", len(resp)) + resp)
        except (socket.timeout, ConnectionError, ValueError):
            return
        finally:
            conn.close()

    def serve(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self.serve_conn, args=(conn,), daemon=True).start()


def run_kcat(cap, scenario, args, stdin):
    cap.scenario = scenario
    subprocess.run(["kcat", "-b", "127.0.0.1:%d" % cap.port] + args, input=stdin.encode(),
                   timeout=20, check=True, stdout=subprocess.DEVNULL)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "."
    cap = Capture(out_dir)
    server = threading.Thread(target=cap.serve, daemon=True)
    server.start()
    try:
        run_kcat(cap, "list", ["-L", "-m", "5"], "")
        lines = "".join("%s:%s\n" % kv for kv in MESSAGES)
        for codec in SCENARIOS:
            run_kcat(cap, codec, ["-P", "-t", TOPIC, "-p", "0", "-K", ":", "-H", "h1=v1",
                                  "-z", codec, "-X", "linger.ms=100"], lines)
    finally:
        cap.stop = True
        server.join(timeout=5)
        cap.sock.close()
    print("captured:", " ".join(sorted(cap.seen)))


if __name__ == "__main__":
    main()
